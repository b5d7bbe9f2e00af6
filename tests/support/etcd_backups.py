"""Backup stores laid out as etcd-manager writes them (kubernetes-sigs/etcd-manager: pkg/backup/vfs.go,
pkg/commands/vfs.go, pkg/apis/etcd/json.go), through a store Backend, so the same layout serves file://, memfs://
and S3. ``base`` is the cluster's configBase as a folder of the store: kOps puts the backup stores at
``<configBase>/backups/etcd/<etcd cluster>`` (by default the configBase is the cluster's folder). The documents are
written here by hand in the form Go's protojson gives them (lowerCamelCase names, two-space indentation, 64-bit
integers as strings, no trailing newline), independent of the code under test;
``extra_space`` gives the variant with two spaces after each colon that some Go builds emit."""

import gzip
import json

SPEC = '{\n  "memberCount": %d,\n  "etcdVersion": "%s"\n}'
META = ('{\n  "etcdVersion": "%(version)s",\n  "timestamp": "%(timestamp)d",\n  "clusterSpec": {\n'
        '    "memberCount": %(members)d,\n    "etcdVersion": "%(version)s"\n  }\n}')
COMMAND = ('{\n  "timestamp": "%(timestamp)d",\n  "restoreBackup": {\n    "clusterSpec": {\n'
           '      "memberCount": %(members)d,\n      "etcdVersion": "%(version)s"\n    },\n'
           '    "backup": "%(backup)s"\n  }\n}')


def _go(text, extra_space):
    return (text.replace('": ', '":  ') if extra_space else text).encode()


def backup_store(base, etcd_cluster):
    return '%s/backups/etcd/%s' % (base, etcd_cluster)


def snapshot(cluster, etcd_cluster, name):
    """What a backup's etcd.backup.gz holds: a gzip stream (of a stand-in snapshot holding a Secret), the same
    bytes on every call."""
    return gzip.compress(('etcd snapshot of %s/%s %s: Secret kube-system/token=Backup-Secret-%s'
                          % (cluster, etcd_cluster, name, name)).encode(), mtime=0)


def write_backup(backend, base, etcd_cluster, name, data=True, meta=True, version='3.5.21', members=3,
                 extra_space=False):
    """One backup folder: etcd.backup.gz first, then _etcd_backup.meta (etcd-manager's order), either left out
    on request (an upload that stopped half-way, or a data file removed)."""
    folder = '%s/%s' % (backup_store(base, etcd_cluster), name)
    if data:
        backend.write(folder + '/etcd.backup.gz', snapshot(base, etcd_cluster, name))
    if meta:
        backend.write(folder + '/_etcd_backup.meta', _go(META % dict(
            version=version, timestamp=1796036400, members=members), extra_space))


def write_control(backend, base, etcd_cluster, version='3.5.21', members=3, extra_space=False):
    """The expected cluster spec kops update cluster writes and the created marker etcd-manager writes once it
    created the cluster (the marker with encoding/json, not protojson)."""
    control = backup_store(base, etcd_cluster) + '/control'
    backend.write(control + '/etcd-cluster-spec', _go(SPEC % (members, version), extra_space))
    created = json.dumps({'timestamp': 1796000000123456789}, separators=(',', ':'))
    backend.write(control + '/etcd-cluster-created', created.encode())


def write_command(backend, base, etcd_cluster, folder, backup, timestamp, version='3.5.21', members=3):
    """A pending restore command as etcd-manager-ctl restore-backup writes it."""
    path = '%s/control/%s/_command.json' % (backup_store(base, etcd_cluster), folder)
    backend.write(path, _go(COMMAND % dict(timestamp=timestamp, members=members, version=version, backup=backup),
                            False))
    return path


# A cluster in disaster-recovery shape: main's newest backup is incomplete (data without meta: its upload
# stopped), events' backup closest to main's newest complete one is incomplete too (meta without data), and
# events' newest backup is far from main's, so latest for both clusters must pair by time, not take each newest.
CLUSTER = 'c1.example.com'
MAIN_BACKUPS = [
    ('2026-11-30T09:00:00Z-000001', {}),
    ('2026-11-30T10:00:00Z-000002', {}),
    ('2026-11-30T11:00:00Z-000003', {}),
    ('2026-11-30T11:15:00Z-000004', dict(meta=False)),
]
EVENTS_BACKUPS = [
    ('2026-11-30T09:00:01Z-000001', {}),
    ('2026-11-30T10:59:58Z-000002', dict(extra_space=True)),
    ('2026-11-30T11:00:01Z-000003', dict(data=False)),
    ('2026-11-30T11:14:00Z-000004', {}),
]
# a cluster kops update cluster never ran for with this store: backups copied in, but no control/etcd-cluster-spec
NEW_CLUSTER = 'new.example.com'


def cluster_config(name, config_base=None):
    """A Cluster config; without ``config_base`` it has none, and kOps takes ``<store>/<name>``."""
    spec = ('\n  configBase: %s\n' % config_base) if config_base else ' {}\n'
    return ('apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: %s\nspec:%s' % (name, spec)).encode()


def lay_out(backend, base=CLUSTER, config_base=None):
    """CLUSTER's backups below ``base`` (its config naming ``config_base``, by default none), and NEW_CLUSTER's."""
    for etcd_cluster, backups in (('main', MAIN_BACKUPS), ('events', EVENTS_BACKUPS)):
        for name, options in backups:
            write_backup(backend, base, etcd_cluster, name, **options)
        write_control(backend, base, etcd_cluster, extra_space=etcd_cluster == 'events')
        write_backup(backend, NEW_CLUSTER, etcd_cluster, MAIN_BACKUPS[0][0])
    backend.write(CLUSTER + '/config', cluster_config(CLUSTER, config_base))
    backend.write(NEW_CLUSTER + '/config', cluster_config(NEW_CLUSTER))

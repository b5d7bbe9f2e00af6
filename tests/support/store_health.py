"""Applied kOps clusters as kOps and etcd-manager leave them in a state store, for the store audit's tests and
benchmarks/fleet_report.py: a fixture's config and instance groups (tests/support/kops_fleet.py), the completed spec
and kops-version.txt `kops update cluster` writes, keysets of real CA certificates (tests/support/kops_material.py),
the deprecated auth-token secrets kOps still creates, and the etcd backups and control files of both etcd clusters
(tests/support/etcd_backups.py). ``lay_out_health_fleet`` makes the five clusters of the audit's acceptance test, one
problem each but one, and says which findings the audit must report."""

import datetime
import secrets

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from support import etcd_backups as eb
from support import kops_material as km
from support.kops_fleet import lay_out

KEYSETS = ('kubernetes-ca', 'etcd-clients-ca', 'apiserver-aggregator-ca', 'service-account')
SECRETS = ('admin', 'kube', 'kube-proxy')  # tokens kOps creates at update time (pkg/model/pki.go)
FRESH_BACKUP = datetime.timedelta(minutes=20)
STALE_BACKUP = datetime.timedelta(days=3)
_keysets = {}
#: what must never show in an audit's output: every secret value and CA private key (PEM) laid out by this process
SECRET_VALUES = []
PRIVATE_PEMS = []


def keyset_entries(expired=()):
    """{keyset name: keyset.yaml bytes} of KEYSETS, each one CA valid for ten more years, except those named in
    ``expired``, whose only key ended a day ago. Made once per process (RSA keys take a while)."""
    for name in KEYSETS:
        if name not in _keysets:
            ca = km.CA(name, km.days(-30), km.ending_in(3650), is_ca=name != 'service-account')
            _keysets[name] = km.keyset_yaml(name, [km.ca_key(ca)], ca.id)
            PRIVATE_PEMS.append(ca.private_pem)
        if name in expired and ('expired', name) not in _keysets:
            ca = km.CA(name, km.days(-3650), km.days(-1))
            _keysets['expired', name] = km.keyset_yaml(name, [km.ca_key(ca)], ca.id)
            PRIVATE_PEMS.append(ca.private_pem)
    return dict((name, _keysets['expired', name] if name in expired else _keysets[name]) for name in KEYSETS)


def backup_name(moment, sequence):
    """A backup folder's name as etcd-manager gives it: the UTC time, then the sequence."""
    return '%s-%06d' % (moment.strftime('%Y-%m-%dT%H:%M:%SZ'), sequence)


def lay_out_applied(backend, name, now, fixture='minimal-aws.yaml', change=None, expired=(), backup_ages=None,
                    restore=()):
    """One cluster after `kops update cluster` and some hours of etcd-manager: documents, completed spec, keysets
    (``expired`` names those that ended), secrets, and per etcd cluster two complete backups, the newest
    ``backup_ages[etcd cluster]`` old (default FRESH_BACKUP), with the control files; a restore command of the
    older backup for each etcd cluster in ``restore``. Returns {etcd cluster: [backup names, oldest first]}."""
    lay_out(backend, fixture, name, change=change)
    config = backend.read(cl.config_path(name))[0]
    backend.write('%s/cluster-completed.spec' % name, config)
    backend.write('%s/kops-version.txt' % name, b'1.34.1')
    for keyset, data in keyset_entries(expired).items():
        backend.write('%s/pki/private/%s/keyset.yaml' % (name, keyset), data)
    for secret in SECRETS:
        SECRET_VALUES.append('Secret-%s' % secrets.token_hex(12))
        backend.write('%s/secrets/%s' % (name, secret), km.secret_entry(SECRET_VALUES[-1]))
    backups = {}
    for etcd_cluster in ('main', 'events'):
        newest = now - (backup_ages or {}).get(etcd_cluster, FRESH_BACKUP)
        backups[etcd_cluster] = [backup_name(newest - datetime.timedelta(hours=1), 41), backup_name(newest, 42)]
        for backup in backups[etcd_cluster]:
            eb.write_backup(backend, name, etcd_cluster, backup)
        eb.write_control(backend, name, etcd_cluster)
        if etcd_cluster in restore:
            queued = now - datetime.timedelta(minutes=5)
            eb.write_command(backend, name, etcd_cluster, backup_name(queued, 0), backups[etcd_cluster][0],
                             int(queued.timestamp()) * 10 ** 9)
    return backups


FINE = 'fine.example.com'
EXPIRED_CA = 'expired-ca.example.com'
STALE_BACKUP_CLUSTER = 'stale-backup.example.com'
PENDING_RESTORE = 'pending-restore.example.com'
INVALID_CONFIG = 'invalid-config.example.com'
#: the findings the audit must report for each cluster of the health fleet, as (check, severity)
CLUSTER_FINDINGS = {
    EXPIRED_CA: [('ca expiry', 'critical')],
    FINE: [],
    INVALID_CONFIG: [('validation', 'medium')],
    PENDING_RESTORE: [('etcd restore', 'high')],
    STALE_BACKUP_CLUSTER: [('etcd backups', 'high')],
}


def misspelt_field(cluster, groups):
    """A config with one field kOps does not know (a typo of kubernetesVersion, next to the real one)."""
    cluster['spec']['kubernetesVerison'] = cluster['spec']['kubernetesVersion']


def leaked(text):
    """The secret values and forms of private keys of SECRET_VALUES and PRIVATE_PEMS found in ``text`` (and of their
    base64, as the entries hold them)."""
    return ([value for value in SECRET_VALUES if value in text or km.b64(value) in text]
            + km.leaked_private_material(text, PRIVATE_PEMS))


def lay_out_health_fleet(backend, now=None):
    """The five clusters of CLUSTER_FINDINGS in ``backend``; returns their names, sorted."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    lay_out_applied(backend, FINE, now)
    lay_out_applied(backend, EXPIRED_CA, now, expired=('kubernetes-ca',))
    lay_out_applied(backend, STALE_BACKUP_CLUSTER, now, backup_ages=dict(main=STALE_BACKUP))
    lay_out_applied(backend, PENDING_RESTORE, now, restore=('main',))
    lay_out_applied(backend, INVALID_CONFIG, now, change=misspelt_field)
    return sorted(CLUSTER_FINDINGS)

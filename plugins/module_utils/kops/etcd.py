# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""etcd-manager's backups and commands in a kOps state store: list them, queue or remove a restore.

Facts from kubernetes-sigs/etcd-manager (cmd/etcd-manager-ctl, pkg/backup/vfs.go, pkg/commands/vfs.go,
pkg/apis/etcd) and kubernetes/kops (pkg/model/components/etcdmanager): kOps gives each etcd cluster (``main``,
``events``) the backup store ``<configBase>/backups/etcd/<etcd cluster>/``. A backup is the folder ``<RFC3339 UTC
time>-<6-digit sequence>`` holding ``etcd.backup.gz`` (the snapshot) and ``_etcd_backup.meta`` (a BackupInfo
message). Below ``control/`` live the expected cluster spec ``etcd-cluster-spec`` (a ClusterSpec, which ``kops
update cluster`` writes), the marker ``etcd-cluster-created`` and the command queue ``<RFC3339 UTC
time>-000000/_command.json`` (Command messages), which every etcd-manager of the cluster reads; it runs the oldest
restore command and removes it once done.

The configBase comes from the cluster's config, which is data from whoever can write the store: it is followed only
where it lies inside the state store the task was given, so that it never chooses which bucket, service or local
folder the task's credentials read and write.

Secrets: backups/ is secret by location (redaction.py), because the snapshots hold every Kubernetes Secret.
The rule here: ``etcd.backup.gz`` is never read by this code (only listed for its size), and of the other
files only the fields of the messages above are shown, parsed and written again by this module (never
their raw bytes), so results and diffs can hold nothing but backup names, times, etcd versions, member
counts and command timestamps.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from ansible_collections.kops.state_store.plugins.module_utils.entries import read_or_none
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AlreadyExists,
    StateStoreError,
    parse_error_message,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster import (
    config_base,
    config_path,
    location_below,
    read_config,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import check_name

ETCD_CLUSTERS = ('main', 'events')
DATA_FILE = 'etcd.backup.gz'
META_FILE = '_etcd_backup.meta'
CONTROL_FOLDER = 'control'
COMMAND_FILE = '_command.json'
CLUSTER_SPEC_FILE = 'etcd-cluster-spec'
CLUSTER_CREATED_FILE = 'etcd-cluster-created'
COMMAND_SEQUENCE = '000000'  # etcd-manager-ctl names every command folder with this sequence
NEWEST_LISTED = 5  # complete backups an error about a missing or incomplete one names
META_READERS = 8  # meta files read at once when every backup's details are wanted

# The protobuf messages (pkg/apis/etcd/etcdapi.proto) as (JSON name, proto name, type) in declaration order,
# which is the order protojson writes them in. Results use the proto names.
MESSAGES = {
    'ClusterSpec': (('memberCount', 'member_count', 'int32'), ('etcdVersion', 'etcd_version', 'string')),
    'BackupInfo': (('etcdVersion', 'etcd_version', 'string'), ('timestamp', 'timestamp', 'int64'),
                   ('clusterSpec', 'cluster_spec', 'ClusterSpec')),
    'RestoreBackupCommand': (('clusterSpec', 'cluster_spec', 'ClusterSpec'), ('backup', 'backup', 'string')),
    'Command': (('timestamp', 'timestamp', 'int64'), ('restoreBackup', 'restore_backup', 'RestoreBackupCommand')),
}
_INTEGER_RANGES = {'int32': (-2 ** 31, 2 ** 31 - 1), 'int64': (-2 ** 63, 2 ** 63 - 1)}
_INTEGER_TEXT = re.compile(r'^-?[0-9]+$')
_FIELD_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,63}$')
# <RFC3339 UTC time, as Go's time.RFC3339 writes it>-<sequence>; Go's parser also takes fractional seconds
_BACKUP_NAME = re.compile(r'^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?Z-(.+)$')
_CONTROL_CHARACTER = re.compile('[\x00-\x1f\x7f]')


class EtcdError(StateStoreError):
    """A refused restore or an etcd-manager file that does not parse; nothing has been written."""


def config_base_folder(backend, cluster_name):
    """The cluster's configBase as a folder of the state store ``backend`` ('' for its root), where kOps keeps the
    backup stores; refused when the cluster does not exist or its configBase lies outside the state store."""
    check_name(cluster_name, 'cluster name')
    cluster = read_config(backend, cluster_name)[0]
    if cluster is None:
        raise EtcdError('cluster %s does not exist: there is no %s (its spec.configBase says where etcd-manager '
                        'keeps its backups)' % (cluster_name, backend.render(config_path(cluster_name))))
    base = config_base(cluster.get('spec') or {}, backend, cluster_name)
    folder = location_below(base, backend.location)
    if folder is None:
        raise EtcdError('cluster %s keeps its etcd backups below its spec.configBase, %s, which lies outside the state '
                        'store %s: these modules follow a configBase only inside the store they are given, as the '
                        'config must not choose where the task\'s credentials read and write. Nothing was read or '
                        'written' % (cluster_name, base, backend.render()))
    return folder


def backup_store_path(folder, etcd_cluster):
    """An etcd cluster's backup store, relative to the state store, below the configBase ``folder``."""
    return '/'.join(part for part in (folder, 'backups/etcd', etcd_cluster) if part)


def selected_clusters(selection):
    """The etcd clusters of the option value main, events or all."""
    if selection == 'all':
        return ETCD_CLUSTERS
    if selection not in ETCD_CLUSTERS:
        raise EtcdError('etcd cluster %r is not one of %s or all' % (selection, ', '.join(ETCD_CLUSTERS)))
    return (selection,)


def check_backup_name(name):
    """A backup name as etcd-manager accepts it (one path segment), without control characters."""
    check_name(name, 'backup name')
    if _CONTROL_CHARACTER.search(name):
        raise EtcdError('backup name %r holds a control character' % name)
    return name


# -- protojson ----------------------------------------------------------------------------------------------

def encode_message(kind, message):
    """``message`` (a dict keyed by proto names) as etcd-manager's ToJson writes it: protojson with
    lowerCamelCase names, two-space indentation, no trailing newline, fields at their default (0, '', unset)
    left out, 64-bit integers as strings. (Go's protojson sometimes adds a second space after a colon, chosen
    per binary to keep its output from being relied on; both forms parse alike.)"""
    # Python's json escapes strings as protojson does: '"', '\\', \b \f \n \r \t, other control characters as
    # lowercase \u00xx, everything else as it is
    return json.dumps(_json_object(kind, message), indent=2, ensure_ascii=False, separators=(',', ': ')).encode('utf-8')


def _json_object(kind, message):
    document = OrderedDict()
    for json_name, proto_name, field_type in MESSAGES[kind]:
        value = message.get(proto_name)
        if value in (None, 0, ''):  # proto3 leaves defaults out; a set message, even empty, is written
            continue
        if field_type in MESSAGES:
            document[json_name] = _json_object(field_type, value)
        elif field_type == 'int64':
            document[json_name] = str(int(value))
        elif field_type == 'int32':
            document[json_name] = int(value)
        else:
            document[json_name] = value
    return document


def decode_message(kind, data, what):
    """Parse ``data`` (bytes) as the protojson of message ``kind`` the way etcd-manager's FromJson does: names
    in lowerCamelCase or as in the .proto, integers as numbers or strings, null for a default, unknown or
    repeated fields refused. Returns a dict keyed by proto names with every field (defaults filled in).
    Errors name ``what`` and the problem, never the text there."""
    try:
        return _message_fields(kind, json.loads(data.decode('utf-8'), object_pairs_hook=_no_repeated_names), '')
    except _Invalid as exc:
        raise EtcdError('%s is not a valid %s message: %s' % (what, kind, exc))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise EtcdError(parse_error_message(what, 'JSON', exc))


class _Invalid(ValueError):
    """What makes a document not the message it should be (raised through json.loads from its hook too)."""


def _no_repeated_names(pairs):
    names = [name for name, _value in pairs]
    for name in names:
        if names.count(name) > 1:
            raise _Invalid('a field is given twice (%s)' % _shown_name(name))
    return dict(pairs)


def _shown_name(name):
    return name if _FIELD_NAME.match(name) else 'a field with an unusual name'


def _message_fields(kind, document, prefix):
    if not isinstance(document, dict):
        raise _Invalid('%s is not a JSON object' % (prefix.rstrip('.') or 'it'))
    by_name = {}
    for json_name, proto_name, field_type in MESSAGES[kind]:
        by_name[json_name] = by_name[proto_name] = (proto_name, field_type)
    message = OrderedDict((proto_name, None if field_type in MESSAGES else ('' if field_type == 'string' else 0))
                          for _json_name, proto_name, field_type in MESSAGES[kind])
    seen = set()
    for name, value in document.items():
        if name not in by_name:
            raise _Invalid('unknown field %s' % _shown_name(prefix + name))
        proto_name, field_type = by_name[name]
        if proto_name in seen:
            raise _Invalid('field %s is given twice' % (prefix + proto_name))
        seen.add(proto_name)
        if value is None:
            continue
        if field_type in MESSAGES:
            message[proto_name] = _message_fields(field_type, value, prefix + proto_name + '.')
        elif field_type == 'string':
            if not isinstance(value, str):
                raise _Invalid('%s is not a string' % (prefix + proto_name))
            message[proto_name] = value
        else:
            message[proto_name] = _integer(value, field_type, prefix + proto_name)
    return message


def _integer(value, field_type, field):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and _INTEGER_TEXT.match(value):
        value = int(value)
    low, high = _INTEGER_RANGES[field_type]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Invalid('%s is not an %s' % (field, field_type))
    return value


# -- what is in a backup store ------------------------------------------------------------------------------

def backup_time(name):
    """The UTC time in a backup (or command) folder's name, or None when the name holds none."""
    match = _BACKUP_NAME.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S')
    except ValueError:
        return None


def _iso(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ') if moment is not None else None


class Backup(object):
    """One folder of a backup store; ``info`` (the parsed BackupInfo) is loaded on demand."""

    def __init__(self, store_path, name):
        self.store_path = store_path
        self.name = name
        self.time = backup_time(name)
        self.data_size = None  # None: no etcd.backup.gz
        self.has_meta = False
        self.info = None
        self.problem = None
        self._loaded = False

    @property
    def path(self):
        return '%s/%s' % (self.store_path, self.name)

    def load(self, backend):
        """Read and parse the meta file once; a missing or broken one makes the backup incomplete."""
        if self._loaded or not self.has_meta:
            self._loaded = True
            return self
        data, _version = read_or_none(backend, '%s/%s' % (self.path, META_FILE))
        if data is None:
            self.has_meta = False
        else:
            try:
                self.info = decode_message('BackupInfo', data, '%s/%s' % (self.name, META_FILE))
            except EtcdError as exc:
                self.problem = str(exc)
        self._loaded = True
        return self

    @property
    def complete(self):
        """Both files there and a meta file etcd-manager can restore from (it refuses one without a version)."""
        return self.data_size is not None and self.info is not None and bool(self.info['etcd_version'])

    def why_incomplete(self):
        if self.data_size is None and not self.has_meta:
            return 'it does not exist'
        if self.data_size is None:
            return 'its %s is missing' % DATA_FILE
        if not self.has_meta:
            return 'its %s is missing (an upload that did not finish writes the data first)' % META_FILE
        if self.problem:
            return self.problem
        return 'its %s holds no etcd version, which etcd-manager needs to restore it' % META_FILE

    def as_dict(self):
        info = self.info or {}
        spec = info.get('cluster_spec') or {}
        return dict(
            name=self.name,
            time=_iso(self.time),
            etcd_version=info.get('etcd_version') or None,
            member_count=spec.get('member_count') or None,
            size=self.data_size,
            has_data=self.data_size is not None,
            has_meta=self.has_meta,
            complete=self.complete,
            problem=None if self.complete else self.why_incomplete(),
        )


class Command(object):
    """One pending command file, parsed."""

    def __init__(self, etcd_cluster, path, relative, message):
        self.etcd_cluster = etcd_cluster
        self.path = path  # relative to the state store
        self.relative = relative  # relative to control/
        self.message = message

    @property
    def restore_backup(self):
        restore = self.message['restore_backup']
        return restore['backup'] if restore is not None else None

    def as_dict(self):
        restore = self.message['restore_backup']
        return dict(
            command=self.relative,
            time=_iso(backup_time(self.relative.split('/')[0])),
            timestamp=self.message['timestamp'],
            restore_backup=None if restore is None else dict(backup=restore['backup'],
                                                             cluster_spec=restore['cluster_spec']),
        )


class BackupStore(object):
    """The backups, expected cluster spec and pending commands of one etcd cluster, from one recursive listing
    and the reads of the control files (meta files are read on demand: ``load_all`` or ``Backup.load``)."""

    def __init__(self, backend, folder, etcd_cluster):
        self.backend = backend
        self.etcd_cluster = etcd_cluster
        self.path = backup_store_path(folder, etcd_cluster)
        self.location = backend.render(self.path)
        backups = {}
        command_paths = []
        for entry in backend.list(self.path, recursive=True):
            if entry.is_dir:
                continue
            relative = entry.path[len(self.path) + 1:]
            parts = relative.split('/')
            if parts[0] == CONTROL_FOLDER:
                # etcd-manager takes every _command.json below control/, at any depth
                if parts[-1] == COMMAND_FILE:
                    command_paths.append(entry.path)
                continue
            if len(parts) != 2 or parts[1] not in (DATA_FILE, META_FILE):
                continue
            backup = backups.setdefault(parts[0], Backup(self.path, parts[0]))
            if parts[1] == DATA_FILE:
                backup.data_size = entry.size
            else:
                backup.has_meta = True
        # newest first: the names sort as their times (UTC, fixed width), then by sequence; names without a time last
        self.backups = sorted(backups.values(), key=lambda backup: (backup.time is not None, backup.name),
                              reverse=True)
        self.cluster_spec = self._read_message(CLUSTER_SPEC_FILE, 'ClusterSpec')
        created, _version = read_or_none(backend, self._control(CLUSTER_CREATED_FILE))
        self.cluster_created = bool(created)
        commands = []
        for path in command_paths:
            data, _version = read_or_none(backend, path)
            if data is not None:
                relative = path[len(self._control('')):]
                commands.append(Command(etcd_cluster, path, relative, decode_message('Command', data, self._shown(path))))
        # etcd-manager runs them in timestamp order
        self.commands = sorted(commands, key=lambda command: (command.message['timestamp'], command.path))

    def _control(self, name):
        return '%s/%s/%s' % (self.path, CONTROL_FOLDER, name)

    def _shown(self, path):
        return '%s (%s)' % (path[len(self.path) + 1:], self.etcd_cluster)

    def _read_message(self, name, kind):
        data, _version = read_or_none(self.backend, self._control(name))
        return None if data is None else decode_message(kind, data, self._shown(self._control(name)))

    def load_all(self):
        """Read every backup's meta file, several at once."""
        if self.backups:
            with ThreadPoolExecutor(min(META_READERS, len(self.backups))) as pool:
                list(pool.map(lambda backup: backup.load(self.backend), self.backups))
        return self

    def find(self, name):
        for backup in self.backups:
            if backup.name == name:
                return backup.load(self.backend)
        return None

    def complete_backups(self):
        """The complete backups, newest first, meta files read as they are reached."""
        for backup in self.backups:
            if backup.load(self.backend).complete:
                yield backup

    def newest_complete(self, count=NEWEST_LISTED):
        found = []
        for backup in self.complete_backups():
            found.append(backup.name)
            if len(found) == count:
                break
        return found

    def closest_complete(self, moment):
        """The complete backup whose time is closest to ``moment`` (the newer one on a tie), or None."""
        timed = [backup for backup in self.backups if backup.time is not None]
        timed.sort(key=lambda backup: (abs((backup.time - moment).total_seconds()), -_seconds(backup.time)))
        for backup in timed:
            if backup.load(self.backend).complete:
                return backup
        return None

    def as_dict(self, with_backups=True):
        result = dict(
            location=self.location,
            cluster_spec=self.cluster_spec,
            cluster_created=self.cluster_created,
            commands=[command.as_dict() for command in self.commands],
        )
        if with_backups:
            result['backups'] = [backup.as_dict() for backup in self.backups]
        return result


def _seconds(moment):
    return (moment - datetime(1970, 1, 1)).total_seconds()


def read_backup_stores(backend, cluster_name, selection, with_details=True):
    """{etcd cluster: BackupStore} of cluster ``cluster_name`` for the option value main, events or all."""
    etcd_clusters = selected_clusters(selection)
    folder = config_base_folder(backend, cluster_name)
    stores = OrderedDict()
    for etcd_cluster in etcd_clusters:
        store = BackupStore(backend, folder, etcd_cluster)
        stores[etcd_cluster] = store.load_all() if with_details else store
    return stores


# -- restore ------------------------------------------------------------------------------------------------

class Restore(object):
    """The restore of one etcd cluster: ``pending`` when a command for this backup is already queued (nothing
    to write), else ``command_path`` and ``data`` of the command file to write."""

    def __init__(self, store, backup, pending, command_path=None, data=None):
        self.store = store
        self.backup = backup
        self.pending = pending
        self.command_path = command_path
        self.data = data

    @property
    def changed(self):
        return self.pending is None

    def as_dict(self):
        path = self.pending.path if self.pending is not None else self.command_path
        return dict(
            etcd_cluster=self.store.etcd_cluster,
            backup=self.backup.name,
            backup_time=_iso(self.backup.time),
            etcd_version=self.backup.info['etcd_version'],
            already_pending=self.pending is not None,
            command=path,
            location=self.store.backend.render(path),
        )


def _refuse_backup(store, name, backup):
    reason = backup.why_incomplete() if backup is not None else 'it does not exist'
    newest = store.newest_complete()
    listed = ('the newest complete ones: %s' % ', '.join(newest)) if newest else 'it has no complete backup'
    raise EtcdError('cannot restore backup %s of etcd cluster %s: %s (in %s); %s'
                    % (name, store.etcd_cluster, reason, store.location, listed))


def _chosen(store, name):
    backup = store.find(name)
    if backup is None or not backup.complete:
        _refuse_backup(store, name, backup)
    return backup


def choose_backups(stores, backup_name):
    """{etcd cluster: Backup} for ``backup_name`` (a name or ``latest``). With both clusters, the one the name
    belongs to (for latest: main, whose data matters most) decides, and the other gets its complete backup
    taken closest to that time."""
    if backup_name != 'latest':
        check_backup_name(backup_name)
    etcd_clusters = list(stores)
    if backup_name == 'latest':
        anchor = etcd_clusters[0]
        newest = next(stores[anchor].complete_backups(), None)
        if newest is None:
            raise EtcdError('etcd cluster %s has no complete backup to restore (in %s)'
                            % (anchor, stores[anchor].location))
        chosen = {anchor: newest}
    else:
        holders = [etcd_cluster for etcd_cluster in etcd_clusters if stores[etcd_cluster].find(backup_name)]
        if len(etcd_clusters) > 1 and not holders:
            raise EtcdError('no etcd cluster has a backup %s (main: %s; events: %s)' % (
                backup_name, ', '.join(stores['main'].newest_complete()) or 'no complete backup',
                ', '.join(stores['events'].newest_complete()) or 'no complete backup'))
        chosen = dict((etcd_cluster, _chosen(stores[etcd_cluster], backup_name)) for etcd_cluster in holders or etcd_clusters)
    anchor = chosen[etcd_clusters[0]] if etcd_clusters[0] in chosen else list(chosen.values())[0]
    for etcd_cluster in etcd_clusters:
        if etcd_cluster in chosen:
            continue
        if anchor.time is None:
            raise EtcdError('backup %s has no time in its name, so no %s backup close to it can be chosen; name '
                            'one for each etcd cluster' % (anchor.name, etcd_cluster))
        closest = stores[etcd_cluster].closest_complete(anchor.time)
        if closest is None:
            raise EtcdError('etcd cluster %s has no complete backup to restore (in %s)'
                            % (etcd_cluster, stores[etcd_cluster].location))
        chosen[etcd_cluster] = closest
    return chosen


def _now():
    return time.time_ns()


def command_folder(nanoseconds):
    """The folder etcd-manager-ctl names a command after: the UTC time to the second, then the sequence."""
    moment = datetime.fromtimestamp(nanoseconds // 10 ** 9, timezone.utc).replace(tzinfo=None)
    return '%s-%s' % (_iso(moment), COMMAND_SEQUENCE)


def plan_restore(stores, backup_name, now=None):
    """The Restore of every etcd cluster in ``stores``, refused (EtcdError, nothing written) when a backup is
    missing or incomplete, a cluster has no expected cluster spec, or a restore of another backup is pending."""
    chosen = choose_backups(stores, backup_name)
    nanoseconds = now if now is not None else _now()
    restores = []
    for etcd_cluster, store in stores.items():
        backup = chosen[etcd_cluster]
        if store.cluster_spec is None:
            raise EtcdError('etcd cluster %s has no expected cluster spec (%s/%s/%s is missing): kops update cluster '
                            'writes it, and has not run for this cluster with this configBase; etcd-manager-ctl refuses '
                            'a restore without one too' % (etcd_cluster, store.location, CONTROL_FOLDER, CLUSTER_SPEC_FILE))
        pending = [command for command in store.commands if command.restore_backup is not None]
        same = [command for command in pending if command.restore_backup == backup.name]
        others = [command for command in pending if command.restore_backup != backup.name]
        if others:
            raise EtcdError('etcd cluster %s already has a pending restore of backup %s (%s), which etcd-manager would '
                            'run first; remove it with state=absent before queuing another'
                            % (etcd_cluster, others[0].restore_backup, others[0].path))
        if same:
            restores.append(Restore(store, backup, same[0]))
            continue
        message = dict(timestamp=nanoseconds,
                       restore_backup=dict(cluster_spec=store.cluster_spec, backup=backup.name))
        path = '%s/%s/%s/%s' % (store.path, CONTROL_FOLDER, command_folder(nanoseconds), COMMAND_FILE)
        restores.append(Restore(store, backup, None, path, encode_message('Command', message)))
    return restores


def apply_restore(backend, restores):
    """Write the command files, each only if absent; when one fails, the ones written before are removed again,
    so a restore of main is never left queued without the one of events."""
    written = []
    for restore in restores:
        if not restore.changed:
            continue
        try:
            version = backend.create(restore.command_path, restore.data)
        except StateStoreError as exc:
            undone = _undo(backend, written)
            if isinstance(exc, AlreadyExists):
                exc = EtcdError('another command was queued at %s in the same second; run again' % restore.command_path)
            raise EtcdError('%s%s' % (exc, undone))
        written.append((restore.command_path, version))


def _undo(backend, written):
    left = []
    for path, version in written:
        try:
            backend.delete(path, expect=version if backend.supports_compare_and_swap else None)
        except StateStoreError:
            left.append(path)
    if left:
        return '; the command written before could not be removed again, remove it: %s' % ', '.join(left)
    return '; the commands written before were removed again' if written else ''


def skew_seconds(restores):
    """Seconds between the backups chosen for the etcd clusters, when there are two with times."""
    times = [restore.backup.time for restore in restores if restore.backup.time is not None]
    if len(restores) < 2 or len(times) < 2:
        return None
    return int(abs((times[0] - times[1]).total_seconds()))


def pending_restores(stores, backup_name=None):
    """The pending restore commands (of ``backup_name`` only, when given), as etcd-manager-ctl's delete-command
    picks them."""
    if backup_name is not None:
        check_backup_name(backup_name)
    return [command for store in stores.values() for command in store.commands
            if command.restore_backup is not None and backup_name in (None, command.restore_backup)]


def remove_commands(backend, commands):
    for command in commands:
        try:
            backend.delete(command.path)
        except StateStoreError as exc:
            raise EtcdError('could not remove the command %s: %s' % (command.path, exc))


def command_text(command_or_data):
    """How a diff shows a command file: the parsed fields written again, never stored bytes."""
    if isinstance(command_or_data, Command):
        return encode_message('Command', command_or_data.message).decode('utf-8') + '\n'
    return command_or_data.decode('utf-8') + '\n'

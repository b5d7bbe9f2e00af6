"""module_utils/kops/etcd.py: the protojson etcd-manager reads and writes, checked with the protobuf library against
the messages of etcd-manager's etcdapi.proto declared here; backup stores laid out as etcd-manager writes them
(tests/support/etcd_backups.py) on file:// and memfs://."""

import itertools
import json
import os

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from support import etcd_backups as eb
from support.paths import KOPS_TEST_DATA
from ansible_collections.kops.state_store.plugins.module_utils.kops import etcd
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

FIELD = descriptor_pb2.FieldDescriptorProto


def _etcd_proto():
    """ClusterSpec, BackupInfo, RestoreBackupCommand and Command as etcdapi.proto (package etcd) declares them."""
    proto = descriptor_pb2.FileDescriptorProto(name='etcd_manager_test.proto', package='etcd', syntax='proto3')

    def message(name, *fields):
        declared = proto.message_type.add(name=name)
        for field_name, number, field_type, type_name in fields:
            field = declared.field.add(name=field_name, number=number, type=field_type, label=FIELD.LABEL_OPTIONAL)
            if type_name:
                field.type_name = '.etcd.' + type_name

    message('ClusterSpec', ('member_count', 1, FIELD.TYPE_INT32, None), ('etcd_version', 2, FIELD.TYPE_STRING, None))
    message('Command', ('timestamp', 1, FIELD.TYPE_INT64, None),
            ('restore_backup', 10, FIELD.TYPE_MESSAGE, 'RestoreBackupCommand'))
    message('RestoreBackupCommand', ('cluster_spec', 1, FIELD.TYPE_MESSAGE, 'ClusterSpec'),
            ('backup', 3, FIELD.TYPE_STRING, None))
    message('BackupInfo', ('etcd_version', 1, FIELD.TYPE_STRING, None), ('timestamp', 2, FIELD.TYPE_INT64, None),
            ('cluster_spec', 3, FIELD.TYPE_MESSAGE, 'ClusterSpec'))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return dict((name, message_factory.GetMessageClass(pool.FindMessageTypeByName('etcd.' + name)))
                for name in ('ClusterSpec', 'Command', 'RestoreBackupCommand', 'BackupInfo'))


PROTO = _etcd_proto()


def go_protojson(message):
    """What Go's protojson.MarshalOptions{Indent: "  "} writes (same field order, names, defaults, integer forms),
    in its form without the extra random space."""
    return json_format.MessageToJson(message, indent=2, ensure_ascii=False).encode()


SPEC = dict(member_count=3, etcd_version='3.5.21')
COMMAND = dict(timestamp=1796040000123456789, restore_backup=dict(cluster_spec=SPEC, backup='2026-11-30T11:00:00Z-000003'))


def test_a_command_is_written_in_the_form_etcd_manager_reads_and_pins():
    written = etcd.encode_message('Command', COMMAND)
    parsed = json_format.Parse(written, PROTO['Command'](), ignore_unknown_fields=False)
    assert parsed.timestamp == COMMAND['timestamp']
    assert parsed.restore_backup.backup == '2026-11-30T11:00:00Z-000003'
    assert (parsed.restore_backup.cluster_spec.member_count, parsed.restore_backup.cluster_spec.etcd_version) == \
        (3, '3.5.21')
    assert written == go_protojson(parsed)
    # the form etcd-manager's own test pins (pkg/apis/etcd/json_test.go): 64-bit integers as strings, 32-bit ones not
    assert written == (b'{\n  "timestamp": "1796040000123456789",\n  "restoreBackup": {\n    "clusterSpec": {\n'
                       b'      "memberCount": 3,\n      "etcdVersion": "3.5.21"\n    },\n'
                       b'    "backup": "2026-11-30T11:00:00Z-000003"\n  }\n}')


@pytest.mark.parametrize('kind,message', [
    ('ClusterSpec', SPEC),
    ('ClusterSpec', dict(member_count=0, etcd_version='')),
    ('BackupInfo', dict(etcd_version='3.4.13', timestamp=1704067200, cluster_spec=SPEC)),
    ('BackupInfo', dict(etcd_version='3.4.13', timestamp=0, cluster_spec=dict(member_count=0, etcd_version=''))),
    ('Command', COMMAND),
    ('Command', dict(timestamp=-1, restore_backup=dict(cluster_spec=None, backup='b "q" \\ \x01 \x7f é'))),
])
def test_every_message_matches_the_protobuf_library(kind, message):
    written = etcd.encode_message(kind, message)
    parsed = json_format.Parse(written, PROTO[kind](), ignore_unknown_fields=False)
    assert written == go_protojson(parsed)
    # and back: what the library writes, this module reads to the same fields
    read = etcd.decode_message(kind, go_protojson(parsed), 'the entry')
    assert etcd.encode_message(kind, read) == written


def test_protojson_of_the_library_reads_back_with_every_default():
    info = PROTO['BackupInfo'](etcd_version='3.5.21', timestamp=2 ** 62)
    read = etcd.decode_message('BackupInfo', go_protojson(info), 'meta')
    assert read == dict(etcd_version='3.5.21', timestamp=2 ** 62, cluster_spec=None)
    assert etcd.decode_message('ClusterSpec', b'{}', 'spec') == dict(member_count=0, etcd_version='')


@pytest.mark.parametrize('text', [
    # etcd-manager's legacy jsonpb fixtures (json_test.go) and the same with Go's random extra space
    b'{\n  "etcdVersion": "3.4.13",\n  "timestamp": "1704067200",\n  "clusterSpec": {\n    "memberCount": 3,\n'
    b'    "etcdVersion": "3.4.13"\n  }\n}',
    b'{\n  "etcdVersion":  "3.4.13",\n  "timestamp":  "1704067200",\n  "clusterSpec":  {\n    "memberCount":  3,\n'
    b'    "etcdVersion":  "3.4.13"\n  }\n}',
    # proto names and integers as numbers, which protojson accepts too
    b'{"etcd_version": "3.4.13", "timestamp": 1704067200, "cluster_spec": {"member_count": "3", "etcd_version": "3.4.13"}}',
])
def test_backup_info_forms_etcd_manager_reads(text):
    expected = json_format.Parse(text, PROTO['BackupInfo']())
    read = etcd.decode_message('BackupInfo', text, 'meta')
    assert read == dict(etcd_version=expected.etcd_version, timestamp=expected.timestamp,
                        cluster_spec=dict(member_count=expected.cluster_spec.member_count,
                                          etcd_version=expected.cluster_spec.etcd_version))


@pytest.mark.parametrize('text,problem', [
    (b'{"etcdVersion": "3.5", "size": 4}', 'unknown field size'),
    (b'{"etcdVersion": 3.5}', 'etcd_version is not a string'),
    (b'{"timestamp": "soon"}', 'timestamp is not an int64'),
    (b'{"timestamp": true}', 'timestamp is not an int64'),
    (b'{"clusterSpec": {"memberCount": 4294967296}}', 'cluster_spec.member_count is not an int32'),
    (b'{"etcdVersion": "a", "etcdVersion": "b"}', 'a field is given twice (etcdVersion)'),
])
def test_what_protojson_refuses_is_refused(text, problem):
    with pytest.raises(json_format.ParseError):
        json_format.Parse(text, PROTO['BackupInfo'](), ignore_unknown_fields=False)
    with pytest.raises(etcd.EtcdError) as refused:
        etcd.decode_message('BackupInfo', text, 'x/_etcd_backup.meta')
    assert str(refused.value) == 'x/_etcd_backup.meta is not a valid BackupInfo message: ' + problem


# Go's protojson refuses these too (a message must be a JSON object; a field given under both of its names is a
# duplicate), where Python's json_format lets them through
@pytest.mark.parametrize('text,problem', [
    (b'{"etcdVersion": "a", "etcd_version": "b"}', 'field etcd_version is given twice'),
    (b'{"clusterSpec": []}', 'cluster_spec is not a JSON object'),
    (b'[]', 'it is not a JSON object'),
    (b'"3.5.21"', 'it is not a JSON object'),
])
def test_what_go_protojson_refuses_beyond_the_python_library(text, problem):
    with pytest.raises(etcd.EtcdError) as refused:
        etcd.decode_message('BackupInfo', text, 'x/_etcd_backup.meta')
    assert str(refused.value) == 'x/_etcd_backup.meta is not a valid BackupInfo message: ' + problem


def test_broken_json_is_reported_without_its_text():
    with pytest.raises(etcd.EtcdError) as refused:
        etcd.decode_message('Command', b'{"timestamp": "Secret-Value', 'c/_command.json')
    assert 'c/_command.json is not valid JSON at line 1' in str(refused.value)
    assert 'Secret-Value' not in str(refused.value)


def test_command_folders_are_named_as_etcd_manager_ctl_names_them():
    assert etcd.command_folder(1796040000999999999) == '2026-11-30T12:00:00Z-000000'
    assert etcd.backup_time('2026-11-30T12:00:00Z-000000').isoformat() == '2026-11-30T12:00:00'
    assert etcd.backup_time('2026-11-30T12:00:00.5Z-000001').isoformat() == '2026-11-30T12:00:00'
    assert etcd.backup_time('manual-copy') is None


_names = itertools.count()


@pytest.fixture(params=['file', 'memfs'])
def store(request, tmp_path):
    backend = open_store(str(tmp_path / 'store') if request.param == 'file' else 'memfs://etcd-%d' % next(_names))
    eb.lay_out(backend)
    return backend


def test_listing_newest_first_with_complete_and_incomplete_backups(store):
    stores = etcd.read_backup_stores(store, eb.CLUSTER, 'all')
    main = stores['main'].as_dict()
    assert [backup['name'] for backup in main['backups']] == [name for name, _options in reversed(eb.MAIN_BACKUPS)]
    newest = main['backups'][0]
    assert not newest['complete'] and newest['has_data'] and not newest['has_meta'] and newest['etcd_version'] is None
    assert '_etcd_backup.meta is missing' in newest['problem']
    assert main['backups'][1] == dict(
        name='2026-11-30T11:00:00Z-000003', time='2026-11-30T11:00:00Z', etcd_version='3.5.21', member_count=3,
        size=len(eb.snapshot(eb.CLUSTER, 'main', '2026-11-30T11:00:00Z-000003')), has_data=True, has_meta=True,
        complete=True, problem=None)
    assert main['cluster_spec'] == SPEC and main['cluster_created'] and main['commands'] == []
    assert main['location'] == store.render(eb.CLUSTER + '/backups/etcd/main')
    events = stores['events'].as_dict()
    assert [backup['complete'] for backup in events['backups']] == [True, False, True, True]
    assert events['backups'][1]['problem'] == 'its etcd.backup.gz is missing' and events['backups'][1]['size'] is None
    assert events['cluster_spec'] == SPEC  # written with Go's extra spaces
    assert not any('Backup-Secret' in json.dumps(value) for value in (main, events))


def test_latest_for_both_pairs_backups_by_time(store):
    stores = etcd.read_backup_stores(store, eb.CLUSTER, 'all', with_details=False)
    restores = etcd.plan_restore(stores, 'latest', now=1796040000123456789)
    assert [(restore.store.etcd_cluster, restore.backup.name) for restore in restores] == [
        ('main', '2026-11-30T11:00:00Z-000003'), ('events', '2026-11-30T10:59:58Z-000002')]
    assert etcd.skew_seconds(restores) == 2
    assert restores[0].command_path == eb.CLUSTER + '/backups/etcd/main/control/2026-11-30T12:00:00Z-000000/_command.json'
    parsed = json_format.Parse(restores[1].data, PROTO['Command'](), ignore_unknown_fields=False)
    assert parsed.restore_backup.backup == '2026-11-30T10:59:58Z-000002' and parsed.timestamp == 1796040000123456789
    assert parsed.restore_backup.cluster_spec.member_count == 3


def test_a_named_events_backup_pairs_main_by_time(store):
    stores = etcd.read_backup_stores(store, eb.CLUSTER, 'all', with_details=False)
    chosen = etcd.choose_backups(stores, '2026-11-30T09:00:01Z-000001')
    assert (chosen['main'].name, chosen['events'].name) == ('2026-11-30T09:00:00Z-000001', '2026-11-30T09:00:01Z-000001')


@pytest.mark.parametrize('selection,backup,message', [
    ('main', '2026-11-30T11:15:00Z-000004', 'cannot restore backup 2026-11-30T11:15:00Z-000004 of etcd cluster main: '
     'its _etcd_backup.meta is missing (an upload that did not finish writes the data first) (in %(main)s); the newest '
     'complete ones: 2026-11-30T11:00:00Z-000003, 2026-11-30T10:00:00Z-000002, 2026-11-30T09:00:00Z-000001'),
    ('events', '2026-11-30T08:00:00Z-000009', 'cannot restore backup 2026-11-30T08:00:00Z-000009 of etcd cluster events: '
     'it does not exist (in %(events)s); the newest complete ones: 2026-11-30T11:14:00Z-000004, '
     '2026-11-30T10:59:58Z-000002, 2026-11-30T09:00:01Z-000001'),
    ('all', 'nope', 'no etcd cluster has a backup nope (main: 2026-11-30T11:00:00Z-000003, 2026-11-30T10:00:00Z-000002, '
     '2026-11-30T09:00:00Z-000001; events: 2026-11-30T11:14:00Z-000004, 2026-11-30T10:59:58Z-000002, '
     '2026-11-30T09:00:01Z-000001)'),
    ('main', '../events', "backup name '../events' is not a valid name"),
])
def test_missing_and_incomplete_backups_are_refused(store, selection, backup, message):
    stores = etcd.read_backup_stores(store, eb.CLUSTER, selection, with_details=False)
    with pytest.raises(etcd.StateStoreError) as refused:
        etcd.plan_restore(stores, backup)
    assert str(refused.value).startswith(message % dict(
        main=store.render(eb.CLUSTER + '/backups/etcd/main'), events=store.render(eb.CLUSTER + '/backups/etcd/events')))


def test_no_expected_cluster_spec_no_restore(store):
    stores = etcd.read_backup_stores(store, eb.NEW_CLUSTER, 'all', with_details=False)
    with pytest.raises(etcd.EtcdError) as refused:
        etcd.plan_restore(stores, 'latest')
    assert str(refused.value).startswith('etcd cluster main has no expected cluster spec (%s/control/etcd-cluster-spec '
                                         'is missing): kops update cluster writes it'
                                         % store.render(eb.NEW_CLUSTER + '/backups/etcd/main'))


def test_pending_restores_of_the_same_backup_are_kept_of_another_refused(store):
    eb.write_command(store, eb.CLUSTER, 'main', '2026-11-30T11:30:00Z-000000', '2026-11-30T11:00:00Z-000003',
                     1796038200000000000)
    stores = etcd.read_backup_stores(store, eb.CLUSTER, 'all', with_details=False)
    restores = etcd.plan_restore(stores, 'latest')
    assert [restore.changed for restore in restores] == [False, True]
    assert restores[0].as_dict()['already_pending'] and restores[0].as_dict()['command'].endswith(
        'main/control/2026-11-30T11:30:00Z-000000/_command.json')
    with pytest.raises(etcd.EtcdError) as refused:
        etcd.plan_restore(stores, '2026-11-30T10:00:00Z-000002')
    assert 'etcd cluster main already has a pending restore of backup 2026-11-30T11:00:00Z-000003' in str(refused.value)
    assert [command.restore_backup for command in etcd.pending_restores(stores)] == ['2026-11-30T11:00:00Z-000003']
    assert etcd.pending_restores(stores, '2026-11-30T10:00:00Z-000002') == []


def test_written_commands_are_read_back_and_removed(store):
    stores = etcd.read_backup_stores(store, eb.CLUSTER, 'all', with_details=False)
    etcd.apply_restore(store, etcd.plan_restore(stores, 'latest', now=1796040000123456789))
    again = etcd.read_backup_stores(store, eb.CLUSTER, 'all', with_details=False)
    assert not any(restore.changed for restore in etcd.plan_restore(again, 'latest'))
    commands = [command.as_dict() for store_ in again.values() for command in store_.commands]
    assert commands[0] == dict(command='2026-11-30T12:00:00Z-000000/_command.json', time='2026-11-30T12:00:00Z',
                               timestamp=1796040000123456789,
                               restore_backup=dict(backup='2026-11-30T11:00:00Z-000003', cluster_spec=SPEC))
    etcd.remove_commands(store, etcd.pending_restores(again))
    assert etcd.pending_restores(etcd.read_backup_stores(store, eb.CLUSTER, 'all', with_details=False)) == []


def test_a_failed_second_write_takes_the_first_back(tmp_path):
    store = open_store(str(tmp_path / 'store'))
    eb.lay_out(store)
    # the events command's path is taken by a folder, so its write fails after main's
    os.makedirs(str(tmp_path / 'store' / eb.CLUSTER / 'backups/etcd/events/control/2026-11-30T12:00:00Z-000000'
                    / '_command.json'))
    stores = etcd.read_backup_stores(store, eb.CLUSTER, 'all', with_details=False)
    with pytest.raises(etcd.EtcdError) as failed:
        etcd.apply_restore(store, etcd.plan_restore(stores, 'latest', now=1796040000123456789))
    assert str(failed.value).endswith('; the commands written before were removed again')
    assert etcd.pending_restores(etcd.read_backup_stores(store, eb.CLUSTER, 'all', with_details=False)) == []


def test_a_broken_command_file_fails_naming_it(store):
    store.write(eb.CLUSTER + '/backups/etcd/main/control/x/_command.json', b'{"timestamp": Secret}')
    with pytest.raises(etcd.EtcdError) as refused:
        etcd.read_backup_stores(store, eb.CLUSTER, 'main')
    assert str(refused.value).startswith('control/x/_command.json (main) is not valid JSON at line 1')
    assert 'Secret' not in str(refused.value)


# -- where the backups are: <configBase>/backups/etcd/<etcd cluster> ------------------------------------------------

def ha_cluster_spec(etcd_cluster):
    """The control/etcd-cluster-spec kops update cluster writes for kOps's ha test cluster (its golden file, without
    the newline kOps's test harness adds)."""
    with open(os.path.join(KOPS_TEST_DATA, 'ha', 'aws_s3_object_etcd-cluster-spec-%s_content' % etcd_cluster), 'rb') as handle:
        return handle.read().rstrip(b'\n')


def spellings(store, folder):
    """Every form kOps reads the location of ``folder`` from: as kOps renders it, with a trailing '/', and for a
    local store as a file:// URL."""
    rendered = store.render(folder)
    return [rendered, rendered + '/'] + (['file://' + rendered] if '://' not in rendered else [])


@pytest.fixture(params=['file', 'memfs'])
def empty_store(request, tmp_path):
    return open_store(str(tmp_path / 'store') if request.param == 'file' else 'memfs://etcd-%d' % next(_names))


def test_backups_are_below_the_config_base(empty_store):
    """kOps keeps the backup stores at <configBase>/backups/etcd/<name>: with the configBase in another folder of
    the store (however spelled) the modules read and queue there, and nothing at <store>/<cluster>/backups."""
    store = empty_store
    base = 'configs/' + eb.CLUSTER
    for spelling in spellings(store, base):
        eb.lay_out(store, base=base, config_base=spelling)
        for etcd_cluster in ('main', 'events'):
            store.write(eb.backup_store(base, etcd_cluster) + '/control/etcd-cluster-spec', ha_cluster_spec(etcd_cluster))
        stores = etcd.read_backup_stores(store, eb.CLUSTER, 'all')
        assert stores['main'].location == store.render(base + '/backups/etcd/main')
        assert [backup['name'] for backup in stores['main'].as_dict()['backups']][1] == '2026-11-30T11:00:00Z-000003'
        assert stores['events'].cluster_spec == dict(member_count=3, etcd_version='3.5.31')
        restores = etcd.plan_restore(stores, 'latest', now=1796040000123456789)
        etcd.apply_restore(store, restores)
        written = [entry.path for entry in store.list('', recursive=True) if entry.path.endswith('/_command.json')]
        assert sorted(written) == sorted(restore.command_path for restore in restores)
        assert all(path.startswith(base + '/backups/etcd/') for path in written)
        parsed = json_format.Parse(store.read(written[0])[0], PROTO['Command'](), ignore_unknown_fields=False)
        assert parsed.restore_backup.cluster_spec.etcd_version == '3.5.31'
        etcd.remove_commands(store, etcd.pending_restores(etcd.read_backup_stores(store, eb.CLUSTER, 'all')))
    assert not [entry for entry in store.list(eb.CLUSTER, recursive=True) if '/backups/' in entry.path]


def test_a_config_base_outside_the_store_is_not_followed(tmp_path):
    """A configBase read from the store is data: one in another folder, another store of the same kind, or
    reached through '..', is refused, naming it, and nothing there is read or written."""
    store = open_store(str(tmp_path / 'store'))
    other = open_store(str(tmp_path / 'other'))
    eb.lay_out(other)
    before = dict((entry.path, other.read(entry.path)[0]) for entry in other.list('', recursive=True))
    for config_base in (other.render(eb.CLUSTER), 'file://%s' % other.render(eb.CLUSTER),
                        store.render(eb.CLUSTER) + '/../../other/' + eb.CLUSTER, 'memfs://etcd/' + eb.CLUSTER,
                        's3://bucket/' + eb.CLUSTER):
        store.write(eb.CLUSTER + '/config', eb.cluster_config(eb.CLUSTER, config_base))
        with pytest.raises(etcd.EtcdError) as refused:
            etcd.read_backup_stores(store, eb.CLUSTER, 'all')
        assert str(refused.value).startswith('cluster %s keeps its etcd backups below its spec.configBase, %s, which '
                                             'lies outside the state store %s' % (eb.CLUSTER, config_base, store.render()))
    assert dict((entry.path, other.read(entry.path)[0]) for entry in other.list('', recursive=True)) == before
    assert [entry.path for entry in store.list('', recursive=True)] == [eb.CLUSTER + '/config']


def test_a_cluster_without_config_is_refused(store):
    with pytest.raises(etcd.EtcdError, match='cluster gone.example.com does not exist: there is no .*gone.example.com/config'):
        etcd.read_backup_stores(store, 'gone.example.com', 'all')

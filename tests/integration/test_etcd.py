"""etcd_backup_info and etcd_restore through ansible-playbook, on file:// and on the moto server, against backup
stores laid out as etcd-manager writes them (tests/support/etcd_backups.py); the command files written are compared byte
for byte with etcd-manager-ctl's form (without the extra space some Go builds add), and playbooks/etcd_restore.yml
runs as AWX would run it; the backups are found below the cluster's configBase, never outside the store."""

import json

import pytest

from support import etcd_backups as eb
from support.paths import KOPS_TEST_DATA
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

MAIN_LATEST = '2026-11-30T11:00:00Z-000003'
EVENTS_CLOSEST = '2026-11-30T10:59:58Z-000002'


def store_on(kind, request, tmp_path, name):
    """(location, environment, settings) of a new store of ``kind`` (file or s3) for the playbooks."""
    if kind == 'file':
        return 'file://%s' % (tmp_path / name), {}, {}
    environment = request.getfixturevalue('aws_environment')
    settings = dict(endpoint_url=environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                    region='us-east-1')
    return 's3://%s/kops' % request.getfixturevalue('s3_bucket')('etcd-' + name), environment, settings


@pytest.fixture(params=['file', 's3'])
def laid_out(request, tmp_path):
    """(store location, environment, backend) with the etcd-manager layout written."""
    location, environment, settings = store_on(request.param, request, tmp_path, 'store')
    backend = open_store(location, settings)
    eb.lay_out(backend)
    return location, environment, backend


def command_files(backend):
    return dict((entry.path, backend.read(entry.path)[0]) for entry in backend.list(eb.CLUSTER, recursive=True)
                if entry.path.endswith('/_command.json'))


def test_list_restore_and_withdraw(run_playbook, laid_out, tmp_path):
    location, environment, backend = laid_out
    result_file = tmp_path / 'results.json'
    run = run_playbook('tests/integration/playbooks/etcd_recovery.yml',
                       dict(store=location, result_file=str(result_file)), args=['--diff'], env=environment)
    assert run.rc == 0, run
    results = json.loads(result_file.read_text())
    assert 'Backup-Secret' not in run.output + result_file.read_text()  # the snapshots never show

    # listing: newest first, complete and incomplete, spec, created marker
    listed = results['listed']['etcd_clusters']
    assert list(listed) == ['main', 'events'] and not results['listed']['changed']
    assert [(backup['name'], backup['complete']) for backup in listed['main']['backups']] == [
        ('2026-11-30T11:15:00Z-000004', False), (MAIN_LATEST, True), ('2026-11-30T10:00:00Z-000002', True),
        ('2026-11-30T09:00:00Z-000001', True)]
    assert [(backup['name'], backup['complete'], backup['problem']) for backup in listed['events']['backups']] == [
        ('2026-11-30T11:14:00Z-000004', True, None), ('2026-11-30T11:00:01Z-000003', False, 'its etcd.backup.gz is missing'),
        (EVENTS_CLOSEST, True, None), ('2026-11-30T09:00:01Z-000001', True, None)]
    newest_complete = listed['main']['backups'][1]
    assert newest_complete['etcd_version'] == '3.5.21' and newest_complete['member_count'] == 3
    assert newest_complete['size'] == len(eb.snapshot(eb.CLUSTER, 'main', MAIN_LATEST))
    for etcd_cluster in ('main', 'events'):
        assert listed[etcd_cluster]['cluster_spec'] == dict(member_count=3, etcd_version='3.5.21')
        assert listed[etcd_cluster]['cluster_created'] and listed[etcd_cluster]['commands'] == []
        assert listed[etcd_cluster]['location'] == backend.render('%s/backups/etcd/%s' % (eb.CLUSTER, etcd_cluster))
    assert list(results['main_only']['etcd_clusters']) == ['main']

    # check mode: the command files shown, nothing written
    planned = results['planned']
    assert planned['changed'] and planned['skew_seconds'] == 2
    assert [(restore['etcd_cluster'], restore['backup']) for restore in planned['restores']] == [
        ('main', MAIN_LATEST), ('events', EVENTS_CLOSEST)]
    assert [diff['before'] for diff in planned['diff']] == ['', '']
    assert '"backup": "%s"' % MAIN_LATEST in planned['diff'][0]['after']
    assert planned['diff'][1]['after_header'] == planned['restores'][1]['location']
    assert all(not cluster['commands'] for cluster in results['after_check']['etcd_clusters'].values())

    # the restore, byte for byte as etcd-manager-ctl restore-backup writes it, at the path it uses
    queued = results['queued']
    assert queued['changed'] and [restore['backup'] for restore in queued['restores']] == [MAIN_LATEST, EVENTS_CLOSEST]
    written = command_files(backend)
    assert sorted(written) == sorted(restore['command'] for restore in queued['restores'])
    pending = results['pending']['etcd_clusters']  # read after the refusals below: they added nothing
    for restore, diff in zip(queued['restores'], queued['diff']):
        command = pending[restore['etcd_cluster']]['commands']
        assert len(command) == 1 and command[0]['restore_backup']['backup'] == restore['backup']
        control = '%s/backups/etcd/%s/control/' % (eb.CLUSTER, restore['etcd_cluster'])
        assert restore['command'] == control + command[0]['command']
        assert command[0]['command'] == command[0]['time'] + '-000000/_command.json'
        assert written[restore['command']] == (eb.COMMAND % dict(
            timestamp=command[0]['timestamp'], members=3, version='3.5.21', backup=restore['backup'])).encode()
        assert diff['after'] == written[restore['command']].decode() + '\n'

    # idempotence
    for again in (results['queued_again'], results['named_again']):
        assert not again['changed'] and all(restore['already_pending'] for restore in again['restores'])
        assert again['restores'][0]['command'] == queued['restores'][0]['command']

    # refusals: clear, nothing written
    assert results['refused_other']['failed'] and 'already has a pending restore of backup %s' % MAIN_LATEST in \
        results['refused_other']['msg']
    assert results['refused_missing']['msg'].startswith(
        'cannot restore backup 2026-11-29T10:00:00Z-000001 of etcd cluster events: it does not exist (in ')
    assert results['refused_missing']['msg'].endswith(
        'the newest complete ones: 2026-11-30T11:14:00Z-000004, %s, 2026-11-30T09:00:01Z-000001' % EVENTS_CLOSEST)
    assert "its _etcd_backup.meta is missing" in results['refused_incomplete']['msg']
    assert results['refused_no_spec']['msg'].startswith('etcd cluster main has no expected cluster spec (')
    assert 'kops update cluster writes it' in results['refused_no_spec']['msg']
    assert 'etcd-manager-ctl refuses a restore without one' in results['refused_no_spec']['msg']
    assert results['refused_absent_latest']['failed']
    for refused in ('refused_other', 'refused_missing', 'refused_incomplete', 'refused_no_spec', 'refused_absent_latest'):
        assert not results[refused].get('changed'), refused

    # removal as delete-command: check mode first, by backup, the rest, then nothing
    run = run_playbook('tests/integration/playbooks/etcd_withdraw.yml', dict(
        store=location, result_file=str(result_file), main_backup=MAIN_LATEST), args=['--diff'], env=environment)
    assert run.rc == 0, run
    results = json.loads(result_file.read_text())
    removal_check = results['removal_check']
    assert removal_check['changed'] and len(removal_check['removed']) == 2
    assert [diff['after'] for diff in removal_check['diff']] == ['', '']
    assert [diff['before'] for diff in removal_check['diff']] == [diff['after'] for diff in queued['diff']]
    assert not results['removal_other']['changed'] and results['removal_other']['removed'] == []
    assert results['removed_main']['removed'] == [dict(etcd_cluster='main', backup=MAIN_LATEST,
                                                       command=queued['restores'][0]['command'])]
    assert results['removed']['removed'] == [dict(etcd_cluster='events', backup=EVENTS_CLOSEST,
                                                  command=queued['restores'][1]['command'])]
    assert not results['removed_again']['changed']
    assert all(not cluster['commands'] for cluster in results['after_removal']['etcd_clusters'].values())
    assert command_files(backend) == {}
    # the backups themselves are untouched
    assert backend.read('%s/backups/etcd/main/%s/etcd.backup.gz' % (eb.CLUSTER, MAIN_LATEST))[0] == \
        eb.snapshot(eb.CLUSTER, 'main', MAIN_LATEST)


def test_the_awx_playbook_checks_first_then_queues(run_playbook, laid_out):
    location, environment, backend = laid_out
    variables = dict(kops_state_store=location, kops_cluster_name=eb.CLUSTER, etcd_backup='latest')
    checked = run_playbook('playbooks/etcd_restore.yml', variables, args=['--check', '--diff'], env=environment)
    assert checked.rc == 0, checked
    assert MAIN_LATEST in checked.output and EVENTS_CLOSEST in checked.output
    assert command_files(backend) == {}
    queued = run_playbook('playbooks/etcd_restore.yml', variables, env=environment)
    assert queued.rc == 0, queued
    assert len(command_files(backend)) == 2
    again = run_playbook('playbooks/etcd_restore.yml', variables, env=environment)
    assert again.rc == 0 and 'changed=0' in again.output, again
    refused = run_playbook('playbooks/etcd_restore.yml', dict(variables, etcd_backup='2026-11-30T11:15:00Z-000004',
                                                              etcd_cluster='main'), env=environment)
    assert refused.rc != 0 and 'its _etcd_backup.meta is missing' in refused.output
    assert len(command_files(backend)) == 2
    withdrawn = run_playbook('playbooks/etcd_restore.yml', dict(variables, etcd_restore_state='absent'), env=environment)
    assert withdrawn.rc == 0 and 'Removed 2 pending restore command(s)' in withdrawn.output, withdrawn
    assert command_files(backend) == {}


# -- <configBase>/backups/etcd/<etcd cluster> -----------------------------------------------------------------------

def ha_cluster_spec(etcd_cluster):
    """kops update cluster's control/etcd-cluster-spec for its ha test cluster (the golden file, without the newline
    kOps's test harness adds)."""
    with open('%s/ha/aws_s3_object_etcd-cluster-spec-%s_content' % (KOPS_TEST_DATA, etcd_cluster), 'rb') as handle:
        return handle.read().rstrip(b'\n')


def everything(backend):
    return dict((entry.path, backend.read(entry.path)[0]) for entry in backend.list('', recursive=True))


@pytest.mark.parametrize('kind', ['file', 's3'])
def test_the_backups_below_the_config_base_and_none_outside_the_store(run_playbook, request, tmp_path, kind):
    """A cluster whose configBase is another folder of the store (written with a trailing '/'): the modules list
    and queue there, with the expected spec kops update wrote (kOps's ha golden); one whose configBase names
    another store is refused, and that store is neither read nor written."""
    location, environment, settings = store_on(kind, request, tmp_path, 'state')
    backend = open_store(location, settings)
    base = 'configs/' + eb.CLUSTER
    eb.lay_out(backend, base=base, config_base=backend.render(base) + '/')
    for etcd_cluster in ('main', 'events'):
        backend.write(eb.backup_store(base, etcd_cluster) + '/control/etcd-cluster-spec', ha_cluster_spec(etcd_cluster))
    result_file = tmp_path / 'results.json'
    variables = dict(store=location, cluster=eb.CLUSTER, result_file=str(result_file))
    run = run_playbook('tests/integration/playbooks/etcd_config_base.yml', variables, env=environment)
    assert run.rc == 0, run
    results = json.loads(result_file.read_text())
    main = results['listed']['etcd_clusters']['main']
    assert main['location'] == backend.render(base + '/backups/etcd/main') and len(main['backups']) == 4
    assert main['cluster_spec'] == dict(member_count=3, etcd_version='3.5.31')
    queued = results['queued']
    assert queued['changed'] and [restore['backup'] for restore in queued['restores']] == [MAIN_LATEST, EVENTS_CLOSEST]
    assert all(restore['command'].startswith(base + '/backups/etcd/') for restore in queued['restores'])
    written = backend.read(queued['restores'][0]['command'])[0]
    assert json.loads(written)['restoreBackup']['clusterSpec'] == dict(memberCount=3, etcdVersion='3.5.31')
    assert not [path for path in everything(backend) if path.startswith(eb.CLUSTER + '/backups/')]

    other_location, _environment, _settings = store_on(kind, request, tmp_path, 'other')
    other = open_store(other_location, settings)
    eb.lay_out(other)
    before = everything(other)
    backend.write(eb.CLUSTER + '/config', eb.cluster_config(eb.CLUSTER, other.render(eb.CLUSTER)))
    run = run_playbook('tests/integration/playbooks/etcd_config_base.yml', variables, env=environment)
    assert run.rc == 0, run
    results = json.loads(result_file.read_text())
    for task in ('listed', 'queued'):
        assert results[task]['failed'] and 'lies outside the state store %s' % backend.render() in results[task]['msg']
        assert not results[task].get('changed')
    assert everything(other) == before

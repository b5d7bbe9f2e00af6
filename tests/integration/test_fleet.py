"""playbooks/fleet_upgrade.yml over the kops.state_store.clusters inventory, through ansible-playbook, on a bucket of
the test moto and on a file:// store: check mode and diff per cluster writing nothing, a failing cluster that fails
its host only while the others complete, a re-run that touches only what is left, the summary, --limit and serial
batches; and fleet runs at the same time as single-cluster changes never losing an update."""

import json
import re
import threading

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.kops_fleet import lay_out, lay_out_fleet

PLAYBOOK = 'playbooks/fleet_upgrade.yml'
CHANGE = dict(kubernetes_version='v1.35.0', instance_groups=[dict(name='nodes', spec=dict(maxSize=3))])


@pytest.fixture(params=['s3', 'file'])
def fleet_store(request, tmp_path):
    """(location, backend, environment of the runs) on a bucket of the test moto or on a file:// store."""
    if request.param == 'file':
        location = 'file://%s' % (tmp_path / 'store')
        return location, open_store(location), {}
    environment = request.getfixturevalue('aws_environment')
    location = 's3://%s' % request.getfixturevalue('s3_bucket')('fleet')
    settings = dict(endpoint_url=environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                    region='us-east-1')
    return location, open_store(location, settings), environment


def inventory_file(tmp_path, *locations):
    path = tmp_path / 'clusters.kops.yml'
    path.write_text(yaml.safe_dump(dict(plugin='kops.state_store.clusters', state_stores=list(locations))))
    return str(path)


def tree(backend):
    return dict((entry.path, backend.read(entry.path)[0]) for entry in backend.list('', recursive=True))


def summary(output):
    """The fleet_upgrade_summary the last play shows."""
    marker = '"fleet_upgrade_summary": '
    return json.JSONDecoder().raw_decode(output[output.index(marker) + len(marker):])[0]


def recap(output):
    """{host: {ok, changed, failed, ...}} of the PLAY RECAP."""
    return dict((host, dict((key, int(value)) for key, value in re.findall(r'(\w+)=(\d+)', counts)))
                for host, counts in re.findall(r'^(\S+)\s+: (ok=.*)$', output, re.MULTILINE) if host != 'localhost')


def stuck(cluster, groups):
    """A cluster the fleet change cannot apply to: its nodes need more than the new maxSize (kOps refuses
    minSize > maxSize, so the cluster module's validation does)."""
    groups['nodes']['spec'].update(minSize=4, maxSize=5)


def test_check_then_run_with_a_failing_cluster_then_rerun(run_playbook, tmp_path, fleet_store):
    location, backend, environment = fleet_store
    good = lay_out_fleet(backend, 4, fixtures=['minimal-aws.yaml'])
    lay_out(backend, 'minimal-aws.yaml', 'stuck.example.com', change=stuck)
    backend.write('broken.example.com/config', b'apiVersion: kops.k8s.io/v1alpha2\nkind: [Cluster\n')
    inventory = inventory_file(tmp_path, location)
    before = tree(backend)

    checked = run_playbook(PLAYBOOK, CHANGE, args=['-i', inventory, '--check', '--diff', '--forks', '10'],
                           env=environment)
    assert checked.rc == 2, checked  # the failed host
    assert tree(backend) == before
    assert checked.output.count('+  kubernetesVersion: v1.35.0') == len(good), checked
    assert 'cluster %s left out' % backend.render('broken.example.com') in ' '.join(checked.output.split()), checked
    would = summary(checked.output)
    assert sorted(would['changed']) == good and would['unchanged'] == [] and list(would['failed']) == [
        'stuck.example.com']

    run = run_playbook(PLAYBOOK, CHANGE, args=['-i', inventory, '--forks', '10'], env=environment)
    assert run.rc == 2, run
    counts = recap(run.output)
    assert sorted(counts) == sorted(good + ['stuck.example.com'])
    assert all(counts[name]['changed'] == 1 and counts[name]['failed'] == 0 for name in good), counts
    assert counts['stuck.example.com']['failed'] == 1
    done = summary(run.output)
    assert done['changed'] == dict((name, [cl.config_path(name), cl.group_path(name, 'nodes')]) for name in good)
    assert 'minSize 4 is greater than maxSize 3' in done['failed']['stuck.example.com']
    for name in good:
        stored = cl.read_cluster(backend, name)
        assert stored.cluster['spec']['kubernetesVersion'] == 'v1.35.0'
        assert stored.groups['nodes'][0]['spec']['maxSize'] == 3
        assert stored.cluster['metadata']['generation'] == 1  # written once
    after = tree(backend)
    assert dict((path, data) for path, data in after.items() if path.startswith('stuck.')) == dict(
        (path, data) for path, data in before.items() if path.startswith('stuck.'))

    # someone lowers the stuck cluster's minimum; the same run again changes only that cluster
    cl.update_cluster(backend, cl.ClusterRequest('stuck.example.com', groups=[
        dict(name='nodes', spec=dict(minSize=2))]))
    again = run_playbook(PLAYBOOK, CHANGE, args=['-i', inventory, '--forks', '10'], env=environment)
    assert again.rc == 0, again
    counts = recap(again.output)
    assert counts['stuck.example.com']['changed'] == 1
    assert all(counts[name]['changed'] == 0 for name in good), counts
    rest = summary(again.output)
    assert (list(rest['changed']), rest['unchanged'], rest['failed']) == (['stuck.example.com'], good, {})
    assert dict((path, data) for path, data in tree(backend).items() if not path.startswith('stuck.')) == dict(
        (path, data) for path, data in after.items() if not path.startswith('stuck.'))


def test_limit_and_serial_batches(run_playbook, tmp_path):
    location = 'file://%s' % (tmp_path / 'store')
    backend = open_store(location)
    newer = lay_out_fleet(backend, 5, prefix='new', fixtures=['minimal-aws.yaml'])  # Kubernetes 1.34
    older = lay_out_fleet(backend, 2, prefix='old', fixtures=['ha.yaml'])  # Kubernetes 1.32
    untouched = dict((path, data) for path, data in tree(backend).items() if path.startswith('old'))
    run = run_playbook(PLAYBOOK, dict(spec=dict(cloudLabels=dict(team='a')), serial=2),
                       args=['-i', inventory_file(tmp_path, location), '--limit', 'kops_k8s_1_34'])
    assert run.rc == 0, run
    assert run.output.count('PLAY [Merge one change into every kOps cluster of the inventory]') == 3  # 2 + 2 + 1
    assert sorted(summary(run.output)['changed']) == newer
    for name in newer:
        assert cl.read_cluster(backend, name).cluster['spec']['cloudLabels'] == {'team': 'a'}
    assert sorted(set(path.split('/')[0] for path in untouched)) == older
    assert dict((path, data) for path, data in tree(backend).items() if path.startswith('old')) == untouched


def test_no_change_given_fails_before_writing(run_playbook, tmp_path):
    location = 'file://%s' % (tmp_path / 'store')
    backend = open_store(location)
    lay_out(backend, 'minimal-aws.yaml')
    before = tree(backend)
    run = run_playbook(PLAYBOOK, {}, args=['-i', inventory_file(tmp_path, location)])
    assert run.rc == 2 and 'give the change to merge' in run.output, run
    assert tree(backend) == before


def test_fleet_runs_and_single_cluster_changes_at_once_lose_no_update(run_playbook, tmp_path, aws_environment,
                                                                      s3_bucket):
    """Two fleet runs (each merging a label of its own into every cluster, ten hosts at once) and a play changing
    one of those clusters four times, all started together on one bucket."""
    location = 's3://%s' % s3_bucket('fleet-race')
    settings = dict(endpoint_url=aws_environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                    region='us-east-1')
    backend = open_store(location, settings)
    names = lay_out_fleet(backend, 7, fixtures=['minimal-aws.yaml']) + [
        lay_out(backend, 'minimal-aws.yaml', 'race.k8s.local')]
    inventory = inventory_file(tmp_path, location)
    runs = [(PLAYBOOK, dict(spec=dict(cloudLabels={'fleet-%d' % run: 'v'})), ['-i', inventory, '--forks', '10'])
            for run in range(2)]
    runs.append(('tests/integration/playbooks/cluster_concurrency.yml', dict(store=location, worker=0, rounds=4), []))
    results = [None] * len(runs)

    def work(index):
        playbook, extra_vars, args = runs[index]
        results[index] = run_playbook(playbook, extra_vars, args=args, env=aws_environment)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(runs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        assert result.rc == 0, result
    for name in names:
        cluster = cl.read_cluster(backend, name).cluster
        labels = set(cluster['spec']['cloudLabels'])
        single = set('w0-%d' % round_ for round_ in range(4)) if name == 'race.k8s.local' else set()
        assert labels == {'fleet-0', 'fleet-1'} | single, name
        assert cluster['metadata']['generation'] == len(labels), name  # one generation per update, none lost

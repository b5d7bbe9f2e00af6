"""The cluster modules through real ansible-playbook runs, including several runs at once on one cluster."""

import json
import os
import threading

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import load_documents
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(REPO, 'tests', 'fixtures', 'kops-clusters', 'complex.yaml')
WORKERS = 8
ROUNDS = 3


def test_lifecycle_on_a_file_store(run_playbook, tmp_path):
    folder = tmp_path / 'store'
    result = run_playbook('tests/integration/playbooks/cluster_lifecycle.yml',
                          dict(store='file://%s' % folder, fixture=FIXTURE))
    assert result.rc == 0, result
    # what the playbook did not ask to change is exactly as in the fixture (values, types, key order)
    with open(FIXTURE) as handle:
        fixture = dict((doc['metadata']['name'], doc) for doc in load_documents(handle.read(), FIXTURE))
    store = open_store(str(folder))
    stored = cl.read_cluster(store, 'complex.example.com')
    master = stored.groups['master-us-test-1a'][0]
    assert json.dumps(master) == json.dumps(fixture['master-us-test-1a'])
    spec = dict(fixture['complex.example.com']['spec'], kubernetesVersion='v1.33.1')
    spec['kubelet'] = {'anonymousAuth': False, 'maxPods': 150}
    del spec['sshKeyName']
    spec['subnets'] = spec['subnets'] + [{'name': 'us-test-1b', 'zone': 'us-test-1b', 'type': 'Private',
                                          'cidr': '172.20.128.0/19'}]
    assert json.dumps(stored.cluster['spec']) == json.dumps(spec)
    # the broken config the module refused to change is untouched
    assert store.read('broken.k8s.local/config')[0] == \
        b'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata: {name: someone-else}\n'
    assert set(entry.path.split('/')[0] for entry in store.list('', recursive=True)) == \
        {'broken.k8s.local', 'complex.example.com'}


def test_memfs_cluster_lives_one_run(run_playbook):
    result = run_playbook('tests/integration/playbooks/cluster_memfs.yml')
    assert result.rc == 0, result


def test_node_size_example_playbook(run_playbook, tmp_path):
    store = 'file://%s' % (tmp_path / 'store')
    first = run_playbook('playbooks/node_size.yml', dict(kops_state_store=store))
    assert first.rc == 0, first
    second = run_playbook('playbooks/node_size.yml', dict(kops_state_store=store))
    assert second.rc == 0 and 'changed=0' in second.output, second


def race(run_playbook, store, env=None):
    """WORKERS ansible-playbook processes at once, each merging ROUNDS keys of its own."""
    results = [None] * WORKERS

    def work(worker):
        results[worker] = run_playbook('tests/integration/playbooks/cluster_concurrency.yml',
                                       dict(store=store, worker=worker, rounds=ROUNDS), env=env)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        assert result.rc == 0, result


def check_nothing_lost(backend):
    cluster = cl.read_cluster(backend, 'race.k8s.local').cluster
    expected = set('w%d-%d' % (worker, round_) for worker in range(WORKERS) for round_ in range(ROUNDS))
    assert set(cluster['spec']['cloudLabels']) == expected
    assert cluster['metadata']['generation'] == WORKERS * ROUNDS


def test_parallel_playbooks_lose_no_update_on_file(run_playbook, tmp_path):
    store = 'file://%s' % (tmp_path / 'store')
    backend = open_store(store)
    cl.update_cluster(backend, cl.ClusterRequest('race.k8s.local', spec={'cloudProvider': 'aws', 'cloudLabels': {}}))
    race(run_playbook, store)
    check_nothing_lost(backend)


def test_parallel_playbooks_lose_no_update_on_s3(run_playbook, moto_server):
    import boto3

    bucket = 'cluster-race'
    boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1',
                 aws_access_key_id='testing', aws_secret_access_key='testing').create_bucket(Bucket=bucket)
    # the kOps way to reach an S3-compatible server: S3_ENDPOINT and its keys, in the module's environment
    env = dict(S3_ENDPOINT=moto_server.endpoint, S3_REGION='us-east-1',
               S3_ACCESS_KEY_ID='testing', S3_SECRET_ACCESS_KEY='testing')
    settings = dict(endpoint_url=moto_server.endpoint, region='us-east-1',
                    access_key='testing', secret_key='testing')
    store = 's3://%s/state' % bucket
    backend = open_store(store, settings)
    cl.update_cluster(backend, cl.ClusterRequest('race.k8s.local', spec={'cloudProvider': 'aws', 'cloudLabels': {}}))
    race(run_playbook, store, env=env)
    check_nothing_lost(backend)


@pytest.mark.parametrize('scheme', ['gs', 'oss'])
def test_node_size_example_on_servers(run_playbook, request, scheme):
    server = request.getfixturevalue('gcs_server' if scheme == 'gs' else 'oss_server')
    env = request.getfixturevalue('gcs_environment' if scheme == 'gs' else 'oss_environment')
    store = '%s://%s/state' % (scheme, server.create_bucket())
    result = run_playbook('playbooks/node_size.yml', dict(kops_state_store=store), env=env)
    assert result.rc == 0, result
    stored = cl.read_cluster(open_store(store), 'demo.k8s.local')
    assert stored.cluster['spec']['configBase'] == '%s/demo.k8s.local' % store  # as kOps derives it
    assert stored.groups['nodes-us-east-1a'][0]['spec']['machineType'] == 'm4.large'

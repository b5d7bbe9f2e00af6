"""N processes (not threads: each has its own interpreter and its own client, as concurrent
ansible-playbook runs would) merge their own keys into one cluster config for several rounds, through
the cluster module's update function. An acknowledged merge missing from the final config is a lost
update. memfs:// is left out: its store lives inside one process, so processes cannot share it.
vault:// holds no cluster config (kOps keeps only secrets and keys there; the cluster module refuses), so
there each process merges into one JSON entry with the same merge and the backend's compare-and-swap."""

import itertools
import json
import multiprocessing
import os
import time

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import PreconditionFailed
from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.lock import LOCK_FOLDER
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from reliability.summary import FIGURES

PROCESSES = 8
ROUNDS = 3
ATTEMPTS = 60  # more than the module's default: 8 writers on 2 busy cores retry a lot
_names = itertools.count()


ENTRY = 'c1/secrets/labels'


def merge_entry(backend, patch):
    """Read-modify-write of one JSON entry with compare-and-swap, retried like update_cluster."""
    for attempt in range(ATTEMPTS):
        data, version = backend.read(ENTRY)
        try:
            backend.write(ENTRY, json.dumps(cl.merge(json.loads(data), patch)).encode(), expect=version)
            return
        except PreconditionFailed:
            time.sleep(cl.backoff(attempt))
    raise PreconditionFailed('gave up after %d attempts' % ATTEMPTS)


def _worker(location, settings, worker, results):
    acknowledged, failure = [], None
    try:
        backend = open_store(location, settings)
        for round_ in range(ROUNDS):
            label = 'w%d-%d' % (worker, round_)
            if location.startswith('vault://'):
                merge_entry(backend, {'cloudLabels': {label: 'v'}})
            else:
                request = cl.ClusterRequest('c1', spec={'cloudLabels': {label: 'v'}})
                cl.update_cluster(backend, request, attempts=ATTEMPTS)
            acknowledged.append(label)
    except Exception as exc:  # reported by the parent
        failure = '%s: %s' % (type(exc).__name__, exc)
    results.put((acknowledged, failure))


def _final_labels(location, settings):
    """(labels, number of writes) of the merged document."""
    backend = open_store(location, settings)
    if location.startswith('vault://'):
        data, version = backend.read(ENTRY)
        return json.loads(data)['cloudLabels'], int(version) - 1  # KV v2 versions count every write
    stored = cl.read_cluster(backend, 'c1').cluster
    return stored['spec']['cloudLabels'], stored['metadata']['generation']


def hammer(backend_name, location, settings=None):
    if location.startswith('vault://'):
        open_store(location, settings).create(ENTRY, b'{"cloudLabels": {}}')
    else:
        cl.update_cluster(open_store(location, settings), cl.ClusterRequest('c1', spec={'cloudLabels': {}}))
    context = multiprocessing.get_context('fork')
    results = context.Queue()
    processes = [context.Process(target=_worker, args=(location, settings, worker, results))
                 for worker in range(PROCESSES)]
    started = time.time()
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _process in processes]
    seconds = time.time() - started
    for process in processes:
        process.join(30)
    acknowledged = [label for labels, _failure in outcomes for label in labels]
    failures = [failure for _labels, failure in outcomes if failure]
    labels, writes = _final_labels(location, settings)
    lost = len([label for label in acknowledged if label not in labels])
    FIGURES.add(operations=len(acknowledged), processes=PROCESSES, lost_updates=lost)
    FIGURES.row('Concurrency (read-modify-write merges on one cluster config)',
                ['backend', 'guard', 'processes x rounds', 'merges acknowledged', 'lost updates', 'seconds', 'merges/s'],
                [backend_name, 'compare-and-swap' if open_store(location, settings).supports_compare_and_swap
                 else 'lock entry', '%d x %d' % (PROCESSES, ROUNDS), len(acknowledged), lost, '%.1f' % seconds,
                 '%.1f' % (len(acknowledged) / seconds)])
    assert failures == []
    assert lost == 0
    assert len(acknowledged) == PROCESSES * ROUNDS
    assert writes == len(acknowledged)  # every merge wrote exactly once
    assert open_store(location, settings).list(LOCK_FOLDER, recursive=True) == []


def _file(request):
    return 'file://%s' % request.getfixturevalue('tmp_path'), None


def _s3(request):
    import boto3

    moto = request.getfixturevalue('moto_server')  # atomic conditional writes (see tests/servers/_moto_front.py)
    bucket = 'reliability-race-%d' % next(_names)
    boto3.client('s3', endpoint_url=moto.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                 aws_secret_access_key='testing').create_bucket(Bucket=bucket)
    settings = dict(endpoint_url=moto.endpoint, access_key='testing', secret_key='testing', region='us-east-1')
    return 's3://%s/state' % bucket, settings


def _gs(request):
    request.getfixturevalue('gcs_environment')
    return 'gs://%s/state' % request.getfixturevalue('gcs_server').create_bucket(), None


def _oss(request):
    request.getfixturevalue('oss_environment')
    return 'oss://%s/state' % request.getfixturevalue('oss_server').create_bucket(), None


def _vault(request):
    server = request.getfixturevalue('openbao_server')
    mount = request.getfixturevalue('vault_mount')
    return 'vault://127.0.0.1:%d/%s/state?tls=false' % (server.port, mount), dict(vault_token=server.root_token)


def _swift(request):
    environment = request.getfixturevalue('swift_environment')
    monkeypatch = request.getfixturevalue('monkeypatch')
    for name in list(os.environ):
        if name not in environment:
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv('HOME', '/nonexistent')
    return 'swift://reliability-race-%d-%d/state' % (os.getpid(), next(_names)), None


@pytest.mark.parametrize('backend_name, make_location', [
    ('file', _file), ('s3', _s3), ('gs', _gs), ('oss', _oss), ('vault', _vault),
    # Swift checks If-None-Match before the body arrives, so two processes could both create the lock entry
    # (2 of 24 merges lost in 1 of 3 runs); the backend now confirms a create by reading back a marker after a
    # settle time (0 lost in 3 of 3 runs), a guard that depends on timing: measured, not required
    pytest.param('swift', _swift, marks=pytest.mark.xfail(
        reason='swift:// create-if-absent is confirmed after a settle time, not atomically, across processes')),
], ids=lambda value: value if isinstance(value, str) else '')
def test_parallel_merges_lose_nothing(request, monkeypatch, backend_name, make_location):
    for name in list(os.environ):
        if name.startswith(('AWS_', 'S3_', 'KOPS_', 'VAULT_')):
            monkeypatch.delenv(name)
    location, settings = make_location(request)
    hammer(backend_name, location, settings)

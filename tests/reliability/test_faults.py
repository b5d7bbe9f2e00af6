"""Faults: the S3 server is killed (-9) in the middle of a sync, a process writing to a file:// store is
killed in the middle of its write, and a proxy answers S3 requests with 503 SlowDown / 500 InternalError.
No destination entry may be partial or corrupt, the failure must be one clear line, and a re-run (or the
retries) must complete."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.workflows.sync import Sync
from reliability.fault_proxy import FaultProxy
from reliability.summary import FIGURES
from servers.moto import MotoServer, clean_aws_environment, free_port

ENTRIES = 100
SIZE = 32 * 1024
SETTINGS = dict(access_key='testing', secret_key='testing', region='us-east-1')


def content(number):
    return hashlib.sha256(b'%d' % number).digest() * (SIZE // 32)


def s3_settings(endpoint):
    return dict(SETTINGS, endpoint_url=endpoint)


def populate(endpoint, bucket):
    import boto3

    client = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id='testing',
                          aws_secret_access_key='testing')
    client.create_bucket(Bucket=bucket)
    for number in range(ENTRIES):
        client.put_object(Bucket=bucket, Key='state/c1/pki/e%03d' % number, Body=content(number))


# One process running a sync, reporting the collection's error in one line (as the module would).
SYNC_CHILD = textwrap.dedent('''
    import json, sys
    from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError
    from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
    from ansible_collections.kops.state_store.plugins.module_utils.workflows.sync import Sync
    source, destination, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    try:
        report = Sync(open_store(source, settings), open_store(destination), parallel=2).run()
    except StateStoreError as exc:
        print('FAILED: %s' % exc)
        sys.exit(2)
    print('COPIED: %d' % report.as_dict()['copied'])
''')


def run_sync_child(source, destination, settings):
    import json

    environment = clean_aws_environment(PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen([sys.executable, '-c', SYNC_CHILD, source, destination, json.dumps(settings)],
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_destination(folder, size=SIZE):
    """Every file of the destination is a whole source entry; returns how many there are."""
    store = open_store('file://%s' % folder)
    entries = store.list('', recursive=True)
    for entry in entries:
        number = int(entry.path.rsplit('/e', 1)[1])
        assert store.read(entry.path)[0] == content(number)[:size], 'partial or corrupt entry %s' % entry.path
    return len(entries)


def test_server_killed_during_sync(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(('AWS_', 'S3_', 'KOPS_')):
            monkeypatch.delenv(name)
    port = free_port()
    server = MotoServer(port=port)
    try:
        populate(server.endpoint, 'killed')
        destination = tmp_path / 'dest'
        started = time.time()
        child = run_sync_child('s3://killed/state', 'file://%s' % destination, s3_settings(server.endpoint))
        copied = 0
        while copied < 10 and child.poll() is None and time.time() - started < 120:
            time.sleep(0.05)
            copied = sum(len(files) for _folder, _dirs, files in os.walk(str(destination)))
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        output, errors = child.communicate(timeout=240)
        assert child.returncode == 2, output + errors[-3000:]
        assert output.startswith('FAILED: ') and output.count('\n') == 1 and errors == ''
        assert '127.0.0.1:%d' % port in output  # names the endpoint it could not reach
        landed = check_destination(destination)
        assert 0 < landed < ENTRIES  # the kill really came in the middle

        server = MotoServer(port=port)  # moto keeps its state in memory: fill the restarted one again
        populate(server.endpoint, 'killed')
        report = Sync(open_store('s3://killed/state', s3_settings(server.endpoint)),
                      open_store('file://%s' % destination)).run().as_dict()
        assert check_destination(destination) == ENTRIES
        assert report['unchanged'] == landed  # what landed whole was kept
        FIGURES.add(operations=ENTRIES + landed, faults_injected=1)
        FIGURES.row('Faults', ['fault', 'injected', 'outcome'],
                    ['moto killed (-9) during an S3 -> file:// sync of %d entries' % ENTRIES, 1,
                     '%d entries landed whole, none partial; one-line error; re-run copied the other %d'
                     % (landed, ENTRIES - landed)])
    finally:
        server.stop()


WRITER_CHILD = textwrap.dedent('''
    import sys
    from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
    store = open_store(sys.argv[1])
    number = 0
    while True:
        number += 1
        store.write('c1/pki/big', bytes([number % 256]) * (8 * 1024 * 1024))
        print(number, flush=True)
''')


def test_writer_killed_during_file_write(tmp_path):
    store = open_store('file://%s' % tmp_path)
    kills = 0
    for delay in (0.0, 0.3, 0.7, 1.5):
        child = subprocess.Popen([sys.executable, '-c', WRITER_CHILD, 'file://%s' % tmp_path],
                                 env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                                 stdout=subprocess.PIPE, text=True)
        child.stdout.readline()  # one whole write landed, the next one is under way
        time.sleep(delay)
        child.kill()
        child.wait()
        kills += 1
        data = store.read('c1/pki/big', limit=None)[0]  # past max_entry_size: the whole entry is the point
        assert len(data) == 8 * 1024 * 1024 and data == data[:1] * len(data), 'partial or mixed entry'
        assert [entry.path for entry in store.list('', recursive=True)] == ['c1/pki/big']
    store.write('c1/pki/big', b'after')  # the dead writers' folder lock is gone
    assert store.read('c1/pki/big')[0] == b'after'
    FIGURES.add(operations=kills + 1, processes=kills, faults_injected=kills)
    FIGURES.row('Faults', ['fault', 'injected', 'outcome'],
                ['writer of an 8 MiB file:// entry killed (-9) mid-way', kills,
                 'entry always a whole earlier version; temporary files never listed; next write succeeds'])


def test_throttling_and_server_errors_are_retried(moto_server, tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(('AWS_', 'S3_', 'KOPS_')):
            monkeypatch.delenv(name)
    import boto3

    boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                 aws_secret_access_key='testing').create_bucket(Bucket='throttled')
    source = open_store('file://%s' % (tmp_path / 'source'))
    for number in range(60):
        source.write('c1/pki/e%03d' % number, content(number)[:1024])
    proxy = FaultProxy(moto_server.port)
    try:
        started = time.time()
        through_proxy = open_store('s3://throttled/state', s3_settings(proxy.endpoint))
        up = Sync(source, through_proxy, parallel=4).run().as_dict()
        back_folder = tmp_path / 'back'
        down = Sync(through_proxy, open_store('file://%s' % back_folder), parallel=4).run().as_dict()
        seconds = time.time() - started
    finally:
        proxy.stop()
    direct = Sync(source, open_store('s3://throttled/state', s3_settings(moto_server.endpoint)))
    direct.run()
    assert (up['copied'], down['copied']) == (60, 60)
    assert direct.verify() == []
    assert check_destination(back_folder, 1024) == 60
    assert proxy.injected > 30  # the faults were really there
    assert seconds < 120  # retried with bounded backoff, not waited out
    FIGURES.add(operations=proxy.requests - proxy.injected, faults_injected=proxy.injected)
    FIGURES.row('Faults', ['fault', 'injected', 'outcome'],
                ['S3 503 SlowDown / 500 InternalError from a proxy (%d requests, up to 2 faults each)' % proxy.requests,
                 proxy.injected, 'both syncs (60 entries each way) completed through botocore retries in %.1f s'
                 % seconds])

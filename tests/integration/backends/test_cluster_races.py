"""Concurrent cluster merges on real servers: S3 and GCS compare-and-swap, OSS with the lock entry."""

import itertools
import os

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.lock import LOCK_FOLDER
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from support.cluster_races import hammer

_names = itertools.count()


def _s3_store(request, monkeypatch):
    import boto3

    moto = request.getfixturevalue("moto_server")  # atomic If-Match (see tests/servers/_moto_front.py)
    for name in list(os.environ):
        if name.startswith(('AWS_', 'S3_', 'KOPS_')):
            monkeypatch.delenv(name)
    bucket = 'cluster-race-%d' % next(_names)
    boto3.client('s3', endpoint_url=moto.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                 aws_secret_access_key='testing').create_bucket(Bucket=bucket)
    settings = dict(endpoint_url=moto.endpoint, access_key='testing', secret_key='testing', region='us-east-1')
    return lambda: open_store('s3://%s/state' % bucket, settings)


def _gcs_store(request, monkeypatch):
    request.getfixturevalue('gcs_environment')
    bucket = request.getfixturevalue('gcs_server').create_bucket()
    return lambda: open_store('gs://%s/state' % bucket)


def _oss_store(request, monkeypatch):
    request.getfixturevalue('oss_environment')
    bucket = request.getfixturevalue('oss_server').create_bucket()
    return lambda: open_store('oss://%s/state' % bucket)  # no compare-and-swap: the lock entry guards


@pytest.mark.parametrize('make_store', [_s3_store, _gcs_store, _oss_store], ids=['s3', 'gcs', 'oss'])
def test_concurrent_merges_lose_nothing_on_servers(request, monkeypatch, make_store):
    open_backend = make_store(request, monkeypatch)
    assert len(hammer(open_backend, workers=8, rounds=3)) == 24
    assert open_backend().list(LOCK_FOLDER, recursive=True) == []

"""Backend.purge_versions and keeps_versions on real servers: S3 (moto, versioning on and off, refused listing
and refused deletes), Vault KV v2 (OpenBao), GCS (gcp-storage-emulator, which keeps no noncurrent generations),
file:// and memfs://. Only the folder itself is purged, never a sibling whose name starts with the same text."""

import itertools
import json

import hvac
import pytest

from ansible_collections.kops.state_store.plugins.module_utils.backends import s3
from ansible_collections.kops.state_store.plugins.module_utils.errors import AccessDenied, NotFound
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from servers.moto import DENY_VERSION_LISTING, admin_client, iam_user, new_bucket, object_versions

_names = itertools.count()


def new_versioned_bucket(endpoint, versioned=True):
    return new_bucket(endpoint, 'kops-versions', versioned)


def settings(endpoint):
    return dict(endpoint_url=endpoint, access_key='testing', secret_key='testing', region='us-east-1')


def fill(store):
    """Two versions of two entries of cluster c, one secret deleted after two versions (two old versions and a
    delete marker where versions are kept), and siblings whose names start with 'c'. Returns the live content."""
    for path in ('c/config', 'c/secrets/admin', 'c/secrets/rotated', 'c.example/secrets/admin', 'cx/config'):
        store.write(path, b'first ' + path.encode())
        store.write(path, b'second ' + path.encode())
    store.delete('c/secrets/rotated')
    paths = ('c/config', 'c/secrets/admin', 'c.example/secrets/admin', 'cx/config')
    return dict((path, b'second ' + path.encode()) for path in paths)


def contents(store):
    return dict((entry.path, store.read(entry.path)[0]) for entry in store.list('', recursive=True))


# -- S3 -------------------------------------------------------------------------------------------------------
@pytest.fixture
def s3_env(monkeypatch):
    for name in ('AWS_PROFILE', 'AWS_CA_BUNDLE', 'S3_ENDPOINT', 'KOPS_STATE_S3_ACL'):
        monkeypatch.delenv(name, raising=False)


def test_s3_purges_old_versions_and_markers_of_the_folder_only(moto_server, s3_env):
    bucket = new_versioned_bucket(moto_server.endpoint)
    store = open_store('s3://%s/state' % bucket, settings(moto_server.endpoint))
    live = fill(store)
    before = object_versions(moto_server.endpoint, bucket)
    siblings = set(item for item in before if not item[0].startswith('state/c/'))
    assert store.keeps_versions('c')

    assert store.purge_versions('c', check_mode=True) == 5  # config, admin: 1 each; rotated: 2 and a marker
    assert object_versions(moto_server.endpoint, bucket) == before

    assert store.purge_versions('c') == 5
    left = object_versions(moto_server.endpoint, bucket)
    assert sorted(key for key, _version, _marker in left if key.startswith('state/c/')) == \
        ['state/c/config', 'state/c/secrets/admin']  # the current versions only
    assert set(item for item in left if not item[0].startswith('state/c/')) == siblings
    assert contents(store) == live
    assert store.purge_versions('c') == 0


def test_s3_purge_after_deleting_everything_leaves_no_version(moto_server, s3_env):
    bucket = new_versioned_bucket(moto_server.endpoint)
    store = open_store('s3://%s' % bucket, settings(moto_server.endpoint))
    fill(store)
    for path in ('c/config', 'c/secrets/admin'):
        store.delete(path)
    assert store.purge_versions('c') == 9  # 2 + 2 + 2 old versions, 3 delete markers
    assert object_versions(moto_server.endpoint, bucket, 'c/') == set()
    assert len(object_versions(moto_server.endpoint, bucket, 'c.example/')) == 2


def test_s3_purge_in_batches(moto_server, s3_env, monkeypatch):
    monkeypatch.setattr(s3, 'DELETE_BATCH', 2)
    bucket = new_versioned_bucket(moto_server.endpoint)
    store = open_store('s3://%s' % bucket, settings(moto_server.endpoint))
    for number in range(4):
        store.write('c/secrets/s', b'%d' % number)
    store.delete('c/secrets/s')
    assert store.purge_versions('c') == 5
    assert object_versions(moto_server.endpoint, bucket) == set()


def test_s3_unversioned_bucket_has_nothing_to_purge(moto_server, s3_env):
    bucket = new_versioned_bucket(moto_server.endpoint, versioned=False)
    store = open_store('s3://%s/state' % bucket, settings(moto_server.endpoint))
    live = fill(store)
    assert not store.keeps_versions('c')
    assert store.purge_versions('c', check_mode=True) == 0
    assert store.purge_versions('c') == 0
    assert contents(store) == live


def test_s3_refused_version_deletes_are_failures(moto_server, s3_env):
    bucket = new_versioned_bucket(moto_server.endpoint)
    store = open_store('s3://%s' % bucket, settings(moto_server.endpoint))
    fill(store)
    admin_client(moto_server.endpoint).put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        'Version': '2012-10-17', 'Statement': [{
            'Effect': 'Deny', 'Principal': '*', 'Action': ['s3:DeleteObject', 's3:DeleteObjectVersion'],
            'Resource': 'arn:aws:s3:::%s/c/secrets/*' % bucket}]}))
    with pytest.raises(AccessDenied, match=r"could not permanently remove 4 of the 5 old versions and delete markers "
                                           r"below 'c' in s3://%s/, 4 remain: c/secrets/" % bucket):
        store.purge_versions('c')
    remaining = object_versions(moto_server.endpoint, bucket, 'c/secrets/')
    assert len(remaining) == 5  # admin: 2, rotated: 2 and the marker; only config's old version went


def test_s3_refused_listing_is_a_clear_error(authenticating, s3_env):
    endpoint = authenticating.endpoint
    authenticating.authentication(False)
    bucket = new_versioned_bucket(endpoint)
    admin_client(endpoint).put_object(Bucket=bucket, Key='c/config', Body=b'x')
    access, secret = iam_user(endpoint, DENY_VERSION_LISTING)
    authenticating.authentication(True)
    store = open_store('s3://%s' % bucket, dict(endpoint_url=endpoint, access_key=access, secret_key=secret,
                                                region='us-east-1'))
    assert store.read('c/config')[0] == b'x'
    with pytest.raises(AccessDenied, match=r"access denied to the versions below 'c' in s3://%s/: "
                                           r"ListObjectVersions needs s3:ListBucketVersions" % bucket):
        store.purge_versions('c', check_mode=True)
    with pytest.raises(AccessDenied, match='s3:ListBucketVersions'):
        store.keeps_versions('c')


# -- Vault ----------------------------------------------------------------------------------------------------
def test_vault_destroys_old_versions_and_removes_deleted_secrets(openbao_server, vault_mount, monkeypatch):
    monkeypatch.delenv('VAULT_TOKEN', raising=False)
    store = open_store('vault://127.0.0.1:%d/%s/keys?tls=false' % (openbao_server.port, vault_mount),
                       dict(vault_token=openbao_server.root_token))
    live = fill(store)
    kv = openbao_server.client().secrets.kv.v2

    def versions(path):
        return kv.read_secret_metadata('keys/' + path, mount_point=vault_mount)['data']['versions']

    assert store.keeps_versions('c')
    assert store.purge_versions('c', check_mode=True) == 4  # config 1, admin 1, rotated (soft-deleted) 2
    assert not versions('c/config')['1']['destroyed']

    assert store.purge_versions('c') == 4
    assert versions('c/config')['1']['destroyed'] and not versions('c/config')['2']['destroyed']
    assert versions('c/secrets/admin')['1']['destroyed']
    with pytest.raises(hvac.exceptions.InvalidPath):  # no metadata left at all
        kv.read_secret_metadata('keys/c/secrets/rotated', mount_point=vault_mount)
    assert not versions('c.example/secrets/admin')['1']['destroyed']  # the sibling keeps its versions
    assert contents(store) == live
    assert store.purge_versions('c') == 0


# -- GCS (the emulator keeps no noncurrent generations) ---------------------------------------------------------
def test_gcs_without_object_versioning_has_nothing_to_purge(gcs_server, gcs_environment):
    store = open_store('gs://%s/state' % gcs_server.create_bucket())
    live = fill(store)
    assert not store.keeps_versions('c')
    assert store.purge_versions('c', check_mode=True) == 0
    assert store.purge_versions('c') == 0
    assert contents(store) == live


# -- stores without versions --------------------------------------------------------------------------------
@pytest.mark.parametrize('kind', ['file', 'memfs'])
def test_stores_without_versions(kind, tmp_path):
    store = open_store('file://%s' % (tmp_path / 'store') if kind == 'file' else 'memfs://versions-%d' % next(_names))
    live = fill(store)
    assert not store.keeps_versions('c')
    assert store.purge_versions('c') == 0
    assert contents(store) == live
    with pytest.raises(NotFound):
        store.read('c/secrets/rotated')

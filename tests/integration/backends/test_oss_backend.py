"""oss:// backend against the OSS protocol front over moto (see tests/servers/oss_front.py)."""

import hashlib
import subprocess
import sys

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    BadLocation,
    NotFound,
    NotSupported,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.backend_contract import BackendContract


class TestOSSBackend(BackendContract):
    @pytest.fixture
    def store(self, oss_server, oss_environment):
        return open_store('oss://%s/state' % oss_server.create_bucket())

    def test_no_compare_and_swap(self, store):
        version = store.write('c1/config', b'one')
        assert store.supports_compare_and_swap is False
        with pytest.raises(NotSupported, match='compare-and-swap'):
            store.delete('c1/config', expect=version)
        assert store.read('c1/config') == (b'one', version)

    def test_create_refused_by_the_server(self, store, oss_server):
        store.create('c1/config', b'first')
        with pytest.raises(AlreadyExists, match="entry 'c1/config' in oss://.*/state already exists"):
            store.create('c1/config', b'second')
        assert store.read('c1/config')[0] == b'first'

    def test_etag_is_the_md5_of_a_simple_upload(self, store):
        version = store.write('c1/config', b'hash me')
        assert version == hashlib.md5(b'hash me').hexdigest()  # the server's upper-case ETag, normalised
        assert store.hash('c1/config') == ('md5', version)
        assert [(e.hash_algorithm, e.hash, e.version) for e in store.list('c1')] == [('md5', version, version)]

    def test_listing_pages_with_markers(self, store, monkeypatch):
        from ansible_collections.kops.state_store.plugins.module_utils.backends import oss

        monkeypatch.setattr(oss, 'PAGE_SIZE', 2)  # a small page size makes the listing take several pages
        paths = ['c1/instancegroup/ig-%d' % number for number in range(5)]
        for path in paths:
            store.write(path, b'x')
        store.write('c1/config', b'x')
        assert [e.path for e in store.list('c1', recursive=True)] == ['c1/config'] + paths
        assert [(e.path, e.is_dir) for e in store.list('c1')] == [('c1/config', False), ('c1/instancegroup', True)]

    def test_folder_markers_are_not_entries(self, store, oss_server):
        store.write('c1/config', b'spec')
        for marker in ('c1/', 'c1/config/', 'c1/pki/'):
            oss_server.put_object(store.location.bucket, '%s/%s' % (store.location.key, marker))
        assert [e.path for e in store.list('', recursive=True)] == ['c1/config']
        assert [(e.path, e.is_dir) for e in store.list('c1')] == [('c1/config', False), ('c1/config', True),
                                                                  ('c1/pki', True)]

    def test_age_is_told_by_the_servers_clock(self, store, monkeypatch):
        """Date minus Last-Modified, both the server's: this host's clock, ten minutes off, changes nothing (OSS
        itself refuses requests signed more than 15 minutes off)."""
        import time

        real_time = time.time
        monkeypatch.setattr(time, 'time', lambda: real_time() + 600)
        store.write('c1/lock', b'x')
        assert store.read_with_age('c1/lock')[2] < 5

    def test_unknown_acl_refused(self, store, oss_server):
        with pytest.raises(NotSupported, match="'bucket-owner-full-control' is not an OSS ACL"):
            store.write('c1/config', b'x', acl='bucket-owner-full-control')
        store.write('c1/public', b'x', acl='public-read')
        assert store.read('c1/public')[0] == b'x'

    def test_missing_bucket_is_a_clear_error(self, oss_environment):
        store = open_store('oss://no-such-bucket/state')
        for operation in (lambda: store.read('c1/config'), lambda: store.write('c1/config', b'x'),
                          lambda: store.list('c1'), lambda: store.delete('c1/config')):
            with pytest.raises(BadLocation, match="OSS bucket 'no-such-bucket' does not exist"):
                operation()

    def test_missing_entry_is_not_found(self, store):
        with pytest.raises(NotFound, match="entry 'c1/config' in oss://.*/state does not exist"):
            store.read('c1/config')
        with pytest.raises(NotFound):
            store.hash('c1/config')

    @pytest.mark.parametrize('settings, code', [
        ({'oss_access_key_secret': 'wrong-secret'}, 'SignatureDoesNotMatch'),
        ({'oss_access_key_id': 'LTAIunknown'}, 'InvalidAccessKeyId'),
    ])
    def test_wrong_credentials_write_nothing(self, oss_server, oss_environment, settings, code):
        bucket = oss_server.create_bucket()
        store = open_store('oss://%s/state' % bucket, settings)
        with pytest.raises(AccessDenied, match=code) as raised:
            store.write('c1/config', b'x')
        assert 'wrong-secret' not in str(raised.value)
        assert oss_server.object_names(bucket) == []

    def test_secret_required_with_key_id(self, oss_environment, monkeypatch):
        monkeypatch.delenv('ALIYUN_ACCESS_KEY_SECRET')
        with pytest.raises(AccessDenied, match='ALIYUN_ACCESS_KEY_SECRET .* is required'):
            open_store('oss://b/state')

    def test_no_credentials(self, oss_environment, monkeypatch):
        monkeypatch.delenv('ALIYUN_ACCESS_KEY_ID')
        with pytest.raises(AccessDenied, match='no Aliyun credentials'):
            open_store('oss://b/state')


@pytest.mark.parametrize('internal, endpoint', [
    (None, 'https://oss-cn-hangzhou.aliyuncs.com'),
    ('false', 'https://oss-cn-hangzhou-internal.aliyuncs.com'),  # kOps: any non-empty value
])
def test_endpoint_from_region(monkeypatch, internal, endpoint):
    for name in ('OSS_ENDPOINT', 'ALIYUN_OSS_INTERNAL'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('OSS_REGION', 'oss-cn-hangzhou')
    if internal is not None:
        monkeypatch.setenv('ALIYUN_OSS_INTERNAL', internal)
    store = open_store('oss://kops-state/state', {'oss_access_key_id': 'id', 'oss_access_key_secret': 'secret'})
    assert store.endpoint == endpoint


def test_region_required(monkeypatch):
    for name in ('OSS_ENDPOINT', 'OSS_REGION'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(BadLocation, match='set OSS_REGION'):
        open_store('oss://kops-state/state', {'oss_access_key_id': 'id', 'oss_access_key_secret': 'secret'})


def test_invalid_bucket_name(oss_environment):
    with pytest.raises(BadLocation, match="'b' is not a valid OSS bucket name"):
        open_store('oss://b/state')


def test_missing_sdk_is_reported():
    # A Python without oss2: the import itself fails, nothing of the project is replaced.
    script = (
        "import sys; sys.modules['oss2'] = None\n"
        "from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store\n"
        "from ansible_collections.kops.state_store.plugins.module_utils.errors import MissingLibrary\n"
        "try:\n    open_store('oss://b/k')\nexcept MissingLibrary as exc:\n    print(exc.library, exc.scheme)\n"
    )
    output = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            env={'PYTHONPATH': ':'.join(sys.path)}, check=True).stdout
    assert output.split() == ['oss2', 'oss']

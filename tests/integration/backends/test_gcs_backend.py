"""gs:// backend against gcp-storage-emulator (with GCS's generation preconditions, see tests/servers/gcs.py)."""

import hashlib
import json
import subprocess
import sys

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    BadLocation,
    NotFound,
    PreconditionFailed,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.backend_contract import BackendContract


class TestGCSBackend(BackendContract):
    @pytest.fixture
    def store(self, gcs_server, gcs_environment):
        return open_store('gs://%s/state' % gcs_server.create_bucket())

    def test_versions_are_generations_enforced_by_the_server(self, store, gcs_server):
        version = store.write('c1/config', b'one')
        assert isinstance(version, int) and version > 0
        assert store.list('c1')[0].version == version
        store.write('c1/config', b'two', expect=version)
        with pytest.raises(PreconditionFailed):
            store.write('c1/config', b'three', expect=version)
        with pytest.raises(AlreadyExists):
            store.create('c1/config', b'four')
        assert store.read('c1/config')[0] == b'two'

    def test_md5_from_object_metadata(self, store):
        store.write('c1/config', b'hash me')
        assert store.list('c1')[0].hash_algorithm == 'md5'
        assert store.hash('c1/config') == ('md5', hashlib.md5(b'hash me').hexdigest())

    def test_store_at_bucket_root_lists_folders(self, gcs_server, gcs_environment):
        store = open_store('gs://%s' % gcs_server.create_bucket())
        store.write('c1/config', b'x')
        store.write('c1/instancegroup/nodes', b'x')
        assert [(e.path, e.is_dir) for e in store.list('')] == [('c1', True)]
        assert [(e.path, e.is_dir) for e in store.list('c1')] == [('c1/config', False), ('c1/instancegroup', True)]

    def test_missing_bucket_is_a_clear_error(self, gcs_server, gcs_environment):
        store = open_store('gs://no-such-bucket/state')
        for operation in (lambda: store.read('c1/config'), lambda: store.write('c1/config', b'x'),
                          lambda: store.list('c1'), lambda: store.delete('c1/config')):
            with pytest.raises(BadLocation, match="bucket 'no-such-bucket' does not exist"):
                operation()

    def test_missing_entry_is_not_found(self, store):
        with pytest.raises(NotFound, match="entry 'c1/config' in gs://.*/state does not exist"):
            store.read('c1/config')

    def test_refused_credentials_write_nothing(self, gcs_server, gcs_environment):
        bucket = gcs_server.create_bucket()
        contents = json.dumps(gcs_server.refused_service_account_info())
        store = open_store('gs://%s/state' % bucket, {'gcp_service_account_contents': contents})
        with pytest.raises(AccessDenied, match='Google refused the credentials') as raised:
            store.write('c1/config', b'x')
        assert 'PRIVATE KEY' not in str(raised.value)
        assert gcs_server.object_names(bucket) == []

    def test_service_account_file_from_environment(self, gcs_server, gcs_environment, tmp_path, monkeypatch):
        key_file = tmp_path / 'key.json'
        key_file.write_text(json.dumps(gcs_server.refused_service_account_info()))
        monkeypatch.setenv('GCP_SERVICE_ACCOUNT_FILE', str(key_file))
        with pytest.raises(AccessDenied, match='Google refused the credentials'):
            open_store('gs://%s/state' % gcs_server.create_bucket()).read('c1/config')

    def test_application_default_credentials(self, gcs_server, gcs_environment, tmp_path, monkeypatch):
        # Without a key option and without an emulator, GOOGLE_APPLICATION_CREDENTIALS is used. The key's token
        # endpoint (the emulator's) refuses it, so the failure comes before any request leaves 127.0.0.1.
        key_file = tmp_path / 'adc.json'
        key_file.write_text(json.dumps(gcs_server.refused_service_account_info()))
        monkeypatch.delenv('STORAGE_EMULATOR_HOST')
        monkeypatch.setenv('GOOGLE_APPLICATION_CREDENTIALS', str(key_file))
        with pytest.raises(AccessDenied, match='Google refused the credentials'):
            open_store('gs://kops-state/state').read('c1/config')

    def test_malformed_key_is_reported_without_its_content(self, gcs_environment):
        with pytest.raises(AccessDenied, match='no usable Google credentials from gcp_service_account_contents') as raised:
            open_store('gs://b/state', {'gcp_service_account_contents': '{"type": "service_account", "private_key": "s3cr3t"}'})
        assert 's3cr3t' not in str(raised.value)

    def test_missing_key_file(self, gcs_environment, tmp_path):
        with pytest.raises(AccessDenied, match='cannot read the Google service account file'):
            open_store('gs://b/state', {'gcp_service_account_file': str(tmp_path / 'absent.json')})


def test_missing_sdk_is_reported(gcs_environment):
    # A Python without google-cloud-storage: the import itself fails, nothing of the project is replaced.
    script = (
        "import sys; sys.modules['google.cloud.storage'] = None\n"
        "from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store\n"
        "from ansible_collections.kops.state_store.plugins.module_utils.errors import MissingLibrary\n"
        "open_store('memfs://x')\n"
        "try:\n    open_store('gs://b/k')\nexcept MissingLibrary as exc:\n    print(exc.library, exc.scheme)\n"
    )
    output = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, env=dict(
        gcs_environment, PYTHONPATH=':'.join(sys.path)), check=True).stdout
    assert output.split() == ['google-cloud-storage', 'gs']

"""vault:// backend on a real OpenBao server (KV v2), plus the kOps layout and error messages."""

import base64

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    BackendFailure,
    NotFound,
    PreconditionFailed,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_entry, open_store

from support.backend_contract import BackendContract


@pytest.fixture
def vault_env(monkeypatch, openbao_server):
    """Only the settings a test gives reach the backend (no machine VAULT_*/AWS_* variables)."""
    for name in ('VAULT_TOKEN', 'VAULT_CACERT', 'VAULT_ADDR'):
        monkeypatch.delenv(name, raising=False)
    return openbao_server


def store_location(server, mount, key='store'):
    return 'vault://127.0.0.1:%d/%s/%s?tls=false' % (server.port, mount, key)


class TestVaultBackend(BackendContract):
    @pytest.fixture
    def store(self, vault_env, vault_mount):
        return open_store(store_location(vault_env, vault_mount), dict(vault_token=vault_env.root_token))

    def test_layout_is_kops(self, store, openbao_server, vault_mount):
        store.write('c1/secrets/admin', b'\x00binary\xff')
        secret = openbao_server.client().secrets.kv.v2.read_secret_version(
            'store/c1/secrets/admin', mount_point=vault_mount, raise_on_deleted_version=True)['data']['data']
        assert secret == {'file': base64.b64encode(b'\x00binary\xff').decode()}

    def test_reads_what_kops_wrote(self, store, openbao_server, vault_mount):
        openbao_server.client().secrets.kv.v2.create_or_update_secret(
            'store/c1/keys/ca', {'file': base64.b64encode(b'written by kops').decode()}, mount_point=vault_mount)
        assert store.read('c1/keys/ca')[0] == b'written by kops'

    def test_secret_without_file_key_is_refused(self, store, openbao_server, vault_mount):
        openbao_server.client().secrets.kv.v2.create_or_update_secret(
            'store/c1/other', {'password': 'x'}, mount_point=vault_mount)
        with pytest.raises(BackendFailure, match="no 'file' key"):
            store.read('c1/other')

    def test_version_is_kv_version(self, store):
        assert store.write('c1/config', b'one') == 1
        assert store.write('c1/config', b'two', expect=1) == 2

    def test_create_after_soft_delete(self, store):
        store.write('c1/config', b'one')
        store.delete('c1/config')
        assert store.create('c1/config', b'again') == 2
        assert store.read('c1/config') == (b'again', 2)

    def test_soft_deleted_entries_are_not_listed(self, store):
        store.write('c1/config', b'one')
        store.write('c1/gone', b'two')
        store.delete('c1/gone')
        assert [entry.path for entry in store.list('c1')] == ['c1/config']

    def test_delete_with_current_version(self, store):
        version = store.write('c1/config', b'one')
        store.delete('c1/config', expect=version)
        with pytest.raises(NotFound):
            store.read('c1/config')
        with pytest.raises(PreconditionFailed):
            store.write('c1/config', b'x', expect=version)

    def test_full_entry_location(self, vault_env, vault_mount):
        settings = dict(vault_token=vault_env.root_token)
        backend, name = open_entry(store_location(vault_env, vault_mount, 'clusters/c1/secrets/admin'), settings)
        backend.write(name, b'token')
        assert open_store(store_location(vault_env, vault_mount, 'clusters/c1'), settings).read('secrets/admin')[0] \
            == b'token'
        assert backend.render(name) == store_location(vault_env, vault_mount, 'clusters/c1/secrets/admin')

    def test_token_from_environment(self, vault_env, vault_mount, monkeypatch):
        monkeypatch.setenv('VAULT_TOKEN', vault_env.root_token)
        store = open_store(store_location(vault_env, vault_mount))
        store.write('c1/config', b'x')
        assert store.read('c1/config')[0] == b'x'

    def test_bad_token_is_access_denied(self, vault_env, vault_mount):
        store = open_store(store_location(vault_env, vault_mount), dict(vault_token='not-a-token'))
        with pytest.raises(AccessDenied, match='denied read'):
            store.read('c1/config')

    def test_read_only_token_cannot_write(self, vault_env, vault_mount):
        client = vault_env.client()
        policy = 'path "%s/data/*" { capabilities = ["read"] }' % vault_mount
        client.sys.create_or_update_policy('read-%s' % vault_mount, policy)
        token = client.auth.token.create(policies=['read-%s' % vault_mount], ttl='10m')['auth']['client_token']
        open_store(store_location(vault_env, vault_mount), dict(vault_token=vault_env.root_token)).write('c1/x', b'1')
        store = open_store(store_location(vault_env, vault_mount), dict(vault_token=token))
        assert store.read('c1/x')[0] == b'1'
        with pytest.raises(AccessDenied, match='permission denied'):
            store.write('c1/x', b'2')

    def test_connection_refused_is_clear(self, vault_env):
        from servers.moto import free_port

        store = open_store('vault://127.0.0.1:%d/secret/x?tls=false' % free_port(), dict(vault_token='t'))
        with pytest.raises(BackendFailure, match='cannot connect to Vault at http://127.0.0.1'):
            store.read('config')

    def test_tls_by_default(self, vault_env, vault_mount):
        location = 'vault://127.0.0.1:%d/%s/store' % (vault_env.port, vault_mount)
        store = open_store(location, dict(vault_token=vault_env.root_token))
        assert store.address.startswith('https://')
        with pytest.raises(BackendFailure, match='TLS error talking to Vault'):
            store.read('config')

    @pytest.mark.filterwarnings('ignore::urllib3.exceptions.InsecureRequestWarning')
    def test_https_with_ca_bundle(self, vault_env, openbao_tls_server, monkeypatch):
        location = 'vault://127.0.0.1:%d/secret/tls-test/store' % openbao_tls_server.port
        settings = dict(vault_token=openbao_tls_server.root_token)
        with pytest.raises(BackendFailure, match='certificate verify failed'):
            open_store(location, settings).read('config')
        open_store(location, dict(settings, vault_ca_cert=openbao_tls_server.ca_cert)).write('config', b'over TLS')
        assert open_store(location, dict(settings, vault_validate_certs=False)).read('config')[0] == b'over TLS'
        monkeypatch.setenv('VAULT_CACERT', openbao_tls_server.ca_cert)
        assert open_store(location, settings).read('config')[0] == b'over TLS'

    def test_no_token_and_no_aws_credentials(self, vault_env, vault_mount, monkeypatch, tmp_path):
        for name in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'none'))
        monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'none'))
        monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
        store = open_store(store_location(vault_env, vault_mount))
        with pytest.raises(AccessDenied, match='no AWS credentials'):
            store.read('config')

    def test_server_failures_are_retried(self, vault_env, vault_mount):
        """Behind a proxy answering the first one or two attempts of most requests with 503 or 500 (as a sealed,
        standby or restarting Vault does), every write, read, listing and delete still goes through."""
        from reliability.fault_proxy import FaultProxy

        class VaultFaultProxy(FaultProxy):
            def _handler(self):
                handler = super(VaultFaultProxy, self)._handler()
                handler.do_LIST = handler.do_GET  # Vault lists with the LIST method
                return handler

        proxy = VaultFaultProxy(vault_env.port)
        try:
            port = int(proxy.endpoint.rsplit(':', 1)[1])
            store = open_store('vault://127.0.0.1:%d/%s/retried?tls=false' % (port, vault_mount),
                               dict(vault_token=vault_env.root_token))
            for index in range(8):
                store.write('c%d/config' % index, b'value %d' % index)
            assert [store.read('c%d/config' % index)[0] for index in range(8)] == [b'value %d' % i for i in range(8)]
            assert [entry.path for entry in store.list('', recursive=True)] == ['c%d/config' % i for i in range(8)]
            store.delete('c0/config')
            assert proxy.injected > 8
        finally:
            proxy.stop()

"""OpenBao (an API-compatible fork of Vault) in dev mode on 127.0.0.1, started once per test session.

Fixtures:
- ``openbao_server``: the server; ``address`` (http://127.0.0.1:PORT), ``root_token``, ``client()`` (an hvac
  client with the root token) and ``port``.
- ``openbao_tls_server``: a second server with HTTPS (``-dev-tls``); ``ca_cert`` is the path of its CA bundle.
- ``vault_mount``: a fresh KV v2 mount for one test (its name), removed afterwards.
- ``vault_environment``: an environment dict for modules and lookups: VAULT_TOKEN is the root token and no
  AWS, Vault or kOps setting of the machine leaks in.

``use_vault_environment(monkeypatch, **environment)`` does the same for code run in the test process.
"""

import os
import subprocess
import sys
import uuid

import pytest

from ._process import free_port, stop_process, wait_until_serving

from .moto import clean_aws_environment

ROOT_TOKEN = 'root'


def clean_vault_environment(**extra):
    """The process environment without any AWS, kOps or Vault setting of the machine, plus ``extra``."""
    environment = dict(
        (key, value) for key, value in clean_aws_environment().items() if not key.startswith(('VAULT_', 'BAO_'))
    )
    environment.update(extra)
    return environment


def use_vault_environment(monkeypatch, **environment):
    """This process's environment (for code under test run in it) without any AWS or Vault setting of the machine,
    AWS's shared files and instance metadata shut off, plus ``environment``."""
    for name in list(os.environ):
        if name.startswith(('AWS_', 'VAULT_')):
            monkeypatch.delenv(name)
    monkeypatch.setenv('AWS_CONFIG_FILE', os.devnull)
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', os.devnull)
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


class OpenBaoServer(object):
    def __init__(self, tls_folder=None):
        self.port = free_port()
        self.address = '%s://127.0.0.1:%d' % ('https' if tls_folder else 'http', self.port)
        self.root_token = ROOT_TOKEN
        self.ca_cert = os.path.join(tls_folder, 'vault-ca.pem') if tls_folder else None
        binary = os.path.join(os.path.dirname(sys.executable), 'bao')
        command = [binary, 'server', '-dev', '-dev-root-token-id=%s' % ROOT_TOKEN,
                   '-dev-listen-address=127.0.0.1:%d' % self.port, '-dev-no-store-token']
        if tls_folder:
            command += ['-dev-tls', '-dev-tls-cert-dir=%s' % tls_folder]
        self.process = subprocess.Popen(
            command, env=clean_vault_environment(HOME=os.environ.get('HOME', '/tmp')),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.process, self.address + '/v1/sys/health', 'bao server', cafile=self.ca_cert)

    def client(self, token=None):
        import hvac

        return hvac.Client(url=self.address, token=token or self.root_token, verify=self.ca_cert or False)

    def stop(self):
        stop_process(self.process)


@pytest.fixture(scope='session')
def openbao_server():
    server = OpenBaoServer()
    yield server
    server.stop()


@pytest.fixture(scope='session')
def openbao_tls_server(tmp_path_factory):
    server = OpenBaoServer(tls_folder=str(tmp_path_factory.mktemp('openbao-tls')))
    yield server
    server.stop()


@pytest.fixture
def vault_mount(openbao_server):
    name = 'kv-%s' % uuid.uuid4().hex[:10]
    client = openbao_server.client()
    client.sys.enable_secrets_engine('kv', path=name, options={'version': '2'})
    yield name
    client.sys.disable_secrets_engine(name)


@pytest.fixture
def vault_environment(openbao_server):
    return clean_vault_environment(VAULT_TOKEN=openbao_server.root_token)

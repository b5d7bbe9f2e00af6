"""Vault's AWS auth method for tests: a front (tests/servers/_vault_aws_front_app.py) on 127.0.0.1 before the
session's OpenBao server, verifying IAM logins against the session's moto STS server.

Fixtures:
- ``vault_aws_front_server``: the front (session); ``address``, ``port``, ``reset()``.
- ``vault_aws_front``: the same front with its AWS auth state (enabled flag, roles, client config) forgotten
  before the test; the aws auth method starts disabled.
"""

import os
import subprocess
import sys
import urllib.request

import pytest

from ._process import free_port, stop_process, wait_until_serving

from .openbao import clean_vault_environment

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_vault_aws_front_app.py')


class VaultAwsFront(object):
    def __init__(self, openbao, sts_endpoint):
        self.port = free_port()
        self.address = 'http://127.0.0.1:%d' % self.port
        self.root_token = openbao.root_token
        self.client = openbao.client
        self.process = subprocess.Popen(
            [sys.executable, APP, str(self.port), openbao.address, openbao.root_token, sts_endpoint],
            env=clean_vault_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.process, self.address + '/v1/sys/health', 'the Vault AWS front')

    def reset(self):
        request = urllib.request.Request(self.address + '/__front/reset', method='POST', data=b'')
        urllib.request.urlopen(request, timeout=10).read()

    def stop(self):
        stop_process(self.process)


@pytest.fixture(scope='session')
def vault_aws_front_server(openbao_server, moto_server):
    front = VaultAwsFront(openbao_server, moto_server.endpoint)
    yield front
    front.stop()


@pytest.fixture
def vault_aws_front(vault_aws_front_server):
    vault_aws_front_server.reset()
    return vault_aws_front_server

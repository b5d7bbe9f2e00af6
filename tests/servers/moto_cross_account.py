"""Fixture ``moto_cross_account_server``: moto behind a front that adds AWS's cross-account rule for S3
bucket policies (see _moto_cross_account_front.py for what it checks and what it does not), one server
per test module. ``endpoint``; ``authentication(on)`` switches signature and permission checks on or
off (off while a test creates accounts, users and buckets).
"""

import os
import sys
import urllib.request

import pytest

from servers.moto import MotoServer

FRONT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_moto_cross_account_front.py')


class CrossAccountMotoServer(MotoServer):
    # -P: tests/servers/moto.py must not shadow the moto package
    command = [sys.executable, '-P', FRONT]

    def authentication(self, on):
        """Switch signature and permission checks on or off (moto's reset-auth: N unchecked calls)."""
        # not form-encoded: moto reads the raw body
        request = urllib.request.Request(self.endpoint + '/moto-api/reset-auth', method='POST', data=b'0' if on else b'inf',
                                         headers={'Content-Type': 'application/octet-stream'})
        urllib.request.urlopen(request, timeout=10).read()


@pytest.fixture(scope='module')
def moto_cross_account_server():
    server = CrossAccountMotoServer()
    yield server
    server.stop()

"""Fixture ``moto_atomic_server``: moto whose conditional writes are atomic, as on real S3 (plain moto checks
If-Match and writes in two unlocked steps; see _moto_atomic_front.py), started once per test session when a
test asks for it. Use it for tests where several writers race on one object; ``endpoint`` like moto_server.
"""

import os
import sys

import pytest

from servers.moto import MotoServer

FRONT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_moto_atomic_front.py')


class AtomicMotoServer(MotoServer):
    # -P: tests/servers/moto.py must not shadow the moto package
    command = [sys.executable, '-P', FRONT]


@pytest.fixture(scope='session')
def moto_atomic_server():
    server = AtomicMotoServer()
    yield server
    server.stop()

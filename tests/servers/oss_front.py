"""An Aliyun OSS endpoint on 127.0.0.1 for the oss:// backend: the protocol front of _oss_front.py over
the session's moto S3 server (``moto_server``), started once per test session.

Fixtures:
- ``oss_server``: ``endpoint`` (for OSS_ENDPOINT / oss_endpoint), ``key_id`` and ``secret`` (the one key the
  front accepts), ``create_bucket()`` (a fresh bucket, made directly on moto), ``put_object(bucket, name, data)``
  (likewise), ``object_names(bucket)``.
- ``oss_environment``: sets this process's OSS/Aliyun variables for the server and returns an environment
  dict with the same settings for subprocesses.
"""

import itertools
import os
import re
import subprocess
import sys
import urllib.request
from urllib.parse import quote

import pytest

from ._process import free_port, stop_process, wait_until_serving

_FRONT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_oss_front.py')
_bucket_numbers = itertools.count()
_VARIABLES = ('OSS_', 'ALIYUN_')


class OSSFrontServer(object):
    key_id = 'LTAI5tKopsStateStoreTest'
    secret = 'kops-state-store-test-secret'

    def __init__(self, moto):
        self.moto = moto
        self.port = free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        self.process = subprocess.Popen(
            [sys.executable, _FRONT, str(self.port), str(self.moto.port), '%s:%s' % (self.key_id, self.secret)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        # answering at all (403 to an unsigned request) means serving
        wait_until_serving(self.process, self.endpoint + '/', 'the OSS front', http_error_means_serving=True)

    def _moto(self, method, path, data=None):
        # moto checks no signature but takes an unsigned request for an anonymous one
        return urllib.request.urlopen(urllib.request.Request(
            self.moto.endpoint + path, method=method, data=data, headers={'Authorization': 'AWS testing:oss-test'}), timeout=10)

    def create_bucket(self, prefix='oss-bucket'):
        name = '%s-%d' % (prefix, next(_bucket_numbers))
        self._moto('PUT', '/' + name, b'').read()
        return name

    def put_object(self, bucket, name, data=b''):
        """One object made directly on moto, past the backend: for names it never writes (folder markers)."""
        self._moto('PUT', '/%s/%s' % (bucket, quote(name)), data).read()

    def object_names(self, bucket):
        with self._moto('GET', '/' + bucket) as answer:
            return sorted(re.findall(r'<Key>([^<]*)</Key>', answer.read().decode()))

    def stop(self):
        stop_process(self.process)


@pytest.fixture(scope='session')
def oss_server(moto_server):
    server = OSSFrontServer(moto_server)
    yield server
    server.stop()


@pytest.fixture
def oss_environment(oss_server, monkeypatch):
    settings = dict(OSS_ENDPOINT=oss_server.endpoint, ALIYUN_ACCESS_KEY_ID=oss_server.key_id,
                    ALIYUN_ACCESS_KEY_SECRET=oss_server.secret)
    for key in list(os.environ):
        if key.startswith(_VARIABLES) or key.lower() in ('http_proxy', 'https_proxy'):
            monkeypatch.delenv(key)  # nor may a proxy of the machine carry loopback requests
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    return dict(os.environ)

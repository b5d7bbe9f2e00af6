"""gcp-storage-emulator on 127.0.0.1, started once per test session, enforcing GCS's generation
preconditions (see _gcs_emulator.py).

Fixtures:
- ``gcs_server``: the running emulator. ``gcs_server.endpoint`` is its URL (for STORAGE_EMULATOR_HOST),
  ``gcs_server.create_bucket()`` makes a fresh bucket and returns its name, ``gcs_server.refused_service_account_info()``
  is a service-account key whose token endpoint (the emulator's ``/token``) refuses it (for wrong-credential tests).
- ``gcs_environment``: an environment dict for clients of the emulator (no Google credentials of the machine).
"""

import itertools
import json
import os
import subprocess
import sys
import urllib.request

import pytest

from ._process import free_port, stop_process, wait_until_serving

_LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_gcs_emulator.py')
_bucket_numbers = itertools.count()
_PROXIES = ('http_proxy', 'https_proxy')  # a proxy of the machine must not carry loopback requests


def clean_gcp_environment(**extra):
    """The process environment without Google/GCP settings of the machine, plus ``extra``."""
    environment = dict(
        (key, value) for key, value in os.environ.items()
        if not key.startswith(('GOOGLE_', 'GCP_', 'GCLOUD_', 'CLOUDSDK_', 'STORAGE_EMULATOR', 'KOPS_'))
        and key.lower() not in _PROXIES
    )
    environment.update(extra)
    return environment


class GCSEmulator(object):
    def __init__(self):

        self.port = free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        self.token_uri = self.endpoint + '/token'
        self.process = subprocess.Popen(
            [sys.executable, _LAUNCHER, str(self.port)],
            env=clean_gcp_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.process, self.endpoint + '/', 'gcp-storage-emulator')

    def create_bucket(self, prefix='gcs-bucket'):
        name = '%s-%d' % (prefix, next(_bucket_numbers))
        request = urllib.request.Request(
            self.endpoint + '/storage/v1/b?project=test', method='POST',
            data=json.dumps({'name': name}).encode(), headers={'Content-Type': 'application/json'},
        )
        urllib.request.urlopen(request, timeout=10).read()
        return name

    def patch_bucket(self, bucket, fields):
        """Change the bucket's metadata (versioning, iamConfiguration, ...) as `gcloud storage buckets update` does."""
        request = urllib.request.Request(
            '%s/storage/v1/b/%s' % (self.endpoint, bucket), method='PATCH',
            data=json.dumps(fields).encode(), headers={'Content-Type': 'application/json'},
        )
        urllib.request.urlopen(request, timeout=10).read()

    def refused_service_account_info(self):
        """A well-formed service-account key whose token endpoint (this emulator's) refuses it, as Google
        refuses a deleted or revoked key."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return {
            'type': 'service_account', 'project_id': 'test', 'private_key_id': 'k1', 'private_key': pem.decode(),
            'client_email': 'kops@test.iam.gserviceaccount.com', 'client_id': '1', 'token_uri': self.token_uri,
        }

    def object_names(self, bucket):
        with urllib.request.urlopen('%s/storage/v1/b/%s/o' % (self.endpoint, bucket), timeout=10) as answer:
            return sorted(item['name'] for item in json.load(answer).get('items') or [])

    def stop(self):
        stop_process(self.process)


@pytest.fixture(scope='session')
def gcs_server():
    server = GCSEmulator()
    yield server
    server.stop()


@pytest.fixture
def gcs_environment(gcs_server, monkeypatch):
    """Point this test process (and a returned environment for subprocesses) at the emulator."""
    for key in list(os.environ):
        if key.startswith(('GOOGLE_', 'GCP_', 'GCLOUD_', 'CLOUDSDK_', 'STORAGE_EMULATOR')) or key.lower() in _PROXIES:
            monkeypatch.delenv(key)
    monkeypatch.setenv('STORAGE_EMULATOR_HOST', gcs_server.endpoint)
    return clean_gcp_environment(STORAGE_EMULATOR_HOST=gcs_server.endpoint)

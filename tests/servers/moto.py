"""moto in server mode (S3, STS, IAM) on 127.0.0.1, started once per test session, behind
_moto_front.py, which makes its conditional writes atomic and honoured on CopyObject, as on S3.

Fixtures:
- ``moto_server``: a server with authentication off (any key works). ``moto_server.reset()`` wipes all state.
- ``plain_moto_server``: moto_server exactly as moto ships it (conditions ignored on CopyObject), for the
  tests of what the collection does on such a server.
- ``moto_auth_server``: a second server where only the first ``bootstrap_calls`` requests skip authentication
  (moto's INITIAL_NO_AUTH_ACTION_COUNT); after them signatures and IAM permissions are really checked.
  ``authentication(on)`` switches the checks on or off at once on any server (tests that switch them on
  switch them off again when done).
- ``aws_environment``: an environment dict for clients of ``moto_server`` (dummy keys, region, no CA bundle).
- ``second_moto_auth_server``: another server like ``moto_auth_server``: a second S3 service, which knows none
  of the first one's keys and buckets.
- ``two_s3_services``: the two authenticating servers with checks on, each with an IAM user of its own (see
  S3Service), for moves between two services or identities; checks are switched off again afterwards.
- ``authenticating``: ``moto_auth_server`` for a test that switches its checks on; they are off again afterwards.
- ``stores``: ``stores(location)`` opens a store of ``moto_server`` with the collection's own options.

And the set-up the tests share, as plain functions of an endpoint: ``admin_client`` (a boto3 client with the
dummy keys), ``new_bucket`` (optionally versioned, in a region), ``object_versions`` (every version and delete
marker below a prefix) and ``iam_user`` (an IAM user with an inline policy, e.g. ``DENY_VERSION_LISTING``).
"""

import json
import os
import subprocess
import sys
import urllib.request
import uuid

import pytest

from ._process import free_port, stop_process, wait_until_serving


def clean_aws_environment(**extra):
    """The process environment without any AWS/S3/kOps setting of the machine, plus ``extra``."""
    environment = dict(
        (key, value) for key, value in os.environ.items()
        if not key.startswith(('AWS_', 'S3_', 'KOPS_')) and key not in ('HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy')
    )
    environment.update(extra)
    return environment


KEYS = dict(aws_access_key_id='testing', aws_secret_access_key='testing')
#: everything on S3 but listing versions (moto checks a caller's IAM policies; it enforces a bucket policy's Deny
#: only on object requests)
DENY_VERSION_LISTING = {'Version': '2012-10-17', 'Statement': [
    {'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'},
    {'Effect': 'Deny', 'Action': 's3:ListBucketVersions', 'Resource': '*'}]}


def admin_client(endpoint, service='s3', region='us-east-1'):
    """A plain boto3 client of the test itself (the dummy keys), to prepare buckets and look at what was done."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=region, **KEYS)


def new_bucket(endpoint, prefix='kops', versioned=False, region='us-east-1'):
    """A fresh bucket named ``<prefix>-<random>``, in ``region``, with versioning on when asked."""
    name = '%s-%s' % (prefix, uuid.uuid4().hex[:12])
    client = admin_client(endpoint, region=region)
    configuration = {} if region == 'us-east-1' else dict(CreateBucketConfiguration={'LocationConstraint': region})
    client.create_bucket(Bucket=name, **configuration)
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={'Status': 'Enabled'})
    return name


def object_versions(endpoint, bucket, prefix=''):
    """Every (key, version id, delete marker?) below ``prefix``, as S3 lists them."""
    found = set()
    for page in admin_client(endpoint).get_paginator('list_object_versions').paginate(Bucket=bucket, Prefix=prefix):
        found.update((item['Key'], item['VersionId'], False) for item in page.get('Versions', []))
        found.update((item['Key'], item['VersionId'], True) for item in page.get('DeleteMarkers', []))
    return found


def iam_user(endpoint, policy):
    """An IAM user with the inline ``policy``; returns its (access key id, secret). Creating users needs the checks
    of an authenticating server off."""
    iam = admin_client(endpoint, 'iam')
    name = 'kops-%s' % uuid.uuid4().hex[:8]
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName='state', PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)['AccessKey']
    return key['AccessKeyId'], key['SecretAccessKey']


FRONT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_moto_front.py')


class MotoServer(object):
    #: command starting the server, before ``-H host -p port`` (-P: tests/servers/moto.py must not shadow moto)
    command = [sys.executable, '-P', FRONT]

    def __init__(self, bootstrap_calls=None, port=None):
        # a given port restarts a server where a stopped one was (the fault tests)
        self.port = port or free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        environment = clean_aws_environment(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing')
        if bootstrap_calls is not None:
            environment['INITIAL_NO_AUTH_ACTION_COUNT'] = str(bootstrap_calls)
        self.process = subprocess.Popen(
            self.command + ['-H', '127.0.0.1', '-p', str(self.port)],
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.process, self.endpoint + '/moto-api/', 'moto_server')

    def reset(self):
        request = urllib.request.Request(self.endpoint + '/moto-api/reset', method='POST', data=b'')
        urllib.request.urlopen(request, timeout=10).read()

    def authentication(self, on):
        """Switch signature and IAM permission checks on or off for the following calls (moto's reset-auth
        sets how many calls go unchecked; the body is not form-encoded because moto reads it raw)."""
        request = urllib.request.Request(self.endpoint + '/moto-api/reset-auth', method='POST', data=b'0' if on else b'inf',
                                         headers={'Content-Type': 'application/octet-stream'})
        urllib.request.urlopen(request, timeout=10).read()

    def stop(self):
        stop_process(self.process)


@pytest.fixture(scope='session')
def moto_server():
    server = MotoServer()
    yield server
    server.stop()


class PlainMotoServer(MotoServer):
    command = [os.path.join(os.path.dirname(sys.executable), 'moto_server')]


@pytest.fixture(scope='session')
def plain_moto_server():
    server = PlainMotoServer()
    yield server
    server.stop()


@pytest.fixture(scope='session')
def moto_auth_server():
    # Enough unauthenticated calls for a test to create IAM users, keys and buckets as the "root" of each account.
    server = MotoServer(bootstrap_calls=int(os.environ.get('MOTO_AUTH_BOOTSTRAP_CALLS', '200')))
    yield server
    server.stop()


@pytest.fixture
def aws_environment(moto_server):
    return clean_aws_environment(
        AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
        AWS_ENDPOINT_URL=moto_server.endpoint,
    )


@pytest.fixture
def authenticating(moto_auth_server):
    """``moto_auth_server`` for a test that switches its checks on once its users and buckets exist."""
    yield moto_auth_server
    moto_auth_server.authentication(False)


@pytest.fixture
def stores(aws_environment):
    """``stores(location)``: a store of ``moto_server`` opened with the collection's own options."""
    from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

    settings = dict(endpoint_url=aws_environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                    region='us-east-1')
    return lambda location: open_store(location, settings)


@pytest.fixture
def s3_bucket(aws_environment):
    """A factory of fresh buckets on ``moto_server``: ``s3_bucket('old')`` creates and names ``old-<random>``."""
    return lambda name: new_bucket(aws_environment['AWS_ENDPOINT_URL'], name)


@pytest.fixture(scope='session')
def second_moto_auth_server():
    server = MotoServer(bootstrap_calls=int(os.environ.get('MOTO_AUTH_BOOTSTRAP_CALLS', '200')))
    yield server
    server.stop()


ALL_S3 = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}]}


class S3Service(object):
    """One authenticating moto server seen by an IAM user of its own, allowed s3:* (``access_key``,
    ``secret_key``); ``bucket(name)`` creates a fresh bucket as that user."""

    def __init__(self, server):
        self.server = server
        self.endpoint = server.endpoint
        self.access_key, self.secret_key = self.another_identity()

    def another_identity(self):
        """The keys of a new IAM user (s3:*) of this service: another principal, same account."""
        self.server.authentication(False)  # creating users needs IAM rights no test user has
        try:
            return iam_user(self.endpoint, ALL_S3)
        finally:
            self.server.authentication(True)

    def client(self):
        import boto3

        return boto3.client('s3', endpoint_url=self.endpoint, region_name='us-east-1',
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key)

    def bucket(self, name):
        bucket = '%s-%s' % (name, uuid.uuid4().hex[:10])
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def settings(self):
        """The collection's store options for this service as this user."""
        return dict(endpoint_url=self.endpoint, access_key=self.access_key, secret_key=self.secret_key,
                    region='us-east-1')

    def aws_environment(self):
        """An environment reaching this service AWS-style (AWS_* variables, AWS_ENDPOINT_URL), as this user."""
        return clean_aws_environment(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key,
                                     AWS_REGION='us-east-1', AWS_ENDPOINT_URL=self.endpoint)


@pytest.fixture
def two_s3_services(moto_auth_server, second_moto_auth_server):
    services = [S3Service(moto_auth_server), S3Service(second_moto_auth_server)]
    yield services
    for server in (moto_auth_server, second_moto_auth_server):
        server.authentication(False)

"""The entry modules and lookup through ansible-playbook on s3:// and do:// stores on the moto server: AWS-style
settings, S3_ENDPOINT with the S3_* keys, module options, check mode, diff, redaction and clear errors."""

import uuid

import boto3
import pytest

from servers.moto import clean_aws_environment

SECRET = 'S3StoreSecret-83a1f0'
SECRET_KEY = 'S3SecretAccessKey-c4e19b'


def _admin(endpoint):
    return boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1',
                        aws_access_key_id='testing', aws_secret_access_key='testing')


def _bucket(endpoint):
    name = 'kops-%s' % uuid.uuid4().hex[:12]
    _admin(endpoint).create_bucket(Bucket=name)
    return name


def _keys(endpoint, bucket):
    listed = _admin(endpoint).list_objects_v2(Bucket=bucket).get('Contents', [])
    return [item['Key'] for item in listed]


def _s3_endpoint_environment(endpoint, access_key='testing', secret_key='testing'):
    return clean_aws_environment(S3_ENDPOINT=endpoint, S3_ACCESS_KEY_ID=access_key, S3_SECRET_ACCESS_KEY=secret_key)


@pytest.mark.parametrize('flavour', ['s3-aws', 'do'])
def test_entries_roundtrip(run_playbook, moto_server, aws_environment, flavour):
    bucket = _bucket(moto_server.endpoint)
    scheme = 'do' if flavour == 'do' else 's3'
    # aws_environment: AWS_* keys and AWS_ENDPOINT_URL; do://: S3_ENDPOINT and the S3_* keys
    environment = aws_environment if flavour == 's3-aws' else _s3_endpoint_environment(moto_server.endpoint)
    # the object-store round trip the gs:// and oss:// backends pass too (MD5 hashes, check mode, diff, lookup)
    result = run_playbook('tests/integration/playbooks/gcs_oss_entries.yml', dict(
        store='%s://%s/state' % (scheme, bucket), secret_value=SECRET), args=['-v', '--diff'], env=environment)
    assert result.rc == 0, result
    assert SECRET not in result.output
    # nothing else was written (no conditional-write probe left behind)
    assert _keys(moto_server.endpoint, bucket) == ['state/c1.k8s.local/config', 'state/c1.k8s.local/kops-version.txt']


def test_module_and_lookup_options(run_playbook, moto_server):
    bucket = _bucket(moto_server.endpoint)
    result = run_playbook('tests/integration/playbooks/s3_options.yml', dict(
        store='s3://%s/state' % bucket, endpoint=moto_server.endpoint, access_key='AKIAOPTIONKEY0000001',
        secret_key=SECRET_KEY), args=['-vvv'], env=clean_aws_environment())
    assert result.rc == 0, result
    assert SECRET_KEY not in result.output
    admin = _admin(moto_server.endpoint)
    assert _keys(moto_server.endpoint, bucket) == ['state/c1.k8s.local/kops-version.txt']
    written = admin.head_object(Bucket=bucket, Key='state/c1.k8s.local/kops-version.txt')
    assert written['ServerSideEncryption'] == 'AES256'
    grants = admin.get_object_acl(Bucket=bucket, Key='state/c1.k8s.local/kops-version.txt')['Grants']
    assert any(grant['Grantee'].get('URI', '').endswith('/global/AllUsers') for grant in grants)


def test_errors_are_clear_and_write_nothing(run_playbook, moto_server, moto_auth_server):
    """A missing bucket, and keys the server does not know (S3_* keys on the server with IAM checks on)."""
    moto_auth_server.authentication(False)
    bucket = _bucket(moto_auth_server.endpoint)
    moto_auth_server.authentication(True)
    try:
        result = run_playbook('tests/integration/playbooks/s3_errors.yml', dict(
            missing_store='s3://no-such-bucket/state', store='s3://%s/state' % bucket,
            refused_environment=dict(S3_ENDPOINT=moto_auth_server.endpoint, S3_ACCESS_KEY_ID='AKIAUNKNOWNKEY000001',
                                     S3_SECRET_ACCESS_KEY=SECRET_KEY),
            refused_message='InvalidAccessKeyId'), env=_s3_endpoint_environment(moto_server.endpoint))
    finally:
        moto_auth_server.authentication(False)
    assert result.rc == 0, result
    assert SECRET_KEY not in result.output
    assert _keys(moto_auth_server.endpoint, bucket) == []

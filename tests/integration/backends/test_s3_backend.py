"""The S3 backend against a real moto server: the contract for s3:// (AWS-style options), s3:// through
S3_ENDPOINT and do://, then what is particular to S3 (regions, encryption, ACLs, keys, errors)."""

import hashlib
import json
import os
import uuid

import pytest
from botocore.exceptions import ClientError

from ansible_collections.kops.state_store.plugins.module_utils.backends import s3, s3_client
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    BackendFailure,
    BadLocation,
    NotSupported,
    PreconditionFailed,
)
from ansible_collections.kops.state_store.plugins.module_utils.policy import merge_statements
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.store import ABSENT
from servers.moto import admin_client, free_port, iam_user, new_bucket
from support.backend_contract import BackendContract


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """Replace every AWS/S3/kOps variable of the machine with the given ones (no shared config files)."""

    def use(**variables):
        for name in list(os.environ):
            if name.startswith(('AWS_', 'S3_', 'KOPS_')):
                monkeypatch.delenv(name)
        monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'no-aws-config'))
        monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'no-aws-credentials'))
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    use()
    return use


def aws_settings(moto_server, region='us-east-1'):
    return dict(endpoint_url=moto_server.endpoint, access_key='testing', secret_key='testing', region=region)


class TestS3Backend(BackendContract):
    """s3:// configured the amazon.aws way (options), pointed at moto with endpoint_url."""

    @pytest.fixture
    def store(self, moto_server, environment):
        return open_store('s3://%s/state/stores' % new_bucket(moto_server.endpoint), aws_settings(moto_server))


class TestS3EndpointBackend(BackendContract):
    """s3:// through S3_ENDPOINT and the S3_* keys only, as kOps users configure S3-compatible stores."""

    @pytest.fixture
    def store(self, moto_server, environment):
        environment(S3_ENDPOINT=moto_server.endpoint, S3_ACCESS_KEY_ID='testing', S3_SECRET_ACCESS_KEY='testing')
        return open_store('s3://%s' % new_bucket(moto_server.endpoint))


class TestDoBackend(BackendContract):
    @pytest.fixture
    def store(self, moto_server, environment):
        environment(S3_ENDPOINT=moto_server.endpoint, S3_ACCESS_KEY_ID='testing', S3_SECRET_ACCESS_KEY='testing')
        return open_store('do://%s/space' % new_bucket(moto_server.endpoint))


# -- configuration ------------------------------------------------------------------------------------
def test_s3_endpoint_needs_both_keys():
    with pytest.raises(AccessDenied, match='S3_SECRET_ACCESS_KEY cannot be empty when S3_ENDPOINT is set'):
        s3_client.S3Settings({}, 's3', dict(S3_ENDPOINT='https://minio.example', S3_ACCESS_KEY_ID='k', AWS_SECRET_ACCESS_KEY='s'))
    with pytest.raises(AccessDenied, match='S3_ACCESS_KEY_ID cannot be empty'):
        s3_client.S3Settings({}, 'do', dict(S3_ENDPOINT='nyc3.digitaloceanspaces.com', AWS_ACCESS_KEY_ID='k'))


def test_do_needs_an_endpoint():
    with pytest.raises(BadLocation, match='do:// state stores need S3_ENDPOINT'):
        s3_client.S3Settings({}, 'do', dict(S3_ACCESS_KEY_ID='k', S3_SECRET_ACCESS_KEY='s'))


def test_s3_endpoint_rules():
    config = s3_client.S3Settings({}, 'do', dict(S3_ENDPOINT='nyc3.digitaloceanspaces.com', S3_ACCESS_KEY_ID='k',
                                                 S3_SECRET_ACCESS_KEY='s', AWS_ACCESS_KEY_ID='aws', AWS_REGION='eu-west-3'))
    assert config.endpoint_url == 'https://nyc3.digitaloceanspaces.com'  # no scheme means https
    assert (config.access_key, config.secret_key, config.region) == ('k', 's', 'us-east-1')
    assert config.compatible
    assert s3_client.S3Settings({}, 's3', dict(S3_ENDPOINT='http://127.0.0.1:9000', S3_ACCESS_KEY_ID='k',
                                               S3_SECRET_ACCESS_KEY='s', S3_REGION='fr-par')).region == 'fr-par'


def test_aws_variables_and_options():
    environ = dict(AWS_ACCESS_KEY='old-style', AWS_SECRET_KEY='old-secret', AWS_SECURITY_TOKEN='awx-token',
                   AWS_DEFAULT_REGION='eu-central-1', AWS_URL='https://s3.example')
    config = s3_client.S3Settings({}, 's3', environ)
    assert (config.access_key, config.secret_key, config.session_token) == ('old-style', 'old-secret', 'awx-token')
    assert config.region is None  # kOps ignores AWS_DEFAULT_REGION for the probe
    assert config.endpoint_url == 'https://s3.example' and not config.compatible
    config = s3_client.S3Settings(dict(access_key='a', secret_key='b', region='ap-south-1'), 's3', environ)
    assert (config.access_key, config.secret_key, config.region) == ('a', 'b', 'ap-south-1')
    assert config.session_token is None  # keys given as options are a whole identity: no token of another joins
    assert s3_client.S3Settings(dict(profile='ops'), 's3', environ).access_key is None  # a profile names the keys
    with pytest.raises(AccessDenied, match='together'):
        s3_client.S3Settings(dict(access_key='a'), 's3', {})
    with pytest.raises(AccessDenied, match='together'):  # a key option and the secret of the environment
        s3_client.S3Settings(dict(access_key='a'), 's3', environ)
    with pytest.raises(AccessDenied, match='either profile or access_key'):
        s3_client.S3Settings(dict(profile='ops', access_key='a', secret_key='b'), 's3', environ)


def test_bucket_location_answers():
    assert s3_client.location_region(None) == s3_client.location_region('') == 'us-east-1'
    assert s3_client.location_region('EU') == 'eu-west-1'
    assert s3_client.location_region('ap-southeast-2') == 'ap-southeast-2'


def test_not_on_ec2(tmp_path):
    uuid_file = tmp_path / 'product_uuid'
    assert not s3_client.on_ec2(str(uuid_file))  # unreadable: not EC2, as in current kOps
    uuid_file.write_text('EC2E1916-9099-7CAF-FD21-012345ABCDEF\n')
    assert s3_client.on_ec2(str(uuid_file))
    uuid_file.write_text('4c4c4544-0038-3010-8051-b7c04f565931\n')
    assert not s3_client.on_ec2(str(uuid_file))


def test_etag_hash_rule():
    assert s3_client.md5_from_etag('"5D41402ABC4B2A76B9719D911017C592"') == '5d41402abc4b2a76b9719d911017c592'
    assert s3_client.md5_from_etag('"5d41402abc4b2a76b9719d911017c592-3"') is None  # multipart
    assert s3_client.md5_from_etag(None) is None


# -- regions ------------------------------------------------------------------------------------------
def test_bucket_in_another_region_is_found(moto_server, environment):
    bucket = new_bucket(moto_server.endpoint, region='eu-west-2')
    store = open_store('s3://%s/state' % bucket, aws_settings(moto_server, region='us-east-1'))
    store.write('c1/config', b'x')
    assert s3_client.bucket_region(store.config, bucket) == 'eu-west-2'
    assert store.client.meta.region_name == 'eu-west-2'
    assert admin_client(moto_server.endpoint, region='eu-west-2').get_object(Bucket=bucket, Key='state/c1/config')['Body'].read() == b'x'


def test_region_from_aws_region_variable(moto_server, environment):
    environment(AWS_REGION='ca-central-1', AWS_ENDPOINT_URL=moto_server.endpoint,
                AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing')
    bucket = new_bucket(moto_server.endpoint, region='ap-northeast-1')
    store = open_store('s3://%s' % bucket)
    assert store.config.probe_region() == 'ca-central-1'
    assert store.list('') == []
    assert store.client.meta.region_name == 'ap-northeast-1'


# -- encryption, ACLs ---------------------------------------------------------------------------------
def _sse(endpoint, bucket, key):
    return admin_client(endpoint).head_object(Bucket=bucket, Key=key).get('ServerSideEncryption')


def test_sse_header_without_bucket_encryption(moto_server, environment):
    bucket = new_bucket(moto_server.endpoint)
    open_store('s3://%s' % bucket, aws_settings(moto_server)).write('c1/config', b'x')
    assert _sse(moto_server.endpoint, bucket, 'c1/config') == 'AES256'


def test_no_sse_header_with_bucket_default_encryption(moto_server, environment):
    bucket = new_bucket(moto_server.endpoint)
    admin_client(moto_server.endpoint).put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        'Rules': [{'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'aws:kms'}}]})
    store = open_store('s3://%s' % bucket, aws_settings(moto_server))
    store.write('c1/config', b'kms')
    # An explicit AES256 header would have won over the bucket's KMS default.
    assert _sse(moto_server.endpoint, bucket, 'c1/config') == 'aws:kms'
    # as on S3, the ETag of a KMS object is no MD5 of its content (the test front sees to it)
    etag = admin_client(moto_server.endpoint).head_object(Bucket=bucket, Key='c1/config')['ETag']
    assert s3_client.md5_from_etag(etag) not in (None, hashlib.md5(b'kms').hexdigest())
    # KMS ETags are no content MD5s: no hash from listings or HeadObject, content hashing instead.
    assert [entry.hash for entry in store.list('c1')] == [None]
    assert store.hash('c1/config') == ('sha256', hashlib.sha256(b'kms').hexdigest())


def test_listing_trusts_no_etag_where_the_bucket_does_not_tell_its_encryption(authenticating, environment):
    """A principal refused GetBucketEncryption cannot know the bucket encrypts with KMS by default, where
    objects written without an encryption header have ETags that are not their MD5: no listed hash then."""
    endpoint = authenticating.endpoint
    authenticating.authentication(False)
    kms_bucket, plain_bucket = new_bucket(endpoint), new_bucket(endpoint)
    admin_client(endpoint).put_bucket_encryption(Bucket=kms_bucket, ServerSideEncryptionConfiguration={
        'Rules': [{'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'aws:kms'}}]})
    for bucket in (kms_bucket, plain_bucket):
        admin_client(endpoint).put_object(Bucket=bucket, Key='c1/config', Body=b'spec')
    policy = _allow('s3:*')
    policy['Statement'].append({'Effect': 'Deny', 'Action': 's3:GetEncryptionConfiguration', 'Resource': '*'})
    refused, allowed = iam_user(endpoint, policy), iam_user(endpoint, _allow('s3:*'))
    authenticating.authentication(True)

    def listed_hashes(user, bucket):
        store = open_store('s3://%s' % bucket, dict(endpoint_url=endpoint, access_key=user[0], secret_key=user[1],
                                                    region='us-east-1'))
        return [entry.hash for entry in store.list('c1')], store

    hashes, store = listed_hashes(refused, kms_bucket)
    assert hashes == [None]
    assert store.hash('c1/config') == ('sha256', hashlib.sha256(b'spec').hexdigest())
    assert listed_hashes(refused, plain_bucket)[0] == [None]  # it cannot tell this one apart either
    assert listed_hashes(allowed, kms_bucket)[0] == [None]
    assert listed_hashes(allowed, plain_bucket)[0] == [hashlib.md5(b'spec').hexdigest()]


def test_hash_of_an_sse_c_object_says_why_it_cannot_be_read(moto_server, environment):
    bucket = new_bucket(moto_server.endpoint)
    admin_client(moto_server.endpoint).put_object(Bucket=bucket, Key='c1/secret', Body=b'x', SSECustomerAlgorithm='AES256',
                                                  SSECustomerKey=os.urandom(32))
    store = open_store('s3://%s' % bucket, aws_settings(moto_server))
    with pytest.raises(BackendFailure, match="entry 'c1/secret' .*stored using a form of Server Side Encryption"):
        store.hash('c1/secret')


def test_sync_from_an_object_written_with_its_own_kms_header(moto_server, environment):
    """A listing cannot tell an object written with its own SSE-KMS header in a bucket without KMS default:
    its ETag passes for an MD5. Copied once, it must then be unchanged, and verified."""
    from ansible_collections.kops.state_store.plugins.module_utils.workflows.sync import Sync

    source = open_store('s3://%s/old' % new_bucket(moto_server.endpoint), aws_settings(moto_server))
    admin_client(moto_server.endpoint).put_object(Bucket=source.bucket, Key='old/c1/config', Body=b'spec',
                                                  ServerSideEncryption='aws:kms')
    destination = open_store('s3://%s/new' % new_bucket(moto_server.endpoint), aws_settings(moto_server))
    assert Sync(source, destination).run().copied == 1
    again = Sync(source, destination)
    assert again.run().copied == 0
    assert again.verify() == []


def test_sse_header_with_s3_endpoint_but_not_for_do(moto_server, environment):
    environment(S3_ENDPOINT=moto_server.endpoint, S3_ACCESS_KEY_ID='testing', S3_SECRET_ACCESS_KEY='testing')
    bucket = new_bucket(moto_server.endpoint)
    open_store('s3://%s' % bucket).write('s3-entry', b'x')
    open_store('do://%s' % bucket).write('do-entry', b'x')
    assert _sse(moto_server.endpoint, bucket, 's3-entry') == 'AES256'
    assert _sse(moto_server.endpoint, bucket, 'do-entry') is None


def _public(endpoint, bucket, key):
    grants = admin_client(endpoint).get_object_acl(Bucket=bucket, Key=key)['Grants']
    return any(grant['Grantee'].get('URI', '').endswith('/global/AllUsers') for grant in grants)


def test_kops_state_s3_acl_applies_and_overrides(moto_server, environment):
    bucket = new_bucket(moto_server.endpoint)
    store = open_store('s3://%s' % bucket, aws_settings(moto_server))
    store.write('plain', b'x')
    store.write('asked-public', b'x', acl='public-read')
    environment(KOPS_STATE_S3_ACL=' public-read ')
    store.write('env-public', b'x')
    environment(KOPS_STATE_S3_ACL='private')
    store.create('env-private', b'x', acl='public-read')
    assert [_public(moto_server.endpoint, bucket, key) for key in ('plain', 'asked-public', 'env-public', 'env-private')] \
        == [False, True, True, False]


def test_one_client_per_connection_and_region(moto_server, environment):
    first = open_store('s3://%s' % new_bucket(moto_server.endpoint), aws_settings(moto_server))
    second = open_store('s3://%s/other' % new_bucket(moto_server.endpoint), aws_settings(moto_server))
    assert first.client is second.client


# -- copies inside the server -----------------------------------------------------------------------------
def _copy_pair(server):
    """A source store holding one entry and an empty destination store in another bucket."""
    source = open_store('s3://%s/old' % new_bucket(server.endpoint), aws_settings(server))
    source.write('c1/pki/ca', b'certificate')
    return source, open_store('s3://%s/new' % new_bucket(server.endpoint), aws_settings(server))


def test_copy_inside_the_server_follows_the_destination_rules(moto_server, environment):
    source, destination = _copy_pair(moto_server)
    environment(KOPS_STATE_S3_ACL='public-read')
    version = destination.copy_from(source, 'c1/pki/ca', expect=ABSENT)
    assert destination.read('c1/pki/ca') == (b'certificate', version)
    assert _sse(moto_server.endpoint, destination.bucket, 'new/c1/pki/ca') == 'AES256'
    assert _public(moto_server.endpoint, destination.bucket, 'new/c1/pki/ca')
    assert [entry.path for entry in destination.list('', recursive=True)] == ['c1/pki/ca']  # no probe left


def test_conditional_copies_guard_the_destination(moto_server, environment):
    source, destination = _copy_pair(moto_server)
    destination.write('c1/pki/ca', b'written meanwhile')
    with pytest.raises(AlreadyExists):
        destination.copy_from(source, 'c1/pki/ca', expect=ABSENT)
    with pytest.raises(PreconditionFailed):
        destination.copy_from(source, 'c1/pki/ca', expect='"%s"' % ('0' * 32))
    assert destination.read('c1/pki/ca')[0] == b'written meanwhile'
    current = destination.read('c1/pki/ca')[1]
    assert destination.copy_from(source, 'c1/pki/ca', expect=current) is not None
    assert destination.read('c1/pki/ca')[0] == b'certificate'


def test_copy_needs_the_same_server_and_principal(moto_server, environment, tmp_path):
    source, destination = _copy_pair(moto_server)
    other_principal = open_store(source.render(), dict(aws_settings(moto_server), access_key='other', secret_key='x'))
    local = open_store('file://%s' % tmp_path)
    local.write('c1/pki/ca', b'local')
    assert destination.copy_from(other_principal, 'c1/pki/ca', expect=ABSENT) is None
    assert destination.copy_from(local, 'c1/pki/ca', expect=ABSENT) is None
    assert destination.list('', recursive=True) == []


def test_no_conditional_copy_where_the_server_ignores_copy_conditions(plain_moto_server, environment):
    source, destination = _copy_pair(plain_moto_server)
    destination.write('c1/pki/ca', b'written meanwhile')
    # plain moto honours conditions on PutObject but not on CopyObject: the probe finds out, nothing is copied
    assert destination.copy_from(source, 'c1/pki/ca', expect=ABSENT) is None
    assert destination.read('c1/pki/ca')[0] == b'written meanwhile'
    assert [entry.path for entry in destination.list('', recursive=True)] == ['c1/pki/ca']


# -- sizes ----------------------------------------------------------------------------------------------
def test_large_entry_goes_multipart(moto_server, environment):
    store = open_store('s3://%s' % new_bucket(moto_server.endpoint), aws_settings(moto_server))
    payload = os.urandom(s3.MULTIPART_THRESHOLD + 1024)
    version = store.write('c1/backup', payload)
    assert version.strip('"').endswith('-2')  # a multipart ETag, no content MD5
    data, read_version = store.read('c1/backup', limit=None)  # past max_entry_size: read as sync reads backups
    assert data == payload and read_version == version
    assert [(entry.size, entry.hash) for entry in store.list('c1')] == [(len(payload), None)]
    assert store.hash('c1/backup') == ('sha256', hashlib.sha256(payload).hexdigest())


# -- errors ---------------------------------------------------------------------------------------------
def test_missing_bucket(moto_server, environment):
    store = open_store('s3://kops-no-such-bucket-%s' % uuid.uuid4().hex[:8], aws_settings(moto_server))
    with pytest.raises(BadLocation, match="bucket 'kops-no-such-bucket-.*' does not exist"):
        store.read('c1/config')
    environment(S3_ENDPOINT=moto_server.endpoint, S3_ACCESS_KEY_ID='testing', S3_SECRET_ACCESS_KEY='testing')
    with pytest.raises(BadLocation, match='does not exist'):
        open_store('do://kops-no-such-bucket').list('', recursive=True)


def test_unreachable_endpoint(environment):
    environment(AWS_MAX_ATTEMPTS='1')
    endpoint = 'http://127.0.0.1:%d' % free_port()
    store = open_store('s3://kops-state/c1', dict(endpoint_url=endpoint, access_key='a', secret_key='b'))
    with pytest.raises(BackendFailure, match='cannot reach the S3 endpoint for s3://kops-state/c1.*127.0.0.1'):
        store.read('config')


# -- authentication (moto with IAM checks on) -----------------------------------------------------------
def _allow(*actions):
    return {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': list(actions), 'Resource': '*'}]}


def test_s3_keys_are_the_ones_used(authenticating, environment):
    endpoint = authenticating.endpoint
    authenticating.authentication(False)
    access, secret = iam_user(endpoint, _allow('s3:*'))
    bucket = new_bucket(endpoint)
    authenticating.authentication(True)
    # The AWS_* keys are wrong: only the S3_* keys may be used with S3_ENDPOINT.
    environment(S3_ENDPOINT=endpoint, S3_ACCESS_KEY_ID=access, S3_SECRET_ACCESS_KEY=secret,
                AWS_ACCESS_KEY_ID='AKIAWRONGWRONGWRONG0', AWS_SECRET_ACCESS_KEY='wrong')
    store = open_store('s3://%s/c1' % bucket)
    store.create('config', b'spec')
    assert store.read('config')[0] == b'spec'

    environment(S3_ENDPOINT=endpoint, S3_ACCESS_KEY_ID=access, S3_SECRET_ACCESS_KEY='not-the-secret')
    with pytest.raises(AccessDenied, match='SignatureDoesNotMatch.*S3_SECRET_ACCESS_KEY'):
        open_store('s3://%s/c1' % bucket).read('config')
    environment(S3_ENDPOINT=endpoint, S3_ACCESS_KEY_ID='AKIAUNKNOWNUNKNOWN00', S3_SECRET_ACCESS_KEY=secret)
    with pytest.raises(AccessDenied, match='InvalidAccessKeyId.*S3_ACCESS_KEY_ID'):
        open_store('do://%s/c1' % bucket).read('config')


def test_access_denied_is_clear(authenticating, environment):
    endpoint = authenticating.endpoint
    authenticating.authentication(False)
    bucket = new_bucket(endpoint)
    admin_client(endpoint).put_object(Bucket=bucket, Key='c1/config', Body=b'x')
    lister = iam_user(endpoint, _allow('s3:ListBucket'))
    authenticating.authentication(True)
    environment(S3_ENDPOINT=endpoint, S3_ACCESS_KEY_ID=lister[0], S3_SECRET_ACCESS_KEY=lister[1])
    store = open_store('s3://%s' % bucket)
    assert [entry.path for entry in store.list('c1')] == ['c1/config']
    # (moto answers NoSuchKey even without s3:ListBucket; AWS answers AccessDenied, hence the note)
    with pytest.raises(AccessDenied, match="access denied to entry .c1/config. in s3://%s/: .*missing entry when s3:ListBucket" % bucket):
        store.read('c1/config')


def test_bucket_region_from_head_bucket_when_location_is_refused(authenticating, environment):
    endpoint = authenticating.endpoint
    authenticating.authentication(False)
    bucket = new_bucket(endpoint, region='eu-west-2')
    policy = _allow('s3:*')
    policy['Statement'].append({'Effect': 'Deny', 'Action': 's3:GetBucketLocation', 'Resource': '*'})
    user = iam_user(endpoint, policy)
    authenticating.authentication(True)
    store = open_store('s3://%s' % bucket, dict(endpoint_url=endpoint, access_key=user[0], secret_key=user[1],
                                                region='us-east-1'))
    with pytest.raises(ClientError, match='AccessDenied'):  # the user may not ask GetBucketLocation
        s3_client.client_for_region(store.config, 'us-east-1').get_bucket_location(Bucket=bucket)
    assert s3_client.bucket_region(store.config, bucket) == 'eu-west-2'


def test_probes_go_into_the_folder_written_for_a_principal_allowed_only_there(authenticating, environment):
    """A principal allowed only some folders (as the cross-account role's minimal level allows) writes to a
    store at the bucket root: the conditional-request probes go where its writes go."""
    endpoint = authenticating.endpoint
    authenticating.authentication(False)
    bucket, other_bucket = new_bucket(endpoint), new_bucket(endpoint)
    statements = []
    for name in (bucket, other_bucket):
        statements += [
            {'Effect': 'Allow', 'Action': ['s3:GetBucketLocation', 's3:GetEncryptionConfiguration', 's3:ListBucket'],
             'Resource': 'arn:aws:s3:::' + name},
            {'Effect': 'Allow', 'Action': ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
             'Resource': 'arn:aws:s3:::%s/c1.k8s.local/*' % name}]
    user = iam_user(endpoint, {'Version': '2012-10-17', 'Statement': statements})
    authenticating.authentication(True)
    settings = dict(endpoint_url=endpoint, access_key=user[0], secret_key=user[1], region='us-east-1')
    store = open_store('s3://%s' % bucket, settings)
    version = store.create('c1.k8s.local/config', b'x')
    version = store.write('c1.k8s.local/config', b'y', expect=version)
    store.write('c1.k8s.local/instancegroup/nodes', b'z', expect=ABSENT)
    store.delete('c1.k8s.local/config', expect=version)
    with pytest.raises(AccessDenied, match='access denied to entry .c2.k8s.local/config.'):
        store.create('c2.k8s.local/config', b'x')
    authenticating.authentication(False)
    assert _keys(endpoint, bucket) == ['c1.k8s.local/instancegroup/nodes']  # no probe left
    authenticating.authentication(True)
    # where the first conditional write goes to a folder the principal may not write, the message says why
    with pytest.raises(AccessDenied, match="probe object next to the entry, 'c2.k8s.local/.kops-state-store-probe-[0-9a-f]+', "
                                           "which needs s3:PutObject and s3:DeleteObject there"):
        open_store('s3://%s' % other_bucket, settings).create('c2.k8s.local/config', b'x')


# -- servers that ignore or reject conditional writes -------------------------------------------------
@pytest.mark.parametrize('front, verb', [('s3_ignoring_conditions', 'ignores'), ('s3_rejecting_conditions', 'rejects')])
def test_server_without_conditional_writes_is_refused(request, moto_server, environment, front, verb):
    bucket = new_bucket(moto_server.endpoint)
    endpoint = request.getfixturevalue(front).endpoint
    environment(S3_ENDPOINT=endpoint, S3_ACCESS_KEY_ID='testing', S3_SECRET_ACCESS_KEY='testing')
    store = open_store('s3://%s/state' % bucket)
    version = store.write('c1/config', b'unconditional writes still work')
    with pytest.raises(NotSupported, match=r'%s conditional writes \(If-None-Match on PutObject.*create-if-absent' % verb):
        store.create('c1/config', b'would overwrite')
    with pytest.raises(NotSupported, match=r'%s conditional writes \(If-Match on PutObject.*compare-and-swap' % verb):
        store.write('c1/config', b'would overwrite', expect='"0123"')
    with pytest.raises(NotSupported, match=r'%s conditional writes \(If-Match on DeleteObject.*a guarded delete' % verb):
        store.delete('c1/config', expect=version)
    assert store.read('c1/config') == (b'unconditional writes still work', version)
    assert _keys(moto_server.endpoint, bucket) == ['state/c1/config']  # the probe is gone


def _keys(endpoint, bucket):
    """Every key of the bucket, as the server has them (probes included)."""
    return sorted(item['Key'] for item in admin_client(endpoint).list_objects_v2(Bucket=bucket).get('Contents', []))


@pytest.mark.parametrize('ignored_or_rejected', ['ignored', 'rejected'])
@pytest.mark.parametrize('condition', [('PutObject', 'If-None-Match'), ('PutObject', 'If-Match'), ('DeleteObject', 'If-Match')])
def test_server_honouring_some_conditions_refuses_only_what_needs_the_others(
        moto_server, s3_conditions_front, environment, condition, ignored_or_rejected):
    """A server that honours If-None-Match but ignores If-Match (or any other mix): every conditional request the
    backend relies on is probed, so none of them becomes an unconditional write."""
    bucket = new_bucket(moto_server.endpoint)
    front = s3_conditions_front(**{ignored_or_rejected: {condition}})
    store = open_store('s3://%s/state' % bucket, aws_settings(front))
    admin_client(moto_server.endpoint).put_object(Bucket=bucket, Key='state/c1/config', Body=b'theirs')
    current = store.read('c1/config')[1]
    needs = {('PutObject', 'If-None-Match'): lambda: store.create('c1/config', b'mine'),
             ('PutObject', 'If-Match'): lambda: store.write('c1/config', b'mine', expect='"%s"' % ('1' * 32)),
             ('DeleteObject', 'If-Match'): lambda: store.delete('c1/config', expect='"%s"' % ('1' * 32))}
    with pytest.raises(NotSupported, match='%s conditional writes \\(%s on %s' % (
            'ignores' if ignored_or_rejected == 'ignored' else 'rejects', condition[1], condition[0])):
        needs[condition]()
    assert store.read('c1/config') == (b'theirs', current)
    # what relies only on the honoured conditions still works, guarded
    if condition != ('PutObject', 'If-None-Match'):
        with pytest.raises(AlreadyExists):
            store.create('c1/config', b'mine')
        assert store.create('c1/new', b'new') is not None
    if condition != ('PutObject', 'If-Match'):
        with pytest.raises(PreconditionFailed):
            store.write('c1/config', b'mine', expect='"%s"' % ('1' * 32))
        current = store.write('c1/config', b'mine', expect=current)
    if condition != ('DeleteObject', 'If-Match'):
        with pytest.raises(PreconditionFailed):
            store.delete('c1/config', expect='"%s"' % ('1' * 32))
        store.delete('c1/config', expect=current)
    assert not [key for key in _keys(moto_server.endpoint, bucket) if s3.PROBE_PREFIX in key]


@pytest.mark.parametrize('header', ['If-None-Match', 'If-Match'])
def test_no_conditional_copy_where_the_server_ignores_either_copy_condition(
        moto_server, s3_conditions_front, environment, header):
    front = s3_conditions_front(ignored={('CopyObject', header)})
    source, destination = _copy_pair(front)
    version = destination.write('c1/pki/ca', b'written meanwhile')
    stale = 'theirs' if header == 'If-None-Match' else '"%s"' % ('1' * 32)
    assert destination.copy_from(source, 'c1/pki/ca', expect=ABSENT if stale == 'theirs' else stale) is None
    assert destination.read('c1/pki/ca') == (b'written meanwhile', version)
    assert _keys(moto_server.endpoint, destination.bucket) == ['new/c1/pki/ca']


def test_probes_are_asked_once_per_bucket(moto_server, environment):
    bucket = new_bucket(moto_server.endpoint)
    first = open_store('s3://%s/c1' % bucket, aws_settings(moto_server))
    first.create('config', b'x')
    key = (first.config.endpoint_url, bucket)
    assert set(s3._CONDITIONAL_WRITES[key]) == set(s3.CONDITIONAL_WRITES)
    calls = []

    def record(model, **_kwargs):
        calls.append(model.name)

    second = open_store('s3://%s/c2' % bucket, aws_settings(moto_server))
    second.client.meta.events.register('before-call.s3.*', record)
    try:
        second.create('config', b'y')
    finally:
        second.client.meta.events.unregister('before-call.s3.*', record)
    assert calls == ['PutObject']


# -- bucket policy and ownership (BucketSettings) -------------------------------------------------------
def test_bucket_policy_rounds_are_bounded_when_every_write_is_replaced(s3_policy_race, environment):
    bucket = new_bucket(s3_policy_race.endpoint)
    theirs = {'Version': '2012-10-17', 'Statement': [{'Sid': 'Theirs', 'Effect': 'Deny', 'Principal': '*',
                                                      'Action': 's3:DeleteBucket', 'Resource': 'arn:aws:s3:::' + bucket}]}
    s3_policy_race.after_write = lambda name: s3_policy_race.admin.put_bucket_policy(Bucket=name, Policy=json.dumps(theirs))
    settings = s3_client.BucketSettings(aws_settings(s3_policy_race), bucket)
    mine = dict(theirs['Statement'][0], Sid='Mine')
    with pytest.raises(BackendFailure, match='changed by someone else in each of 5 rounds .*; the last write of this '
                                             'task was replaced; run the task again'):
        settings.update_policy(lambda current: merge_statements(current, [mine]))
    assert s3_policy_race.writes == 5
    assert settings.policy() == theirs


def test_bucket_policy_check_mode_and_no_change(s3_policy_race, environment):
    bucket = new_bucket(s3_policy_race.endpoint)
    settings = s3_client.BucketSettings(aws_settings(s3_policy_race), bucket)
    statement = {'Sid': 'Mine', 'Effect': 'Deny', 'Principal': '*', 'Action': 's3:DeleteBucket',
                 'Resource': 'arn:aws:s3:::' + bucket}
    before, merge, changed = settings.update_policy(lambda current: merge_statements(current, [statement]), check_mode=True)
    assert (before, merge.added, changed, s3_policy_race.writes) == (None, ['Mine'], True, 0)
    assert settings.policy() is None
    settings.update_policy(lambda current: merge_statements(current, [statement]))
    before, merge, changed = settings.update_policy(lambda current: merge_statements(current, [statement]))
    assert (merge.added, merge.updated, changed, s3_policy_race.writes) == ([], [], False, 1)
    assert settings.object_ownership() is None
    settings.set_object_ownership('BucketOwnerEnforced')
    assert settings.object_ownership() == 'BucketOwnerEnforced'


def test_a_body_cut_off_is_one_clear_error(monkeypatch):
    """A server (or a connection) that dies in the middle of an object's body: urllib3 raises its own
    ProtocolError there, past botocore; it must still become the collection's one-line error."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(5)

    def answer_with_a_cut_body():
        connection, _address = listener.accept()
        request = b''
        while b'\r\n\r\n' not in request:
            request += connection.recv(65536)
        connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: "%s"\r\n\r\n%s' % (b'0' * 32, b'x' * 10))
        connection.shutdown(socket.SHUT_RDWR)
        connection.close()

    server = threading.Thread(target=answer_with_a_cut_body, daemon=True)
    server.start()
    try:
        for name, value in dict(S3_ENDPOINT='http://127.0.0.1:%d' % listener.getsockname()[1], S3_ACCESS_KEY_ID='k',
                                S3_SECRET_ACCESS_KEY='s', AWS_MAX_ATTEMPTS='1').items():
            monkeypatch.setenv(name, value)
        with pytest.raises(BackendFailure, match="connection to the S3 endpoint broke while reading entry 'c1/config'"):
            open_store('s3://cut-body/state').read('c1/config')
    finally:
        server.join(10)
        listener.close()


def test_probes_leave_no_version_behind(moto_server, environment):
    """The conditional-request probes write and delete objects in the cluster's folder; in a versioned bucket
    that would leave a noncurrent version and a delete marker per probing process in every folder probed."""
    bucket, source_bucket = new_bucket(moto_server.endpoint), new_bucket(moto_server.endpoint)
    admin_client(moto_server.endpoint).put_bucket_versioning(Bucket=bucket, VersioningConfiguration={'Status': 'Enabled'})
    store = open_store('s3://%s/state' % bucket, aws_settings(moto_server))
    source = open_store('s3://%s/state' % source_bucket, aws_settings(moto_server))
    source.write('c1/instancegroup/nodes', b'group')
    store.create('c1/config', b'spec')  # probes the conditional writes
    store.copy_from(source, 'c1/instancegroup/nodes', expect=ABSENT)  # probes the conditional copies
    listed = admin_client(moto_server.endpoint).list_object_versions(Bucket=bucket)
    keys = sorted(item['Key'] for item in listed.get('Versions', []) + listed.get('DeleteMarkers', []))
    assert keys == ['state/c1/config', 'state/c1/instancegroup/nodes']

"""Cross-account state store: the bucket_policy module and the cross_account_state_store role, proven with
real access checks on moto with authentication on. The bucket belongs to account B (222222222222); the
principals to grant are IAM users of account A (111111111111).

What checks what:
- moto itself checks every request's signature and the caller's own IAM policies: a user of account A
  without S3 permissions stays denied whatever the bucket policy grants (as on AWS, where a cross-account
  request needs both grants).
- moto does NOT evaluate the Allow statements of bucket policies: on its own, a user of account A reaches
  account B's bucket with no grant at all. The ``moto_cross_account_server`` fixture puts AWS's
  cross-account rule in front of moto (tests/servers/_moto_cross_account_front.py): a caller from another
  account than the bucket owner's needs the bucket policy to allow each action on each resource. Every
  before/after and folder assertion below rests on that rule as AWS documents it, not on AWS itself.
- Not checked here: the effect of BucketOwnerEnforced on object ownership and ACLs (moto records the
  setting but does not change object owners), policy conditions, and AWS's own policy validation.
"""

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ansible_collections.kops.state_store.plugins.module_utils.backends.s3 import S3Backend
from ansible_collections.kops.state_store.plugins.module_utils.errors import AccessDenied
from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location

from servers.moto import clean_aws_environment

ACCOUNT_A, ACCOUNT_B, ACCOUNT_C = '111111111111', '222222222222', '333333333333'
ALL_S3 = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}]}
ONLY_STS = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:GetCallerIdentity', 'Resource': '*'}]}
ALPHA, BETA, GAMMA = 'alpha.k8s.local', 'beta.k8s.local', 'gamma.k8s.local'
ROLE_PLAYBOOK = 'playbooks/cross_account_state_store.yml'


class World(object):
    """The server and the access keys of: kops and other (account A, IAM policy s3:*), nobody (account A,
    no S3 permission), admin (account B, owner of the buckets, s3:*), third (account C, s3:*)."""

    def __init__(self, endpoint, keys):
        self.endpoint = endpoint
        self.keys = keys

    def client(self, who, service='s3'):
        key, secret = self.keys[who]
        return boto3.client(service, endpoint_url=self.endpoint, region_name='us-east-1', aws_access_key_id=key,
                            aws_secret_access_key=secret, config=Config(retries={'max_attempts': 1}))

    def environment(self, who, **extra):
        """Environment of an ansible-playbook run as ``who``."""
        key, secret = self.keys[who]
        return clean_aws_environment(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION='us-east-1',
                                     AWS_ENDPOINT_URL=self.endpoint, **extra)

    def settings(self, who):
        """Store settings of the collection's S3 backend as ``who``."""
        key, secret = self.keys[who]
        return dict(access_key=key, secret_key=secret, region='us-east-1', endpoint_url=self.endpoint)


def _bootstrap_client(endpoint, service, account):
    """A client acting in ``account`` while authentication is off (moto's x-moto-account-id header)."""
    client = boto3.client(service, endpoint_url=endpoint, region_name='us-east-1',
                          aws_access_key_id='bootstrap', aws_secret_access_key='bootstrap')
    client.meta.events.register('before-sign.*.*', lambda request, **_kwargs: request.headers.__setitem__(
        'x-moto-account-id', account))
    return client


def _iam_user(endpoint, account, name, policy):
    iam = _bootstrap_client(endpoint, 'iam', account)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName='permissions', PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)['AccessKey']
    return key['AccessKeyId'], key['SecretAccessKey']


@pytest.fixture(scope='module')
def world(moto_cross_account_server):
    server = moto_cross_account_server
    server.authentication(False)
    keys = dict(
        kops=_iam_user(server.endpoint, ACCOUNT_A, 'kops', ALL_S3),
        other=_iam_user(server.endpoint, ACCOUNT_A, 'other', ALL_S3),
        nobody=_iam_user(server.endpoint, ACCOUNT_A, 'nobody', ONLY_STS),
        admin=_iam_user(server.endpoint, ACCOUNT_B, 'state-admin', ALL_S3),
        third=_iam_user(server.endpoint, ACCOUNT_C, 'kops', ALL_S3),
    )
    server.authentication(True)
    world = World(server.endpoint, keys)
    assert world.client('kops', 'sts').get_caller_identity()['Account'] == ACCOUNT_A
    assert world.client('admin', 'sts').get_caller_identity()['Account'] == ACCOUNT_B
    return world


@pytest.fixture
def bucket(world):
    """A new bucket of account B holding two clusters' configs."""
    name = 'state-%s' % uuid.uuid4().hex[:12]
    admin = world.client('admin')
    admin.create_bucket(Bucket=name)
    for cluster in (ALPHA, BETA):
        admin.put_object(Bucket=name, Key=cluster + '/config', Body=('kind: Cluster # %s' % cluster).encode())
    return name


def allowed(call, **arguments):
    """True when the call succeeds, False when S3 denies it; any other failure fails the test."""
    try:
        call(**arguments)
        return True
    except ClientError as exc:
        if exc.response['Error']['Code'] == 'AccessDenied':
            return False
        raise


def read(client, bucket, key):
    return client.get_object(Bucket=bucket, Key=key)['Body'].read()


def policy_sids(world, bucket):
    policy = json.loads(world.client('admin').get_bucket_policy(Bucket=bucket)['Policy'])
    return sorted(statement['Sid'] for statement in policy['Statement'])


def run_role(run_playbook, world, bucket, args=('--diff',), **variables):
    extra = dict(('cross_account_state_store_' + name, value) for name, value in variables.items())
    extra['cross_account_state_store_bucket'] = bucket
    return run_playbook(ROLE_PLAYBOOK, extra, args=list(args), env=world.environment('admin'))


def test_minimal_grants_only_the_cluster_folders(world, bucket, run_playbook, monkeypatch):
    kops, admin = world.client('kops'), world.client('admin')
    variables = dict(account_ids=[ACCOUNT_A], clusters=[ALPHA], access='minimal')
    # before: account A has s3:* in its own IAM policy, but the bucket does not grant it anything
    assert not allowed(kops.get_object, Bucket=bucket, Key=ALPHA + '/config')
    assert not allowed(kops.put_object, Bucket=bucket, Key=ALPHA + '/kops-version.txt', Body=b'1.30.0')
    assert not allowed(kops.list_objects_v2, Bucket=bucket, Prefix=ALPHA + '/')

    check = run_role(run_playbook, world, bucket, args=['--check', '--diff'], **variables)
    assert check.rc == 0 and 'changed=2' in check.output, check  # the statements and the object ownership
    assert '"Sid": "KopsStateStoreObjects%s"' % ACCOUNT_A in check.output  # the diff shows the new policy
    with pytest.raises(ClientError, match='NoSuchBucketPolicy'):
        admin.get_bucket_policy(Bucket=bucket)
    assert not allowed(kops.get_object, Bucket=bucket, Key=ALPHA + '/config')

    result = run_role(run_playbook, world, bucket, **variables)
    assert result.rc == 0 and 'changed=2' in result.output, result
    again = run_role(run_playbook, world, bucket, **variables)
    assert again.rc == 0 and 'changed=0' in again.output, again

    # inside the granted cluster folder: read, write, list, delete
    assert read(kops, bucket, ALPHA + '/config') == b'kind: Cluster # alpha.k8s.local'
    kops.put_object(Bucket=bucket, Key=ALPHA + '/instancegroup/nodes', Body=b'kind: InstanceGroup')
    assert read(admin, bucket, ALPHA + '/instancegroup/nodes') == b'kind: InstanceGroup'
    listed = kops.list_objects_v2(Bucket=bucket, Prefix=ALPHA + '/')['Contents']
    assert sorted(item['Key'] for item in listed) == [ALPHA + '/config', ALPHA + '/instancegroup/nodes']
    kops.delete_object(Bucket=bucket, Key=ALPHA + '/instancegroup/nodes')
    assert allowed(kops.get_bucket_location, Bucket=bucket)

    # another cluster's folder and the bucket root stay out of reach
    assert not allowed(kops.get_object, Bucket=bucket, Key=BETA + '/config')
    assert not allowed(kops.put_object, Bucket=bucket, Key=BETA + '/config', Body=b'overwritten')
    assert not allowed(kops.delete_object, Bucket=bucket, Key=BETA + '/config')
    assert not allowed(kops.put_object, Bucket=bucket, Key='kops-version.txt', Body=b'x')
    assert read(admin, bucket, BETA + '/config') == b'kind: Cluster # beta.k8s.local'
    # nor can account A change the bucket policy
    assert not allowed(kops.put_bucket_policy, Bucket=bucket, Policy=json.dumps(ALL_S3))
    # a user of account A whose own IAM policy gives no S3 access stays denied (moto's own check)
    assert not allowed(world.client('nobody').get_object, Bucket=bucket, Key=ALPHA + '/config')

    ownership = admin.get_bucket_ownership_controls(Bucket=bucket)['OwnershipControls']['Rules']
    assert ownership == [{'ObjectOwnership': 'BucketOwnerEnforced'}]

    # the collection's S3 backend, as account A, does what kOps does: bucket region, encryption,
    # conditional writes, listing; inside the cluster folder only
    for name in ('S3_ENDPOINT', 'KOPS_STATE_S3_ACL'):
        monkeypatch.delenv(name, raising=False)
    alpha = S3Backend(parse_location('s3://%s/%s' % (bucket, ALPHA)), world.settings('kops'))
    alpha.create('instancegroup/nodes', b'kind: InstanceGroup')
    data, version = alpha.read('instancegroup/nodes')
    alpha.write('instancegroup/nodes', b'kind: InstanceGroup # 2', expect=version)
    assert data == b'kind: InstanceGroup'
    assert [entry.path for entry in alpha.list(recursive=True)] == ['config', 'instancegroup/nodes']
    beta = S3Backend(parse_location('s3://%s/%s' % (bucket, BETA)), world.settings('kops'))
    with pytest.raises(AccessDenied):
        beta.read('config')
    with pytest.raises(AccessDenied):
        beta.write('config', b'overwritten')


@pytest.mark.parametrize('bucket_owner_enforced', [True, False])
def test_minimal_lets_kops_write_through_a_store_at_the_bucket_root(world, bucket, run_playbook, monkeypatch,
                                                                    bucket_owner_enforced):
    """With ``state_store: s3://bucket`` account A writes entries and clusters inside its folders: every
    conditional request (and the probes before the first) stays inside the folder written."""
    result = run_role(run_playbook, world, bucket, account_ids=[ACCOUNT_A], clusters=[ALPHA, GAMMA],
                      bucket_owner_enforced=bucket_owner_enforced)
    assert result.rc == 0, result
    acl = {} if bucket_owner_enforced else dict(KOPS_STATE_S3_ACL='bucket-owner-full-control')
    for name in ('S3_ENDPOINT', 'KOPS_STATE_S3_ACL'):
        monkeypatch.delenv(name, raising=False)
    for name, value in acl.items():
        monkeypatch.setenv(name, value)

    store = S3Backend(parse_location('s3://%s' % bucket), world.settings('kops'))
    version = store.create(ALPHA + '/instancegroup/nodes', b'kind: InstanceGroup')
    version = store.write(ALPHA + '/instancegroup/nodes', b'kind: InstanceGroup # 2', expect=version)
    store.delete(ALPHA + '/instancegroup/nodes', expect=version)
    with pytest.raises(AccessDenied):
        store.create(BETA + '/instancegroup/nodes', b'kind: InstanceGroup')

    entries = run_playbook('tests/integration/playbooks/cross_account_root_store.yml',
                           dict(store='s3://%s' % bucket, path=ALPHA + '/kops-version.txt'),
                           env=world.environment('kops', **acl))
    assert entries.rc == 0 and 'failed=0' in entries.output, entries
    cluster = run_playbook('playbooks/node_size.yml', dict(kops_state_store='s3://%s' % bucket, kops_cluster=GAMMA),
                           env=world.environment('kops', **acl))
    assert cluster.rc == 0 and 'failed=0' in cluster.output, cluster
    admin = world.client('admin')
    keys = sorted(item['Key'] for item in admin.list_objects_v2(Bucket=bucket)['Contents'])
    assert keys == [ALPHA + '/config', BETA + '/config', GAMMA + '/config', GAMMA + '/instancegroup/nodes-us-east-1a']
    assert b'machineType: m4.large' in read(admin, bucket, GAMMA + '/instancegroup/nodes-us-east-1a')


def test_runs_for_two_accounts_keep_each_others_statements(world, bucket, run_playbook):
    first = run_role(run_playbook, world, bucket, account_ids=[ACCOUNT_A], clusters=[ALPHA])
    second = run_role(run_playbook, world, bucket, account_ids=[ACCOUNT_C], clusters=[BETA], access='full')
    assert first.rc == 0 and second.rc == 0, (first, second)
    assert policy_sids(world, bucket) == ['KopsStateStoreBucket' + ACCOUNT_A, 'KopsStateStoreFull' + ACCOUNT_C,
                                          'KopsStateStoreObjects' + ACCOUNT_A]
    assert allowed(world.client('kops').get_object, Bucket=bucket, Key=ALPHA + '/config')
    assert not allowed(world.client('kops').get_object, Bucket=bucket, Key=BETA + '/config')
    assert allowed(world.client('third').get_object, Bucket=bucket, Key=BETA + '/config')
    # a role ARN gets statements of its own, next to its account's
    role = 'arn:aws:iam::%s:role/kops-admin' % ACCOUNT_A
    third = run_role(run_playbook, world, bucket, principals=[role], clusters=[BETA])
    assert third.rc == 0, third
    sids = policy_sids(world, bucket)
    assert len(sids) == 5 and 'KopsStateStoreFull' + ACCOUNT_C in sids and 'KopsStateStoreObjects' + ACCOUNT_A in sids
    policy = json.loads(world.client('admin').get_bucket_policy(Bucket=bucket)['Policy'])
    mine = [statement for statement in policy['Statement'] if role in json.dumps(statement['Principal'])]
    assert sorted(statement['Sid'][:-22] for statement in mine) == ['KopsStateStoreBucket', 'KopsStateStoreObjects']
    assert all(statement['Sid'][-22:-10] == ACCOUNT_A for statement in mine)


@pytest.mark.parametrize('variables, named', [
    (dict(account_ids=['11111111111']), "['11111111111']"),  # 11 digits: an unquoted id that lost its leading 0
    (dict(account_ids=[11111111111]), "['11111111111']"),
    (dict(principals=['*']), "['*']"),
    (dict(principals=['arn:aws:iam::*:root']), "['arn:aws:iam::*:root']"),
    (dict(principals=['arn:aws:iam::111111111111:role/*']), "['arn:aws:iam::111111111111:role/*']"),
    (dict(principals=['111111111111']), "['111111111111']"),
])
def test_principals_that_are_not_one_accounts_are_refused(world, bucket, run_playbook, variables, named):
    result = run_role(run_playbook, world, bucket, clusters=[ALPHA], **variables)
    assert result.rc != 0 and 'Account ids must be 12 digits' in result.output, result
    assert named in result.output, result.output
    with pytest.raises(ClientError, match='NoSuchBucketPolicy'):
        world.client('admin').get_bucket_policy(Bucket=bucket)


def test_statements_of_earlier_role_versions(world, bucket, run_playbook):
    """Earlier versions used the same Sids for every run; those granting only this run's principals go."""
    def legacy(sid, *accounts):
        return {'Sid': sid, 'Effect': 'Allow', 'Principal': {'AWS': ['arn:aws:iam::%s:root' % account for account in accounts]},
                'Action': 's3:*', 'Resource': ['arn:aws:s3:::' + bucket, 'arn:aws:s3:::%s/*' % bucket]}
    old = {'Version': '2012-10-17', 'Statement': [legacy('KopsStateStoreFull', ACCOUNT_A),
                                                  legacy('KopsStateStoreObjects', ACCOUNT_A, ACCOUNT_C)]}
    world.client('admin').put_bucket_policy(Bucket=bucket, Policy=json.dumps(old))
    result = run_role(run_playbook, world, bucket, account_ids=[ACCOUNT_A], clusters=[ALPHA])
    assert result.rc == 0, result
    assert policy_sids(world, bucket) == ['KopsStateStoreBucket' + ACCOUNT_A, 'KopsStateStoreObjects',
                                          'KopsStateStoreObjects' + ACCOUNT_A]
    assert 'still holds the statement KopsStateStoreObjects of an earlier version' in result.output
    assert allowed(world.client('third').get_object, Bucket=bucket, Key=BETA + '/config')  # account C keeps its grant
    again = run_role(run_playbook, world, bucket, account_ids=[ACCOUNT_A], clusters=[ALPHA])
    assert again.rc == 0 and 'changed=0' in again.output, again


def test_full_then_minimal_keeps_other_statements(world, bucket, run_playbook):
    kops, admin = world.client('kops'), world.client('admin')
    foreign = {'Sid': 'AuditorRead', 'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::333333333333:root'},
               'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::%s/*' % bucket}
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps({'Version': '2012-10-17', 'Statement': [foreign]}))

    result = run_role(run_playbook, world, bucket, account_ids=[ACCOUNT_A], access='full')
    assert result.rc == 0, result
    assert policy_sids(world, bucket) == ['AuditorRead', 'KopsStateStoreFull' + ACCOUNT_A]
    # the kOps documentation's policy: the whole bucket
    assert allowed(kops.put_object, Bucket=bucket, Key=BETA + '/kops-version.txt', Body=b'1.30.0')
    assert allowed(kops.put_object, Bucket=bucket, Key='kops-version.txt', Body=b'1.30.0')

    result = run_role(run_playbook, world, bucket, account_ids=[ACCOUNT_A], clusters=[ALPHA], access='minimal')
    assert result.rc == 0, result
    assert policy_sids(world, bucket) == ['AuditorRead', 'KopsStateStoreBucket' + ACCOUNT_A, 'KopsStateStoreObjects' + ACCOUNT_A]
    assert not allowed(kops.put_object, Bucket=bucket, Key=BETA + '/kops-version.txt', Body=b'1.31.0')
    assert allowed(kops.put_object, Bucket=bucket, Key=ALPHA + '/kops-version.txt', Body=b'1.31.0')


def test_principal_arns_grant_only_those_principals(world, bucket, run_playbook):
    result = run_role(run_playbook, world, bucket, principals=['arn:aws:iam::%s:user/kops' % ACCOUNT_A],
                      clusters=[ALPHA])
    assert result.rc == 0, result
    assert allowed(world.client('kops').get_object, Bucket=bucket, Key=ALPHA + '/config')
    # another user of account A, with the same IAM permissions, was not granted
    assert not allowed(world.client('other').get_object, Bucket=bucket, Key=ALPHA + '/config')


def test_without_bucket_owner_enforced_writes_need_the_bucket_owner_acl(world, bucket, run_playbook):
    result = run_role(run_playbook, world, bucket, account_ids=[ACCOUNT_A], clusters=[ALPHA],
                      bucket_owner_enforced=False)
    assert result.rc == 0, result
    assert 'KOPS_STATE_S3_ACL=bucket-owner-full-control' in result.output
    policy = json.loads(world.client('admin').get_bucket_policy(Bucket=bucket)['Policy'])
    writes = [statement for statement in policy['Statement'] if statement['Sid'] == 'KopsStateStoreObjectWrites' + ACCOUNT_A][0]
    assert sorted(writes['Action']) == ['s3:PutObject', 's3:PutObjectAcl']
    assert writes['Condition'] == {'StringEquals': {'s3:x-amz-acl': 'bucket-owner-full-control'}}
    with pytest.raises(ClientError, match='OwnershipControlsNotFoundError'):
        world.client('admin').get_bucket_ownership_controls(Bucket=bucket)
    # a write that would leave the object to account A is refused; with the bucket owner's ACL it goes through
    kops = world.client('kops')
    key = ALPHA + '/instancegroup/nodes'
    assert not allowed(kops.put_object, Bucket=bucket, Key=key, Body=b'mine')
    assert not allowed(kops.put_object, Bucket=bucket, Key=key, Body=b'mine', ACL='private')
    assert allowed(kops.put_object, Bucket=bucket, Key=key, Body=b'owned', ACL='bucket-owner-full-control')
    assert not allowed(kops.put_object_acl, Bucket=bucket, Key=key, ACL='public-read')
    assert allowed(kops.get_object, Bucket=bucket, Key=ALPHA + '/config')

    result = run_role(run_playbook, world, bucket, account_ids=[ACCOUNT_A], clusters=[ALPHA])
    assert result.rc == 0, result
    assert policy_sids(world, bucket) == ['KopsStateStoreBucket' + ACCOUNT_A, 'KopsStateStoreObjects' + ACCOUNT_A]
    assert allowed(kops.put_object, Bucket=bucket, Key=key, Body=b'mine')


def test_bucket_policy_module(world, bucket, run_playbook):
    result = run_playbook('tests/integration/playbooks/cross_account_module.yml',
                          dict(bucket=bucket, other_account=ACCOUNT_A), env=world.environment('admin'))
    assert result.rc == 0, result
    assert 'failed=0' in result.output, result


def test_errors(world, bucket, run_playbook):
    def case(name, who, expected, statements=(), **target):
        return dict(dict(bucket=bucket), name=name, statements=list(statements), who=who, expected=expected, **target)

    cases = [
        case('missing bucket', 'admin', "the bucket 'no-such-bucket-anywhere' does not exist",
             bucket='no-such-bucket-anywhere'),
        case('not the owner', 'kops', 'access denied to'),
        case('bad effect', 'admin', "statement 'a': Effect must be Allow or Deny",
             statements=[{'Sid': 'a', 'Effect': 'Permit', 'Principal': '*', 'Action': 's3:*', 'Resource': '*'}]),
        case('no sid', 'admin', 'statement 1 has no Sid',
             statements=[{'Effect': 'Allow', 'Principal': '*', 'Action': 's3:*', 'Resource': '*'}]),
        case('store not on S3', 'admin', 'is not in an S3 bucket; set the bucket option',
             bucket=None, state_store='file:///srv/kops-state'),
        case('bad principal', 'admin', 'a principal is "*" or a dictionary',
             statements=[{'Sid': 'a', 'Effect': 'Allow', 'Principal': ACCOUNT_A, 'Action': 's3:*', 'Resource': '*'}]),
    ]
    # the credentials are options here; the environment has none
    credentials = dict((who, dict(access_key=world.keys[who][0], secret_key=world.keys[who][1])) for who in ('admin', 'kops'))
    result = run_playbook('tests/integration/playbooks/cross_account_error.yml', dict(cases=cases, credentials=credentials),
                          env=dict(world.environment('admin'), AWS_ACCESS_KEY_ID='', AWS_SECRET_ACCESS_KEY=''))
    assert result.rc == 0, result
    assert 'failed=0' in result.output and 'ignored=1' in result.output, result
    for secret in (world.keys['admin'][1], world.keys['kops'][1]):
        assert secret not in result.output
    with pytest.raises(ClientError, match='NoSuchBucketPolicy'):
        world.client('admin').get_bucket_policy(Bucket=bucket)


def test_molecule_scenario(moto_server, aws_environment, molecule_test):
    """The role's molecule scenario (converge, idempotence, verify) on moto without authentication."""
    bucket = 'molecule-%s' % uuid.uuid4().hex[:12]
    boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                 aws_secret_access_key='testing').create_bucket(Bucket=bucket)
    molecule_test('cross_account_state_store', dict(aws_environment, MOLECULE_BUCKET=bucket))

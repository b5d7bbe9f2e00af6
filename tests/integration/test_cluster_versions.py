"""`kops.state_store.cluster` with `state: absent` on S3 buckets with versioning on (moto), through ansible-playbook:
every version and delete marker below the cluster's folder goes, a sibling cluster whose name starts with the same
text keeps all of its versions, check mode removes nothing, and a principal that may not list versions (or
purge_versions=false on a versioned bucket) gets a clear failure with nothing deleted."""

import json
import uuid

import pytest
import yaml

from servers.moto import DENY_VERSION_LISTING, admin_client, iam_user, new_bucket, object_versions

PLAYBOOK = 'tests/integration/playbooks/cluster_absent.yml'
ENTRIES = ('config', 'instancegroup/nodes', 'pki/private/ca/keyset.yaml', 'secrets/admin')


def versioned_bucket(endpoint, versioned=True):
    return new_bucket(endpoint, 'versioned', versioned)


def document(kind, name, spec):
    return yaml.safe_dump(dict(apiVersion='kops.k8s.io/v1alpha2', kind=kind, metadata=dict(name=name), spec=spec))


def seed(endpoint, bucket, prefix, name):
    """A cluster as kOps leaves it after a key rotation: every entry written twice (one old version each), and a
    secret deleted earlier (two old versions and a delete marker where the bucket keeps versions)."""
    client = admin_client(endpoint)
    bodies = {'config': document('Cluster', name, dict(cloudProvider='aws', configBase='s3://%s/%s' % (bucket, name))),
              'instancegroup/nodes': document('InstanceGroup', 'nodes', dict(role='Node')),
              'pki/private/ca/keyset.yaml': 'private material', 'secrets/admin': '{"Data": "c2VjcmV0"}'}
    for round_ in ('old', 'new'):
        for entry in ENTRIES:
            client.put_object(Bucket=bucket, Key='%s%s/%s' % (prefix, name, entry),
                              Body=('%s\n# %s' % (bodies[entry], round_)).encode())
        client.put_object(Bucket=bucket, Key='%s%s/secrets/rotated' % (prefix, name), Body=round_.encode())
    client.delete_object(Bucket=bucket, Key='%s%s/secrets/rotated' % (prefix, name))


@pytest.fixture
def delete(run_playbook, tmp_path):
    """Run the playbook; returns the module's result (a dict)."""

    def run(store, name, env, args=(), **extra):
        result_file = tmp_path / ('result-%s.json' % uuid.uuid4().hex[:6])
        run = run_playbook(PLAYBOOK, dict(extra, store=store, name=name, result_file=str(result_file)),
                           args=args, env=env)
        assert run.rc == 0, run
        return json.loads(result_file.read_text())

    return run


def test_absent_removes_every_version_of_the_cluster_only(moto_server, aws_environment, delete):
    endpoint = moto_server.endpoint
    bucket = versioned_bucket(endpoint)
    seed(endpoint, bucket, 'kops/', 'c1')
    seed(endpoint, bucket, 'kops/', 'c1.example')
    store = 's3://%s/kops' % bucket
    before = object_versions(endpoint, bucket)
    sibling = set(item for item in before if item[0].startswith('kops/c1.example/'))
    assert len(sibling) == 11

    planned = delete(store, 'c1', aws_environment, args=['--check'])
    assert not planned.get('failed'), planned
    assert planned['changed'] and planned['old_versions_removed'] == 7  # 4 entries' first versions; 2 + marker
    assert sorted(planned['changed_entries']) == sorted('c1/' + entry for entry in ENTRIES)
    assert object_versions(endpoint, bucket) == before

    deleted = delete(store, 'c1', aws_environment)
    assert not deleted.get('failed'), deleted
    assert deleted['changed'] and deleted['old_versions_removed'] == 7
    assert deleted['changed_entries'][-1] == 'c1/config'
    assert object_versions(endpoint, bucket, 'kops/c1/') == set()
    assert object_versions(endpoint, bucket) == sibling

    again = delete(store, 'c1', aws_environment)
    assert not again.get('failed') and not again['changed'] and again['old_versions_removed'] == 0, again


def test_versions_left_by_an_earlier_deletion_are_removed(moto_server, aws_environment, delete):
    """A cluster whose current entries were deleted by other means (or by an earlier version of this module)
    leaves only old versions and delete markers; state: absent removes them."""
    endpoint = moto_server.endpoint
    bucket = versioned_bucket(endpoint)
    seed(endpoint, bucket, '', 'c1')
    for entry in ENTRIES:
        admin_client(endpoint).delete_object(Bucket=bucket, Key='c1/' + entry)
    left = object_versions(endpoint, bucket)
    assert len(left) == 15

    planned = delete('s3://%s' % bucket, 'c1', aws_environment, args=['--check'])
    assert planned['changed'] and planned['old_versions_removed'] == 15 and planned['changed_entries'] == []
    assert object_versions(endpoint, bucket) == left
    deleted = delete('s3://%s' % bucket, 'c1', aws_environment)
    assert deleted['changed'] and deleted['old_versions_removed'] == 15, deleted
    assert object_versions(endpoint, bucket) == set()


def test_unversioned_bucket_is_deleted_as_before(moto_server, aws_environment, delete):
    endpoint = moto_server.endpoint
    bucket = versioned_bucket(endpoint, versioned=False)
    seed(endpoint, bucket, '', 'c1')
    deleted = delete('s3://%s' % bucket, 'c1', aws_environment, purge_versions=False)
    assert not deleted.get('failed'), deleted
    assert deleted['changed'] and deleted['old_versions_removed'] == 0
    assert object_versions(endpoint, bucket) == set()


def test_purge_versions_false_refuses_on_a_versioned_bucket(moto_server, aws_environment, delete):
    endpoint = moto_server.endpoint
    bucket = versioned_bucket(endpoint)
    seed(endpoint, bucket, '', 'c1')
    before = object_versions(endpoint, bucket)
    refused = delete('s3://%s' % bucket, 'c1', aws_environment, purge_versions=False)
    assert refused['failed']
    assert refused['msg'] == (
        'refusing to delete cluster c1 with purge_versions=false: s3://%s/ keeps old versions of its entries '
        '(7 old versions and delete markers below s3://%s/c1/ now, and the 4 entries deleted now would stay as '
        'old versions); they hold its secrets and keys. Set purge_versions=true (the default) to remove every '
        'version, as kops delete cluster does. Nothing was deleted' % (bucket, bucket))
    assert object_versions(endpoint, bucket) == before


def test_principal_without_version_listing_deletes_nothing(authenticating, aws_environment, delete):
    endpoint = authenticating.endpoint
    authenticating.authentication(False)
    bucket = versioned_bucket(endpoint)
    seed(endpoint, bucket, '', 'c1')
    before = object_versions(endpoint, bucket)
    access, secret = iam_user(endpoint, DENY_VERSION_LISTING)
    env = dict(aws_environment, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=access,
               AWS_SECRET_ACCESS_KEY=secret)
    authenticating.authentication(True)
    try:
        refused = delete('s3://%s' % bucket, 'c1', env)
    finally:
        authenticating.authentication(False)
    assert refused['failed']
    assert refused['msg'] == ("access denied to the versions below 'c1' in s3://%s/: ListObjectVersions needs "
                              "s3:ListBucketVersions on the bucket" % bucket)
    assert object_versions(endpoint, bucket) == before

"""cluster.delete_cluster on versioned S3 buckets (moto): what happens when removing old versions fails after the
current entries were deleted, and when versioning was switched on after the entries were written."""

import json

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.errors import AccessDenied
from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from servers.moto import admin_client, new_bucket, object_versions


@pytest.fixture
def s3_store(moto_server, monkeypatch):
    """(store, bucket) on a fresh bucket; versioning is switched on by the test."""
    for name in ('AWS_PROFILE', 'AWS_CA_BUNDLE', 'S3_ENDPOINT', 'KOPS_STATE_S3_ACL'):
        monkeypatch.delenv(name, raising=False)
    bucket = new_bucket(moto_server.endpoint, 'delete')
    store = open_store('s3://%s' % bucket, dict(endpoint_url=moto_server.endpoint, access_key='testing',
                                                secret_key='testing', region='us-east-1'))
    return store, bucket


def enable_versioning(endpoint, bucket):
    admin_client(endpoint).put_bucket_versioning(Bucket=bucket, VersioningConfiguration={'Status': 'Enabled'})


def write_cluster(store, name):
    config = dict(apiVersion='kops.k8s.io/v1alpha2', kind='Cluster', metadata=dict(name=name), spec={})
    store.write(name + '/config', yaml.safe_dump(config).encode())
    store.write(name + '/secrets/admin', b'{"Data": "c2VjcmV0"}')
    store.write(name + '/pki/private/ca/keyset.yaml', b'private material')


def test_failed_version_removal_is_reported_and_a_second_run_finishes(moto_server, s3_store):
    store, bucket = s3_store
    enable_versioning(moto_server.endpoint, bucket)
    write_cluster(store, 'c1')
    store.write('c1/secrets/rotated', b'one')
    store.write('c1/secrets/rotated', b'two')
    store.delete('c1/secrets/rotated')
    policy = {'Version': '2012-10-17', 'Statement': [{
        'Effect': 'Deny', 'Principal': '*', 'Action': ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        'Resource': 'arn:aws:s3:::%s/c1/secrets/rotated' % bucket}]}
    admin_client(moto_server.endpoint).put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    with pytest.raises(AccessDenied, match=r"^the current entries of cluster c1 were deleted, but not all of its old "
                                           r"versions: could not permanently remove 3 of the 9 old versions and "
                                           r"delete markers below 'c1' in s3://%s/, 3 remain: c1/secrets/rotated .*"
                                           r"Run the task again to remove the rest$" % bucket):
        cl.delete_cluster(store, 'c1')
    assert sorted(key for key, _version, _marker in object_versions(moto_server.endpoint, bucket)) == ['c1/secrets/rotated'] * 3
    assert cl.list_clusters(store) == ([], [])

    admin_client(moto_server.endpoint).delete_bucket_policy(Bucket=bucket)
    plan = cl.delete_cluster(store, 'c1', check_mode=True)
    assert (plan.changed, plan.old_versions, plan.writes) == (True, 3, [])
    plan = cl.delete_cluster(store, 'c1')
    assert (plan.changed, plan.old_versions) == (True, 3)
    assert object_versions(moto_server.endpoint, bucket) == set()


def test_versioning_switched_on_after_the_writes_is_not_reported_as_success(moto_server, s3_store):
    """Entries written before versioning was on look unversioned in the listing (version id 'null'); with
    purge_versions=false the deletion then keeps them as old versions, which is a failure, not a success."""
    store, bucket = s3_store
    write_cluster(store, 'c1')
    enable_versioning(moto_server.endpoint, bucket)
    assert not store.keeps_versions('c1')
    with pytest.raises(cl.ClusterError, match=r'^the current entries of cluster c1 were deleted, but 6 old versions '
                                              r'and delete markers of them remain below s3://%s/c1/ '
                                              r'\(purge_versions=false\); run the task again with '
                                              r'purge_versions=true to remove them$' % bucket):
        cl.delete_cluster(store, 'c1', purge_versions=False)
    with pytest.raises(cl.ClusterError, match='refusing to delete cluster c1 with purge_versions=false'):
        cl.delete_cluster(store, 'c1', purge_versions=False)
    assert cl.delete_cluster(store, 'c1').old_versions == 6
    assert object_versions(moto_server.endpoint, bucket) == set()


def test_a_folder_with_current_entries_but_no_config_is_left_alone(moto_server, s3_store):
    store, bucket = s3_store
    enable_versioning(moto_server.endpoint, bucket)
    store.write('c1/secrets/admin', b'one')
    store.write('c1/secrets/admin', b'two')
    before = object_versions(moto_server.endpoint, bucket)
    plan = cl.delete_cluster(store, 'c1')
    assert (plan.changed, plan.old_versions, plan.writes) == (False, 0, [])
    assert object_versions(moto_server.endpoint, bucket) == before

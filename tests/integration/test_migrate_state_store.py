"""The migrate_state_store role (molecule scenario, playbooks/migrate_state_store.yml), on the moto server.
The review workflow (playbooks/review_state_changes.yml) is tested in test_review_playbook.py."""


import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

PLAYBOOK = 'playbooks/migrate_state_store.yml'


@pytest.fixture
def stores(aws_environment):
    settings = dict(endpoint_url=aws_environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                    region='us-east-1')
    return lambda location: open_store(location, settings)


def seed(store, name, key_store=None):
    """A cluster as kOps leaves it: config (configBase = the store's folder), a group, keys and secrets."""
    spec = dict(configBase=store.render(name), kubernetesVersion='1.30.2', cloudProvider='aws')
    if key_store:
        spec['keyStore'] = key_store
    config = dict(apiVersion='kops.k8s.io/v1alpha2', kind='Cluster', metadata=dict(name=name), spec=spec)
    store.write(name + '/config', yaml.safe_dump(config).encode())
    store.write(name + '/instancegroup/nodes', yaml.safe_dump(dict(
        apiVersion='kops.k8s.io/v1alpha2', kind='InstanceGroup', metadata=dict(name='nodes'),
        spec=dict(role='Node'))).encode())
    store.write(name + '/pki/private/ca/keyset.yaml', b'private material')
    store.write(name + '/secrets/admin', b'{"Data": "c2VjcmV0"}')


def tree(store):
    return dict((entry.path, store.read(entry.path)[0]) for entry in store.list('', recursive=True))


def spec_of(store, name):
    return yaml.safe_load(store.read(name + '/config')[0])['spec']


def test_molecule_scenario(moto_server, aws_environment, s3_bucket, molecule_test):
    """prepare, converge, idempotence, verify: S3 -> S3 (every cluster) and a local store -> S3 (source removed)."""
    molecule_test('migrate_state_store',
                  dict(aws_environment, MOLECULE_OLD_BUCKET=s3_bucket('old'), MOLECULE_NEW_BUCKET=s3_bucket('new')))


def test_check_mode_then_move_between_buckets(run_playbook, aws_environment, s3_bucket, stores):
    old, new = 's3://%s' % s3_bucket('old'), 's3://%s/kops' % s3_bucket('new')
    seed(stores(old), 'a.k8s.local', key_store=old + '/a.k8s.local/pki')
    before = tree(stores(old))

    plan = run_playbook(PLAYBOOK, dict(source=old, destination=new), args=['--check'], env=aws_environment)
    assert plan.rc == 0, plan
    assert 'would copy config, then set' in plan.output and new + '/a.k8s.local/pki' in plan.output
    assert tree(stores(new)) == {}

    moved = run_playbook(PLAYBOOK, dict(source=old, destination=new), env=aws_environment)
    assert moved.rc == 0, moved
    assert 'export KOPS_STATE_STORE=%s' % new in moved.output
    copy = tree(stores(new))
    assert sorted(copy) == sorted(before)
    assert copy['a.k8s.local/secrets/admin'] == before['a.k8s.local/secrets/admin']
    spec = spec_of(stores(new), 'a.k8s.local')
    assert (spec['configBase'], spec['keyStore']) == (new + '/a.k8s.local', new + '/a.k8s.local/pki')
    assert tree(stores(old)) == before  # the source is kept unless asked

    again = run_playbook(PLAYBOOK, dict(source=old, destination=new), env=aws_environment)
    assert again.rc == 0, again
    assert 'changed=0' in again.output


def test_update_then_delete_source_from_a_local_store(run_playbook, aws_environment, s3_bucket, stores, tmp_path):
    """run_update calls kops with the new store (a recording stand-in for the kops binary), then the local
    copy is removed; a local destination is refused for the update."""
    local = str(tmp_path / 'local-store')
    seed(stores(local), 'c.k8s.local')
    new = 's3://%s' % s3_bucket('new')
    calls = tmp_path / 'kops-calls'
    kops = tmp_path / 'kops'
    kops.write_text('#!/bin/sh\necho "$KOPS_STATE_STORE $*" >> %s\necho "Cluster changes have been applied"\n' % calls)
    kops.chmod(0o755)
    variables = dict(source=local, destination=new, clusters=['c.k8s.local'], run_update=True, delete_source=True)

    refused = run_playbook(PLAYBOOK, dict(variables, destination='file://%s' % (tmp_path / 'elsewhere')),
                           args=['-e', 'migrate_state_store_kops_command=%s' % kops], env=aws_environment)
    assert refused.rc != 0 and 'no node can' in refused.output, refused
    assert not calls.exists()

    moved = run_playbook(PLAYBOOK, variables, args=['-e', 'migrate_state_store_kops_command=%s' % kops],
                         env=aws_environment)
    assert moved.rc == 0, moved
    assert calls.read_text() == '%s update cluster --name c.k8s.local --state %s --yes\n' % (new, new)
    assert tree(stores(local)) == {}
    assert spec_of(stores(new), 'c.k8s.local')['configBase'] == new + '/c.k8s.local'


def test_other_cluster_of_the_same_name_is_not_overwritten(run_playbook, aws_environment, s3_bucket, stores, tmp_path):
    old, new = 's3://%s' % s3_bucket('old'), 's3://%s' % s3_bucket('new')
    seed(stores(old), 'a.k8s.local')
    seed(stores('file://%s' % (tmp_path / 'other')), 'a.k8s.local')
    other = tree(stores('file://%s' % (tmp_path / 'other')))
    for path, data in other.items():  # a different cluster a.k8s.local already lives in the new bucket
        stores(new).write(path, data)
    result = run_playbook(PLAYBOOK, dict(source=old, destination=new), env=aws_environment)
    assert result.rc != 0 and 'is not a copy of' in result.output, result
    assert tree(stores(new)) == other


def test_delete_source_leaves_no_version_in_a_versioned_bucket(run_playbook, aws_environment, s3_bucket, stores):
    """The source's removal (kops.state_store.cluster, state: absent) takes every version of the moved cluster
    with it: old secrets and keys, their delete markers, and the versions the deletion itself leaves."""
    import boto3

    client = boto3.client('s3', endpoint_url=aws_environment['AWS_ENDPOINT_URL'], region_name='us-east-1',
                          aws_access_key_id='testing', aws_secret_access_key='testing')
    old_bucket = s3_bucket('old')
    client.put_bucket_versioning(Bucket=old_bucket, VersioningConfiguration={'Status': 'Enabled'})
    old, new = 's3://%s' % old_bucket, 's3://%s' % s3_bucket('new')
    for _round in range(2):  # every entry gets an old version, as after a key rotation
        seed(stores(old), 'a.k8s.local')
        seed(stores(old), 'a.k8s.local.old')
    stores(old).write('a.k8s.local/secrets/rotated', b'{"Data": "b2xk"}')
    stores(old).delete('a.k8s.local/secrets/rotated')

    def versions(prefix):
        found = []
        for page in client.get_paginator('list_object_versions').paginate(Bucket=old_bucket, Prefix=prefix):
            found += [(item['Key'], item['VersionId']) for item in page.get('Versions', []) + page.get('DeleteMarkers', [])]
        return sorted(found)

    other = versions('a.k8s.local.old/')
    assert len(other) == 8
    moved = run_playbook(PLAYBOOK, dict(source=old, destination=new, clusters=['a.k8s.local'], update_done=True,
                                        delete_source=True), env=aws_environment)
    assert moved.rc == 0, moved
    assert versions('a.k8s.local/') == []
    assert versions('') == other
    assert sorted(tree(stores(new))) == ['a.k8s.local/config', 'a.k8s.local/instancegroup/nodes',
                                         'a.k8s.local/pki/private/ca/keyset.yaml', 'a.k8s.local/secrets/admin']

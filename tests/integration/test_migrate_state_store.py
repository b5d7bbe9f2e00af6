"""The migrate_state_store role (molecule scenario, playbooks/migrate_state_store.yml), on the moto server,
and between two moto servers with authentication on (two services, each side with its own keys).
The review workflow (playbooks/review_state_changes.yml) is tested in test_review_playbook.py."""

import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster_stores import (
    open_cluster_stores,
    read_keysets,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from servers.moto import clean_aws_environment
from support.paths import KOPS_TEST_DATA

PLAYBOOK = 'playbooks/migrate_state_store.yml'
CLUSTER = 'a.k8s.local'

# A stand-in for the kops binary that does to the state store what `kops update cluster --name N --state S
# --yes` does (kOps 1.30), and nothing to any cloud. Like kOps, it finds the store from --state, else
# KOPS_STATE_STORE, and reaches S3 through the environment only: S3_ENDPOINT with S3_ACCESS_KEY_ID,
# S3_SECRET_ACCESS_KEY and S3_REGION (path style; do:// requires it), otherwise the AWS SDK's chain (AWS_*
# variables, AWS_ENDPOINT_URL). It reads the cluster from the store (config, instancegroup/*) and writes below
# the cluster's spec.configBase - not below the store it read - the entries kOps writes there:
# cluster-completed.spec (the cluster with configBase, keyStore and secretStore filled in),
# kops-version.txt, igconfig/<role>/<group>/nodeupconfig.yaml (the configBase nodes boot from), the bootstrap
# channel under addons/ and a manifest under manifests/. Entries already equal are not rewritten; it then
# prints "No changes need to be applied", as kOps does. Each call is appended to $KOPS_STAND_IN_LOG.
KOPS_STAND_IN = r"""#!%(python)s
import os
import sys
from urllib.parse import urlparse

import boto3
import yaml
from botocore.config import Config

VERSION = '1.30.4'
ROLES = {'Node': 'node', 'ControlPlane': 'control-plane', 'Master': 'control-plane', 'APIServer': 'apiserver',
         'Bastion': 'bastion'}


def fail(message):
    sys.stderr.write('Error: %%s\n' %% message)
    sys.exit(1)


def s3_client(scheme):
    endpoint = os.environ.get('S3_ENDPOINT')
    if endpoint:
        key, secret = os.environ.get('S3_ACCESS_KEY_ID'), os.environ.get('S3_SECRET_ACCESS_KEY')
        if not key or not secret:
            fail('S3_ACCESS_KEY_ID cannot be empty when S3_ENDPOINT is set')
        return boto3.client('s3', endpoint_url=endpoint if '://' in endpoint else 'https://' + endpoint,
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            region_name=os.environ.get('S3_REGION') or 'us-east-1',
                            config=Config(s3={'addressing_style': 'path'}))
    if scheme != 's3':
        fail('%%s:// state stores require S3_ENDPOINT' %% scheme)
    return boto3.client('s3', region_name=os.environ.get('AWS_REGION') or 'us-east-1')


def split(location):
    parsed = urlparse(location)
    if parsed.scheme not in ('s3', 'do'):
        fail('this stand-in serves s3:// and do:// stores only, not %%s' %% location)
    return parsed.scheme, parsed.netloc, parsed.path.strip('/')


def key(prefix, *parts):
    return '/'.join(part for part in (prefix,) + parts if part)


def read(client, bucket, name):
    try:
        return client.get_object(Bucket=bucket, Key=name)['Body'].read()
    except client.exceptions.NoSuchKey:
        return None


def main(arguments):
    if arguments[:2] != ['update', 'cluster'] or '--yes' not in arguments:
        fail('this stand-in only runs "update cluster --name N --state S --yes"')
    options = dict(zip(arguments[2::2], arguments[3::2]))
    name = options.get('--name')
    store = (options.get('--state') or os.environ.get('KOPS_STATE_STORE') or '').rstrip('/')
    scheme, bucket, prefix = split(store)
    client = s3_client(scheme)
    config = read(client, bucket, key(prefix, name, 'config'))
    if config is None:
        fail('cluster "%%s" not found' %% name)
    cluster = yaml.safe_load(config)
    spec = cluster['spec']
    config_base = spec.get('configBase') or '%%s/%%s' %% (store, name)
    completed = dict(cluster, spec=dict(spec, configBase=config_base,
                                        keyStore=spec.get('keyStore') or config_base + '/pki',
                                        secretStore=spec.get('secretStore') or config_base + '/secrets'))
    written = {
        'cluster-completed.spec': yaml.safe_dump(completed),
        'kops-version.txt': VERSION,
        'addons/bootstrap-channel.yaml': yaml.safe_dump(dict(
            kind='Addons', metadata=dict(name='bootstrap'), spec=dict(addons=[dict(
                name='kops-controller.addons.k8s.io', manifest='kops-controller.addons.k8s.io/k8s-1.16.yaml')]))),
        'manifests/channels/kops-channels.yaml': 'channel: stable\nkopsVersion: %%s\n' %% VERSION,
    }
    listed = client.list_objects_v2(Bucket=bucket, Prefix=key(prefix, name, 'instancegroup') + '/').get('Contents', [])
    for item in listed:
        group = yaml.safe_load(read(client, bucket, item['Key']))
        group_name, role = group['metadata']['name'], group['spec']['role']
        written['igconfig/%%s/%%s/nodeupconfig.yaml' %% (ROLES[role], group_name)] = yaml.safe_dump(dict(
            configBase=config_base, instanceGroupName=group_name, instanceGroupRole=role,
            kubernetesVersion=spec.get('kubernetesVersion')))
    base_scheme, base_bucket, base_prefix = split(config_base)
    changed = False
    for path, text in sorted(written.items()):
        if read(client, base_bucket, key(base_prefix, path)) != text.encode():
            client.put_object(Bucket=base_bucket, Key=key(base_prefix, path), Body=text.encode(),
                              **({} if base_scheme == 'do' else {'ServerSideEncryption': 'AES256'}))
            changed = True
    if changed:
        print('kOps has set your kubectl context to %%s\n\nCluster changes have been applied to the cloud.\n\n'
              'Changes may require instances to restart: kops rolling-update cluster' %% name)
    else:
        print('No changes need to be applied')


with open(os.environ['KOPS_STAND_IN_LOG'], 'a') as log:
    log.write('%%s %%s\n' %% (os.environ.get('KOPS_STATE_STORE', ''), ' '.join(sys.argv[1:])))
main(sys.argv[1:])
"""
# What the stand-in writes, as paths below the cluster's folder (seed() adds one group, "nodes", role Node).
UPDATE_WRITES = ['addons/bootstrap-channel.yaml', 'cluster-completed.spec', 'igconfig/node/nodes/nodeupconfig.yaml',
                 'kops-version.txt', 'manifests/channels/kops-channels.yaml']


@pytest.fixture
def kops(tmp_path):
    """The kops stand-in: ``kops.path`` to give the role, ``kops.update(store, environment)`` to run it as an
    earlier ``kops update cluster --yes`` did, ``kops.calls()`` the command lines it got."""
    class Kops(object):
        path = tmp_path / 'kops'
        log = tmp_path / 'kops-calls'

        def update(self, store, environment, name=CLUSTER):
            completed = subprocess.run([str(self.path), 'update', 'cluster', '--name', name, '--state', store, '--yes'],
                                       env=dict(environment, KOPS_STAND_IN_LOG=str(self.log)), capture_output=True,
                                       text=True, check=False)
            assert completed.returncode == 0, completed.stderr
            return completed.stdout

        def calls(self):
            return self.log.read_text().splitlines() if self.log.exists() else []

        def environment(self, environment):
            """``environment`` for an ansible-playbook run whose role calls the stand-in."""
            return dict(environment, KOPS_STAND_IN_LOG=str(self.log))

    Kops.path.write_text(KOPS_STAND_IN % dict(python=sys.executable))
    Kops.path.chmod(0o755)
    return Kops()


def seed(store, name, key_store=None, secret_store=None):
    """A cluster as kOps leaves it: config (configBase = the store's folder), a group, keys and secrets."""
    spec = dict(configBase=store.render(name), kubernetesVersion='1.30.2', cloudProvider='aws')
    if key_store:
        spec['keyStore'] = key_store
    if secret_store:
        spec['secretStore'] = secret_store
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


def test_update_then_delete_source_from_a_local_store(run_playbook, aws_environment, s3_bucket, stores, tmp_path, kops):
    """run_update runs kops update with the new store, then the local copy is removed; a local destination is
    refused for the update."""
    local = str(tmp_path / 'local-store')
    seed(stores(local), 'c.k8s.local')
    new = 's3://%s' % s3_bucket('new')
    variables = dict(source=local, destination=new, clusters=['c.k8s.local'], run_update=True, delete_source=True)
    args = ['-e', 'migrate_state_store_kops_command=%s' % kops.path]

    refused = run_playbook(PLAYBOOK, dict(variables, destination='file://%s' % (tmp_path / 'elsewhere')),
                           args=args, env=kops.environment(aws_environment))
    assert refused.rc != 0 and 'no node can' in refused.output, refused
    assert kops.calls() == []

    moved = run_playbook(PLAYBOOK, variables, args=args, env=kops.environment(aws_environment))
    assert moved.rc == 0, moved
    assert kops.calls() == ['%s update cluster --name c.k8s.local --state %s --yes' % (new, new)]
    assert tree(stores(local)) == {}
    assert spec_of(stores(new), 'c.k8s.local')['configBase'] == new + '/c.k8s.local'
    completed = yaml.safe_load(stores(new).read('c.k8s.local/cluster-completed.spec')[0])['spec']
    assert completed['configBase'] == new + '/c.k8s.local'


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


def test_many_clusters_move_in_one_run_and_a_refused_one_stays_as_it_was(
        run_playbook, aws_environment, s3_bucket, stores, tmp_path):
    """Five clusters, one of them taken at the destination by another cluster of its name: the other four move
    (copied, configBase rewritten, source removed), the taken one is named in the failure and nothing of it is
    written or removed; once it is renamed away at the destination, a new run moves it alone."""
    old, new = 's3://%s' % s3_bucket('old'), 's3://%s' % s3_bucket('new')
    names = ['c%d.k8s.local' % number for number in range(5)]
    for name in names:
        seed(stores(old), name)
    seed(stores('file://%s' % (tmp_path / 'other')), 'c3.k8s.local')
    theirs = tree(stores('file://%s' % (tmp_path / 'other')))
    for path, data in theirs.items():
        stores(new).write(path, data)
    variables = dict(source=old, destination=new, update_done=True, delete_source=True)

    result = run_playbook(PLAYBOOK, variables, env=aws_environment)
    assert result.rc != 0 and 'c3.k8s.local: ' in result.output and 'is not a copy of' in result.output, result
    left = tree(stores(old))
    assert sorted(set(path.split('/')[0] for path in left)) == ['c3.k8s.local']
    moved = tree(stores(new))
    assert dict((path, data) for path, data in moved.items() if path.startswith('c3.k8s.local/')) == theirs
    for name in names[:3] + names[4:]:
        assert spec_of(stores(new), name)['configBase'] == '%s/%s' % (new, name)
        assert moved[name + '/pki/private/ca/keyset.yaml'] == b'private material'
    assert 'private material' not in result.output

    for path in theirs:
        stores(new).delete(path)
    again = run_playbook(PLAYBOOK, variables, env=aws_environment)
    assert again.rc == 0, again
    assert tree(stores(old)) == {}
    assert spec_of(stores(new), 'c3.k8s.local')['configBase'] == new + '/c3.k8s.local'


def recap(output, host):
    """The PLAY RECAP counters of ``host``."""
    line = re.search(r'^%s\s+: (.*)$' % re.escape(host), output, re.MULTILINE).group(1)
    return dict((name, int(count)) for name, count in re.findall(r'(\w+)=(\d+)', line))


def test_each_cluster_of_the_clusters_inventory_moves_on_its_own_host(
        run_playbook, aws_environment, s3_bucket, stores, tmp_path):
    """The playbook on hosts as the kops.state_store.clusters inventory makes them (kops_clusters group,
    kops_cluster_name, kops_state_store): --limit moves only the hosts named, a host whose cluster is taken at
    the destination fails alone, the others complete, and a re-run touches only what is left."""
    old, new = 's3://%s' % s3_bucket('old'), 's3://%s' % s3_bucket('new')
    names = ['prod-a.k8s.local', 'prod-b.k8s.local', 'dev.k8s.local']
    for name in names:
        seed(stores(old), name)
    seed(stores('file://%s' % (tmp_path / 'other')), 'prod-b.k8s.local')
    theirs = tree(stores('file://%s' % (tmp_path / 'other')))
    for path, data in theirs.items():
        stores(new).write(path, data)
    inventory = tmp_path / 'clusters.yml'
    hosts = dict((name.split('.', maxsplit=1)[0], dict(kops_cluster_name=name, kops_state_store=old,
                                                       ansible_connection='local',
                                                       ansible_python_interpreter=sys.executable))
                 for name in names)
    inventory.write_text(yaml.safe_dump({'kops_clusters': {'hosts': hosts}}))
    args = ['-i', str(inventory), '--limit', 'prod-*']

    result = run_playbook(PLAYBOOK, dict(destination=new), args=args, env=aws_environment)
    assert result.rc != 0, result
    assert recap(result.output, 'prod-a')['failed'] == 0 and recap(result.output, 'prod-b')['failed'] == 1, result
    assert 'is not a copy of' in result.output
    assert spec_of(stores(new), 'prod-a.k8s.local')['configBase'] == new + '/prod-a.k8s.local'
    assert dict((path, data) for path, data in tree(stores(new)).items() if path.startswith('prod-b.')) == theirs
    assert not [path for path in tree(stores(new)) if path.startswith('dev.')]  # not in --limit

    again = run_playbook(PLAYBOOK, dict(destination=new), args=['-i', str(inventory), '--limit', 'prod-a,dev'],
                         env=aws_environment)
    assert again.rc == 0, again
    assert recap(again.output, 'prod-a')['changed'] == 0 and recap(again.output, 'dev')['changed'] > 0, again
    assert spec_of(stores(new), 'dev.k8s.local')['configBase'] == new + '/dev.k8s.local'


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


# -- after kops update, the destination is only compared --------------------------------------------------------
def below(cluster_tree, paths):
    """The entries of ``cluster_tree`` (paths below the store) whose path below the cluster's folder is in ``paths``."""
    return dict((path, data) for path, data in cluster_tree.items() if path.split('/', 1)[1] in paths)


def others(cluster_tree, paths):
    return dict((path, data) for path, data in cluster_tree.items() if path.split('/', 1)[1] not in paths)


def test_what_kops_update_wrote_survives_the_whole_role(run_playbook, aws_environment, s3_bucket, stores, kops):
    """The old store holds the entries an earlier kops update wrote there (configBase = the old store); the move
    runs kops update against the new store, which rewrites them there (configBase = the new store); removing the
    source compares the two copies, writing nothing, so the update's entries stay as it wrote them."""
    old, new = 's3://%s' % s3_bucket('old'), 's3://%s/kops' % s3_bucket('new')
    seed(stores(old), CLUSTER)
    kops.update(old, aws_environment)
    before = tree(stores(old))
    assert sorted(below(before, UPDATE_WRITES)) == ['%s/%s' % (CLUSTER, path) for path in UPDATE_WRITES]
    variables = dict(source=old, destination=new, run_update=True, delete_source=True)
    args = ['-e', 'migrate_state_store_kops_command=%s' % kops.path]

    plan = run_playbook(PLAYBOOK, variables, args=args + ['--check'], env=kops.environment(aws_environment))
    assert plan.rc == 0, plan
    assert tree(stores(new)) == {} and tree(stores(old)) == before and len(kops.calls()) == 1

    moved = run_playbook(PLAYBOOK, variables, args=args, env=kops.environment(aws_environment))
    assert moved.rc == 0, moved
    assert kops.calls()[1:] == ['%s update cluster --name %s --state %s --yes' % (new, CLUSTER, new)]
    assert tree(stores(old)) == {}
    folder = '%s/%s' % (new, CLUSTER)
    completed = yaml.safe_load(stores(new).read(CLUSTER + '/cluster-completed.spec')[0])['spec']
    assert (completed['configBase'], completed['keyStore'], completed['secretStore']) == (
        folder, folder + '/pki', folder + '/secrets')
    nodeup = yaml.safe_load(stores(new).read(CLUSTER + '/igconfig/node/nodes/nodeupconfig.yaml')[0])
    assert nodeup['configBase'] == folder
    # every entry the update wrote is as it wrote it: run again, it finds nothing to change
    assert kops.update(new, aws_environment).strip() == 'No changes need to be applied'
    assert others(tree(stores(new)), UPDATE_WRITES + ['config']) == others(before, UPDATE_WRITES + ['config'])


def test_a_moved_cluster_is_never_overwritten_and_its_source_stays_while_they_differ(
        run_playbook, aws_environment, s3_bucket, stores, kops):
    """After the move (and the update), the new store is in use: someone changes a node group there, and the old
    control plane, not rolled yet, writes an etcd backup to the old store. A later run with delete_source adds the
    missing backup, overwrites nothing, and keeps the source while the node groups differ - in check mode too -
    until the difference is settled."""
    old, new = 's3://%s' % s3_bucket('old'), 's3://%s' % s3_bucket('new')
    seed(stores(old), CLUSTER)
    kops.update(old, aws_environment)
    args = ['-e', 'migrate_state_store_kops_command=%s' % kops.path]
    first = run_playbook(PLAYBOOK, dict(source=old, destination=new, run_update=True), args=args,
                         env=kops.environment(aws_environment))
    assert first.rc == 0, first
    edited = yaml.safe_dump(dict(apiVersion='kops.k8s.io/v1alpha2', kind='InstanceGroup', metadata=dict(name='nodes'),
                                 spec=dict(role='Node', machineType='m5.large'))).encode()
    backup = CLUSTER + '/backups/etcd/main/2026-12-01T10:00:00Z-000001/etcd.backup.gz'
    stores(new).write(CLUSTER + '/instancegroup/nodes', edited)
    stores(old).write(backup, b'etcd snapshot')
    at_destination, in_source = tree(stores(new)), tree(stores(old))
    variables = dict(source=old, destination=new, update_done=True, delete_source=True)

    plan = run_playbook(PLAYBOOK, variables, args=['--check'], env=aws_environment)
    assert plan.rc != 0 and 'missing or different' in plan.output, plan
    # the refusal names what differs; the backup the copy would bring is not missing
    named = plan.output.split('missing or different')[1].split('The source was not removed')[0]
    assert 'instancegroup/nodes' in named and 'etcd.backup.gz' not in named
    assert tree(stores(new)) == at_destination and tree(stores(old)) == in_source

    refused = run_playbook(PLAYBOOK, variables, env=aws_environment)
    assert refused.rc != 0 and 'The source was not removed' in refused.output, refused
    assert tree(stores(old)) == in_source
    assert tree(stores(new)) == dict(at_destination, **{backup: b'etcd snapshot'})

    stores(old).write(CLUSTER + '/instancegroup/nodes', edited)  # settled: the source takes the new store's version
    done = run_playbook(PLAYBOOK, variables, env=aws_environment)
    assert done.rc == 0, done
    assert tree(stores(old)) == {}
    assert tree(stores(new)) == dict(at_destination, **{backup: b'etcd snapshot'})
    assert len(kops.calls()) == 2  # the seed's update and the first run's


# -- each side with its own settings ------------------------------------------------------------------------------
def s3_endpoint_environment(service):
    """How kOps reaches an S3-compatible service: S3_ENDPOINT and the S3_* keys."""
    return clean_aws_environment(S3_ENDPOINT=service.endpoint, S3_ACCESS_KEY_ID=service.access_key,
                                 S3_SECRET_ACCESS_KEY=service.secret_key)


def test_move_from_an_s3_compatible_service_to_an_aws_style_one(run_playbook, two_s3_services, kops):
    """Spaces or MinIO to AWS, on two servers that know none of each other's keys: the source (do://, path style,
    S3 rules) through the role's source options, the destination AWS-style (AWS_* variables, AWS_ENDPOINT_URL)
    from the environment, which kops update uses as kOps does; kops update, then the source removed."""
    old, new = two_s3_services
    source, destination = 'do://%s' % old.bucket('space'), 's3://%s' % new.bucket('new')
    seed(open_store(source, old.settings()), CLUSTER)
    kops.update(source, s3_endpoint_environment(old))
    before = tree(open_store(source, old.settings()))
    variables = dict(source=source, destination=destination, source_options=old.settings(), run_update=True,
                     delete_source=True)
    args = ['-e', 'migrate_state_store_kops_command=%s' % kops.path]
    environment = kops.environment(new.aws_environment())

    plan = run_playbook(PLAYBOOK, variables, args=args + ['--check'], env=environment)
    assert plan.rc == 0, plan
    assert tree(open_store(destination, new.settings())) == {}

    moved = run_playbook(PLAYBOOK, variables, args=args + ['-vvv'], env=environment)
    assert moved.rc == 0, moved
    for secret in (old.secret_key, new.secret_key, 'private material'):
        assert secret not in moved.output
    assert tree(open_store(source, old.settings())) == {}
    moved_tree = tree(open_store(destination, new.settings()))
    assert others(moved_tree, UPDATE_WRITES + ['config']) == others(before, UPDATE_WRITES + ['config'])
    completed = yaml.safe_load(moved_tree[CLUSTER + '/cluster-completed.spec'])['spec']
    assert completed['configBase'] == '%s/%s' % (destination, CLUSTER)
    assert kops.update(destination, new.aws_environment()).strip() == 'No changes need to be applied'


def test_move_between_two_accounts_each_side_by_its_options(run_playbook, two_s3_services):
    """S3 to S3 between two servers, each side's keys in the role's options only (nothing in the environment):
    unknown keys are refused before anything is done, credentials never show, a re-run changes nothing."""
    old, new = two_s3_services
    source, destination = 's3://%s' % old.bucket('old'), 's3://%s/kops' % new.bucket('new')
    seed(open_store(source, old.settings()), CLUSTER)
    before = tree(open_store(source, old.settings()))
    variables = dict(source=source, destination=destination, source_options=old.settings(),
                     destination_options=new.settings(), update_done=True, delete_source=True)

    refused = run_playbook(PLAYBOOK, dict(variables, destination_options=dict(new.settings(), acess_key='AKIATYPO')),
                           args=['-vvvv'], env=clean_aws_environment())
    assert refused.rc != 0 and 'migrate_state_store_destination_options.acess_key' in refused.output, refused
    assert new.secret_key not in refused.output and old.secret_key not in refused.output
    assert tree(open_store(destination, new.settings())) == {}

    moved = run_playbook(PLAYBOOK, variables, args=['-vvvv'], env=clean_aws_environment())
    assert moved.rc == 0, moved
    for secret in (old.secret_key, new.secret_key, 'private material'):
        assert secret not in moved.output
    assert tree(open_store(source, old.settings())) == {}
    moved_tree = tree(open_store(destination, new.settings()))
    assert others(moved_tree, ['config']) == others(before, ['config'])
    assert spec_of(open_store(destination, new.settings()), CLUSTER)['configBase'] == '%s/%s' % (destination, CLUSTER)

    again = run_playbook(PLAYBOOK, dict(variables, clusters=[CLUSTER]), env=clean_aws_environment())
    assert again.rc == 0 and 'changed=0' in again.output, again


# -- the config compared before removal; key and secret stores however spelled -----------------------------------
with open(os.path.join(KOPS_TEST_DATA, 'vfs_castore', 'kubernetes-ca.keyset.yaml'), 'rb') as _handle:
    KOPS_KEYSET = _handle.read()  # kOps's golden keyset (upup/pkg/fi/vfs_castore_test.go)
KOPS_KEY_ID = '237054359138908419352140518924933177492'


def edit(store, name, **spec):
    """kops edit cluster on ``store``: the spec changed, metadata.generation counted up."""
    config = yaml.safe_load(store.read(name + '/config')[0])
    config['spec'].update(spec)
    config['metadata']['generation'] = int(config['metadata'].get('generation') or 0) + 1
    store.write(name + '/config', yaml.safe_dump(config).encode())


def keyset_ids(store, name, environment):
    """The keys of kubernetes-ca as kOps finds them through the cluster's config (its keyStore), on the moto server."""
    settings = dict(endpoint_url=environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                    region='us-east-1')
    keysets = read_keysets(open_cluster_stores(store, name, settings).key_store)
    return [key['id'] for keyset in keysets if keyset['name'] == 'kubernetes-ca' for key in keyset['certificates']]


def test_an_edit_of_the_source_config_between_copy_and_removal_keeps_the_source(
        run_playbook, aws_environment, s3_bucket, stores):
    """Copied (its keyStore in its folder, holding kOps's golden keyset), then kops edit cluster against the old
    store: the removal refuses, naming the cluster and the field, and removes nothing, in check mode and not; once
    the destination has the same edit, the source goes and the moved keyStore holds the keyset."""
    old, new = 's3://%s' % s3_bucket('old'), 's3://%s' % s3_bucket('new')
    seed(stores(old), CLUSTER, key_store='%s/%s/pki' % (old, CLUSTER))
    stores(old).write(CLUSTER + '/pki/private/kubernetes-ca/keyset.yaml', KOPS_KEYSET)
    copied = run_playbook(PLAYBOOK, dict(source=old, destination=new), env=aws_environment)
    assert copied.rc == 0, copied
    assert spec_of(stores(new), CLUSTER)['keyStore'] == '%s/%s/pki' % (new, CLUSTER)
    edit(stores(old), CLUSTER, kubernetesVersion='1.30.9')
    in_source, at_destination = tree(stores(old)), tree(stores(new))
    variables = dict(source=old, destination=new, update_done=True, delete_source=True)

    for args in (['--check'], []):
        refused = run_playbook(PLAYBOOK, variables, args=args, env=aws_environment)
        assert refused.rc != 0 and '%s: entries of %s/%s missing or different' % (CLUSTER, old, CLUSTER) in \
            refused.output, refused
        assert 'config (spec.kubernetesVersion)' in refused.output
        assert tree(stores(old)) == in_source and tree(stores(new)) == at_destination

    edit(stores(new), CLUSTER, kubernetesVersion='1.30.9')
    done = run_playbook(PLAYBOOK, variables, env=aws_environment)
    assert done.rc == 0, done
    assert tree(stores(old)) == {}
    assert spec_of(stores(new), CLUSTER)['kubernetesVersion'] == '1.30.9'
    assert keyset_ids(stores(new), CLUSTER, aws_environment) == [KOPS_KEY_ID]


@pytest.mark.parametrize('kind', ['file', 's3'])
def test_key_and_secret_stores_move_however_the_config_spells_them(
        run_playbook, aws_environment, s3_bucket, stores, tmp_path, kind):
    """A store whose config names the key and secret stores in its cluster's folder in forms kOps reads as that
    folder - a file:// URL and a bare path with a trailing '/' for a local store, URLs with a trailing '/' on S3:
    moved to S3 and the source removed, the config names the new store's folders, the golden keyset is read
    through it, and nothing points at the removed store."""
    if kind == 'file':
        source = str(tmp_path / 'local-store')
        folder = os.path.join(source, 'c.k8s.local')
        key_store, secret_store = 'file://%s/pki' % folder, folder + '/secrets/'
    else:
        source = 's3://%s' % s3_bucket('old')
        key_store, secret_store = source + '/c.k8s.local/pki/', source + '/c.k8s.local/secrets/'
    seed(stores(source), 'c.k8s.local', key_store=key_store, secret_store=secret_store)
    stores(source).write('c.k8s.local/pki/private/kubernetes-ca/keyset.yaml', KOPS_KEYSET)
    new = 's3://%s' % s3_bucket('new')
    moved = run_playbook(PLAYBOOK, dict(source=source, destination=new, clusters=['c.k8s.local'], update_done=True,
                                        delete_source=True), env=aws_environment)
    assert moved.rc == 0, moved
    assert tree(stores(source)) == {}
    spec = spec_of(stores(new), 'c.k8s.local')
    assert (spec['configBase'], spec['keyStore'], spec['secretStore']) == (
        new + '/c.k8s.local', new + '/c.k8s.local/pki', new + '/c.k8s.local/secrets')
    assert keyset_ids(stores(new), 'c.k8s.local', aws_environment) == [KOPS_KEY_ID]
    assert source not in stores(new).read('c.k8s.local/config')[0].decode()

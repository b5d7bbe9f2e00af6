"""Every invocation the documentation shows - each `ansible-playbook` command of README.md, docs/*.md, the roles'
READMEs and the playbooks' headers, each block of job-template or role variables - run as written, in a world made
for it (moto buckets, local folders, OpenBao, a stand-in kops and awx.awx), and checked for what the page says it
does. Only what the page leaves to the reader is replaced: bucket names, paths, tokens, server addresses.

test_every_documented_invocation_has_a_case fails when a page shows an invocation no test here (or in
test_demo.py) runs: a renamed variable or a new example cannot leave a page behind. Job templates run through
ansible-runner, as AWX runs them."""

import ast
import json
import os
import subprocess
import sys
import uuid

import ansible_runner
from ansible.parsing.dataloader import DataLoader
import boto3
import hvac
import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from servers.moto import new_bucket
from support import etcd_backups as eb
from support.documented_invocations import DOCUMENTED, World, documented_invocations
from support.kops_fleet import lay_out
from support.kops_material import CA, ca_key, days, ending_in, keyset_yaml, secret_entry
from support.kops_stand_in import install
from support.paths import REPO

HERE = os.path.abspath(__file__)
# Invocations another test runs as written (the file must hold the text)
ELSEWHERE = {'ansible-playbook playbooks/demo.yml -e demo_dir=/tmp/kops-demo': 'tests/integration/test_demo.py'}
CLUSTER = 'demo.k8s.local'
AWX_STAND_IN = os.path.join(REPO, 'tests', 'fixtures', 'awx_collection')


def string_constants(path):
    with open(path) as handle:
        return set(node.value for node in ast.walk(ast.parse(handle.read()))
                   if isinstance(node, ast.Constant) and isinstance(node.value, str))


def test_every_documented_invocation_has_a_case():
    cases = string_constants(HERE)
    missing = [invocation for invocation in documented_invocations()
               if invocation.text not in cases and invocation.text not in ELSEWHERE]
    assert not missing, 'documented invocations no test runs - add a case here:\n%s' % '\n'.join(map(repr, missing))
    for text, test in ELSEWHERE.items():
        assert text in DOCUMENTED and text in string_constants(os.path.join(REPO, test)), (text, test)


@pytest.fixture
def world(tmp_path, aws_environment):
    return World(tmp_path, aws_environment)


def bucket(world, name, scheme='s3'):
    """A fresh moto bucket standing for the page's ``scheme://name``."""
    return world.replace('%s://%s' % (scheme, name), '%s://%s' % (scheme, new_bucket(
        world.environment['AWS_ENDPOINT_URL'], name)))


def variables(world, block):
    """A documented block of variables, as the test's world has them."""
    return yaml.safe_load(world.command(block))


def seed(store, name=CLUSTER, fixture='minimal-aws.yaml', version=None):
    """A cluster as kOps lays it out (kOps's own documents), on ``version`` of Kubernetes when given."""
    def change(cluster, _groups):
        if version:
            cluster['spec']['kubernetesVersion'] = version
    return lay_out(store, fixture, name, change)


def tree(store):
    return dict((entry.path, store.read(entry.path)[0]) for entry in store.list('', recursive=True))


def spec(store, name=CLUSTER):
    return yaml.safe_load(store.read(cl.config_path(name))[0])['spec']


def group(store, name, group_name='nodes'):
    return yaml.safe_load(store.read(cl.group_path(name, group_name))[0])['spec']


def inventory_source(world, name, *stores):
    """A kops.state_store.clusters source file in the world's folder, on the test's stores."""
    return world.write(name, 'plugin: kops.state_store.clusters\nstate_stores: %s\n' % json.dumps(list(stores)))


# -- moving a store (playbooks/migrate_state_store.yml, the role's variables, the AWX job template) --------------

def test_migrate_between_two_buckets(world, stores):
    for old, new in (('old', 'new'), ('old-kops-state', 'new-kops-state')):
        seed(stores(bucket(world, old)))
        bucket(world, new)
    before = tree(stores(world.replacements['s3://old']))

    world.run('ansible-playbook playbooks/migrate_state_store.yml -e source=s3://old -e destination=s3://new --check')
    assert tree(stores(world.replacements['s3://new'])) == {}
    output = world.run('ansible-playbook playbooks/migrate_state_store.yml -e source=s3://old -e destination=s3://new')
    new = world.replacements['s3://new']
    assert 'export KOPS_STATE_STORE=%s' % new in output
    assert spec(stores(new))['configBase'] == '%s/%s' % (new, CLUSTER)
    assert tree(stores(world.replacements['s3://old'])) == before  # the source is kept unless asked

    world.run('ansible-playbook playbooks/migrate_state_store.yml -e source=s3://old-kops-state '
              '-e destination=s3://new-kops-state --check')
    assert tree(stores(world.replacements['s3://new-kops-state'])) == {}
    world.run('ansible-playbook playbooks/migrate_state_store.yml -e source=s3://old-kops-state '
              '-e destination=s3://new-kops-state')
    new = world.replacements['s3://new-kops-state']
    assert spec(stores(new))['configBase'] == '%s/%s' % (new, CLUSTER)


def test_migrate_on_the_clusters_inventory(world, stores):
    old = bucket(world, 'old-kops-state')
    new = bucket(world, 'new-kops-state')
    for name in ('prod-a.example.com', 'prod-b.example.com', 'dev.example.com'):
        seed(stores(old), name)
    inventory_source(world, 'clusters.kops.yml', old)
    world.run("ansible-playbook -i clusters.kops.yml playbooks/migrate_state_store.yml "
              "-e destination=s3://new-kops-state --limit 'prod-*'")
    assert sorted(entry.path for entry in stores(new).list('')) == ['prod-a.example.com', 'prod-b.example.com']
    assert spec(stores(new), 'prod-a.example.com')['configBase'] == new + '/prod-a.example.com'


def test_migrate_a_local_store_with_update_and_removal(world, stores, tmp_path):
    local = world.replace('/srv/kops-state', tmp_path / 'kops-state')
    seed(stores(local))
    new = bucket(world, 'new-kops-state')
    kops_folder = tmp_path / 'kops-bin'
    kops_folder.mkdir()
    install(kops_folder)  # `kops` on the PATH, as the role calls it by default
    world.run('ansible-playbook playbooks/migrate_state_store.yml -e source=/srv/kops-state '
              '-e destination=s3://new-kops-state -e \'{"clusters": ["demo.k8s.local"], "run_update": true, '
              '"delete_source": true}\'',
              environment=dict(PATH='%s%s%s' % (kops_folder, os.pathsep, world.environment['PATH']),
                               KOPS_STAND_IN_LOG=str(tmp_path / 'kops-calls')))
    assert (tmp_path / 'kops-calls').read_text().split() == [
        new, 'update', 'cluster', '--name', CLUSTER, '--state', new, '--yes']
    assert tree(stores(local)) == {}
    assert yaml.safe_load(stores(new).read(CLUSTER + '/cluster-completed.spec')[0])['spec']['configBase'] == \
        '%s/%s' % (new, CLUSTER)


def spaces(world, space):
    """The page's DigitalOcean Space: a moto bucket reached with do://, its endpoint and keys the test's."""
    world.replace('nyc3.digitaloceanspaces.com', world.environment['AWS_ENDPOINT_URL'])
    return bucket(world, space, scheme='do')


def test_migrate_from_spaces_with_settings_in_a_vars_file(world, stores):
    source = spaces(world, 'old-space')
    new = bucket(world, 'new-kops-state')
    seed(stores(source))
    # what the header's comment says spaces.yml holds, with the test's keys
    world.write('spaces.yml', yaml.safe_dump(dict(source_options=dict(
        endpoint_url=world.environment['AWS_ENDPOINT_URL'], region='nyc3', access_key='spaces-key',
        secret_key='spaces-secret'))))
    world.run('ansible-playbook playbooks/migrate_state_store.yml -e source=do://old-space '
              '-e destination=s3://new-kops-state -e @spaces.yml')
    assert spec(stores(new))['configBase'] == '%s/%s' % (new, CLUSTER)


def run_role(world, role_variables, extra=None):
    """A play of the reader's own: include_role with the page's variables (the page's include_role example)."""
    play = [{'name': 'Move', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'vars': extra or {},
             'tasks': [{'ansible.builtin.include_role': {'name': 'kops.state_store.migrate_state_store'},
                        'vars': role_variables}]}]
    world.write('move.yml', yaml.safe_dump(play))
    completed = subprocess.run(['ansible-playbook', 'move.yml'], cwd=str(world.work), env=world.environment,
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout[-5000:] + completed.stderr
    return completed.stdout


def test_role_variables_between_two_accounts(world, stores):
    """The profiles hold the only keys: the environment has none."""
    old, new = bucket(world, 'old-kops-state'), bucket(world, 'new-kops-state')
    seed(stores(old))
    credentials = world.home / '.aws' / 'credentials'
    credentials.parent.mkdir()
    credentials.write_text('[old-account]\naws_access_key_id = old\naws_secret_access_key = old-secret\n'
                           '[new-account]\naws_access_key_id = new\naws_secret_access_key = new-secret\n')
    for name in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'):
        world.environment.pop(name)
    run_role(world, variables(world, '''migrate_state_store_source: s3://old-kops-state
migrate_state_store_destination: s3://new-kops-state
migrate_state_store_source_options: {profile: old-account}
migrate_state_store_destination_options: {profile: new-account}
migrate_state_store_update_done: true
migrate_state_store_delete_source: true
'''))
    assert spec(stores(new))['configBase'] == '%s/%s' % (new, CLUSTER)
    assert tree(stores(old)) == {}


def test_role_variables_from_spaces_to_aws(world, stores, tmp_path):
    source = spaces(world, 'old-space')
    new = bucket(world, 'new-kops-state')
    seed(stores(source))
    install(tmp_path)
    world.environment.update(PATH='%s%s%s' % (tmp_path, os.pathsep, world.environment['PATH']),
                             KOPS_STAND_IN_LOG=str(tmp_path / 'kops-calls'))
    run_role(world, variables(world, '''migrate_state_store_source: do://old-space
migrate_state_store_destination: s3://new-kops-state
migrate_state_store_source_options:
  endpoint_url: nyc3.digitaloceanspaces.com
  region: nyc3
  access_key: "{{ spaces_key }}"
  secret_key: "{{ spaces_secret }}"
migrate_state_store_run_update: true
migrate_state_store_delete_source: true
'''), extra=dict(spaces_key='spaces-key', spaces_secret='spaces-secret'))
    assert (tmp_path / 'kops-calls').read_text().split()[-1] == '--yes'
    assert spec(stores(new))['configBase'] == '%s/%s' % (new, CLUSTER)
    assert tree(stores(source)) == {}


def awx_job(world, folder, playbook, extravars, inventory, check=False):
    """One AWX job through ansible-runner: the job template's playbook, inventory and variables ("Check" job type:
    --check). Returns (status, stdout)."""
    folder.mkdir()
    run = ansible_runner.run(private_data_dir=str(folder), playbook=os.path.join(REPO, playbook), inventory=inventory,
                             extravars=extravars, cmdline='--check' if check else None, envvars=world.environment,
                             quiet=True)
    with run.stdout as handle:
        return run.status, handle.read()


# The job template's inventory in docs/awx.md: one host, localhost, with ansible_connection local (an execution
# environment's one Python runs the modules)
LOCALHOST = {'all': {'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}


def test_migration_job_template(world, stores, tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', world.environment['PATH'])  # ansible-runner finds ansible-playbook there, as in an EE
    old, new = bucket(world, 'old-kops-state'), bucket(world, 'new-kops-state')
    seed(stores(old), 'prod.example.com')
    template = variables(world, '''source: s3://old-kops-state
destination: s3://new-kops-state
clusters: [prod.example.com]
delete_source: false
''')
    status, output = awx_job(world, tmp_path / 'check-job', 'playbooks/migrate_state_store.yml', template, LOCALHOST,
                             check=True)
    assert status == 'successful', output[-4000:]
    assert tree(stores(new)) == {}
    status, output = awx_job(world, tmp_path / 'run-job', 'playbooks/migrate_state_store.yml', template, LOCALHOST)
    assert status == 'successful', output[-4000:]
    assert 'DEPRECATION' not in output
    assert spec(stores(new), 'prod.example.com')['configBase'] == new + '/prod.example.com'
    status, output = awx_job(world, tmp_path / 'again', 'playbooks/migrate_state_store.yml', template, LOCALHOST)
    assert status == 'successful' and 'changed=0' in output, output[-4000:]


# The variables docs/awx.md gave the migration job template in 0.1.0: the role's names. Templates made from it exist.
JOB_TEMPLATE_0_1_0 = '''migrate_state_store_source: s3://old-kops-state
migrate_state_store_destination: s3://new-kops-state
migrate_state_store_clusters: [prod.example.com]
migrate_state_store_delete_source: false
'''


def test_job_templates_of_0_1_0_still_move_with_a_deprecation_warning(world, stores, tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', world.environment['PATH'])
    old, new = bucket(world, 'old-kops-state'), bucket(world, 'new-kops-state')
    seed(stores(old), 'prod.example.com')
    seed(stores(old), 'other.example.com')
    template = yaml.safe_load(world.substitute(JOB_TEMPLATE_0_1_0))
    status, output = awx_job(world, tmp_path / 'run-job', 'playbooks/migrate_state_store.yml', template, LOCALHOST)
    assert status == 'successful', output[-4000:]
    assert ('[DEPRECATION WARNING]: The variables migrate_state_store_clusters, migrate_state_store_delete_source, '
            'migrate_state_store_destination, migrate_state_store_source are deprecated here') in output
    assert [entry.path for entry in stores(new).list('')] == ['prod.example.com']  # the template's cluster only
    assert spec(stores(new), 'prod.example.com')['configBase'] == new + '/prod.example.com'

    status, output = awx_job(world, tmp_path / 'both', 'playbooks/migrate_state_store.yml',
                             dict(template, destination=new + '/elsewhere'), LOCALHOST)
    assert status == 'failed' and 'not also as migrate_state_store_destination' in output, output[-4000:]


# -- the fleet (docs/inventory.md, playbooks/fleet_upgrade.yml, the fleet job template of docs/awx.md) -------------

def fleet(world, stores):
    """Three clusters: AWS on Kubernetes 1.30, GCE on 1.30, AWS on 1.32; each with a group named nodes."""
    store = bucket(world, 'prod-kops-state')
    names = [seed(stores(store), 'a.example.com', version='v1.30.5'),
             seed(stores(store), 'g.example.com', 'minimal_gce.yaml', version='v1.30.5'),
             seed(stores(store), 'b.example.com', 'ha.yaml')]
    inventory_source(world, 'clusters.kops.yml', store)
    return stores(store), names


def test_fleet_commands(world, stores):
    store, names = fleet(world, stores)
    sizes = [group(store, name)['maxSize'] for name in names]
    world.write('change.yml', yaml.safe_dump({'instance_groups': [{'name': 'nodes', 'spec': {'maxSize': 10}}]}))
    world.run("ansible-playbook -i clusters.kops.yml playbooks/fleet_upgrade.yml --limit 'kops_k8s_1_30:&kops_cloud_aws' "
              "-e serial=10 -e @change.yml")
    assert [group(store, name)['maxSize'] for name in names] == [10] + sizes[1:]  # only the AWS cluster on 1.30

    before = tree(store)
    output = world.run('ansible-playbook -i clusters.kops.yml playbooks/fleet_upgrade.yml -e kubernetes_version=v1.31.4 '
                       '--check --diff')
    assert output.count('+  kubernetesVersion: v1.31.4') == 3
    assert tree(store) == before
    world.run('ansible-playbook -i clusters.kops.yml playbooks/fleet_upgrade.yml -e kubernetes_version=v1.31.4 --forks 20')
    assert [spec(store, name)['kubernetesVersion'] for name in names] == ['v1.31.4'] * 3


def test_fleet_job_template(world, stores, tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', world.environment['PATH'])
    store, names = fleet(world, stores)
    template = variables(world, '''kubernetes_version: v1.31.4
instance_groups: [{name: nodes, spec: {maxSize: 10}}]
serial: 10
''')
    status, output = awx_job(world, tmp_path / 'check-job', 'playbooks/fleet_upgrade.yml', template,
                             str(world.work / 'clusters.kops.yml'), check=True)
    assert status == 'successful', output[-4000:]
    assert [spec(store, name)['kubernetesVersion'] for name in names] == ['v1.30.5', 'v1.30.5', 'v1.32.0']
    status, output = awx_job(world, tmp_path / 'run-job', 'playbooks/fleet_upgrade.yml', template,
                             str(world.work / 'clusters.kops.yml'))
    assert status == 'successful', output[-4000:]
    assert [(spec(store, name)['kubernetesVersion'], group(store, name)['maxSize']) for name in names] == \
        [('v1.31.4', 10)] * 3


# -- history (docs/history.md, playbooks/state_store_history.yml) -------------------------------------------------

def history_world(world, stores, tmp_path):
    store = stores(bucket(world, 'my-kops-state'))
    seed(store)
    store.write(CLUSTER + '/secrets/admin', secret_entry('History-Secret-%s' % uuid.uuid4().hex))
    repository = world.replace('/srv/kops-history', tmp_path / 'kops-history')
    return store, repository


def git(repository, *arguments):
    return subprocess.run(['git', '-C', repository] + list(arguments), capture_output=True, text=True,
                          check=True).stdout


def test_history_snapshot_drift_and_restore(world, stores, tmp_path):
    store, repository = history_world(world, stores, tmp_path)
    world.run('ansible-playbook playbooks/state_store_history.yml -e state_store=s3://my-kops-state '
              '-e repository=/srv/kops-history')
    assert git(repository, 'log', '--format=%s').startswith('Snapshot of %s' % world.replacements['s3://my-kops-state'])
    git(repository, 'tag', 'before-upgrade')  # step 2 of the page
    original = store.read(cl.config_path(CLUSTER))[0]
    store.write(cl.config_path(CLUSTER), original.replace(b'kubernetesVersion: v1.34.0', b'kubernetesVersion: v1.35.0'))

    output = world.run('ansible-playbook playbooks/state_store_history.yml -e state_store=s3://my-kops-state '
                       '-e repository=/srv/kops-history -e operation=drift --diff')
    assert '+  kubernetesVersion: v1.35.0' in output
    output = world.run('ansible-playbook playbooks/state_store_history.yml -e state_store=s3://my-kops-state '
                       '-e repository=/srv/kops-history -e operation=restore -e \'{"clusters": ["demo.k8s.local"]}\' '
                       '-e commit=before-upgrade --check --diff', rc=2)
    # the page's plan is refused, as the page says, over a change no snapshot holds
    assert 'demo.k8s.local: config' in output
    world.run('ansible-playbook playbooks/state_store_history.yml -e state_store=s3://my-kops-state '
              '-e repository=/srv/kops-history')  # record it (what step 1 does on its schedule)
    world.run('ansible-playbook playbooks/state_store_history.yml -e state_store=s3://my-kops-state '
              '-e repository=/srv/kops-history -e operation=restore -e \'{"clusters": ["demo.k8s.local"]}\' '
              '-e commit=before-upgrade --check --diff')
    assert b'v1.35.0' in store.read(cl.config_path(CLUSTER))[0]
    world.run('ansible-playbook playbooks/state_store_history.yml -e state_store=s3://my-kops-state '
              '-e repository=/srv/kops-history -e operation=restore -e \'{"clusters": ["demo.k8s.local"]}\' '
              '-e commit=before-upgrade')
    assert store.read(cl.config_path(CLUSTER))[0] == original


def test_history_with_encrypted_secrets(world, stores, tmp_path):
    store, repository = history_world(world, stores, tmp_path)
    (world.home / '.kops-history.pass').write_text('history-vault-password\n')
    world.run('ansible-playbook playbooks/state_store_history.yml --vault-password-file ~/.kops-history.pass '
              '-e state_store=s3://my-kops-state -e repository=/srv/kops-history -e secrets=true '
              '-e \'{"exclude": ["backups/*"]}\'')
    stored = [os.path.join(folder, name) for folder, _folders, names in os.walk(repository) for name in names
              if folder.endswith('/secrets')]
    assert len(stored) == 1
    with open(stored[0], 'rb') as handle:
        assert handle.read().startswith(b'$ANSIBLE_VAULT;1.1;AES256')


# -- the review workflow (docs/review-workflow.md, playbooks/review_state_changes.yml) -----------------------------

def test_review_commands(world, stores):
    store = stores(bucket(world, 'my-kops-state'))
    seed(store)
    production = tree(store)
    documents = [yaml.safe_load(store.read(cl.config_path(CLUSTER))[0]),
                 yaml.safe_load(store.read(cl.group_path(CLUSTER, 'nodes'))[0])]
    documents[1]['spec']['maxSize'] = 7
    world.write('proposed.yaml', yaml.safe_dump_all(documents))  # as kops get -o yaml prints them, changed

    output = world.run('KOPS_STATE_STORE=s3://my-kops-state ansible-playbook playbooks/review_state_changes.yml '
                       '-e cluster=demo.k8s.local -e proposed_file=$PWD/proposed.yaml')
    assert '+  maxSize: 7' in output and 'Entries the proposal changes or removes' in output
    output = world.run('ansible-playbook playbooks/review_state_changes.yml -e production_store=s3://my-kops-state '
                       '-e cluster=demo.k8s.local -e \'{"proposed_spec": {"kubernetesVersion": "1.31.4"}}\'')
    assert '+  kubernetesVersion: 1.31.4' in output
    assert tree(store) == production


# -- keys (docs/keys.md, playbooks/ca_expiry_audit.yml) ------------------------------------------------------------

def with_ca(store, name, ending):
    """A cluster with its kubernetes-ca keyset as kOps writes it, the CA ending at ``ending``."""
    seed(store, name)
    ca = CA('kubernetes-ca', days(-30), ending)
    store.write('%s/pki/private/kubernetes-ca/keyset.yaml' % name, keyset_yaml('kubernetes-ca', [ca_key(ca)], ca.id))


def test_ca_expiry_audit_commands(world, stores):
    store = stores(bucket(world, 'st'))
    with_ca(store, 'a.example.com', ending_in(60))
    with_ca(store, 'b.example.com', ending_in(10))
    output = world.run('ansible-playbook playbooks/ca_expiry_audit.yml '
                       '-e \'{"clusters": [{"name": "a.example.com", "state_store": "s3://st"}]}\'')
    assert '1 clusters audited; CAs ending within 30 days: 0' in output

    # a name alone: the store of KOPS_STATE_STORE, as the reader's shell has it
    output = world.run('ansible-playbook playbooks/ca_expiry_audit.yml -e \'{"clusters": ["a.example.com", "b.example.com"]}\'',
                       rc=2, environment=dict(KOPS_STATE_STORE=world.replacements['s3://st']))
    assert '2 clusters audited; CAs ending within 30 days: 1' in output and 'b.example.com' in output

    inventory_source(world, 'fleet.kops.yml', world.replacements['s3://st'])
    output = world.run('ansible-playbook -i fleet.kops.yml playbooks/ca_expiry_audit.yml -e ca_expiry_audit_days=90', rc=2)
    assert '2 clusters audited; CAs ending within 90 days: 2' in output


# -- the cross-account store (docs/cross-account.md) ---------------------------------------------------------------

def test_cross_account_command(world):
    location = bucket(world, 'my-kops-state')
    name = world.replace('my-kops-state', location[len('s3://'):])
    world.run('ansible-playbook playbooks/cross_account_state_store.yml --diff -e cross_account_state_store_bucket=my-kops-state '
              '-e \'{"cross_account_state_store_account_ids": ["111111111111"], "cross_account_state_store_clusters": '
              '["dev.example.com"]}\'')
    client = boto3.client('s3', endpoint_url=world.environment['AWS_ENDPOINT_URL'], region_name='us-east-1',
                          aws_access_key_id='testing', aws_secret_access_key='testing')
    policy = json.loads(client.get_bucket_policy(Bucket=name)['Policy'])
    principals = json.dumps([statement['Principal'] for statement in policy['Statement']])
    assert 'arn:aws:iam::111111111111:root' in principals
    assert 'dev.example.com' in json.dumps(policy)


# -- etcd recovery (playbooks/etcd_restore.yml) --------------------------------------------------------------------

def test_etcd_restore_commands(world, stores):
    store = stores(bucket(world, 'my-kops-state'))
    seed(store)
    for etcd_cluster in ('main', 'events'):
        eb.write_backup(store, CLUSTER, etcd_cluster, '2026-11-30T11:00:00Z-000003')
        eb.write_control(store, CLUSTER, etcd_cluster)

    def commands():
        return [entry.path for entry in store.list(CLUSTER, recursive=True) if entry.path.endswith('/_command.json')]

    output = world.run('ansible-playbook playbooks/etcd_restore.yml -e kops_state_store=s3://my-kops-state '
                       '-e kops_cluster_name=demo.k8s.local --check --diff')
    assert 'Would restore' in output and commands() == []
    output = world.run('ansible-playbook playbooks/etcd_restore.yml -e kops_state_store=s3://my-kops-state '
                       '-e kops_cluster_name=demo.k8s.local')
    assert 'Restore queued for' in output and len(commands()) == 2


# -- Vault (docs/vault.md, roles/vault_iam_roles/README.md, playbooks/vault_iam_roles.yml) -------------------------

def iam_roles(endpoint, *names):
    iam = boto3.client('iam', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id='testing',
                       aws_secret_access_key='testing')
    trust = json.dumps({'Version': '2012-10-17', 'Statement': [
        {'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]})
    for name in names:
        try:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        except iam.exceptions.EntityAlreadyExistsException:
            pass


@pytest.fixture
def vault_world(world, vault_aws_front, openbao_server, vault_mount):
    """The page's Vault (its address, token and kv mount) is the test's OpenBao behind the AWS-auth front, the aws
    auth method enabled as the role's requirements ask of the operator, and the IAM roles it binds exist."""
    world.replace('https://vault.example.com:8200', vault_aws_front.address)
    world.replace('VAULT_TOKEN=...', 'VAULT_TOKEN=%s' % openbao_server.root_token)
    world.replace('vault_iam_roles_kv_mount=kv', 'vault_iam_roles_kv_mount=%s' % vault_mount)
    world.replace('vault_iam_roles_kv_mount: kv', 'vault_iam_roles_kv_mount: %s' % vault_mount)
    hvac.Client(url=vault_aws_front.address, token=openbao_server.root_token).sys.enable_auth_method('aws')
    clusters = ('demo.example.com', 'prod-a.example.com', 'dev.example.com')
    bound = ['%s.%s' % (group, name) for name in clusters for group in ('masters', 'nodes', 'operators')]
    iam_roles(world.environment['AWS_ENDPOINT_URL'], 'kops-admin', *bound)

    def policies():
        return openbao_server.client().sys.list_policies()['data']['policies']
    return world, vault_aws_front, vault_mount, policies


def test_vault_commands(vault_world):
    world, _front, _mount, policies = vault_world
    world.run('VAULT_TOKEN=... ansible-playbook playbooks/vault_iam_roles.yml --check --diff '
              '-e vault_iam_roles_url=https://vault.example.com:8200 -e vault_iam_roles_cluster_name=demo.example.com '
              '-e vault_iam_roles_aws_account_id=123456789012 -e vault_iam_roles_kv_mount=kv '
              '-e \'{"vault_iam_roles_operators_principal_arns": ["arn:aws:iam::123456789012:role/operators.demo.example.com"]}\'')
    assert 'kops-operators-demo.example.com' not in policies()
    # the header's command: the token from the reader's environment
    world.run('ansible-playbook playbooks/vault_iam_roles.yml -e vault_iam_roles_cluster_name=demo.example.com '
              '-e vault_iam_roles_aws_account_id=123456789012 -e vault_iam_roles_url=https://vault.example.com:8200 '
              '-e \'{"vault_iam_roles_operators_principal_arns": ["arn:aws:iam::123456789012:role/kops-admin"]}\'',
              environment=dict(VAULT_TOKEN=world.replacements['VAULT_TOKEN=...'].split('=', 1)[1]))
    assert {'kops-masters-demo.example.com', 'kops-nodes-demo.example.com',
            'kops-operators-demo.example.com'} <= set(policies())


def test_vault_playbook_of_the_role_readme(vault_world):
    world, _front, mount, policies = vault_world
    [invocation] = [found for found in documented_invocations()
                    if found.text == 'VAULT_TOKEN=... ansible-playbook vault.yml --check --diff']
    world.write('vault.yml', world.substitute(invocation.before))  # the play just above the commands on the page
    world.run('VAULT_TOKEN=... ansible-playbook vault.yml --check --diff')
    world.run('VAULT_TOKEN=... ansible-playbook vault.yml -e vault_iam_roles_rebind=true')
    assert 'kops-nodes-demo.example.com' in policies()
    world.run('VAULT_TOKEN=... ansible-playbook vault.yml -e vault_iam_roles_state=absent')
    assert 'kops-nodes-demo.example.com' not in policies()


def test_vault_on_the_clusters_inventory(vault_world, stores):
    world, front, mount, policies = vault_world
    store = bucket(world, 'prod-kops-state')
    for name in ('prod-a.example.com', 'dev.example.com'):
        seed(stores(store), name)
        config = yaml.safe_load(stores(store).read(cl.config_path(name))[0])
        for kind, path in (('secretStore', 'secrets'), ('keyStore', 'keys')):
            config['spec'][kind] = 'vault://127.0.0.1:%d/%s/clusters/%s/%s?tls=false' % (front.port, mount, name, path)
        stores(store).write(cl.config_path(name), yaml.safe_dump(config).encode())
    inventory_source(world, 'clusters.kops.yml', store)
    world.run("VAULT_ADDR=https://vault.example.com:8200 VAULT_TOKEN=... ansible-playbook -i clusters.kops.yml "
              "playbooks/vault_iam_roles.yml --limit 'prod-*' -e vault_iam_roles_aws_account_id=123456789012")
    assert 'kops-nodes-prod-a.example.com' in policies()
    assert 'kops-nodes-dev.example.com' not in policies()
    # the header's command: the token from the reader's environment; a second run changes nothing
    output = world.run("VAULT_ADDR=https://vault.example.com:8200 ansible-playbook -i clusters.kops.yml "
                       "playbooks/vault_iam_roles.yml --limit 'prod-*' -e vault_iam_roles_aws_account_id=123456789012",
                       environment=dict(VAULT_TOKEN=world.replacements['VAULT_TOKEN=...'].split('=', 1)[1]))
    assert 'changed=0' in output


# -- AWX credential types (docs/awx.md, playbooks/awx_credential_types.yml) ----------------------------------------

def test_awx_credential_types_command(world, tmp_path):
    record = tmp_path / 'awx-calls.jsonl'
    # the page's `export CONTROLLER_HOST=... CONTROLLER_OAUTH_TOKEN=...`; the stand-in awx.awx records what AWX gets
    world.environment.update(CONTROLLER_HOST='https://awx.example.com', CONTROLLER_OAUTH_TOKEN='awx-token',
                             AWX_STAND_IN_RECORD=str(record), ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(
                                 [AWX_STAND_IN, world.environment['ANSIBLE_COLLECTIONS_PATH']]))
    world.run('ansible-playbook playbooks/awx_credential_types.yml')
    registered = sorted(json.loads(line)['name'] for line in record.read_text().splitlines())
    folder = os.path.join(REPO, 'awx', 'credential_types')
    definitions = sorted(DataLoader().load_from_file(os.path.join(folder, name))['name'] for name in os.listdir(folder))
    assert registered == definitions


# -- the node-size example (playbooks/node_size.yml) ---------------------------------------------------------------

def test_node_size_command(world):
    output = world.run('ansible-playbook playbooks/node_size.yml --diff')
    assert 'nodes-us-east-1a: m4.large' in output
    # its store is demo/state-store next to the playbooks folder it was run from
    assert (world.work / 'demo' / 'state-store' / CLUSTER / 'config').exists()


# -- the fleet health report (docs/health.md, playbooks/fleet_report.yml) ------------------------------------------

def test_fleet_report_commands(world, stores, tmp_path):
    store = stores(bucket(world, 'my-kops-state'))
    seed(store)
    seed(store, 'dev.example.com')
    before = tree(store)
    reports = world.replace('/srv/reports', tmp_path / 'srv-reports')
    # a fresh moto bucket keeps no versions: a high finding, and fail_at is high unless told
    world.run('ansible-playbook playbooks/fleet_report.yml -e state_store=s3://my-kops-state -e report_dir=/srv/reports',
              rc=2)
    markdown = open(os.path.join(reports, 'fleet-report.md')).read()
    assert CLUSTER in markdown and 'dev.example.com' in markdown and 'versioning' in markdown

    inventory_source(world, 'clusters.kops.yml', world.replacements['s3://my-kops-state'])
    world.run('ansible-playbook -i clusters.kops.yml playbooks/fleet_report.yml -e report_dir=reports -e fail_at=critical')
    assert CLUSTER in (world.work / 'reports' / 'fleet-report.md').read_text()

    prod = stores(bucket(world, 'prod-kops-state'))
    seed(prod, 'prod.example.com')
    world.run('ansible-playbook playbooks/fleet_report.yml -e report_dir=reports -e \'{"clusters": [{"name": '
              '"prod.example.com", "state_store": "s3://prod-kops-state"}, "dev.example.com"]}\'', rc=2,
              environment=dict(KOPS_STATE_STORE=world.replacements['s3://my-kops-state']))
    markdown = (world.work / 'reports' / 'fleet-report.md').read_text()
    assert 'prod.example.com' in markdown and 'dev.example.com' in markdown and CLUSTER not in markdown
    assert tree(store) == before  # a report writes nothing

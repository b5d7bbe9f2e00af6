"""vault:// stores and the vault_iam_roles role against a real OpenBao server; the AWS auth method (roles,
client config, IAM login) is served by the test front before it, checking logins against moto's STS."""

import json
import uuid

import boto3
import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import AccessDenied
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from servers.openbao import clean_vault_environment, use_vault_environment

ACCOUNT = '123456789012'  # moto's account
TRUST = json.dumps({'Version': '2012-10-17', 'Statement': [
    {'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]})


def succeeded(run):
    if run.rc != 0:
        pytest.fail('ansible-playbook failed (rc=%d):\n%s' % (run.rc, run.output[-5000:]), pytrace=False)


def test_entries_modules_and_lookup(run_playbook, openbao_server, vault_mount):
    result = run_playbook('tests/integration/playbooks/vault_entries.yml', dict(
        vault_root='vault://127.0.0.1:%d/%s/clusters/c1' % (openbao_server.port, vault_mount),
        vault_query='?tls=false',
    ), env=clean_vault_environment(VAULT_TOKEN=openbao_server.root_token))
    succeeded(result)
    assert 'first-secret-value' not in result.output


def test_vault_is_not_a_state_store(run_playbook, openbao_server):
    result = run_playbook('tests/integration/playbooks/vault_state_store_refused.yml', dict(
        store='vault://127.0.0.1:%d/secret/clusters?tls=false' % openbao_server.port,
    ), env=clean_vault_environment(VAULT_TOKEN=openbao_server.root_token))
    succeeded(result)


class Cluster(object):
    """A cluster name with its masters, nodes and operators IAM roles in moto, and credentials of their holders."""

    def __init__(self, moto_server):
        self.name = 'c%s.example.com' % uuid.uuid4().hex[:8]
        self.aws = dict(endpoint_url=moto_server.endpoint, region_name='us-east-1',
                        aws_access_key_id='testing', aws_secret_access_key='testing')
        for group in ('masters', 'nodes', 'operators'):
            self.create_role(group)

    def arn(self, group):
        return 'arn:aws:iam::%s:role/%s.%s' % (ACCOUNT, group, self.name)

    def create_role(self, group):
        boto3.client('iam', **self.aws).create_role(RoleName='%s.%s' % (group, self.name),
                                                    AssumeRolePolicyDocument=TRUST)

    def recreate_role(self, group):
        boto3.client('iam', **self.aws).delete_role(RoleName='%s.%s' % (group, self.name))
        self.create_role(group)

    def instance_environment(self, group):
        """AWS credentials of an instance of ``group`` (an assumed-role session), and nothing else."""
        credentials = boto3.client('sts', **self.aws).assume_role(
            RoleArn=self.arn(group), RoleSessionName='i-0123')['Credentials']
        return dict(AWS_ACCESS_KEY_ID=credentials['AccessKeyId'], AWS_SECRET_ACCESS_KEY=credentials['SecretAccessKey'],
                    AWS_SESSION_TOKEN=credentials['SessionToken'])


@pytest.fixture
def cluster(moto_server):
    return Cluster(moto_server)


def role_vars(front, mount, cluster, **extra):
    variables = dict(vault_iam_roles_url=front.address, vault_iam_roles_cluster_name=cluster.name,
                     vault_iam_roles_aws_account_id=ACCOUNT, vault_iam_roles_kv_mount=mount,
                     vault_iam_roles_enable_aws_auth=True)
    variables.update(extra)
    return variables


def changed_count(run):
    recap = [line for line in run.output.splitlines() if line.startswith('localhost')][-1]
    return int(recap.split('changed=')[1].split()[0])


def store_as(monkeypatch, environment, location, **settings):
    """Open a vault:// store in this process with exactly ``environment`` (AWS credentials or VAULT_TOKEN)."""
    use_vault_environment(monkeypatch, **environment)
    return open_store(location, settings)


def test_role_check_converge_logins_rebind(run_playbook, molecule_test, vault_aws_front, openbao_server, cluster,
                                           monkeypatch):
    playbook = 'playbooks/vault_iam_roles.yml'
    root = clean_vault_environment(VAULT_TOKEN=openbao_server.root_token)
    variables = role_vars(vault_aws_front, 'secret', cluster)  # the molecule scenario keeps the default mount

    checked = run_playbook(playbook, variables, args=['--check', '--diff'], env=root)
    succeeded(checked)
    assert changed_count(checked) == 3, checked
    assert 'path "secret/data/clusters/%s/secrets/*"' % cluster.name in checked.output  # the policy diff
    assert 'aws/' not in openbao_server.client().sys.list_auth_methods()['data']
    assert 'kops-nodes-%s' % cluster.name not in openbao_server.client().sys.list_policies()['data']['policies']

    molecule_test('vault_iam_roles', clean_vault_environment(  # converge, idempotence, verify
        VAULT_ADDR=vault_aws_front.address, VAULT_TOKEN=openbao_server.root_token,
        MOLECULE_CLUSTER_NAME=cluster.name, MOLECULE_AWS_ACCOUNT_ID=ACCOUNT))

    # What kOps's masters and nodes do: an IAM login with their instance role, then reads.
    secrets = 'vault://127.0.0.1:%d/secret/clusters/%s/secrets?tls=false' % (vault_aws_front.port, cluster.name)
    other = 'vault://127.0.0.1:%d/secret/clusters/other-%s/secrets?tls=false' % (vault_aws_front.port, cluster.name)
    store_as(monkeypatch, root, secrets).write('admin', b'admin-token')
    store_as(monkeypatch, root, other).write('admin', b'other-token')
    nodes = cluster.instance_environment('nodes')
    node_store = store_as(monkeypatch, nodes, secrets)
    assert node_store.read('admin')[0] == b'admin-token'
    assert [entry.path for entry in node_store.list()] == ['admin']
    with pytest.raises(AccessDenied, match='permission denied'):
        node_store.write('admin', b'overwritten')
    with pytest.raises(AccessDenied, match='permission denied'):
        store_as(monkeypatch, nodes, other).read('admin')
    masters = cluster.instance_environment('masters')
    assert store_as(monkeypatch, masters, secrets, vault_aws_iam_role='masters.' + cluster.name).read('admin')[0] \
        == b'admin-token'
    with pytest.raises(AccessDenied, match='does not belong to the role'):
        store_as(monkeypatch, nodes, secrets, vault_aws_iam_role='masters.' + cluster.name).read('admin')

    # Re-provisioned cluster: the IAM role gets a new unique id; logins fail until the roles are re-bound.
    cluster.recreate_role('nodes')
    with pytest.raises(AccessDenied, match='does not belong to the role'):
        store_as(monkeypatch, cluster.instance_environment('nodes'), secrets).read('admin')
    rebound = run_playbook(playbook, dict(variables, vault_iam_roles_rebind=True), env=root)
    succeeded(rebound)
    assert changed_count(rebound) == 1, rebound
    assert store_as(monkeypatch, cluster.instance_environment('nodes'), secrets).read('admin')[0] == b'admin-token'


def test_admin_modules(run_playbook, vault_aws_front, openbao_server, cluster):
    run = run_playbook('tests/integration/playbooks/vault_admin_modules.yml', dict(
        url=vault_aws_front.address, cluster=cluster.name), env=clean_vault_environment(VAULT_TOKEN=openbao_server.root_token))
    succeeded(run)


def test_iam_login_checks_the_server_id(vault_aws_front, openbao_server, cluster, monkeypatch):
    admin = openbao_server.client()
    admin.url = vault_aws_front.address
    admin.sys.enable_auth_method('aws')
    admin.write_data('auth/aws/role/nodes.%s' % cluster.name, data=dict(
        auth_type='iam', bound_iam_principal_arn=['arn:aws:iam::%s:role/nodes.%s' % (ACCOUNT, cluster.name)]))
    location = 'vault://127.0.0.1:%d/secret/clusters/%s/secrets?tls=false' % (vault_aws_front.port, cluster.name)
    admin.write_data('auth/aws/config/client', data=dict(iam_server_id_header_value='vault.example.com'))
    with pytest.raises(AccessDenied, match='X-Vault-AWS-IAM-Server-ID'):
        store_as(monkeypatch, cluster.instance_environment('nodes'), location).client
    admin.write_data('auth/aws/config/client', data=dict(iam_server_id_header_value='127.0.0.1'))
    assert store_as(monkeypatch, cluster.instance_environment('nodes'), location).client.token


def test_role_refuses_one_path_for_both_stores(run_playbook, vault_aws_front, openbao_server, cluster):
    variables = role_vars(vault_aws_front, 'secret', cluster, vault_iam_roles_key_path='clusters/%s/secrets' % cluster.name)
    run = run_playbook('playbooks/vault_iam_roles.yml', variables,
                       env=clean_vault_environment(VAULT_TOKEN=openbao_server.root_token))
    assert run.rc != 0
    assert 'secret and key' in run.output

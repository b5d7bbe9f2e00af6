"""Who can do what on a cluster's Vault stores, proven on OpenBao: each policy the vault_iam_roles role writes, on a
token carrying only it, tried with the collection's own modules and lookup (and, for the operations kOps's CLI makes
that the collection does not, with hvac) on the cluster's stores, another cluster's and a folder beside them.

The observed table is written to build/vault-access.md and must equal the one in docs/vault.md; after a run,
``python tests/integration/vault_access_table.py`` copies it there. The role also runs per host on a static
inventory whose hosts carry the kops_ variables of the kops.state_store.clusters inventory, and with state=absent."""

import json
import os
import re
import subprocess
import sys
import uuid

import hvac
import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.errors import AccessDenied, NotFound
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from servers.openbao import clean_vault_environment
from test_vault import ACCOUNT, Cluster, role_vars, store_as, succeeded
from vault_access_table import OBSERVED_TABLE, documented_table

GROUPS = ('masters', 'nodes', 'operators')
PLACES = ('own stores', 'another cluster', 'beside the stores')
# the collection's operations (vault_access_case.yml), then kOps's own that the collection does not make
MODULE_OPERATIONS = ('read', 'read (lookup)', 'list', 'list (lookup)', 'create if absent', 'compare-and-swap', 'delete')
KOPS_OPERATIONS = ('soft delete (kOps)', 'undelete', 'destroy versions (kOps)', 'delete metadata (kOps)')
OPERATIONS = MODULE_OPERATIONS + KOPS_OPERATIONS
READS = ('read', 'read (lookup)', 'list', 'list (lookup)')
LABELS = {
    'read': 'read an entry (`entry_info`)', 'read (lookup)': 'read an entry (lookup `entry`)',
    'list': 'list a store (`entry_info`)', 'list (lookup)': 'list a store (lookup `entry`)',
    'create if absent': 'create if absent (`entry`, `create_only`)',
    'compare-and-swap': 'change an entry (`entry`, compare-and-swap)', 'delete': 'delete an entry (`entry`)',
    'soft delete (kOps)': 'soft delete, `DELETE data/` (kOps)', 'undelete': 'undelete, `undelete/`',
    'destroy versions (kOps)': 'destroy versions, `destroy/` (kOps)',
    'delete metadata (kOps)': 'remove all versions, `DELETE metadata/` (kOps)',
}


def expected_matrix():
    """What the policies are meant to allow: masters and nodes read and list their own stores, operators do
    everything there, and nobody anything elsewhere."""
    return dict(((group, place), dict(
        (operation, 'yes' if place == 'own stores' and (group == 'operators' or operation in READS) else 'denied')
        for operation in OPERATIONS)) for group in GROUPS for place in PLACES)


def render_table(matrix):
    columns = [(group, place) for group in GROUPS for place in PLACES]
    lines = ['| operation | ' + ' | '.join('%s: %s' % column for column in columns) + ' |',
             '|---|' + '---|' * len(columns)]
    for operation in OPERATIONS:
        lines.append('| %s | %s |' % (LABELS[operation], ' | '.join(matrix[column][operation] for column in columns)))
    return '\n'.join(lines) + '\n'


def create_token(openbao, policy):
    """A token carrying only ``policy``, made with the command docs/vault.md shows."""
    completed = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'bao'), 'token', 'create', '-policy=' + policy,
         '-no-default-policy', '-ttl=1h', '-field=token'],
        env=clean_vault_environment(BAO_ADDR=openbao.address, BAO_TOKEN=openbao.root_token),
        capture_output=True, text=True, check=True)
    return completed.stdout.strip()


def recap(run):
    """changed= of each host in the play recap."""
    return dict((match.group(1), int(match.group(2)))
                for match in re.finditer(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)', run.output, re.M))


class VaultSetup(object):
    """What the role wrote or left, read with the root token through the front (policies and aws auth roles)."""

    def __init__(self, front):
        self.client = hvac.Client(url=front.address, token=front.root_token)

    def policies(self):
        return set(self.client.sys.list_acl_policies()['data']['keys'])

    def role(self, name):
        found = self.client.read('auth/aws/role/%s' % name)
        return found and found['data']

    def of(self, cluster):
        """(policies, aws auth roles) named for ``cluster`` that exist."""
        policies = set('kops-%s-%s' % (group, cluster.name) for group in GROUPS) & self.policies()
        roles = set(name for name in ('%s.%s' % (group, cluster.name) for group in GROUPS) if self.role(name))
        return policies, roles


def cluster_host(cluster, front, mount):
    """Host variables of a cluster as the kops.state_store.clusters inventory gives them (those the role reads),
    stores on Vault."""
    stores = 'vault://127.0.0.1:%d/%s/clusters/%s' % (front.port, mount, cluster.name)
    return dict(kops_cluster_name=cluster.name, kops_state_store='s3://kops-state',
                kops_config_base='s3://kops-state/' + cluster.name, kops_uses_vault=True,
                kops_secret_store=stores + '/secrets?tls=false', kops_key_store=stores + '/keys?tls=false',
                vault_iam_roles_operators_principal_arns=[cluster.arn('operators')])


def test_per_host_limit_idempotence_and_absent(run_playbook, vault_aws_front, openbao_server, moto_server,
                                               vault_mount, tmp_path):
    first, second = Cluster(moto_server), Cluster(moto_server)
    inventory = tmp_path / 'clusters.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': {
        first.name: cluster_host(first, vault_aws_front, vault_mount),
        second.name: cluster_host(second, vault_aws_front, vault_mount),
        's3only.example.com': dict(kops_cluster_name='s3only.example.com', kops_state_store='s3://kops-state',
                                   kops_secret_store='s3://kops-state/s3only.example.com/secrets',
                                   kops_key_store='s3://kops-state/s3only.example.com/pki', kops_uses_vault=False),
    }}}))
    # the Vault is the operator's (VAULT_ADDR); the hosts' stores must be on it
    root = clean_vault_environment(VAULT_TOKEN=openbao_server.root_token, VAULT_ADDR=vault_aws_front.address)
    setup = VaultSetup(vault_aws_front)
    shared = dict(vault_iam_roles_aws_account_id=ACCOUNT, vault_iam_roles_enable_aws_auth=True)

    def run(*args, **extra):
        return run_playbook('playbooks/vault_iam_roles.yml', dict(shared, **extra), env=root,
                            args=['-i', str(inventory)] + list(args))

    checked = run('--limit', first.name, '--check', '--diff')
    succeeded(checked)
    assert recap(checked) == {first.name: 3}, checked
    assert 'path "%s/data/clusters/%s/keys/*"' % (vault_mount, first.name) in checked.output
    assert setup.of(first) == (set(), set())

    limited = run('--limit', first.name)
    succeeded(limited)
    assert setup.of(first) == (set('kops-%s-%s' % (group, first.name) for group in GROUPS),
                               set('%s.%s' % (group, first.name) for group in GROUPS))
    assert setup.of(second) == (set(), set())
    operators_policy = setup.client.sys.read_acl_policy('kops-operators-' + first.name)['data']['policy']
    assert set(re.findall(r'path "([^"]*)"', operators_policy)) == set(
        '%s/%s/clusters/%s/%s%s' % (vault_mount, endpoint, first.name, store, suffix)
        for store in ('secrets', 'keys')
        for endpoint, suffix in [('metadata', '')] + [(endpoint, '/*') for endpoint in (
            'metadata', 'data', 'delete', 'undelete', 'destroy')])

    everything = run()
    succeeded(everything)
    assert recap(everything) == {first.name: 0, second.name: 2, 's3only.example.com': 0, 'localhost': 0}, everything
    assert 's3only.example.com: its secret and key stores' in everything.output
    assert 'are not on Vault; nothing to do' in everything.output
    assert len(setup.of(second)[0]) == 3 and len(setup.of(second)[1]) == 3
    again = run()
    succeeded(again)
    assert set(recap(again).values()) == {0}, again

    # Removing the first cluster's setup leaves the second's, what others wrote and the shared client config.
    setup.client.sys.create_or_update_acl_policy('unrelated-' + first.name, 'path "secret/data/x" {\n  capabilities = ["read"]\n}\n')
    setup.client.write_data('auth/aws/role/unrelated.' + first.name, data=dict(
        auth_type='iam', bound_iam_principal_arn=[first.arn('nodes')], token_policies=['unrelated-' + first.name]))
    client_config = setup.client.read('auth/aws/config/client')['data']
    before = setup.of(first), setup.of(second)
    checked = run('--limit', first.name, '--check', '--diff', vault_iam_roles_state='absent')
    succeeded(checked)
    assert recap(checked) == {first.name: 2}, checked
    assert (setup.of(first), setup.of(second)) == before
    removed = run('--limit', first.name, vault_iam_roles_state='absent')
    succeeded(removed)
    assert setup.of(first) == (set(), set())
    assert setup.of(second) == before[1]
    assert 'unrelated-' + first.name in setup.policies()
    assert setup.role('unrelated.' + first.name)['token_policies'] == ['unrelated-' + first.name]
    assert setup.client.read('auth/aws/config/client')['data'] == client_config
    assert 'aws/' in setup.client.sys.list_auth_methods()['data']
    removed_again = run('--limit', first.name, vault_iam_roles_state='absent')
    succeeded(removed_again)
    assert recap(removed_again) == {first.name: 0}, removed_again


@pytest.mark.parametrize('extra, message', [
    (dict(vault_iam_roles_operators_principal_arns=['arn:aws:iam::123456789012:role/ops'],
          vault_iam_roles_operators_enabled=False), 'contradicts itself'),
    (dict(vault_iam_roles_operators_principal_arns=['ops-team']), 'IAM principal ARNs'),
    (dict(vault_iam_roles_secret_store='vault://127.0.0.1:8200/secret', vault_iam_roles_key_store='vault://127.0.0.1:8200/secret/k'),
     'must have both a KV v2 mount and a path'),
    (dict(vault_iam_roles_secret_store='vault://127.0.0.1:8200/secret/c/s', vault_iam_roles_key_store='vault://10.0.0.1:8200/secret/c/k'),
     'is on the Vault at https://127.0.0.1:8200, not on the one this task writes to'),
    (dict(vault_iam_roles_cluster_name='*'), 'is not a DNS-1123 subdomain'),
    (dict(vault_iam_roles_cluster_name='c1.example.com\n'), 'is not a DNS-1123 subdomain'),
    (dict(vault_iam_roles_key_store='vault://127.0.0.1:8200/secret/c/k/?tls=false',
          vault_iam_roles_secret_store='vault://127.0.0.1:8200/secret/c/k?tls=false'), 'paths of a cluster must differ'),
    (dict(vault_iam_roles_state='gone'), 'must be one of: present, absent'),
], ids=['operators-off-with-principals', 'principal-not-an-arn', 'store-without-path', 'other-server',
        'cluster-name-glob', 'cluster-name-newline', 'same-path', 'bad-state'])
def test_role_refuses_bad_input(run_playbook, vault_aws_front, openbao_server, cluster, extra, message):
    run = run_playbook('playbooks/vault_iam_roles.yml', role_vars(vault_aws_front, 'secret', cluster, **extra),
                       env=clean_vault_environment(VAULT_TOKEN=openbao_server.root_token))
    assert run.rc != 0
    assert message in ' '.join(run.output.split())
    assert VaultSetup(vault_aws_front).of(cluster) == (set(), set())


@pytest.fixture
def cluster(moto_server):
    return Cluster(moto_server)


def exists(store, path):
    try:
        store.read(path)
        return True
    except NotFound:
        return False


def kops_operations(openbao, token, mount, folder, case):
    """kOps's own operations on entries seeded for ``case`` below ``folder``: outcome of each, and whether the
    entries show the effect (a refused operation changes nothing)."""
    client, admin = openbao.client(token), openbao.client()
    kv, admin_kv = client.secrets.kv.v2, admin.secrets.kv.v2
    removed, purged = '%s/secrets/remove-%s' % (folder, case), '%s/secrets/purge-%s' % (folder, case)

    def attempt(call):
        try:
            call()
            return 'yes'
        except hvac.exceptions.Forbidden as exc:
            assert 'permission denied' in str(exc)
            return 'denied'

    def versions(path):
        return admin_kv.read_secret_metadata(path, mount_point=mount)['data']['versions']['1']

    outcomes = {'soft delete (kOps)': attempt(lambda: kv.delete_latest_version_of_secret(removed, mount_point=mount))}
    assert bool(versions(removed)['deletion_time']) == (outcomes['soft delete (kOps)'] == 'yes')
    admin_kv.delete_latest_version_of_secret(removed, mount_point=mount)
    outcomes['undelete'] = attempt(lambda: kv.undelete_secret_versions(removed, [1], mount_point=mount))
    assert bool(versions(removed)['deletion_time']) == (outcomes['undelete'] == 'denied')
    outcomes['destroy versions (kOps)'] = attempt(lambda: kv.destroy_secret_versions(purged, [1], mount_point=mount))
    assert versions(purged)['destroyed'] == (outcomes['destroy versions (kOps)'] == 'yes')
    outcomes['delete metadata (kOps)'] = attempt(lambda: kv.delete_metadata_and_all_versions(purged, mount_point=mount))
    try:
        admin_kv.read_secret_metadata(purged, mount_point=mount)
        gone = False
    except hvac.exceptions.InvalidPath:
        gone = True
    assert gone == (outcomes['delete metadata (kOps)'] == 'yes')
    return outcomes


def test_who_can_do_what(run_playbook, vault_aws_front, openbao_server, moto_server, vault_mount, tmp_path,
                         monkeypatch):
    own, other = Cluster(moto_server), Cluster(moto_server)
    root = clean_vault_environment(VAULT_TOKEN=openbao_server.root_token)
    for cluster in (own, other):
        succeeded(run_playbook('playbooks/vault_iam_roles.yml', role_vars(
            vault_aws_front, vault_mount, cluster, vault_iam_roles_operators_principal_arns=[cluster.arn('operators')]),
            env=root))

    # The aws auth roles hold what the role asked for.
    setup = VaultSetup(vault_aws_front)
    for group, max_ttl in (('masters', 500 * 3600), ('nodes', 500 * 3600), ('operators', 3600)):
        role = setup.role('%s.%s' % (group, own.name))
        assert (role['auth_type'], role['bound_iam_principal_arn'], role['token_policies'], role['token_max_ttl']) == \
            ('iam', [own.arn(group)], ['kops-%s-%s' % (group, own.name)], max_ttl)

    base = 'vault://127.0.0.1:%d/%s/clusters/' % (openbao_server.port, vault_mount)
    folders = {'own stores': own.name, 'another cluster': other.name, 'beside the stores': own.name + '/elsewhere'}
    stores, contents = {}, {}
    for place in PLACES:  # what every token tries to read there
        stores[place] = open_store(base + folders[place] + '?tls=false', dict(vault_token=openbao_server.root_token))
        contents[place] = 'secret-%s' % uuid.uuid4().hex, 'keyset: %s\n' % uuid.uuid4().hex
        stores[place].write('secrets/admin', contents[place][0].encode())
        stores[place].write('keys/private/ca/keyset.yaml', contents[place][1].encode())
    seeded = [value.strip() for pair in contents.values() for value in pair]
    cases, tokens = [], []
    for group in GROUPS:
        token = create_token(openbao_server, 'kops-%s-%s' % (group, own.name))
        tokens.append(token)
        for place in PLACES:  # what this token tries to change there
            name = '%s-%s' % (group, place.replace(' ', '-'))
            for path, content in [('keys/private/cas-%s/keyset.yaml' % name, 'original'), ('secrets/delete-' + name, 'doomed'),
                                  ('secrets/remove-' + name, 'kops'), ('secrets/purge-' + name, 'kops')]:
                stores[place].write(path, content.encode())
            cases.append(dict(name=name, group=group, place=place, token=token, root=base + folders[place],
                              folder='clusters/' + folders[place], secret=contents[place][0],
                              keyset=contents[place][1], store=stores[place]))

    out = tmp_path / 'observed.json'
    run = run_playbook('tests/integration/playbooks/vault_access_matrix.yml', dict(
        cases=[dict((key, case[key]) for key in ('name', 'token', 'root', 'secret', 'keyset')) for case in cases],
        query='?tls=false', out=str(out)), env=clean_vault_environment())
    succeeded(run)
    for value in seeded + tokens:
        assert value not in run.output
    observed = dict((entry['case'], entry['runs']) for entry in json.loads(out.read_text()))

    matrix = {}
    for case in cases:
        outcomes = {}
        for operation, outcome in observed[case['name']].items():
            if outcome['failed']:
                # a refusal is Vault's own 403, one line naming the server and the operation, and shows no secret
                # (OpenBao words a refused write as a list of one error)
                assert re.search(r"Vault at http://127\.0\.0\.1:\d+ denied (read|write|list|delete) '[^']+' in "
                                 r"vault://\S+: (1 error occurred: \* )?permission denied \(check the token and its "
                                 r"policies\)", outcome['msg']), (case['name'], operation, outcome)
                assert not any(value in outcome['msg'] for value in seeded + tokens)
                outcomes[operation] = 'denied'
            else:
                assert outcome['right'], (case['name'], operation, outcome)
                outcomes[operation] = 'yes'
        # what the writes left: the effect when allowed, the seeded entries untouched when refused
        store = case['store']
        assert exists(store, 'secrets/new-' + case['name']) == (outcomes['create if absent'] == 'yes')
        swapped = store.read('keys/private/cas-%s/keyset.yaml' % case['name'])[0]
        assert swapped == (b'swapped' if outcomes['compare-and-swap'] == 'yes' else b'original')
        assert exists(store, 'secrets/delete-' + case['name']) == (outcomes['delete'] == 'denied')
        outcomes.update(kops_operations(openbao_server, case['token'], vault_mount, case['folder'], case['name']))
        matrix[case['group'], case['place']] = outcomes

    table = render_table(matrix)
    os.makedirs(os.path.dirname(OBSERVED_TABLE), exist_ok=True)
    with open(OBSERVED_TABLE, 'w') as handle:
        handle.write(table)
    assert matrix == expected_matrix()
    text, start, end = documented_table()
    assert text[start:end].strip() == table.strip(), (
        'docs/vault.md differs from the observed table in build/vault-access.md; after this test ran, '
        'python tests/integration/vault_access_table.py copies it there')

    # What kOps's CLI does as an operator whose IAM role is named operators.<cluster>: an IAM login with an empty
    # role name (Vault takes the principal's name), then writes; the other cluster stays out of reach.
    operator = own.instance_environment('operators')
    front = 'vault://127.0.0.1:%d/%s/clusters/%%s/secrets?tls=false' % (vault_aws_front.port, vault_mount)
    store_as(monkeypatch, operator, front % own.name).write('dockerconfig', b'{"auths": {}}')
    assert store_as(monkeypatch, root, front % own.name).read('dockerconfig')[0] == b'{"auths": {}}'
    with pytest.raises(AccessDenied, match='permission denied'):
        store_as(monkeypatch, operator, front % other.name).write('dockerconfig', b'{"auths": {}}')


def test_operators_through_an_identity_group(vault_aws_front, openbao_server, moto_server, vault_mount,
                                             run_playbook, monkeypatch):
    """The operators' policy without aws auth role, attached to an identity group with the commands of docs/vault.md;
    a member who logs in (userpass here) writes the cluster's entries and no other cluster's."""
    own, other = Cluster(moto_server), Cluster(moto_server)
    root = clean_vault_environment(VAULT_TOKEN=openbao_server.root_token)
    succeeded(run_playbook('playbooks/vault_iam_roles.yml', role_vars(
        vault_aws_front, vault_mount, own, vault_iam_roles_operators_enabled=True), env=root))
    setup = VaultSetup(vault_aws_front)
    assert setup.of(own) == (set('kops-%s-%s' % (group, own.name) for group in GROUPS),
                             set('%s.%s' % (group, own.name) for group in ('masters', 'nodes')))

    def bao(*args):
        completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'bao')] + list(args),
                                   env=clean_vault_environment(BAO_ADDR=openbao_server.address,
                                                               BAO_TOKEN=openbao_server.root_token),
                                   capture_output=True, text=True, check=True)
        return completed.stdout.strip()

    people = 'people-' + uuid.uuid4().hex[:8]
    bao('auth', 'enable', '-path=' + people, 'userpass')
    bao('write', 'auth/%s/users/alice' % people, 'password=correct-horse')
    accessor = json.loads(bao('auth', 'list', '-format=json'))[people + '/']['accessor']
    entity = bao('write', '-field=id', 'identity/entity', 'name=alice-' + people)
    bao('write', 'identity/entity-alias', 'name=alice', 'canonical_id=' + entity, 'mount_accessor=' + accessor)
    bao('write', 'identity/group', 'name=kops-operators-' + own.name, 'policies=kops-operators-' + own.name,
        'member_entity_ids=' + entity)
    token = bao('login', '-no-store', '-field=token', '-method=userpass', '-path=' + people, 'username=alice',
                'password=correct-horse')
    location = 'vault://127.0.0.1:%d/%s/clusters/%%s/keys?tls=false' % (openbao_server.port, vault_mount)
    member = store_as(monkeypatch, dict(VAULT_TOKEN=token), location % own.name)
    member.write('private/ca/keyset.yaml', b'keyset: 1\n')
    assert member.read('private/ca/keyset.yaml')[0] == b'keyset: 1\n'
    member.delete('private/ca/keyset.yaml')
    with pytest.raises(AccessDenied, match='permission denied'):
        store_as(monkeypatch, dict(VAULT_TOKEN=token), location % other.name).write('private/ca/keyset.yaml', b'x')


# -- what the cluster's stored config may not decide -----------------------------------------------------------

def test_the_role_sends_nothing_to_a_vault_named_only_by_the_store(run_playbook, vault_aws_front, openbao_server,
                                                                   http_spy, cluster, vault_mount, tmp_path):
    """On a clusters inventory the stores come from each cluster's config: a host whose config names another Vault
    (the spy) is refused before any request, whether the run names no Vault or names another one (VAULT_ADDR), and
    the named Vault is left as it was."""
    spied = 'vault://127.0.0.1:%d/%s/clusters/%s' % (http_spy.port, vault_mount, cluster.name)
    token = openbao_server.client().auth.token.create(policies=['root'], ttl='10m')['auth']['client_token']
    setup = VaultSetup(vault_aws_front)
    inventory = tmp_path / 'clusters.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': {cluster.name: dict(
        kops_cluster_name=cluster.name, kops_state_store='s3://kops-state', kops_uses_vault=True,
        kops_secret_store=spied + '/secrets?tls=false', kops_key_store=spied + '/keys?tls=false')}}}))
    for named in ({}, dict(VAULT_ADDR=vault_aws_front.address)):
        run = run_playbook('playbooks/vault_iam_roles.yml', dict(vault_iam_roles_aws_account_id=ACCOUNT,
                                                                 vault_iam_roles_enable_aws_auth=True),
                           args=['-i', str(inventory)], env=clean_vault_environment(VAULT_TOKEN=token, **named))
        output = ' '.join(run.output.split())
        assert (http_spy.connections, http_spy.requests) == (0, []), (named, http_spy)
        assert run.rc != 0 and '127.0.0.1:%d' % http_spy.port in output, (named, run)
        assert 'vault_iam_roles_url' in output and token not in run.output, (named, run)
        assert setup.of(cluster) == (set(), set())
        assert 'aws/' not in setup.client.sys.list_auth_methods()['data']


def nodes_token_reach(openbao, cluster, mount):
    """What a token carrying the cluster's nodes policy can do beyond the cluster's stores."""
    token = create_token(openbao, 'kops-nodes-' + cluster.name)
    client = openbao.client(token)
    reach = []
    try:
        client.sys.create_or_update_acl_policy('grabbed-' + cluster.name, 'path "*" {\n  capabilities = ["sudo"]\n}\n')
        reach.append('write policies (sys/policy)')
    except hvac.exceptions.Forbidden:
        pass
    try:
        client.secrets.kv.v2.read_secret_version('clusters/other.example.com/secrets/admin', mount_point=mount,
                                                 raise_on_deleted_version=True)
        reach.append("read another cluster's secrets")
    except hvac.exceptions.Forbidden:
        pass
    try:
        client.secrets.kv.v2.list_secrets('clusters/other.example.com/secrets', mount_point=mount)
        reach.append("list another cluster's secrets")
    except hvac.exceptions.Forbidden:
        pass
    return reach


# A stored secret store whose path ends the policy's string and adds a block granting sys/* (the payload of issue 25),
# and one whose path segment is a glob of Vault's policy syntax.
INJECTION = ('clusters/%s/secrets" { capabilities = ["list"] } path "sys/*" { capabilities = ["create", "read", '
             '"update", "delete", "list", "sudo"] } path "clusters/%s/x')
HOSTILE_PATHS = {'policy-injection': INJECTION, 'glob-plus': 'clusters/+/secrets', 'glob-star': 'clusters/*'}


@pytest.mark.parametrize('hostile', sorted(HOSTILE_PATHS))
def test_a_hostile_store_path_writes_nothing(hostile, run_playbook, vault_aws_front, openbao_server, cluster,
                                             vault_mount):
    """A cluster whose stored secret store path could widen its nodes' policy (to sys/*, or to every cluster's
    secrets) is refused before the role writes any policy, aws auth role or client config."""
    openbao_server.client().secrets.kv.v2.create_or_update_secret(
        'clusters/other.example.com/secrets/admin', secret={'file': 'b3RoZXI='}, mount_point=vault_mount)
    path = HOSTILE_PATHS[hostile].replace('%s', cluster.name)
    base = 'vault://127.0.0.1:%d/%s/' % (vault_aws_front.port, vault_mount)
    run = run_playbook('playbooks/vault_iam_roles.yml', role_vars(
        vault_aws_front, vault_mount, cluster, vault_iam_roles_secret_store=base + path + '?tls=false',
        vault_iam_roles_key_store=base + 'clusters/%s/keys?tls=false' % cluster.name),
        env=clean_vault_environment(VAULT_TOKEN=openbao_server.root_token))
    setup = VaultSetup(vault_aws_front)
    written = setup.of(cluster)
    reach = nodes_token_reach(openbao_server, cluster, vault_mount) if 'kops-nodes-' + cluster.name in written[0] else []
    assert written == (set(), set()) and reach == [], 'the role wrote %s; a nodes token could %s' % (written, reach)
    assert 'aws/' not in setup.client.sys.list_auth_methods()['data']
    output = ' '.join(run.output.split())
    assert run.rc != 0 and 'is not a path the policy can grant' in output, run

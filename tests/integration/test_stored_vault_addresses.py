"""A Vault named only by a state store gets nothing: keyset_info, secret and ssh_public_key follow a cluster's
spec.keyStore/spec.secretStore, so whoever can write the store could point them at a host of theirs and collect the
operator's Vault token (or AWS IAM login) and the secrets written. They are refused before any connection (a spy
HTTP server proves no TCP connection was made) unless the task names that Vault: VAULT_ADDR or vault_addresses; named
ones work on OpenBao. The CA expiry audit playbook is checked the same way; the vault_iam_roles role in
test_vault_access.py."""

import json
import os
import uuid

import pytest

from servers.openbao import clean_vault_environment
from support.kops_material import CA, KeyStoreLayout, b64, ca_key, cluster_config, days, keyset_yaml, ssh_public_key

CLUSTER = 'c1.example.com'
MODULES = ('keyset_info', 'secret', 'ssh_public_key')
# an AWS identity for the IAM login the Vault backend makes without a token
AWS_IDENTITY = dict(AWS_ACCESS_KEY_ID='AKIA' + 'SPYTEST0000000001', AWS_SECRET_ACCESS_KEY='spy-test-secret-key',
                    AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED='true')


def local_state_store(root, vault_base):
    """A file:// state store holding the config of CLUSTER, its key and secret stores below ``vault_base``."""
    config = os.path.join(root, CLUSTER, 'config')
    os.makedirs(os.path.dirname(config))
    with open(config, 'wb') as handle:
        handle.write(cluster_config(CLUSTER, os.path.join(root, CLUSTER), vault_base + '/keys?tls=false',
                                    vault_base + '/secrets?tls=false'))
    return 'file://' + root


def run_module(run_playbook, tmp_path, module, store, env, **variables):
    result_file = tmp_path / ('%s-%s.json' % (module, uuid.uuid4().hex[:6]))
    run = run_playbook('tests/integration/playbooks/cluster_stores_one_task.yml', dict(
        variables, module=module, store=store, cluster=CLUSTER, key=ssh_public_key('ed25519'),
        value=variables.get('value', 'unused'), result_file=str(result_file)), env=env)
    assert run.rc == 0, run
    return run, json.loads(result_file.read_text())


@pytest.mark.parametrize('login', ['token', 'aws-iam'])
@pytest.mark.parametrize('module', MODULES)
def test_a_vault_named_only_by_the_store_gets_no_connection(module, login, http_spy, run_playbook, tmp_path):
    token, value = 'hvs.operator-%s' % uuid.uuid4().hex, 'registry-password-%s' % uuid.uuid4().hex
    store = local_state_store(str(tmp_path / 'state'), 'vault://127.0.0.1:%d/secret/clusters/%s' % (http_spy.port, CLUSTER))
    env = clean_vault_environment(**(dict(VAULT_TOKEN=token) if login == 'token' else AWS_IDENTITY))
    run, result = run_module(run_playbook, tmp_path, module, store, env, value=value)
    assert (http_spy.connections, http_spy.requests, http_spy.tokens()) == (0, [], []), http_spy
    assert result['failed'], result
    message = ' '.join(result['msg'].split())
    assert 'http://127.0.0.1:%d' % http_spy.port in message and 'vault_addresses' in message, message
    assert 'VAULT_ADDR' in message and 'nothing was sent' in message, message
    assert token not in run.output and value not in run.output


def test_a_named_vault_must_match_scheme_host_and_port(http_spy, run_playbook, tmp_path):
    """An https Vault named by the task does not let a stored plain-HTTP one at the same host and port through."""
    store = local_state_store(str(tmp_path / 'state'), 'vault://127.0.0.1:%d/secret/clusters/%s' % (http_spy.port, CLUSTER))
    env = clean_vault_environment(VAULT_TOKEN='hvs.operator', VAULT_ADDR='https://127.0.0.1:%d' % http_spy.port)
    for named in (['https://127.0.0.1:%d' % http_spy.port], ['http://localhost:%d' % http_spy.port],
                  ['http://127.0.0.1:%d' % (http_spy.port + 1)]):
        _run, result = run_module(run_playbook, tmp_path, 'keyset_info', store, env, vault_addresses=named)
        assert result['failed'] and 'only the stored cluster config names' in result['msg'], (named, result)
    assert (http_spy.connections, http_spy.requests) == (0, []), http_spy


@pytest.fixture
def vault_cluster(openbao_server, vault_mount, tmp_path):
    """CLUSTER with its key and secret stores on OpenBao (plain HTTP), a keyset in its key store."""
    base = 'vault://127.0.0.1:%d/%s/clusters/%s' % (openbao_server.port, vault_mount, CLUSTER)
    store = local_state_store(str(tmp_path / 'state'), base)
    ca = CA('kubernetes-ca', days(-1), days(3650))
    openbao_server.client().secrets.kv.v2.create_or_update_secret(
        path='clusters/%s/keys/private/kubernetes-ca/keyset.yaml' % CLUSTER, mount_point=vault_mount,
        secret={'file': b64(keyset_yaml('kubernetes-ca', [ca_key(ca)], ca.id))})
    return store


def read_secret(openbao_server, mount, name):
    import base64

    read = openbao_server.client().secrets.kv.v2.read_secret_version(
        path='clusters/%s/secrets/%s' % (CLUSTER, name), mount_point=mount, raise_on_deleted_version=True)
    return json.loads(base64.b64decode(read['data']['data']['file']))


@pytest.mark.parametrize('named_by', ['VAULT_ADDR', 'vault_addresses'])
def test_a_vault_the_task_names_is_used(named_by, vault_cluster, openbao_server, vault_mount, run_playbook, tmp_path):
    env = clean_vault_environment(VAULT_TOKEN=openbao_server.root_token)
    variables = {}
    if named_by == 'VAULT_ADDR':
        env['VAULT_ADDR'] = openbao_server.address + '/'
    else:  # among others, written as an operator would: another case, the default port of http left out
        variables['vault_addresses'] = ['https://vault.example.com', openbao_server.address.upper().replace('HTTP', 'http')]
    value = 'registry-password-%s' % uuid.uuid4().hex
    outcomes = dict((module, run_module(run_playbook, tmp_path, module, vault_cluster, env, value=value, **variables)[1])
                    for module in MODULES)
    assert not any(result.get('failed') for result in outcomes.values()), outcomes
    assert [keyset['name'] for keyset in outcomes['keyset_info']['keysets']] == ['kubernetes-ca']
    assert outcomes['secret']['changed'] and outcomes['ssh_public_key']['changed']
    assert read_secret(openbao_server, vault_mount, 'dockerconfig') == {'Data': b64(value)}


def test_ca_expiry_audit_refuses_a_stored_vault_and_reads_a_named_one(http_spy, openbao_server, vault_mount,
                                                                      run_playbook, tmp_path):
    """c1's key store is on a Vault the run names (OpenBao), c2's on one only its config names (the spy): c1 is
    audited, c2 reported as unreadable, naming the address, and the spy hears nothing."""
    state = str(tmp_path / 'state')
    layout = KeyStoreLayout()
    kv = openbao_server.client().secrets.kv.v2
    for path, data in layout.entries().items():
        kv.create_or_update_secret(path='clusters/c1.example.com/keys/' + path, secret={'file': b64(data)},
                                   mount_point=vault_mount)
    named = 'vault://127.0.0.1:%d/%s/clusters/c1.example.com' % (openbao_server.port, vault_mount)
    stored = 'vault://127.0.0.1:%d/secret/clusters/c2.example.com' % http_spy.port
    for name, base in (('c1.example.com', named), ('c2.example.com', stored)):
        os.makedirs(os.path.join(state, name))
        with open(os.path.join(state, name, 'config'), 'wb') as handle:
            handle.write(cluster_config(name, os.path.join(state, name), base + '/keys?tls=false',
                                        base + '/secrets?tls=false'))
    token = openbao_server.root_token
    for named_by, extra_vars, env in (
            ('VAULT_ADDR', {}, dict(VAULT_ADDR=openbao_server.address)),
            ('variable', dict(ca_expiry_audit_vault_addresses=[openbao_server.address]), {})):
        run = run_playbook('playbooks/ca_expiry_audit.yml', dict(extra_vars, clusters=['c1.example.com', 'c2.example.com']),
                           env=clean_vault_environment(KOPS_STATE_STORE='file://' + state, VAULT_TOKEN=token, **env))
        output = ' '.join(run.output.split())
        assert run.rc != 0 and '2 CAs end within 30 days (c1.example.com)' in output, (named_by, run)
        assert 'c2.example.com: ' in output and 'http://127.0.0.1:%d' % http_spy.port in output, (named_by, run)
        assert '1 clusters or keysets could not be read' in output, (named_by, run)
    assert (http_spy.connections, http_spy.requests) == (0, []), http_spy

"""Hostile stored data against the operator's Vault credentials and policies: a cluster config whose key or secret
store names a Vault the task does not (in every spelling an attacker might try against a named one) gets no TCP
connection at all from keyset_info's, secret's and ssh_public_key's code path, with a token or with an AWS IAM login
(a spy HTTP server on 127.0.0.1 counts connections); a stored store path that could widen a Vault policy is refused
before any policy text is made, and any path let through renders into exactly the rules meant for it (hypothesis);
an S3 store the config names reaches only the endpoint the task configures. Counted on the reliability page."""

import json
import re
import string
import uuid

import pytest
from hypothesis import given, strategies as st

from ansible_collections.kops.state_store.plugins.module_utils.backends.vault_kv import check_named_vault
from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation, StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster_stores import (
    open_cluster_stores,
    put_secret,
    read_keysets,
)
from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.vault_admin import STORE_ACCESS, store_policy
from reliability.summary import FIGURES
from reliability.test_hostile import PROPERTY, Counter
from servers.openbao import use_vault_environment
from support.kops_material import cluster_config

SECTION = 'Hostile stored data: where credentials go (spy HTTP server)'
HEADER = ['stored in the cluster config', 'named by the task', 'cases', 'refused before any request',
          'connections to the stored host']
CLUSTER = 'c1.example.com'


def stored_and_named(port):
    """(what it tries, stored store location, Vault addresses the task names): every pair must be refused."""
    spy = '127.0.0.1:%d' % port
    base = '/secret/clusters/%s/keys' % CLUSTER
    return [
        ('a Vault no one named', 'vault://%s%s?tls=false' % (spy, base), []),
        ('plain HTTP where https is named', 'vault://%s%s?tls=false' % (spy, base), ['https://%s' % spy]),
        ('https where plain HTTP is named', 'vault://%s%s' % (spy, base), ['http://%s' % spy]),
        ('another port', 'vault://%s%s?tls=false' % (spy, base), ['http://127.0.0.1:%d' % (port + 1)]),
        ('the default port named', 'vault://%s%s?tls=false' % (spy, base), ['http://127.0.0.1']),
        ('another name of the host', 'vault://%s%s?tls=false' % (spy, base), ['http://localhost:%d' % port]),
        ('a trailing dot', 'vault://127.0.0.1.:%d%s?tls=false' % (port, base), ['http://%s' % spy]),
        ('the named host as user info', 'vault://vault.example.com@%s%s?tls=false' % (spy, base),
         ['http://vault.example.com:%d' % port]),
        ('the named host as a path', 'vault://%s/vault.example.com%s?tls=false' % (spy, base), ['https://vault.example.com']),
        ('an upper-case scheme', 'VAULT://%s%s?tls=false' % (spy, base), []),
        ('tls given twice', 'vault://%s%s?tls=true&tls=false' % (spy, base), ['https://%s' % spy]),
        ('an unknown query parameter', 'vault://%s%s?tls=false&addr=vault.example.com' % (spy, base), []),
        ('a named address of another scheme', 'vault://%s%s?tls=false' % (spy, base), ['vault://%s' % spy]),
    ]


def state_with_key_store(tmp_path, key_store):
    root = tmp_path / ('state-%s' % uuid.uuid4().hex[:6])
    state = open_store(str(root))
    state.write('%s/config' % CLUSTER, cluster_config(CLUSTER, state.render(CLUSTER), key_store,
                                                      key_store.replace('/keys', '/secrets')))
    return state


@pytest.fixture
def clean_vault_env(monkeypatch):
    use_vault_environment(monkeypatch)
    return monkeypatch


@pytest.mark.parametrize('login', ['token', 'aws-iam'])
def test_a_stored_vault_gets_no_connection(login, http_spy, clean_vault_env, tmp_path):
    if login == 'token':
        clean_vault_env.setenv('VAULT_TOKEN', 'hvs.operator-%s' % uuid.uuid4().hex)
    else:
        clean_vault_env.setenv('AWS_ACCESS_KEY_ID', 'AKIAHOSTILETEST00001')
        clean_vault_env.setenv('AWS_SECRET_ACCESS_KEY', 'hostile-test-secret')
    cases = stored_and_named(http_spy.port)
    refused = 0
    for what, stored, named in cases:
        state = state_with_key_store(tmp_path, stored)
        with pytest.raises(BadLocation) as raised:
            stores = open_cluster_stores(state, CLUSTER, vault_addresses=named)
            read_keysets(stores.key_store)  # what keyset_info would do next
            put_secret(stores.secret_store, 'dockerconfig', b'registry-password')  # and secret
        message = str(raised.value)
        assert '\n' not in message and 'registry-password' not in message, (what, message)
        refused += 1
        assert (http_spy.connections, http_spy.requests) == (0, []), (what, http_spy)
    FIGURES.add(inputs_tried=len(cases))
    FIGURES.row(SECTION, HEADER, ['a vault:// key and secret store (%s login)' % login,
                                  'none, or another scheme, host or port', len(cases), refused, http_spy.connections])


def test_named_vaults_match_as_the_connection_would():
    """What the check admits: the spellings of one server (case of the host, a default port left out, a trailing
    slash or a path on the named address, VAULT_ADDR)."""
    admitted = [
        ('vault://Vault.Example.com/kv/c1/keys', ['https://vault.example.com']),
        ('vault://vault.example.com:443/kv/c1/keys', ['https://VAULT.example.com/']),
        ('vault://vault.example.com:8200/kv/c1/keys?tls=false', ['https://other.example.com', 'http://vault.example.com:8200/v1']),
        ('vault://[::1]:8200/kv/c1/keys', [' https://[::1]:8200 ']),
    ]
    for stored, named in admitted:
        check_named_vault(parse_location(stored), named, 'the key store')
    with pytest.raises(BadLocation, match="vault_addresses holds 'vault.example.com:8200', which is not a Vault address"):
        check_named_vault(parse_location('vault://vault.example.com:8200/kv/c1/keys'), ['vault.example.com:8200'], 'x')


def test_vault_addr_names_one_vault(clean_vault_env):
    stored = parse_location('vault://vault.example.com:8200/kv/c1/keys')
    clean_vault_env.setenv('VAULT_ADDR', 'https://vault.example.com:8200')
    check_named_vault(stored, None, 'the key store')
    clean_vault_env.setenv('VAULT_ADDR', 'http://vault.example.com:8200')
    with pytest.raises(BadLocation, match=r'at https://vault.example.com:8200, which only the stored cluster config '
                                          r'names.*named now: http://vault.example.com:8200'):
        check_named_vault(stored, None, 'the key store')


def test_a_stored_s3_store_reaches_only_the_configured_endpoint(http_spy, clean_vault_env, tmp_path):
    """kOps opens an S3 key store the config names with the same credentials, and so does the collection: the text
    picks the bucket and key only. With S3_ENDPOINT (here the spy, standing for the operator's endpoint) every
    request of a hostile bucket name goes there, path-style, signed for it; the names boto3 refuses fail first."""
    for name in ('S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_REGION'):
        clean_vault_env.delenv(name, raising=False)
    clean_vault_env.setenv('S3_ENDPOINT', http_spy.address)
    clean_vault_env.setenv('S3_ACCESS_KEY_ID', 'operator-key-id')
    clean_vault_env.setenv('S3_SECRET_ACCESS_KEY', 'operator-secret-key')
    buckets = ['attacker-bucket', 'attacker.example.com', '127.0.0.1', 'evil.com%2f']
    reached = 0
    for bucket in buckets:
        state = state_with_key_store(tmp_path, 's3://%s/%s/pki' % (bucket, CLUSTER))
        try:
            read_keysets(open_cluster_stores(state, CLUSTER).key_store)
        except StateStoreError:
            pass  # the spy answers 404 to everything; only where the requests went matters here
        reached += 1
    hosts = set(entry['headers']['host'] for entry in http_spy.requests)
    assert hosts == {'127.0.0.1:%d' % http_spy.port}, hosts
    assert set(entry['path'].split('/')[1].split('?')[0] for entry in http_spy.requests) <= set(buckets)
    assert not http_spy.heard('operator-secret-key')  # signed, never sent
    FIGURES.add(inputs_tried=len(buckets))
    FIGURES.row(SECTION, HEADER, ['an s3:// key store of a hostile bucket name', 'S3_ENDPOINT', len(buckets),
                                  'n/a: opened as kOps does; every request went to S3_ENDPOINT', 0])


# -- policy text built from stored paths --------------------------------------------------------------

URL = 'https://vault.example.com:8200'
HOSTILE_PATHS = [
    'clusters/c1/secrets" { capabilities = ["list"] } path "sys/*" { capabilities = ["create", "update", "sudo"] } '
    'path "clusters/c1/x',
    'clusters/c1/secrets"\n}\npath "sys/*" {\n  capabilities = ["sudo"]\n}\npath "x',
    'clusters/+/secrets', 'clusters/*', 'clusters/c1/secrets/*', 'clusters/c1*', 'clusters/c1+',
    'clusters/c1/{secrets}', 'clusters/c1/sec rets', 'clusters/c1/sec\trets', 'clusters/c1/secrets\n',
    'clusters//secrets', 'clusters/../secrets', 'clusters/./secrets', 'clusters/.../secrets', 'clusters/%2a/secrets',
    'clusters/c1\\secrets', 'clusters/c1/secrets#', 'clusters/c1/\u0455ecrets', 'clusters/c1/secrets\u202e',
    'clusters/c1/se\x00crets', 'clusters/c1,secrets', 'clusters/[c1]/secrets', 'clusters/c1=/secrets',
    'clusters/c1:secrets', 'clusters/c1@x/secrets', "clusters/c1'/secrets", 'clusters/c1~/secrets', '',
]


def hostile_stores(path):
    """The path as a stored vault:// location on the Vault being configured, and as <mount>/<path>."""
    return ['vault://vault.example.com:8200/kv/%s' % path, 'kv/%s' % path]


def test_hostile_store_paths_make_no_policy():
    refused = 0
    for path in HOSTILE_PATHS:
        for store in hostile_stores(path):
            for access in STORE_ACCESS:
                with pytest.raises(BadLocation) as raised:
                    store_policy(['kv/clusters/c1/keys', store], access, URL)
                assert '\n' not in str(raised.value), (store, raised.value)  # one line, whichever check refused it
                refused += 1
    FIGURES.add(inputs_tried=refused)
    FIGURES.row(SECTION, HEADER, ['a store path that could widen a Vault policy (glob, quote, brace, blank, ...)',
                                  'the Vault at vault_policy url', refused, refused, 'n/a: nothing sent'])


RULE = re.compile(r'path ("(?:[^"\\]|\\.)*") \{\n  capabilities = (\[[^\n]*\])\n\}')
# any text, and text made of what a path segment may hold and of what must never pass (globs, quotes, blanks, ...)
PATH_CHARACTERS = string.ascii_letters + string.digits + '._-*+"{}/ %\n'
SEGMENT_TEXT = st.one_of(st.text(max_size=12), st.text(alphabet=PATH_CHARACTERS, max_size=12))


def test_a_policy_grants_exactly_its_stores():
    """Any text as a store path: refused, or the policy is the header line and exactly the rules meant for the
    store, each path a JSON string naming the store or below it."""
    with Counter('vault_policy stores: any store path') as counter:
        @PROPERTY
        @given(st.lists(SEGMENT_TEXT, min_size=1, max_size=4).map('/'.join), st.sampled_from(sorted(STORE_ACCESS)))
        def check(path, access):
            policy = counter.attempt(store_policy, ['kv/' + path], access, URL)
            if policy is None:
                return
            header, rest = policy.split('\n', 1)
            assert header.startswith('# Managed by kops.state_store: ') and '\n' not in header
            rules = RULE.findall(rest)
            assert RULE.sub('', rest).strip() == ''  # nothing but rules
            stored = 'kv/%s' % path.strip('/')
            mount, below = stored.split('/', 1)
            expected = [('%s/metadata/%s' % (mount, below), ['list'])] + [
                ('%s/%s/%s/*' % (mount, endpoint, below), list(capabilities))
                for endpoint, capabilities in STORE_ACCESS[access]]
            assert [(json.loads(granted), json.loads(capabilities)) for granted, capabilities in rules] == expected

        check()

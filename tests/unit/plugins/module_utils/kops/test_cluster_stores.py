"""cluster_stores on file:// and memfs:// stores: where a cluster's key and secret stores are, keysets made with
cryptography as kOps writes them (a rotated keyset, a distrusted key, a staged one), SSH public keys made with
cryptography (RSA, ed25519, ECDSA) and secrets in kOps's JSON form."""

import base64
import datetime
import hashlib
import itertools
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster_stores import (
    KopsObjectError,
    decode_secret,
    encode_secret,
    keyset_facts,
    open_cluster_stores,
    parse_ssh_public_key,
    primary_key_id,
    put_secret,
    read_keysets,
    remove_secret,
    remove_ssh_public_keys,
    set_ssh_public_key,
)
from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import ClusterError
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from support.kops_material import (
    NOW,
    KeyStoreLayout,
    b64,
    cluster_config,
    days,
    keyset_yaml,
    kops_test_ssh_key,
    leaked_private_material,
    secret_entry,
    ssh_public_key,
)
from support.paths import GO_SECRET_JSON

_names = itertools.count()
CLUSTER = 'c1.example.com'


@pytest.fixture(scope='module')
def layout():
    return KeyStoreLayout()


@pytest.fixture(params=['file', 'memfs'])
def state(request, tmp_path):
    """A state store holding cluster c1.example.com with the default key and secret stores."""
    location = str(tmp_path / 'state') if request.param == 'file' else 'memfs://stores-%d' % next(_names)
    backend = open_store(location)
    backend.write('%s/config' % CLUSTER, cluster_config(CLUSTER, backend.render(CLUSTER)))
    return backend


# -- where the stores are ---------------------------------------------------------------------

def test_default_stores_are_below_config_base(state):
    stores = open_cluster_stores(state, CLUSTER)
    assert stores.key_store.render() == state.render('%s/pki' % CLUSTER)
    assert stores.secret_store.render() == state.render('%s/secrets' % CLUSTER)


def test_config_base_defaults_to_the_cluster_folder(tmp_path):
    state = open_store(str(tmp_path / 'state'))
    state.write('c2/config', b'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: c2\nspec: {}\n')
    assert open_cluster_stores(state, 'c2').key_store.render() == str(tmp_path / 'state' / 'c2' / 'pki')


def test_stores_named_by_the_config_elsewhere(tmp_path):
    state = open_store(str(tmp_path / 'state'))
    keys, secrets = 'memfs://keys-%d/c1' % next(_names), 'file://%s' % (tmp_path / 'state' / 'shared' / 'secrets' / 'c1')
    state.write('c1/config', cluster_config('c1', state.render('c1'), keys, secrets))
    stores = open_cluster_stores(state, 'c1')
    assert stores.key_store.render() == keys
    assert stores.secret_store.render() == str(tmp_path / 'state' / 'shared' / 'secrets' / 'c1')


@pytest.mark.parametrize('state_store', ['local', 'memfs'])
def test_a_local_path_read_from_a_store_stays_inside_a_local_state_store(state_store, tmp_path):
    """A config naming a local path outside the local state store (or any local path, on a store that is not local)
    is refused: the store would choose which files of the host running the task are written or removed."""
    root = tmp_path / 'state'
    state = open_store(str(root) if state_store == 'local' else 'memfs://state-%d' % next(_names))
    (tmp_path / 'etc').mkdir()
    (root / 'c1').mkdir(parents=True)
    (root / 'c1' / 'escape').symlink_to(tmp_path / 'etc')  # inside by name, outside in fact
    for secrets in (str(tmp_path / 'etc'), 'file://%s/../etc' % root, str(root / 'c1' / 'escape')):
        state.write('c1/config', cluster_config('c1', state.render('c1'), secret_store=secrets))
        with pytest.raises(BadLocation, match=r"the secret store of cluster c1 \(spec.secretStore\) is the local "
                                              r"path \S+, outside the state store"):
            open_cluster_stores(state, 'c1')
    assert sorted(path.name for path in tmp_path.joinpath('etc').iterdir()) == []


def test_missing_or_invalid_cluster_is_refused(state):
    with pytest.raises(KopsObjectError, match='cluster other.example.com does not exist'):
        open_cluster_stores(state, 'other.example.com')
    with pytest.raises(ClusterError, match='not a valid name'):
        open_cluster_stores(state, '../c1')
    state.write('broken/config', b'apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata: {name: broken}\n')
    with pytest.raises(ClusterError, match='expected Cluster'):
        open_cluster_stores(state, 'broken')


# -- keysets ----------------------------------------------------------------------------------

def write_layout(state, layout):
    key_store = open_cluster_stores(state, CLUSTER).key_store
    for path, data in layout.entries().items():
        key_store.write(path, data)
    return key_store


def by_name(keysets):
    return dict((keyset['name'], keyset) for keyset in keysets)


def test_every_keyset_with_its_public_facts(state, layout):
    keysets = read_keysets(write_layout(state, layout), now=NOW)
    assert [keyset['name'] for keyset in keysets] == sorted(layout.keysets)  # the leftover .key file is no keyset
    found = by_name(keysets)
    old, new = layout.cas['old'], layout.cas['new']
    rotated = found['kubernetes-ca']
    assert rotated['type'] == 'Keypair' and rotated['primary_id'] == new.id and rotated['error'] is None
    assert rotated['location'] == state.render('%s/pki/private/kubernetes-ca/keyset.yaml' % CLUSTER)
    assert [key['id'] for key in rotated['certificates']] == sorted([old.id, new.id], key=int)
    distrusted, primary = dict((key['id'], key) for key in rotated['certificates'])[old.id], \
        dict((key['id'], key) for key in rotated['certificates'])[new.id]
    assert distrusted == dict(
        id=old.id, primary=False, distrusted=True,
        distrust_timestamp=layout.distrusted_at.strftime('%Y-%m-%dT%H:%M:%SZ'), private_key=True, certificate=True,
        subject='CN=kubernetes-ca', issuer='CN=kubernetes-ca', serial=old.id,
        not_before=days(-3650).strftime('%Y-%m-%dT%H:%M:%SZ'), not_after=days(-2).strftime('%Y-%m-%dT%H:%M:%SZ'),
        days_left=-2, is_ca=True, expired=True, expiring=False)  # ended, but distrusted: not flagged
    assert primary['primary'] and not primary['distrusted'] and primary['days_left'] == 3620
    assert not primary['expired'] and not primary['expiring'] and primary['distrust_timestamp'] is None
    # a staged key (created without --primary) leaves the older one primary, as spec.primaryId says
    staged = found['apiserver-aggregator-ca']
    assert staged['primary_id'] == layout.cas['staged_old'].id
    assert [(key['primary'], key['expiring']) for key in staged['certificates']] == [(True, True), (False, False)]
    assert found['etcd-clients-ca']['certificates'][0]['expiring'] and found['etcd-clients-ca']['certificates'][0]['days_left'] == 10
    assert found['service-account']['certificates'][0]['is_ca'] is False
    assert leaked_private_material(json.dumps(keysets), layout.private_pems) == []


@pytest.mark.parametrize('within, flagged', [
    (0, []),
    (5, []),
    (6, ['apiserver-aggregator-ca']),
    (30, ['apiserver-aggregator-ca', 'etcd-clients-ca']),
    (4000, ['apiserver-aggregator-ca', 'apiserver-aggregator-ca', 'etcd-clients-ca', 'kubernetes-ca',
            'service-account']),
])
def test_expires_within_flags_trusted_keys_ending_soon(state, layout, within, flagged):
    keysets = read_keysets(write_layout(state, layout), now=NOW, expires_within=within)
    assert [keyset['name'] for keyset in keysets for key in keyset['certificates'] if key['expiring']] == flagged


def test_days_left_counts_whole_days(layout):
    etcd = layout.cas['etcd']
    data = layout.keysets['etcd-clients-ca']
    later = NOW + datetime.timedelta(days=10, hours=1)
    key = keyset_facts('etcd-clients-ca', data, 'x', later, expires_within=0)['certificates'][0]
    assert key['days_left'] == 0 and not key['expired'] and key['expiring'] is False  # 11 hours left
    ended = keyset_facts('etcd-clients-ca', data, 'x', NOW + datetime.timedelta(days=10, hours=12, seconds=1),
                         0)['certificates'][0]
    assert ended['expired'] and ended['expiring'] and ended['days_left'] == -1
    assert ended['serial'] == etcd.id


def test_primary_as_kops_picks_it():
    keys = [dict(id='5'), dict(id='9', distrustTimestamp='2026-01-01T00:00:00Z'), dict(id='7'), dict(id='abc')]
    assert primary_key_id(keys, '5') == '5'
    assert primary_key_id(keys, '9') == '7'  # the named one is distrusted: the newest trusted one
    assert primary_key_id(keys, '') == '7'
    assert primary_key_id([dict(id='abc')], 'abc') is None  # kOps ignores keys whose id is not a number


def test_a_key_without_certificate_or_private_key():
    data = keyset_yaml('kubernetes-ca', [dict(id='42')], '42')
    key = keyset_facts('kubernetes-ca', data, 'x', NOW)['certificates'][0]
    assert key['certificate'] is False and key['private_key'] is False and key['not_after'] is None
    assert key['expiring'] is False


def broken_keysets(layout):
    """Keysets kOps could not read, each carrying real private material, by what is wrong with them."""
    ca = layout.cas['etcd']
    good = layout.keysets['etcd-clients-ca']
    certificate = b64(ca.certificate_pem).encode()
    return {
        'not YAML': good + b'  - id: [unclosed\n',
        'tab in the private material': good.replace(b'privateMaterial: ', b'privateMaterial:\t"'),
        'private key as certificate': good.replace(certificate, b64(ca.private_pem).encode()),
        'certificate not base64': good.replace(certificate, b'a%%' + certificate[3:]),
        'wrong kind': good.replace(b'kind: Keyset', b'kind: Cluster'),
        'wrong apiVersion': good.replace(b'kops.k8s.io/v1alpha2', b'kops.k8s.io/v1'),
        'keys not a list': good.split(b'  keys:')[0] + b'  keys: {a: 1}\n',
    }


def test_broken_keysets_are_reported_without_their_content(state, layout):
    key_store = write_layout(state, layout)
    broken = broken_keysets(layout)
    for number, data in enumerate(broken.values()):
        key_store.write('private/broken-%d/keyset.yaml' % number, data)
    keysets = by_name(read_keysets(key_store, now=NOW))
    errors = [keysets['broken-%d' % number]['error'] for number in range(len(broken))]
    assert all(errors) and all(keysets['broken-%d' % number]['certificates'] == [] for number in range(len(broken)))
    assert keysets['kubernetes-ca']['error'] is None  # the others are still read
    assert 'is not valid YAML at line' in errors[0]
    assert 'publicMaterial is not a PEM certificate' in errors[2] and 'is not base64' in errors[3]
    assert "kind 'Cluster'" in errors[4] and "apiVersion 'kops.k8s.io/v1'" in errors[5] and 'spec.keys' in errors[6]
    assert leaked_private_material('\n'.join(errors), layout.private_pems) == []
    assert all(len(error) < 400 for error in errors)


# -- SSH public keys --------------------------------------------------------------------------

@pytest.mark.parametrize('kind, key_type', [('rsa', 'ssh-rsa'), ('ed25519', 'ssh-ed25519'),
                                            ('ecdsa', 'ecdsa-sha2-nistp256')])
def test_ssh_key_id_is_the_md5_of_its_wire_form(kind, key_type):
    line = ssh_public_key(kind)
    key = parse_ssh_public_key(line + '\n')
    wire = base64.b64decode(line.split()[1])
    assert key.key_type == key_type and key.text == line + '\n' and key.read_back == line
    assert key.comment == 'admin@example.com'
    assert key.id == hashlib.md5(wire).hexdigest()
    # cryptography's own fingerprint of the key says the same
    public = serialization.load_ssh_public_key(line.encode())
    assert key.fingerprint == ':'.join('%02x' % byte for byte in serialization.ssh_key_fingerprint(public, hashes.MD5()))
    assert key.path == 'ssh/public/admin/%s' % key.id


def test_ssh_key_with_options_and_without_comment():
    line = ssh_public_key('ed25519')
    bare = ' '.join(line.split()[:2])
    assert parse_ssh_public_key(bare).comment == ''
    with_options = 'from="10.0.0.1,10.0.0.2",command="echo a b" %s' % line
    key = parse_ssh_public_key('# admin key\n' + with_options)
    assert key.id == parse_ssh_public_key(line).id and key.read_back == '# admin key\n' + with_options


MALFORMED_SSH_KEYS = [
    ('', 'got 0 key lines'),
    ('%s\n%s' % (ssh_public_key('ed25519'), ssh_public_key('ed25519')), 'got 2 key lines'),
    ('ssh-ed25519', 'no base64 key'),
    ('ssh-ed25519 not*base64', 'not valid base64'),
    ('ssh-ed25519 %s' % b64(b'\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x05short'), 'damaged or truncated'),
    ('ssh-rsa %s' % ssh_public_key('ed25519').split()[1], "type field says 'ssh-rsa' but the key data is 'ssh-ed25519'"),
    ('ssh-foo %s' % b64(b'\x00\x00\x00\x07ssh-foo\x00\x00\x00\x01a'), "key type 'ssh-foo' is not supported"),
    ('-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----', 'got 3 key lines'),
]


# ids by reason: the keys are generated anew in each process, and pytest-xdist's workers must collect alike
@pytest.mark.parametrize('text, reason', MALFORMED_SSH_KEYS, ids=[reason for _text, reason in MALFORMED_SSH_KEYS])
def test_malformed_ssh_keys_are_refused(text, reason):
    with pytest.raises(KopsObjectError, match=reason):
        parse_ssh_public_key(text)


@pytest.fixture
def key_store(state):
    return open_cluster_stores(state, CLUSTER).key_store


def test_add_replace_and_remove_ssh_keys(key_store):
    rsa, ed25519 = parse_ssh_public_key(ssh_public_key('rsa')), parse_ssh_public_key(ssh_public_key('ed25519'))
    added = set_ssh_public_key(key_store, rsa)
    assert added.changed and added.before == {} and added.after == {rsa.path: rsa.read_back}
    assert key_store.read(rsa.path)[0] == rsa.text.encode()  # as given, as kOps stores the file's bytes
    assert not set_ssh_public_key(key_store, rsa).changed
    both = set_ssh_public_key(key_store, ed25519)  # kOps adds: the RSA key stays
    assert both.changed and sorted(both.after) == sorted([rsa.path, ed25519.path])
    planned = set_ssh_public_key(key_store, rsa, exclusive=True, check_mode=True)
    assert planned.changed and planned.after == {rsa.path: rsa.read_back}
    assert len(key_store.list('ssh/public/admin')) == 2  # check mode wrote nothing
    only = set_ssh_public_key(key_store, rsa, exclusive=True)
    assert only.changed and [entry.path for entry in key_store.list('ssh/public/admin')] == [rsa.path]
    assert not set_ssh_public_key(key_store, rsa, exclusive=True).changed
    assert not remove_ssh_public_keys(key_store, ed25519).changed
    assert remove_ssh_public_keys(key_store, rsa).changed and key_store.list('ssh/public/admin') == []


def test_a_key_kops_wrote_is_the_same_key(key_store):
    line = ssh_public_key('ed25519')
    key = parse_ssh_public_key(line)
    key_store.write(key.path, ('  %s\r\n' % line).encode())  # kOps reads the entry trimmed
    assert not set_ssh_public_key(key_store, key).changed
    key_store.write(key.path, ('%s\x1c' % line).encode())  # no space to Go's strings.TrimSpace, unlike Python's strip
    assert set_ssh_public_key(key_store, key).changed and key_store.read(key.path)[0] == line.encode()
    key_store.write(key.path, (line.rsplit(' ', 1)[0] + ' other-comment\n').encode())
    assert set_ssh_public_key(key_store, key).changed  # same key, other line: written as given


def test_a_key_is_stored_as_kops_stores_the_file_it_is_given(state):
    """kOps's own test key in the forms a .pub file or a lookup gives it: each stored byte for byte, as
    kops create sshpublickey stores the file, at the entry named by the fingerprint kOps's golden terraform output
    gives the key; a form that differs only in surrounding blanks is the same key to kOps and to the module."""
    data, fingerprint = kops_test_ssh_key()
    line = data.decode().strip()
    for given in (data.decode(), line, line + '\r\n', '# the test key\n' + line + '\n'):
        key_store = open_store(state.render('forms-%d' % next(_names)))
        key = parse_ssh_public_key(given)
        assert key.fingerprint == fingerprint and key.path == 'ssh/public/admin/' + fingerprint.replace(':', '')
        assert set_ssh_public_key(key_store, key).changed
        assert key_store.read(key.path)[0] == given.encode()
    key_store = open_store(state.render('kops-wrote-%d' % next(_names)))
    key_store.write('ssh/public/admin/' + fingerprint.replace(':', ''), data)  # kops create sshpublickey -i id_rsa.pub
    assert not set_ssh_public_key(key_store, parse_ssh_public_key(line)).changed
    assert key_store.read('ssh/public/admin/' + fingerprint.replace(':', ''))[0] == data


def ssh_string(data):
    return len(data).to_bytes(4, 'big') + data


def rsa_key_text(exponent, modulus, zero_padding=b''):
    """An ssh-rsa key whose numbers are written with ``zero_padding`` before each (not their shortest form)."""
    def number(value):
        return ssh_string(zero_padding + value.to_bytes(value.bit_length() // 8 + 1, 'big'))
    return 'ssh-rsa %s' % b64(ssh_string(b'ssh-rsa') + number(exponent) + number(modulus))


def test_ssh_key_id_is_of_the_wire_form_go_writes_again():
    """Go's ssh package parses the key and hashes its own encoding of it (Marshal), numbers in their shortest
    form: a key whose data writes them longer is the same key, at the same entry."""
    modulus = 1 << 2047 | 12345
    shortest, padded = rsa_key_text(65537, modulus), rsa_key_text(65537, modulus, zero_padding=b'\x00')
    assert parse_ssh_public_key(padded).id == parse_ssh_public_key(shortest).id
    assert parse_ssh_public_key(shortest).id == hashlib.md5(base64.b64decode(shortest.split()[1])).hexdigest()


@pytest.mark.parametrize('text, reason', [
    (rsa_key_text(1 << 24 | 1, 1 << 2047 | 1), 'RSA exponent is not an odd number from 3 to 24 bits'),
    (rsa_key_text(65537, 1 << 16384 | 1), 'RSA modulus is longer than 16384 bits'),
    ('ecdsa-sha2-nistp256 %s' % b64(ssh_string(b'ecdsa-sha2-nistp256') + ssh_string(b'nistp256') + ssh_string(
        ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint))), 'in a form kOps does not read'),
], ids=['exponent', 'modulus', 'compressed point'])
def test_keys_go_refuses_are_refused(text, reason):
    with pytest.raises(KopsObjectError, match=reason):
        parse_ssh_public_key(text)


def test_remove_every_admin_key(key_store):
    for kind in ('rsa', 'ed25519'):
        set_ssh_public_key(key_store, parse_ssh_public_key(ssh_public_key(kind)))
    assert remove_ssh_public_keys(key_store, check_mode=True).changed and len(key_store.list('ssh/public/admin')) == 2
    removed = remove_ssh_public_keys(key_store)
    assert removed.changed and removed.after == {} and key_store.list('ssh/public/admin') == []
    assert not remove_ssh_public_keys(key_store).changed


# -- secrets ----------------------------------------------------------------------------------

def test_secret_encoding_is_kops_s():
    assert encode_secret(b'hunter2') == b'{"Data":"aHVudGVyMg=="}' == secret_entry('hunter2')
    for stored in (b'{"Data":"aHVudGVyMg=="}', b'{ "Data": "aHVudGVyMg==" }\n', b'{"data":"aHVudGVyMg=="}'):
        assert decode_secret(stored, 'x') == b'hunter2'
    assert decode_secret(b'{"Data":null}', 'x') == b''


@pytest.mark.parametrize('stored, reason', [
    (b'{"Data": "hunter2-not-base64!"}', 'not base64'),
    (b'hunter2', 'is not valid JSON at line 1'),
    (b'["hunter2"]', 'not a kOps secret'),
])
def test_unreadable_secret_is_named_never_shown(stored, reason):
    with pytest.raises(KopsObjectError, match=reason) as caught:
        decode_secret(stored, 'the entry')
    assert 'hunter2' not in str(caught.value)


def kops_reads(case):
    """(entry bytes, what kOps reads from them: bytes, or None for an error) of a case of the Go fixture."""
    data = case['input'].encode('utf-8') if 'input' in case else base64.b64decode(case['input_base64'])
    return data, None if case['kops_reads'] is None else base64.b64decode(case['kops_reads'])


def test_secrets_are_read_as_go_reads_them():
    """Every case of tests/fixtures/go-secret-json, answered by Go's json.Unmarshal into kOps's fi.Secret."""
    with open(GO_SECRET_JSON) as handle:
        cases = [kops_reads(case) for case in json.load(handle)]
    disagreements = []
    for data, expected in cases:
        try:
            read = decode_secret(data, 'x')
        except KopsObjectError:
            read = None
        if read != expected:
            disagreements.append((data, expected, read))
    assert disagreements == [] and len(cases) == 461
    assert sum(1 for _data, expected in cases if expected is None) == 255


@pytest.fixture
def secret_store(state):
    return open_cluster_stores(state, CLUSTER).secret_store


def test_put_update_and_remove_a_secret(secret_store):
    planned = put_secret(secret_store, 'dockerconfig', b'{"auths":{}}', check_mode=True)
    assert planned.changed and planned.created and secret_store.list('') == []
    created = put_secret(secret_store, 'dockerconfig', b'{"auths":{}}')
    assert created.changed and created.created and not created.existed
    assert secret_store.read('dockerconfig')[0] == secret_entry('{"auths":{}}')
    assert not put_secret(secret_store, 'dockerconfig', b'{"auths":{}}').changed
    updated = put_secret(secret_store, 'dockerconfig', b'{"auths":{"r":{}}}')
    assert updated.changed and updated.existed and not updated.created
    assert remove_secret(secret_store, 'dockerconfig', check_mode=True).changed
    assert remove_secret(secret_store, 'dockerconfig').changed and secret_store.list('') == []
    assert not remove_secret(secret_store, 'dockerconfig').changed


def test_a_secret_kops_wrote_with_the_same_value_is_unchanged(secret_store):
    secret_store.write('admin', b'{ "Data": "c2VjcmV0" }')
    assert not put_secret(secret_store, 'admin', b'secret').changed


def test_create_only_is_get_or_create(secret_store):
    assert put_secret(secret_store, 'kube', b'first', create_only=True).created
    kept = put_secret(secret_store, 'kube', b'second', create_only=True)
    assert not kept.changed and not kept.created and decode_secret(secret_store.read('kube')[0], 'x') == b'first'
    secret_store.write('broken', b'not json')
    with pytest.raises(KopsObjectError, match='not valid JSON'):
        put_secret(secret_store, 'broken', b'x', create_only=True)
    assert put_secret(secret_store, 'broken', b'x').changed  # replaced, as kops create secret --force does


def test_a_secret_kops_could_not_read_is_not_taken_as_existing(secret_store):
    """{"Data":1234} fails kOps's read (a number is no []byte); get-or-create must fail too, writing nothing."""
    secret_store.write('number', b'{"Data":1234}')
    with pytest.raises(KopsObjectError, match='the Data field of the secret is a number, not base64 text'):
        put_secret(secret_store, 'number', b'x', create_only=True)
    assert secret_store.read('number')[0] == b'{"Data":1234}'


def test_a_secret_with_line_breaks_in_its_base64_is_read(secret_store):
    """Go's base64 decoding of []byte skips line breaks: kOps reads abcdef, so the value is already there."""
    secret_store.write('wrapped', b'{"Data":"YWJj\\nZGVm"}')
    assert decode_secret(secret_store.read('wrapped')[0], 'x') == b'abcdef'
    assert not put_secret(secret_store, 'wrapped', b'abcdef').changed
    kept = put_secret(secret_store, 'wrapped', b'other', create_only=True)
    assert not kept.changed and kept.existed
    assert secret_store.read('wrapped')[0] == b'{"Data":"YWJj\\nZGVm"}'


def test_secret_names_are_one_path_segment(secret_store):
    for name in ('../admin', 'a/b', ''):
        with pytest.raises(ClusterError):
            put_secret(secret_store, name, b'x')
    assert put_secret(secret_store, 'system:dns', b'x').changed  # kOps's own names hold colons

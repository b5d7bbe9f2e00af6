"""keyset_info, ssh_public_key and secret through ansible-playbook, on the layouts kOps leaves: a state store on
file:// with the default key and secret stores, one on S3 (moto) with the key store in another bucket, and key and
secret stores on Vault (OpenBao, kOps's KV v2 layout). The material is made with cryptography and written, and
what the modules wrote is read back, without the collection; and the CA expiry audit playbook over a clusters list
and over an inventory."""

import base64
import hashlib
import json
import os
import uuid

import pytest

from support.kops_material import (
    CA,
    KeyStoreLayout,
    b64,
    ca_key,
    cluster_config,
    days,
    keyset_yaml,
    kops_test_ssh_key,
    leaked_private_material,
    secret_entry,
    ssh_public_key,
)
from servers.moto import clean_aws_environment
from servers.openbao import clean_vault_environment

CLUSTER = 'c1.example.com'


class FileFolder(object):
    """Entries below a local folder, read and written with plain file I/O."""

    def __init__(self, root):
        self.root = root

    def put(self, relative, data):
        path = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(data)

    def get(self, relative):
        try:
            with open(os.path.join(self.root, relative), 'rb') as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def names(self, folder):
        path = os.path.join(self.root, folder)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []


class S3Folder(object):
    """Entries below a prefix of a moto bucket, read and written with boto3."""

    def __init__(self, client, bucket, prefix):
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, relative, data):
        self.client.put_object(Bucket=self.bucket, Key='%s/%s' % (self.prefix, relative), Body=data)

    def get(self, relative):
        try:
            return self.client.get_object(Bucket=self.bucket, Key='%s/%s' % (self.prefix, relative))['Body'].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def names(self, folder):
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix='%s/%s/' % (self.prefix, folder))
        return sorted(item['Key'].rsplit('/', 1)[-1] for item in listed.get('Contents', []))


class VaultFolder(object):
    """Entries below a path of a KV v2 mount as kOps keeps them (one secret per entry, its bytes in base64 under
    the key ``file``), read and written with hvac."""

    def __init__(self, client, mount, root):
        self.kv, self.mount, self.root = client.secrets.kv.v2, mount, root

    def put(self, relative, data):
        self.kv.create_or_update_secret(path='%s/%s' % (self.root, relative), secret={'file': b64(data)},
                                        mount_point=self.mount)

    def get(self, relative):
        import hvac.exceptions

        try:
            read = self.kv.read_secret_version(path='%s/%s' % (self.root, relative), mount_point=self.mount,
                                               raise_on_deleted_version=True)
        except hvac.exceptions.InvalidPath:
            return None
        return base64.b64decode(read['data']['data']['file'])

    def names(self, folder):
        import hvac.exceptions

        try:
            listed = self.kv.list_secrets(path='%s/%s' % (self.root, folder), mount_point=self.mount)['data']['keys']
        except hvac.exceptions.InvalidPath:
            return []
        # soft-deleted secrets stay listed in Vault's metadata: an entry is there when it can be read
        return sorted(name for name in listed if self.get('%s/%s' % (folder, name)) is not None)


class KopsCluster(object):
    """A cluster's config in a state store, with where its key and secret stores are (raw folders)."""

    def __init__(self, state_store, env, keys, secrets, key_store):
        self.state_store, self.env, self.keys, self.secrets, self.key_store = state_store, env, keys, secrets, key_store


@pytest.fixture(params=['file', 's3', 'vault'])
def kops_cluster(request, tmp_path):
    """The cluster c1.example.com as kOps lays it out on one kind of store (see the module docstring)."""
    suffix = uuid.uuid4().hex[:8]
    if request.param == 's3':
        import boto3

        moto = request.getfixturevalue('moto_server')
        client = boto3.client('s3', endpoint_url=moto.endpoint, region_name='us-east-1',
                              aws_access_key_id='testing', aws_secret_access_key='testing')
        state, keys = 'state-%s' % suffix, 'keys-%s' % suffix
        for bucket in (state, keys):
            client.create_bucket(Bucket=bucket)
        key_store = 's3://%s/%s/pki' % (keys, CLUSTER)
        S3Folder(client, state, CLUSTER).put('config', cluster_config(CLUSTER, 's3://%s/%s' % (state, CLUSTER),
                                                                      key_store=key_store))
        # the kOps way to reach an S3-compatible server: S3_ENDPOINT and its keys, in the modules' environment
        env = clean_aws_environment(S3_ENDPOINT=moto.endpoint, S3_REGION='us-east-1', S3_ACCESS_KEY_ID='testing',
                                    S3_SECRET_ACCESS_KEY='testing')
        return KopsCluster('s3://%s' % state, env, S3Folder(client, keys, '%s/pki' % CLUSTER),
                           S3Folder(client, state, '%s/secrets' % CLUSTER), key_store)
    state = FileFolder(str(tmp_path / 'state'))
    config_base = os.path.join(state.root, CLUSTER)  # a file store's configBase, as kOps renders it: no scheme
    if request.param == 'file':
        state.put('%s/config' % CLUSTER, cluster_config(CLUSTER, config_base))
        return KopsCluster(state.root, clean_aws_environment(), FileFolder(os.path.join(config_base, 'pki')),
                           FileFolder(os.path.join(config_base, 'secrets')), os.path.join(config_base, 'pki'))
    openbao, mount = request.getfixturevalue('openbao_server'), request.getfixturevalue('vault_mount')
    vault = 'vault://127.0.0.1:%d/%s/clusters/%s' % (openbao.port, mount, CLUSTER)
    key_store, secret_store = vault + '/keys?tls=false', vault + '/secrets?tls=false'
    state.put('%s/config' % CLUSTER, cluster_config(CLUSTER, config_base, key_store, secret_store))
    client = openbao.client()
    # the Vault the stores are on is named by the operator's environment, not only by the stored config
    environment = clean_vault_environment(VAULT_TOKEN=openbao.root_token, VAULT_ADDR=openbao.address)
    return KopsCluster('file://%s' % state.root, environment,
                       VaultFolder(client, mount, 'clusters/%s/keys' % CLUSTER),
                       VaultFolder(client, mount, 'clusters/%s/secrets' % CLUSTER), key_store)


@pytest.fixture(scope='module')
def layout():
    return KeyStoreLayout()


def results(path):
    with open(str(path)) as handle:
        return json.load(handle)


def test_keyset_info(kops_cluster, layout, run_playbook, tmp_path):
    for path, data in layout.entries().items():
        kops_cluster.keys.put(path, data)
    result_file = tmp_path / 'results.json'
    run = run_playbook('tests/integration/playbooks/cluster_stores_keysets.yml',
                       dict(store=kops_cluster.state_store, cluster=CLUSTER, result_file=str(result_file)),
                       args=['-vvv', '--diff'], env=kops_cluster.env)
    assert run.rc == 0, run
    found = results(result_file)
    read, wide = found['read'], found['wide']
    assert read['key_store'] == kops_cluster.key_store and not read['changed']
    keysets = dict((keyset['name'], keyset) for keyset in read['keysets'])
    assert sorted(keysets) == sorted(layout.keysets)
    cas = layout.cas
    assert keysets['kubernetes-ca']['primary_id'] == cas['new'].id
    assert [(key['id'], key['distrusted'], key['private_key']) for key in keysets['kubernetes-ca']['certificates']] == \
        [(cas['old'].id, True, True), (cas['new'].id, False, True)]
    assert sorted((item['keyset'], item['id'], item['days_left']) for item in read['expiring']) == \
        [('apiserver-aggregator-ca', cas['staged_old'].id, 5), ('etcd-clients-ca', cas['etcd'].id, 10)]
    assert len(wide['expiring']) == 5  # every trusted key, in check mode too
    assert found['missing'] is not None and found['missing']['failed']
    assert 'cluster missing.example.com does not exist' in found['missing']['msg']
    assert leaked_private_material(run.output + json.dumps(found), layout.private_pems) == []


def test_a_broken_keyset_is_reported_and_the_others_read(kops_cluster, layout, run_playbook, tmp_path):
    kops_cluster.keys.put('private/kubernetes-ca/keyset.yaml', layout.keysets['kubernetes-ca'])
    ca = layout.cas['etcd']
    kops_cluster.keys.put('private/etcd-clients-ca/keyset.yaml', layout.keysets['etcd-clients-ca'].replace(
        b64(ca.certificate_pem).encode(), b64(ca.private_pem).encode()))
    result_file = tmp_path / 'results.json'
    run = run_playbook('tests/integration/playbooks/cluster_stores_keysets.yml',
                       dict(store=kops_cluster.state_store, cluster=CLUSTER, result_file=str(result_file)),
                       env=kops_cluster.env)
    assert run.rc == 0, run
    keysets = dict((keyset['name'], keyset) for keyset in results(result_file)['read']['keysets'])
    assert 'publicMaterial is not a PEM certificate' in keysets['etcd-clients-ca']['error']
    assert keysets['kubernetes-ca']['error'] is None and len(keysets['kubernetes-ca']['certificates']) == 2
    assert '[WARNING]: keyset etcd-clients-ca was not read' in run.output
    assert leaked_private_material(run.output, [ca.private_pem]) == []


def kops_id(line):
    """The entry name kOps gives an SSH public key: the MD5 of its wire form, hex without colons."""
    return hashlib.md5(base64.b64decode(line.split()[1])).hexdigest()


def test_ssh_public_key(kops_cluster, run_playbook, tmp_path):
    rsa, ed25519 = ssh_public_key('rsa'), ssh_public_key('ed25519', comment='ops@example.com')
    bad = 'ssh-ed25519 %s admin' % ed25519.split()[1][:-8]  # truncated
    result_file = tmp_path / 'results.json'
    run = run_playbook('tests/integration/playbooks/cluster_stores_ssh.yml',
                       dict(store=kops_cluster.state_store, cluster=CLUSTER, rsa_key=rsa, ed25519_key=ed25519,
                            bad_key=bad, result_file=str(result_file)), env=kops_cluster.env)
    assert run.rc == 0, run
    middle = results(str(result_file) + '.middle')
    first, again = middle['add_rsa']['results']
    assert first['changed'] and not again['changed']
    assert first['id'] == kops_id(rsa) and first['type'] == 'ssh-rsa'
    assert first['fingerprint'].replace(':', '') == kops_id(rsa) and first['fingerprint'].count(':') == 15
    checked = middle['add_ed25519_checked']
    assert checked['changed'] and checked['diff']['before'] == rsa + '\n'
    assert sorted(checked['diff']['after'].splitlines()) == sorted([rsa, ed25519])
    assert middle['add_ed25519']['changed'] and len(middle['add_ed25519']['public_keys']) == 2
    exclusive = middle['exclusive']
    assert exclusive['changed'] and [key['key'] for key in exclusive['public_keys']] == [ed25519]
    assert exclusive['diff']['after'] == ed25519 + '\n'
    assert middle['malformed']['failed'] and 'not a valid SSH public key' in middle['malformed']['msg']
    final = results(result_file)
    assert [item['changed'] for item in final['remove_one']['results']] == [False, True]
    assert final['remove_all']['changed'] and final['remove_all']['public_keys'] == []
    assert kops_cluster.keys.names('ssh/public/admin') == []


def test_ssh_public_key_entry_is_where_kops_puts_it(kops_cluster, run_playbook, tmp_path):
    """A key kops create sshpublickey wrote stays when a malformed replacement is refused, and goes when a valid one
    replaces it: the key store then holds that key alone, at kOps's path, as the line of its .pub file."""
    rsa, ed25519 = ssh_public_key('rsa'), ssh_public_key('ed25519')
    kops_cluster.keys.put('ssh/public/admin/%s' % kops_id(rsa), (rsa + '\n').encode())  # as kops create sshpublickey
    result_file = tmp_path / 'result.json'
    for key, refused in (('ssh-rsa %s' % rsa.split()[1][:40], True), (ed25519, False)):
        run = run_playbook('tests/integration/playbooks/cluster_stores_ssh_key.yml',
                           dict(store=kops_cluster.state_store, cluster=CLUSTER, key=key, result_file=str(result_file)),
                           env=kops_cluster.env)
        assert run.rc == 0 and results(result_file).get('failed', False) is refused, run
        if refused:
            assert 'not a valid SSH public key' in results(result_file)['msg']
            assert kops_cluster.keys.names('ssh/public/admin') == [kops_id(rsa)]  # nothing changed
    assert kops_cluster.keys.names('ssh/public/admin') == [kops_id(ed25519)]
    assert kops_cluster.keys.get('ssh/public/admin/%s' % kops_id(ed25519)) == ed25519.encode()  # as given


def test_a_key_is_stored_as_kops_stores_the_file_it_is_given(kops_cluster, run_playbook, tmp_path):
    """kOps's own test key, first as lookup('file') gives it (no final newline), then as its .pub file holds it:
    stored as given the first time, at the entry kOps's golden terraform output names; the second is the same
    key to kOps (it reads the entry trimmed), so nothing changes."""
    data, fingerprint = kops_test_ssh_key()
    entry = 'ssh/public/admin/' + fingerprint.replace(':', '')
    result_file = tmp_path / 'result.json'
    for given, changed in ((data.decode().rstrip('\n'), True), (data.decode(), False)):
        run = run_playbook('tests/integration/playbooks/cluster_stores_ssh_key.yml',
                           dict(store=kops_cluster.state_store, cluster=CLUSTER, key=given, result_file=str(result_file)),
                           env=kops_cluster.env)
        result = results(result_file)
        assert run.rc == 0 and result['changed'] is changed, run
        assert result['fingerprint'] == fingerprint and result['id'] == entry.rsplit('/', 1)[1]
        assert kops_cluster.keys.names('ssh/public/admin') == [entry.rsplit('/', 1)[1]]
        assert kops_cluster.keys.get(entry) == data.rstrip(b'\n')


def test_secret(kops_cluster, run_playbook, tmp_path):
    value, new_value = 'Secret-%s' % uuid.uuid4().hex, 'Rotated-%s' % uuid.uuid4().hex
    kops_cluster.secrets.put('admin', secret_entry('kept-' + value))  # written by kOps, left alone
    result_file = tmp_path / 'results.json'
    run = run_playbook('tests/integration/playbooks/cluster_stores_secrets.yml',
                       dict(store=kops_cluster.state_store, cluster=CLUSTER, secret_value=value, new_value=new_value,
                            result_file=str(result_file)), args=['-vvv', '--diff'], env=kops_cluster.env)
    assert run.rc == 0, run
    middle, final = results(str(result_file) + '.middle'), results(result_file)
    first, again = middle['create']['results']
    assert (first['changed'], first['created'], again['changed']) == (True, True, False)
    assert first['diff']['before'] == '' and 'value not shown' in first['diff']['after']
    assert not middle['get_or_create']['changed'] and not middle['get_or_create']['created']
    assert middle['get_or_create_new']['created']
    checked, updated = final['update']['results']
    assert checked['changed'] and updated['changed'] and 'new value, not shown' in updated['diff']['after']
    assert final['no_value']['failed'] and 'value' in final['no_value']['msg']
    assert [(item['changed'], item['exists']) for item in final['remove']['results']] == \
        [(True, False), (True, False), (False, False)]
    # written exactly as kOps writes them; the get-or-created one keeps its first value; kOps's own untouched
    assert kops_cluster.secrets.get('dockerconfig') is None
    assert kops_cluster.secrets.get('kube') == secret_entry(new_value)
    assert kops_cluster.secrets.get('admin') == secret_entry('kept-' + value)
    assert '/secrets/dockerconfig' in first['location']
    for secret in (value, new_value):
        for form in (secret, b64(secret)):
            assert form not in run.output and form not in json.dumps(middle) + json.dumps(final), form


def test_secrets_are_read_as_kops_reads_them(kops_cluster, run_playbook, tmp_path):
    """A secret whose Data is a number fails kOps's read: get-or-create fails too and writes nothing. One whose
    base64 is wrapped holds the value kOps reads (Go skips the line breaks): given again it is unchanged, and
    get-or-create keeps it."""
    kops_cluster.secrets.put('number', b'{"Data":1234}')
    kops_cluster.secrets.put('wrapped', b'{"Data":"YWJj\\nZGVm"}')
    result_file = tmp_path / 'results.json'
    run = run_playbook('tests/integration/playbooks/cluster_stores_secret_reads.yml',
                       dict(store=kops_cluster.state_store, cluster=CLUSTER, result_file=str(result_file)),
                       env=kops_cluster.env)
    assert run.rc == 0, run
    found = results(result_file)
    assert found['number']['failed'] and 'the Data field of the secret is a number' in found['number']['msg']
    assert not found['wrapped_same']['changed'] and found['wrapped_same']['exists']
    assert not found['wrapped_kept']['changed'] and not found['wrapped_kept']['created']
    assert kops_cluster.secrets.get('number') == b'{"Data":1234}'
    assert kops_cluster.secrets.get('wrapped') == b'{"Data":"YWJj\\nZGVm"}'


# -- the CA expiry audit playbook -------------------------------------------------------------------

def audit_clusters(state):
    """c1 with the rotated layout (two CAs ending within 30 days), c2 with a CA ending in 400 days."""
    layout = KeyStoreLayout()
    for name in ('c1.example.com', 'c2.example.com'):
        state.put('%s/config' % name, cluster_config(name, os.path.join(state.root, name)))
    for path, data in layout.entries().items():
        state.put('c1.example.com/pki/%s' % path, data)
    long_lived = CA('kubernetes-ca', days(-10), days(400))
    state.put('c2.example.com/pki/private/kubernetes-ca/keyset.yaml',
              keyset_yaml('kubernetes-ca', [ca_key(long_lived)], long_lived.id))
    return layout


def table_rows(output):
    return [line for line in output.splitlines() if '.example.com ' in line and '-ca ' in line]


def test_ca_expiry_audit_over_a_clusters_list(run_playbook, tmp_path):
    state = FileFolder(str(tmp_path / 'state'))
    layout = audit_clusters(state)
    clusters = [dict(name='c1.example.com', state_store=state.root), 'c2.example.com']
    env = clean_aws_environment(KOPS_STATE_STORE='file://%s' % state.root)  # the store of c2, named alone
    found = run_playbook('playbooks/ca_expiry_audit.yml', dict(clusters=clusters), env=env)
    assert found.rc != 0 and '2 CAs end within 30 days (c1.example.com)' in found.output, found
    rows = table_rows(found.output)
    assert len(rows) == 2 and all('c1.example.com' in row for row in rows), found
    assert 'etcd-clients-ca' in found.output and layout.cas['staged_old'].id in found.output
    assert '2 clusters audited' in found.output
    quiet = run_playbook('playbooks/ca_expiry_audit.yml', dict(clusters=clusters, ca_expiry_audit_days=4), env=env)
    assert quiet.rc == 0 and table_rows(quiet.output) == [], quiet
    longer = run_playbook('playbooks/ca_expiry_audit.yml', dict(clusters=clusters, ca_expiry_audit_days=500), env=env)
    rows = table_rows(longer.output)  # c2's CA too; never service-account, which is no CA
    assert longer.rc != 0 and len(rows) == 3 and sum('c2.example.com' in row for row in rows) == 1, longer
    assert 'service-account' not in longer.output
    missing = run_playbook('playbooks/ca_expiry_audit.yml',
                           dict(clusters=['c2.example.com', 'gone.example.com'], ca_expiry_audit_days=4), env=env)
    assert missing.rc != 0 and 'gone.example.com: cluster gone.example.com does not exist' in missing.output, missing
    assert leaked_private_material(found.output + longer.output, layout.private_pems) == []


def test_ca_expiry_audit_over_an_inventory_on_s3(run_playbook, moto_server, tmp_path):
    import boto3

    client = boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1',
                          aws_access_key_id='testing', aws_secret_access_key='testing')
    bucket = 'audit-%s' % uuid.uuid4().hex[:8]
    client.create_bucket(Bucket=bucket)
    state = S3Folder(client, bucket, 'fleet')
    state.root = 's3://%s/fleet' % bucket
    audit_clusters(state)
    # the hosts the kops.state_store.clusters inventory plugin makes: one per cluster, with kops_state_store
    inventory = tmp_path / 'fleet.yml'
    inventory.write_text(json.dumps({'kops_clusters': {'hosts': {
        'c1.example.com': {'kops_state_store': state.root},
        'c2.example.com': {'kops_state_store': state.root},
        'not-a-cluster.example.com': {}}}}))
    env = clean_aws_environment(S3_ENDPOINT=moto_server.endpoint, S3_ACCESS_KEY_ID='testing',
                                S3_SECRET_ACCESS_KEY='testing')
    found = run_playbook('playbooks/ca_expiry_audit.yml', args=['-i', str(inventory)], env=env)
    assert found.rc != 0 and '2 clusters audited' in found.output, found
    assert len(table_rows(found.output)) == 2
    limited = run_playbook('playbooks/ca_expiry_audit.yml', dict(ca_expiry_audit_hosts='c2.example.com'),
                           args=['-i', str(inventory)], env=env)
    assert limited.rc == 0 and '1 clusters audited' in limited.output, limited


def test_without_cryptography_the_modules_say_what_is_missing(run_playbook, tmp_path):
    """On a host without the cryptography library, keyset_info fails naming it."""
    state = FileFolder(str(tmp_path / 'state'))
    state.put('%s/config' % CLUSTER, cluster_config(CLUSTER, os.path.join(state.root, CLUSTER)))
    ca = CA('kubernetes-ca', days(-1), days(3650))
    state.put('%s/pki/private/kubernetes-ca/keyset.yaml' % CLUSTER, keyset_yaml('kubernetes-ca', [ca_key(ca)], ca.id))
    blocked = tmp_path / 'without-cryptography' / 'cryptography'
    blocked.mkdir(parents=True)
    (blocked / '__init__.py').write_text('raise ImportError("No module named \'cryptography\'")\n')
    run = run_playbook('tests/integration/playbooks/cluster_stores_keysets.yml',
                       dict(store=state.root, cluster=CLUSTER, result_file=str(tmp_path / 'results.json')),
                       env=clean_aws_environment(PYTHONPATH=str(blocked.parent)))
    assert run.rc != 0 and 'the cryptography Python library is required' in run.output, run

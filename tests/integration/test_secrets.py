"""Secret entries where kOps really keeps them (key and secret stores in other buckets, etcd backups, Vault)
stay secret on every way out of a run, and a failing entry task never shows its content: each scenario runs
through ansible-playbook at -vvv with --diff, and the registered results and the whole output are scanned."""

import base64
import gzip
import json
import os
import uuid

import boto3
import pytest

from servers.moto import clean_aws_environment
from servers.openbao import clean_vault_environment

MARK = 'TopSecret%s' % uuid.uuid4().hex
PEM_KEY = '-----BEGIN RSA PRIVATE KEY-----\n%s-key\n-----END RSA PRIVATE KEY-----\n' % MARK
PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBATAN\n-----END CERTIFICATE-----\n'
KEY_ID = '7324712498473917233'


def b64(text):
    return base64.b64encode(text if isinstance(text, bytes) else text.encode()).decode()


def keyset(private):
    """A Keyset as kOps writes it: PEM material, base64 as Go encodes []byte."""
    material = '    publicMaterial: %s\n' % b64(PEM_CERT)
    if private:
        material += '    privateMaterial: %s\n' % b64(PEM_KEY)
    return ('apiVersion: kops.k8s.io/v1alpha2\nkind: Keyset\nmetadata:\n  creationTimestamp: null\n'
            '  name: kubernetes-ca\nspec:\n  keys:\n  - id: "%s"\n%s  primaryId: "%s"\n  type: Keypair\n'
            % (KEY_ID, material, KEY_ID))


def cluster_config(name, config_base, key_store, secret_store):
    return ('apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: %s\nspec:\n'
            '  cloudProvider: aws\n  configBase: %s\n  keyStore: %s\n  secretStore: %s\n'
            '  kubernetesVersion: 1.31.4\n' % (name, config_base, key_store, secret_store))


@pytest.fixture
def kops_layout(moto_server):
    """A cluster whose key store and secret store live in other buckets, as kOps lays them out there, with
    etcd backups below its configBase. Written with boto3, not with the collection. Returns
    (entries {location: (content bytes, secret?)}, the state store location)."""
    client = boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1',
                          aws_access_key_id='testing', aws_secret_access_key='testing')
    suffix = uuid.uuid4().hex[:8]
    state, keys, secrets = ('state-%s' % suffix, 'keys-%s' % suffix, 'secrets-%s' % suffix)
    for bucket in (state, keys, secrets):
        client.create_bucket(Bucket=bucket)
    name = 'c1.example.com'
    base = 's3://%s/%s' % (state, name)
    snapshot = gzip.compress(('etcd snapshot: kind: Secret data: password: %s\n' % b64(MARK)).encode())
    entries = {
        base + '/config': (cluster_config(name, base, 's3://%s/%s' % (keys, name), 's3://%s/%s' % (secrets, name)), False),
        base + '/instancegroup/nodes': ('apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\n', False),
        base + '/backups/etcd/main/2026-11-30T10:00:00Z-000001/etcd.backup.gz': (snapshot, True),
        base + '/backups/etcd/main/2026-11-30T10:00:00Z-000001/_etcd_backup.meta':
            ('{"etcdVersion":"3.5.9","timestamp":"1764496800"}', True),
        base + '/addons/registry/credentials.yaml': ('password: %s-registry\n' % MARK, True),  # by secret_patterns
        's3://%s/%s/private/kubernetes-ca/keyset.yaml' % (keys, name): (keyset(private=True), True),
        's3://%s/%s/issued/kubernetes-ca/keyset.yaml' % (keys, name): (keyset(private=False), False),
        # the secret store's entries carry no folder name: kOps's {"Data": ...} format tells
        's3://%s/%s/admin' % (secrets, name): (json.dumps({'Data': b64(MARK + '-admin')}), True),
    }
    for location, (content, _secret) in entries.items():
        bucket, key = location[len('s3://'):].split('/', 1)
        client.put_object(Bucket=bucket, Key=key, Body=content if isinstance(content, bytes) else content.encode())
    return entries, 's3://%s' % state


def leaked(text, entries):
    """Secret contents (as text, base64 or their marker) found in ``text``."""
    found = []
    for location, (content, secret) in entries.items():
        raw = content if isinstance(content, bytes) else content.encode()
        forms = [b64(raw)] + ([raw.decode()] if not isinstance(content, bytes) else [])
        if secret and any(form in text for form in forms):
            found.append(location)
    if MARK in text:
        found.append('the marker')
    return found


def test_kops_layouts_stay_secret(run_playbook, moto_server, kops_layout, tmp_path):
    entries, state_store = kops_layout
    locations = sorted(entries)
    new_contents = dict((location, 'rewritten %s\n' % location) for location in locations)
    new_contents.update((location, json.dumps({'Data': b64(MARK + '-rotated')}))
                        for location in locations if location.endswith('/admin'))
    result_file = tmp_path / 'results.json'
    run = run_playbook('tests/integration/playbooks/secret_layouts.yml', dict(
        entries=locations, new_contents=new_contents, patterns=['*/credentials.yaml'], result_file=str(result_file),
        store_roots=sorted(set(location.rsplit('/', 3)[0] if '/private/' in location or '/issued/' in location
                               else location.split('/c1.example.com/')[0] for location in locations)),
        copy_source=state_store, copy_dest='file://%s' % (tmp_path / 'copy')), args=['-vvv', '--diff'],
        env=clean_aws_environment(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing',
                                  AWS_REGION='us-east-1', AWS_ENDPOINT_URL=moto_server.endpoint))
    assert run.rc == 0, run
    results = json.loads(result_file.read_text())
    assert leaked(run.output, entries) == []
    assert leaked(json.dumps(results), entries) == []

    for read, write, lookup in zip(results['reads'], results['writes'], results['lookups']):
        location = read['item']
        content, secret = entries[location]
        assert read['redacted'] is secret and (read['content'] is None) is secret, location
        assert (read['hash'] is None) is secret, location
        assert lookup.get('failed', False) is secret, location
        assert write['changed'] and write['secret'] is secret, location
        if secret:
            assert 'reveal_secrets' in lookup['msg'] and 'secret content not shown' in write['diff']['before']
            assert 'secret content not shown' in write['diff']['after']
        else:  # public entries stay fully visible
            assert read['content'] == content and lookup['ansible_facts']['looked_up'] == content
            assert write['diff']['before'] == content and write['diff']['after'] == new_contents[location]
    for listing in results['listings']:
        for listed in listing['entries']:
            location = '%s/%s' % (listing['item'], listed['path'])
            # a listing reads no content: the secret store entry known only by its format keeps its hash
            secret_by_location = entries[location][1] and not location.endswith('/admin')
            assert (listed['hash'] is None) is secret_by_location, location

    copied = sorted(os.path.relpath(os.path.join(folder, name), str(tmp_path / 'copy'))
                    for folder, _dirs, names in os.walk(str(tmp_path / 'copy')) for name in names)
    assert copied == ['c1.example.com/config', 'c1.example.com/instancegroup/nodes']
    assert results['copy']['secrets_skipped'] == 3


@pytest.fixture
def blocked_library(tmp_path):
    """A PYTHONPATH folder on which importing ``name`` fails as when it is not installed."""
    def block(name):
        folder = tmp_path / ('without-%s' % name) / name
        folder.mkdir(parents=True)
        (folder / '__init__.py').write_text('raise ImportError("No module named %r")\n' % name)
        return str(folder.parent)
    return block


FAILURES = {
    'bad argument': (dict(entry_path='c1/config', entry_state='bogus', store='memfs://failures'), {},
                     'value of state must be one of'),
    'bad location': (dict(entry_path='s3:///c1/secrets/admin'), {}, 'empty bucket name'),
    'missing boto3': (dict(entry_path='s3://bucket/c1/secrets/admin'), {'block': 'boto3'},
                      'required Python library (boto3)'),
    'missing hvac': (dict(entry_path='vault://127.0.0.1:1/secret/c1/secrets/admin?tls=false', token='not-a-token'),
                     {'block': 'hvac'}, 'required Python library (hvac)'),
    'no S3 keys': (dict(entry_path='s3://bucket/c1/config'), {'S3_ENDPOINT': 'http://127.0.0.1:1'},
                   'S3_ACCESS_KEY_ID cannot be empty'),
    'denied by Vault': (dict(token='not-a-token'), {'vault': True}, 'denied'),
}


@pytest.mark.parametrize('case', sorted(FAILURES))
def test_failures_never_show_the_content(run_playbook, openbao_server, blocked_library, tmp_path, case):
    extra_vars, setup, message = FAILURES[case]
    secret = 'FailingContent-%s' % uuid.uuid4().hex
    extra_vars = dict(extra_vars, secret_content=secret, result_file=str(tmp_path / 'result.json'))
    environment = clean_vault_environment(**clean_aws_environment())
    if setup.get('vault'):
        extra_vars['entry_path'] = 'vault://127.0.0.1:%d/secret/c1/secrets/admin?tls=false' % openbao_server.port
    if setup.get('block'):
        environment['PYTHONPATH'] = blocked_library(setup['block'])
    environment.update((key, value) for key, value in setup.items() if key.isupper())
    run = run_playbook('tests/integration/playbooks/entry_failure.yml', extra_vars, args=['-vvv', '--diff'],
                       env=environment)
    assert run.rc == 0, run
    result = json.loads((tmp_path / 'result.json').read_text())
    assert result['failed'] and message in result['msg'], result
    assert secret not in run.output and b64(secret) not in run.output
    assert secret not in json.dumps(result)


def test_parse_errors_name_the_line_not_the_text(run_playbook, tmp_path):
    password = 'hunter2-%s' % uuid.uuid4().hex
    broken = ('apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: c1\nspec:\n'
              '  fileAssets:\n  - content: password=%s : [unclosed\n' % password)
    (tmp_path / 'store' / 'c1').mkdir(parents=True)
    (tmp_path / 'store' / 'c1' / 'config').write_text(broken)
    (tmp_path / 'broken.yaml').write_text(broken.replace('name: c1', 'name: c2'))
    run = run_playbook('tests/integration/playbooks/parse_errors.yml', dict(
        store='file://%s' % (tmp_path / 'store'), broken_definition=str(tmp_path / 'broken.yaml'),
        result_file=str(tmp_path / 'results.json')), args=['-vvv'])
    assert run.rc == 0, run
    results = json.loads((tmp_path / 'results.json').read_text())
    messages = [results['merged']['msg'], results['replaced']['msg']] + [item['msg'] for item in results['lookups']]
    # PyYAML's snippet of the line may be cut at its start: look for the password's end too
    assert all(password not in message and password[-12:] not in message for message in messages), messages
    assert 'c1/config is not valid YAML at line 7, column 64: mapping values are not allowed here' in results['merged']['msg']
    assert 'definition is not valid YAML at line 7, column 64: mapping values are not allowed here' in results['replaced']['msg']
    assert 'c1/config is not valid YAML at line 7, column 64: mapping values are not allowed here' in results['lookups'][0]['msg']
    assert 'c1/config is not valid JSON at line 1, column 1' in results['lookups'][1]['msg']
    assert (tmp_path / 'store' / 'c1' / 'config').read_text() == broken  # nothing was written

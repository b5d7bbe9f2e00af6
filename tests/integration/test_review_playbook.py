"""playbooks/review_state_changes.yml (kOps's review workflow) against S3 on the moto server, with clusters laid out
as kOps lays them out: the proposal applied to a local copy, the difference from production shown, production
never changed, and production's secrets kept off the local disk unless asked for."""

import base64
import gzip
import json
import os
import re
import shutil
import stat
import subprocess
import uuid

import boto3
import pytest
import yaml

REVIEW = 'playbooks/review_state_changes.yml'
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(REPO, 'tests', 'fixtures', 'kops-clusters', 'minimal-aws.yaml')
CLUSTER = 'minimal-aws.example.com'
MARK = 'ReviewSecret%s' % uuid.uuid4().hex
SECRET_FOLDERS = ('secrets', 'pki', 'private', 'backups')


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def keyset(name, private):
    """A Keyset as kOps writes it (pki/private/<name>/keyset.yaml holds the private key, pki/issued/ only the
    certificate)."""
    material = '    publicMaterial: %s\n' % b64('-----BEGIN CERTIFICATE-----\nMIIC%s\n-----END CERTIFICATE-----\n' % name)
    if private:
        material += '    privateMaterial: %s\n' % b64(
            '-----BEGIN RSA PRIVATE KEY-----\n%s-%s\n-----END RSA PRIVATE KEY-----\n' % (MARK, name))
    return ('apiVersion: kops.k8s.io/v1alpha2\nkind: Keyset\nmetadata:\n  creationTimestamp: null\n  name: %s\n'
            'spec:\n  keys:\n  - id: "7324712498473917233"\n%s  primaryId: "7324712498473917233"\n  type: Keypair\n'
            % (name, material))


def kops_cluster(bucket, name=CLUSTER):
    """{key: bytes} of a cluster in kOps's layout below s3://<bucket>/<name>: the documents of
    tests/fixtures/kops-clusters/minimal-aws.yaml (configBase pointing here), the files kops update writes,
    the key store (pki/private, pki/issued, pki/ssh), the secret store (secrets/) and etcd backups (backups/)."""
    with open(FIXTURE) as handle:
        documents = list(yaml.safe_load_all(handle))
    cluster = documents[0]
    cluster['metadata']['name'] = name
    cluster['spec']['configBase'] = 's3://%s/%s' % (bucket, name)
    snapshot = gzip.compress(('etcd snapshot kind: Secret password: %s\n' % b64(MARK)).encode())
    files = {
        'config': yaml.safe_dump(cluster),
        'cluster-completed.spec': yaml.safe_dump(cluster),
        'kops-version.txt': '1.30.0',
        'addons/bootstrap-channel.yaml': 'kind: Addons\nmetadata:\n  name: bootstrap\n',
        'pki/private/kubernetes-ca/keyset.yaml': keyset('kubernetes-ca', private=True),
        'pki/private/service-account/keyset.yaml': keyset('service-account', private=True),
        'pki/issued/kubernetes-ca/keyset.yaml': keyset('kubernetes-ca', private=False),
        'pki/ssh/public/admin/be0ffc3e2e11c13cbbc5d5f3c3d9f6b1': 'ssh-rsa AAAAB3NzaC1yc2E admin@example.com\n',
        'secrets/admin': json.dumps({'Data': b64(MARK + '-admin')}),
        'secrets/kube': json.dumps({'Data': b64(MARK + '-kube')}),
        'secrets/dockerconfig': json.dumps({'Data': b64('{"auths": {"r.example.com": "%s"}}' % MARK)}),
        'backups/etcd/main/2026-11-30T10:00:00Z-000001/etcd.backup.gz': snapshot,
        'backups/etcd/main/2026-11-30T10:00:00Z-000001/_etcd_backup.meta': '{"etcdVersion":"3.5.9"}',
        'backups/etcd/main/control/etcd-cluster-spec': '{"memberCount":1,"etcdVersion":"3.5.9"}',
        'backups/etcd/events/2026-11-30T10:00:00Z-000001/etcd.backup.gz': snapshot,
    }
    for group in documents[1:]:
        group['metadata']['labels']['kops.k8s.io/cluster'] = name
        files['instancegroup/' + group['metadata']['name']] = yaml.safe_dump(group)
    return dict(('%s/%s' % (name, path), content if isinstance(content, bytes) else content.encode())
                for path, content in files.items())


def is_secret(path):
    return any(folder in SECRET_FOLDERS for folder in path.split('/')[:-1])


@pytest.fixture
def s3(aws_environment):
    return boto3.client('s3', endpoint_url=aws_environment['AWS_ENDPOINT_URL'], region_name='us-east-1',
                        aws_access_key_id='testing', aws_secret_access_key='testing')


@pytest.fixture
def production(s3, s3_bucket):
    """A production bucket with two clusters in kOps's layout; returns (location, {key: bytes} of the first)."""
    bucket = s3_bucket('prod')
    entries = kops_cluster(bucket)
    for key, body in list(entries.items()) + list(kops_cluster(bucket, 'other.example.com').items()):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return 's3://%s' % bucket, entries


def bucket_tree(s3, location):
    bucket = location[len('s3://'):]
    keys = [item['Key'] for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket)
            for item in page.get('Contents', [])]
    return dict((key, s3.get_object(Bucket=bucket, Key=key)['Body'].read()) for key in keys)


def local_tree(folder):
    """{path relative to folder: bytes} of every file below ``folder``."""
    found = {}
    for directory, _dirs, names in os.walk(str(folder)):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, 'rb') as handle:
                found[os.path.relpath(path, str(folder))] = handle.read()
    return found


def public(entries):
    return dict((key, body) for key, body in entries.items() if not is_secret(key))


def secret_files(tree):
    """Paths below a secret folder, and paths whose content holds a secret (in any form)."""
    return sorted(path for path, body in tree.items()
                  if is_secret(path) or MARK.encode() in body or b64(MARK).encode() in body
                  or (path.endswith('.gz') and MARK.encode() in gzip.decompress(body)))


def reviewed_folder(output):
    """The review folder the playbook reports (``Reviewed copy: file://<folder>/<cluster>``)."""
    match = re.search(r'Reviewed copy: file://(\S+)/%s\b' % re.escape(CLUSTER), output)
    assert match, output[-3000:]
    return match.group(1)


def secret_warnings(output):
    """The text of the [WARNING]s of the output that are about secrets on local disk (other warnings, such as the
    one about the test server's plain HTTP, are left out)."""
    found = []
    for block in re.split(r'\[WARNING\]: ', output)[1:]:
        text = ' '.join(re.split(r'\n(?!\s)', block, maxsplit=1)[0].split())
        if 'review_include_secrets' in text:
            found.append(text)
    return found


def spec_of(tree):
    return yaml.safe_load(tree['%s/config' % CLUSTER])['spec']


def run_review(run_playbook, aws_environment, production_store, **variables):
    variables.setdefault('cluster', CLUSTER)
    variables.setdefault('proposed_spec', dict(kubernetesVersion='v1.34.1'))
    return run_playbook(REVIEW, variables, env=dict(aws_environment, KOPS_STATE_STORE=production_store))


def test_default_leaves_secrets_out_of_a_private_temporary_folder(run_playbook, aws_environment, s3, production):
    store, entries = production
    before = bucket_tree(s3, store)
    result = run_review(run_playbook, aws_environment, store)
    folder = reviewed_folder(result.output)
    try:
        assert result.rc == 0, result
        # outside the checkout (or, if inside, ignored by git), and a fresh private folder
        inside = os.path.commonpath([os.path.realpath(folder), REPO]) == REPO
        ignored = subprocess.run(['git', '-C', REPO, 'check-ignore', '-q', folder], check=False).returncode == 0
        assert ignored or not inside, folder
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        copy = local_tree(folder)
        assert secret_files(copy) == []
        assert copy == public(entries) | {'%s/config' % CLUSTER: copy['%s/config' % CLUSTER]}
        assert spec_of(copy)['kubernetesVersion'] == 'v1.34.1'
        # the comparison leaves secrets out too: only the proposal's change is listed
        assert "Entries the proposal changes or removes: ['config']" in result.output, result
        assert 'Entries the proposal adds: []' in result.output, result
        # pki/ and secrets/; backups/ are excluded anyway
        assert 'Left out of the copy: 7 secret entries' in result.output, result
        assert secret_warnings(result.output) == [], result
        assert bucket_tree(s3, store) == before
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_include_secrets_brings_them_with_a_warning(run_playbook, aws_environment, s3, production, tmp_path):
    store, entries = production
    before = bucket_tree(s3, store)
    review_dir = tmp_path / 'review'
    result = run_review(run_playbook, aws_environment, store, review_dir=str(review_dir), review_include_secrets=True)
    assert result.rc == 0, result
    assert reviewed_folder(result.output) == str(review_dir)
    copy = local_tree(review_dir)
    wanted = dict((key, body) for key, body in entries.items() if not key.startswith(CLUSTER + '/backups/'))
    assert sorted(copy) == sorted(wanted)  # etcd backups are never downloaded
    assert all(copy[key] == body for key, body in wanted.items() if key != CLUSTER + '/config')
    warnings = secret_warnings(result.output)
    assert len(warnings) == 1, result
    assert 'secret entries' in warnings[0] and '%s/%s' % (review_dir, CLUSTER) in warnings[0], warnings
    assert "Entries the proposal changes or removes: ['config']" in result.output, result
    assert bucket_tree(s3, store) == before


def test_rerun_without_the_option_removes_secrets_from_the_copy(run_playbook, aws_environment, s3, production,
                                                                tmp_path):
    store, entries = production
    before = bucket_tree(s3, store)
    review_dir = tmp_path / 'review'
    first = run_review(run_playbook, aws_environment, store, review_dir=str(review_dir), review_include_secrets=True)
    assert first.rc == 0, first
    assert secret_files(local_tree(review_dir)) != []
    # a folder an older version of the playbook could have left, and a stray one deeper down
    (review_dir / CLUSTER / 'backups' / 'etcd').mkdir(parents=True)
    (review_dir / CLUSTER / 'backups' / 'etcd' / 'old.gz').write_bytes(entries[
        CLUSTER + '/backups/etcd/main/2026-11-30T10:00:00Z-000001/etcd.backup.gz'])
    (review_dir / CLUSTER / 'addons' / 'private').mkdir(parents=True)
    (review_dir / CLUSTER / 'addons' / 'private' / 'key').write_text(MARK)

    again = run_review(run_playbook, aws_environment, store, review_dir=str(review_dir),
                       proposed_spec=dict(kubernetesVersion='v1.34.2'))
    assert again.rc == 0, again
    copy = local_tree(review_dir)
    assert secret_files(copy) == []
    assert sorted(os.listdir(str(review_dir / CLUSTER))) == ['addons', 'cluster-completed.spec', 'config',
                                                             'instancegroup', 'kops-version.txt']
    assert spec_of(copy)['kubernetesVersion'] == 'v1.34.2'
    assert "Entries the proposal changes or removes: ['config']" in again.output, again
    assert secret_warnings(again.output) == [], again
    assert bucket_tree(s3, store) == before


# -- the review itself (moved from test_migrate_state_store.py) --------------------------------------------------

def test_merge_shows_the_diff_and_leaves_production_alone(run_playbook, aws_environment, s3, production, tmp_path):
    store, entries = production
    before = bucket_tree(s3, store)
    review_dir = tmp_path / 'review'
    result = run_review(run_playbook, aws_environment, store, review_dir=str(review_dir))
    assert result.rc == 0, result
    assert '-  kubernetesVersion: v1.34.0' in result.output and '+  kubernetesVersion: v1.34.1' in result.output
    assert "Entries the proposal changes or removes: ['config']" in result.output
    assert bucket_tree(s3, store) == before
    copy = local_tree(review_dir)
    assert spec_of(copy)['kubernetesVersion'] == 'v1.34.1'
    assert sorted(copy) == sorted(public(entries))  # the other cluster is not downloaded


def test_replace_lists_added_entries(run_playbook, aws_environment, s3, production, tmp_path):
    store, entries = production
    before = bucket_tree(s3, store)
    config = yaml.safe_load(entries[CLUSTER + '/config'])
    config['spec']['kubernetesVersion'] = 'v1.34.1'
    groups = [yaml.safe_load(body) for key, body in sorted(entries.items()) if '/instancegroup/' in key]
    extra = dict(apiVersion='kops.k8s.io/v1alpha2', kind='InstanceGroup', metadata=dict(name='extra'),
                 spec=dict(role='Node', machineType='t3.large', minSize=1, maxSize=1, subnets=['us-test-1a']))
    proposed = tmp_path / 'proposed.yaml'
    proposed.write_text(yaml.safe_dump_all([config] + groups + [extra]))
    result = run_playbook(REVIEW, dict(cluster=CLUSTER, review_dir=str(tmp_path / 'review'), production_store=store,
                                       proposed_file=str(proposed)), env=aws_environment)
    assert result.rc == 0, result
    assert "Entries the proposal adds: ['instancegroup/extra']" in result.output, result
    assert bucket_tree(s3, store) == before

"""What a history snapshot and a drift report read from an S3 store (moto behind a counting front, real git):
nothing but listings when nothing changed, the entry whose ETag changed even at the same size, and every entry
of a bucket whose listing carries no content hash (KMS default encryption: its ETags are not MD5s)."""

import os
import subprocess

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history import History
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history_repository import Git, store_folder
from servers.moto import admin_client

CLUSTER = 'a.k8s.local'
FIXTURE = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'kops-clusters', 'minimal-aws.yaml')
FIXTURE_NAME = 'minimal-aws.example.com'
PASSWORD = b'history-reads-password'
SECRET_PATHS = ('secrets/admin', 'pki/private/kubernetes-ca/keyset.yaml')
GIT_ENVIRONMENT = dict(os.environ, LC_ALL='C', GIT_TERMINAL_PROMPT='0', GIT_CONFIG_NOSYSTEM='1',
                       GIT_CONFIG_GLOBAL=os.devnull, GIT_AUTHOR_NAME='Tester', GIT_AUTHOR_EMAIL='tester@example.com',
                       GIT_COMMITTER_NAME='Tester', GIT_COMMITTER_EMAIL='tester@example.com')


def run_git(arguments, data=None):
    completed = subprocess.run(['git'] + arguments, input=data, capture_output=True, env=GIT_ENVIRONMENT, check=False)
    return completed.returncode, completed.stdout, completed.stderr


def seed(store):
    """A cluster as kOps lays it out; returns the paths of its entries that are not secret, relative to it."""
    with open(FIXTURE) as handle:
        documents = list(yaml.safe_load_all(handle.read().replace(FIXTURE_NAME, CLUSTER)))
    public = {'kops-version.txt': b'1.30.4', 'addons/bootstrap-channel.yaml': b'kind: Addons\n'}
    for document in documents:
        path = 'config' if document['kind'] == 'Cluster' else 'instancegroup/' + document['metadata']['name']
        public[path] = yaml.safe_dump(document).encode()
    for path, data in public.items():
        store.write('%s/%s' % (CLUSTER, path), data)
    store.write(CLUSTER + '/secrets/admin', b'{"Data": "c2VjcmV0"}')
    store.write(CLUSTER + '/pki/private/kubernetes-ca/keyset.yaml', b'privateMaterial: key\n')
    return sorted(public)


@pytest.fixture
def counted_store(s3_bucket, s3_counting_front):
    """``counted_store(kms=False)``: a fresh bucket opened through the counting front (with ``kms`` the bucket
    encrypts with SSE-KMS by default)."""
    def make(kms=False):
        bucket = s3_bucket('history-reads')
        if kms:
            default = {'SSEAlgorithm': 'aws:kms', 'KMSMasterKeyID': 'alias/kops'}
            admin_client(s3_counting_front.target_endpoint).put_bucket_encryption(
                Bucket=bucket, ServerSideEncryptionConfiguration={'Rules': [{'ApplyServerSideEncryptionByDefault': default}]})
        settings = dict(endpoint_url=s3_counting_front.endpoint, access_key='testing', secret_key='testing',
                        region='us-east-1')
        return open_store('s3://%s' % bucket, settings)
    return make


def history(store, repository, **options):
    return History(store, Git(run_git, str(repository)), store_folder(store.location), **options)


def reads(front):
    """The entries of the cluster read since the last call, relative to it."""
    read = [key[len(CLUSTER) + 1:] for key in front.object_reads() if key.startswith(CLUSTER + '/')]
    front.forget()
    return read


def test_nothing_changed_reads_no_entry_and_a_same_size_change_is_found(counted_store, s3_counting_front, tmp_path):
    store = counted_store()
    public = seed(store)
    repository = tmp_path / 'history'
    s3_counting_front.forget()
    first = history(store, repository).snapshot()
    assert first['changed'] and first['clusters'][CLUSTER]['added'] == public
    assert reads(s3_counting_front) == public  # secret folders never read

    again = history(store, repository).snapshot()
    assert not again['changed'] and again['commit'] == first['commit']
    drift = history(store, repository).drift()
    assert drift['drifted'] == []
    assert reads(s3_counting_front) == []

    store.write(CLUSTER + '/kops-version.txt', b'1.30.5')  # same size, other content: another ETag
    drift = history(store, repository).drift()
    assert drift['clusters'][CLUSTER]['changed'] == ['kops-version.txt']
    assert reads(s3_counting_front) == ['kops-version.txt']
    third = history(store, repository).snapshot()
    assert third['clusters'][CLUSTER]['changed'] == ['kops-version.txt'] and third['commit'] != first['commit']
    assert reads(s3_counting_front) == ['kops-version.txt']
    assert run_git(['-C', str(repository), 'show', 'HEAD:%s/%s/kops-version.txt' % (
        store_folder(store.location), CLUSTER)])[1] == b'1.30.5'


def test_encrypted_secrets_are_read_on_every_run(counted_store, s3_counting_front, tmp_path):
    store = counted_store()
    public = seed(store)
    repository = tmp_path / 'history'
    first = history(store, repository, password=PASSWORD).snapshot(secrets=True)
    assert first['clusters'][CLUSTER]['secrets_encrypted'] == len(SECRET_PATHS)
    s3_counting_front.forget()
    again = history(store, repository, password=PASSWORD).snapshot(secrets=True)
    assert not again['changed']
    assert reads(s3_counting_front) == sorted(SECRET_PATHS)  # compared by content: their files are Vault text
    assert public


def test_a_listing_without_content_hashes_means_reading_every_entry(counted_store, s3_counting_front, tmp_path):
    store = counted_store(kms=True)
    public = seed(store)
    repository = tmp_path / 'history'
    first = history(store, repository).snapshot()
    s3_counting_front.forget()
    again = history(store, repository).snapshot()
    assert not again['changed'] and again['commit'] == first['commit']
    assert reads(s3_counting_front) == public

    store.write(CLUSTER + '/kops-version.txt', b'1.30.5')
    third = history(store, repository).snapshot()
    assert third['clusters'][CLUSTER]['changed'] == ['kops-version.txt']
    assert reads(s3_counting_front) == public

"""Sync between real stores: local folders, memfs, S3 on the moto server and GCS on its emulator, same and
mixed backends."""

import hashlib
import itertools
import os
import uuid

import boto3
import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import AlreadyExists, BadLocation, NotFound, PreconditionFailed
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.store import Entry
from ansible_collections.kops.state_store.plugins.module_utils.workflows.sync import Sync, content_equal, listed_equal

_names = itertools.count()

TREE = {
    'c1/config': b'spec:\n  configBase: s3://old/c1\n',
    'c1/instancegroup/nodes': b'nodes',
    'c1/pki/private/ca/keyset.yaml': b'private key material',
    'c1/secrets/admin': b'{"Data": "c2VjcmV0"}',
    'c1/backups/etcd/main/snapshot': b'\x00\x01' * 100,
}


def fill(store, tree=None):
    for path, data in (tree or TREE).items():
        store.write(path, data)


def content(store):
    return dict((entry.path, store.read(entry.path)[0]) for entry in store.list('', recursive=True))


@pytest.fixture
def s3_store(request, monkeypatch, tmp_path):
    """A factory of stores in fresh buckets on the moto server, the machine's AWS settings left out."""
    moto_server = request.getfixturevalue('moto_server')
    for name in list(os.environ):
        if name.startswith(('AWS_', 'S3_', 'KOPS_')):
            monkeypatch.delenv(name)
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'no-aws-config'))
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'no-aws-credentials'))
    settings = dict(endpoint_url=moto_server.endpoint, access_key='testing', secret_key='testing', region='us-east-1')
    admin = boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1',
                         aws_access_key_id='testing', aws_secret_access_key='testing')

    def make(name, encryption=None):
        bucket = 'sync-%s' % uuid.uuid4().hex[:16]
        admin.create_bucket(Bucket=bucket)
        if encryption:
            admin.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={'Rules': [
                {'ApplyServerSideEncryptionByDefault': encryption}]})
        store = open_store('s3://%s/%s' % (bucket, name), settings)
        store.admin = admin
        return store
    return make


@pytest.fixture(params=['file-file', 'memfs-memfs', 's3-s3', 'file-s3', 's3-file', 'gs-s3'])
def store_factory(request, tmp_path):
    """Makes the source (name 'src') and the destination (any other name) of the pair under test."""
    source_kind, dest_kind = request.param.split('-')

    def make(name):
        kind = source_kind if name == 'src' else dest_kind
        if kind == 'file':
            return open_store('file://%s' % (tmp_path / name))
        if kind == 's3':
            return request.getfixturevalue('s3_store')(name)
        if kind == 'gs':
            request.getfixturevalue('gcs_environment')
            return open_store('gs://%s/%s' % (request.getfixturevalue('gcs_server').create_bucket(), name))
        return open_store('memfs://sync-%d/%s' % (next(_names), name))
    return make


def test_copies_everything_then_nothing(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(source)
    report = Sync(source, destination).run()
    assert (report.copied, report.unchanged, report.deleted) == (len(TREE), 0, 0)
    assert report.bytes == sum(len(data) for data in TREE.values())
    assert report.copied_paths == sorted(TREE)
    assert content(destination) == TREE
    again = Sync(source, destination).run()
    assert (again.changed, again.copied, again.unchanged) == (False, 0, len(TREE))


def test_only_changed_entries_are_copied(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(source)
    Sync(source, destination).run()
    source.write('c1/instancegroup/nodes', b'nodeS')  # same size, other content
    source.write('c1/instancegroup/extra', b'new')
    report = Sync(source, destination).run()
    assert report.as_dict()['copied_paths'] == ['c1/instancegroup/extra', 'c1/instancegroup/nodes']
    assert report.unchanged == len(TREE) - 1
    assert content(destination)['c1/instancegroup/nodes'] == b'nodeS'


def test_delete_is_off_by_default_and_respects_exclude(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(source)
    fill(destination, {'c1/stale': b'old', 'c1/backups/etcd/main/old': b'keep me'})
    assert Sync(source, destination).run().deleted == 0
    report = Sync(source, destination, exclude=['c1/backups/*'], delete=True).run()
    assert report.deleted_paths == ['c1/stale']
    remaining = content(destination)
    assert 'c1/stale' not in remaining
    assert remaining['c1/backups/etcd/main/old'] == b'keep me'


def test_empty_source_never_deletes_everything(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(destination)
    with pytest.raises(NotFound):
        Sync(source, destination, delete=True).run()
    assert content(destination) == TREE
    assert Sync(source, destination).run().changed is False


def test_include_selects(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(source)
    report = Sync(source, destination, include=['*/config', '*/instancegroup/*']).run()
    assert sorted(content(destination)) == ['c1/config', 'c1/instancegroup/nodes']
    assert report.copied == 2


def test_check_mode_reports_exactly_and_writes_nothing(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(source)
    fill(destination, {'c1/config': TREE['c1/config'], 'c1/instancegroup/nodes': b'other', 'c1/stale': b'x'})
    before = content(destination)
    planned = Sync(source, destination, delete=True, check_mode=True).run().as_dict()
    assert content(destination) == before
    done = Sync(source, destination, delete=True).run().as_dict()
    assert planned == done
    assert planned['deleted_paths'] == ['c1/stale']
    assert 'c1/config' not in planned['copied_paths'] and 'c1/instancegroup/nodes' in planned['copied_paths']


def test_source_is_never_modified(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(source)
    fill(destination, {'c1/only-here': b'x', 'c1/config': b'changed'})
    before = dict((entry.path, (entry.hash, entry.version)) for entry in source.list('', recursive=True))
    Sync(source, destination, delete=True).run()
    assert dict((entry.path, (entry.hash, entry.version)) for entry in source.list('', recursive=True)) == before


def test_rerun_after_interruption_copies_only_the_rest(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(source)
    # an interrupted run: some entries landed, one only partly (different content)
    destination.write('c1/config', TREE['c1/config'])
    destination.write('c1/instancegroup/nodes', b'no')
    report = Sync(source, destination).run()
    assert report.unchanged == 1
    assert 'c1/config' not in report.copied_paths and 'c1/instancegroup/nodes' in report.copied_paths
    assert content(destination) == TREE


def test_verify_passes_and_finds_differences(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(source)
    sync = Sync(source, destination, delete=True)
    sync.run()
    assert sync.verify() == []
    destination.write('c1/instancegroup/nodes', b'tampered')
    destination.delete('c1/config')
    destination.write('c1/intruder', b'x')
    assert sync.verify() == ['c1/config', 'c1/instancegroup/nodes', 'c1/intruder']


def test_ignore_existing_adds_only_what_is_missing(store_factory):
    """A destination in use since an earlier copy: what appeared in the source is added, nothing there is
    overwritten, even where it differs; check mode plans exactly that; verify asks only presence of what was left."""
    source, destination = store_factory('src'), store_factory('dst')
    fill(source)
    fill(destination, {'c1/config': b'rewritten at the destination', 'c1/instancegroup/nodes': TREE['c1/instancegroup/nodes']})
    planned = Sync(source, destination, ignore_existing=True, check_mode=True).run().as_dict()
    sync = Sync(source, destination, ignore_existing=True)
    done = sync.run().as_dict()
    assert planned == done
    assert done['copied_paths'] == sorted(set(TREE) - {'c1/config', 'c1/instancegroup/nodes'})
    assert done['unchanged'] == 2
    assert content(destination) == dict(TREE, **{'c1/config': b'rewritten at the destination'})
    assert sync.verify() == []
    destination.delete('c1/config')  # left alone, so only its presence is asked
    destination.write('c1/secrets/admin', b'tampered')  # copied by this run, so its content is
    assert sync.verify() == ['c1/config', 'c1/secrets/admin']
    assert Sync(source, destination).run().copied_paths == ['c1/config', 'c1/secrets/admin']  # without it: copied


def test_report_lists_are_bounded(store_factory):
    source, destination = store_factory('src'), store_factory('dst')
    fill(source, dict(('c/%03d' % number, b'x') for number in range(30)))
    report = Sync(source, destination, max_listed=10, parallel=4).run()
    assert (report.copied, report.truncated) == (30, True)
    assert report.copied_paths == ['c/%03d' % number for number in range(10)]  # the first ones, in path order


def test_overlapping_locations_refused(tmp_path):
    with pytest.raises(BadLocation):
        Sync(open_store(str(tmp_path / 'a')), open_store('file://%s' % (tmp_path / 'a' / 'b')))
    with pytest.raises(BadLocation):
        Sync(open_store('memfs://x/a/b'), open_store('memfs://x/a'))
    with pytest.raises(BadLocation):
        Sync(open_store('memfs://x'), open_store('memfs://x/a'))
    Sync(open_store('memfs://x/a'), open_store('memfs://x/ab'))  # siblings are fine


def test_destination_changed_during_run_is_not_overwritten(tmp_path):
    source, destination = open_store(str(tmp_path / 'src')), open_store(str(tmp_path / 'dst'))
    fill(source)
    destination.write('c1/config', b'old')
    sync = Sync(source, destination)
    stale = destination.list('', recursive=True)
    destination.write('c1/config', b'someone else')
    sync.destination = _FrozenListing(destination, stale)
    with pytest.raises(PreconditionFailed):
        sync.run()
    assert destination.read('c1/config')[0] == b'someone else'


@pytest.mark.parametrize('parallel', [1, 3])
def test_first_failure_stops_the_run(tmp_path, parallel):
    """An entry created at the destination after its listing fails its create-if-absent copy: the error is
    raised, and no worker starts another copy after it (the other workers finish the copy they are doing, so
    only with one worker is it known how many were done). The report counts what was done."""
    source, destination = open_store(str(tmp_path / 'src')), open_store(str(tmp_path / 'dst'))
    tree = dict(('c/%03d' % number, b'x%d' % number) for number in range(40))
    fill(source, tree)
    sync = Sync(source, destination, parallel=parallel)
    sync.destination = _FrozenListing(destination, [])
    destination.write('c/000', b'someone else')
    with pytest.raises(AlreadyExists):
        sync.run()
    assert destination.read('c/000')[0] == b'someone else'
    assert sync.report.copied == len(content(destination)) - 1
    if parallel == 1:
        assert sync.report.copied == 0


class _FrozenListing(object):
    """The destination as the listing saw it a moment ago (a concurrent writer came after)."""

    def __init__(self, backend, entries):
        self._backend, self._entries = backend, entries

    def list(self, prefix='', recursive=False, hash_algorithm=None):
        return self._entries

    def __getattr__(self, name):
        return getattr(self._backend, name)


@pytest.mark.parametrize('location', ['file', 'memfs://hash-choice'])
def test_stores_hashing_content_list_the_algorithm_asked_for(tmp_path, location):
    """So a sync between file:// and an MD5 store decides from the two listings, without reading entries."""
    store = open_store(str(tmp_path) if location == 'file' else location)
    version = store.write('c1/config', b'spec')
    [listed] = store.list('', recursive=True, hash_algorithm='md5')
    assert (listed.hash_algorithm, listed.hash) == ('md5', hashlib.md5(b'spec').hexdigest())
    assert listed.version == version  # versions do not depend on the listing's hashes
    [own] = store.list('', recursive=True)
    assert (own.hash_algorithm, own.hash) == ('sha256', hashlib.sha256(b'spec').hexdigest())


# -- comparison rules, on listings as backends produce them -------------------------------------------
def _entry(data, algorithm):
    digest = hashlib.new(algorithm, data).hexdigest() if algorithm else None
    return Entry('c1/config', size=len(data), hash=digest, hash_algorithm=algorithm)


def test_listings_decide_only_with_one_algorithm():
    assert listed_equal(_entry(b'abc', 'md5'), _entry(b'abc', 'md5')) is True
    assert listed_equal(_entry(b'abc', 'md5'), _entry(b'abd', 'md5')) is False
    assert listed_equal(_entry(b'abc', 'sha256'), _entry(b'abc', 'md5')) is None
    assert listed_equal(_entry(b'abc', None), _entry(b'abc', None)) is None
    assert listed_equal(_entry(b'abc', None), _entry(b'abcd', None)) is False  # sizes differ
    # a side whose listed hashes may not be content hashes (S3): equal ones decide, unequal ones do not
    assert listed_equal(_entry(b'abc', 'md5'), _entry(b'abc', 'md5'), presumed=True) is True
    assert listed_equal(_entry(b'abc', 'md5'), _entry(b'abd', 'md5'), presumed=True) is None
    assert listed_equal(_entry(b'abc', 'md5'), _entry(b'abcd', 'md5'), presumed=True) is False  # sizes differ


def test_other_algorithm_is_computed_on_the_source_content(tmp_path):
    """A local file (SHA-256) against an MD5-listing destination: the MD5 of the file decides."""
    source = open_store(str(tmp_path / 'src'))
    source.write('c1/config', b'abc')
    source_entry = source.list('', recursive=True)[0]
    destination = open_store(str(tmp_path / 'dst'))
    assert content_equal(source, destination, source_entry, _entry(b'abc', 'md5')) == (True, b'abc')
    assert content_equal(source, destination, source_entry, _entry(b'abd', 'md5'))[0] is False


def test_destination_without_hash_is_hashed_by_content(tmp_path):
    source, destination = open_store(str(tmp_path / 'src')), open_store(str(tmp_path / 'dst'))
    source.write('c1/config', b'abc')
    destination.write('c1/config', b'abc')
    no_hash = Entry('c1/config', size=3)  # e.g. a multipart ETag, which the backend does not report
    assert content_equal(source, destination, source.list('', recursive=True)[0], no_hash) == (True, None)
    destination.write('c1/config', b'abd')
    assert content_equal(source, destination, source.list('', recursive=True)[0], no_hash)[0] is False


def test_local_paths_are_relative_to_the_roots(tmp_path):
    source, destination = open_store(str(tmp_path / 'src' / 'c1')), open_store(str(tmp_path / 'dst' / 'c1'))
    fill(source, {'config': b'x', 'instancegroup/nodes': b'y'})
    Sync(source, destination).run()
    assert os.path.isfile(str(tmp_path / 'dst' / 'c1' / 'instancegroup' / 'nodes'))


# -- S3 specifics -------------------------------------------------------------------------------------
def test_untrusted_etags_are_compared_by_content(s3_store):
    """In a bucket encrypting with KMS the ETags are no MD5s: the listing has no hash, content decides."""
    source, destination = s3_store('src'), s3_store('dst', {'SSEAlgorithm': 'aws:kms', 'KMSMasterKeyID': 'alias/x'})
    fill(source)
    Sync(source, destination).run()
    assert all(entry.hash is None for entry in destination.list('', recursive=True))
    source.write('c1/instancegroup/nodes', b'NODES')
    report = Sync(source, destination).run()
    assert (report.copied_paths, report.unchanged) == (['c1/instancegroup/nodes'], len(TREE) - 1)
    sync = Sync(source, destination)
    sync.run()
    assert sync.verify() == []


def test_writes_follow_the_destination_rules(s3_store, tmp_path, monkeypatch):
    """Copies are written by the destination backend: SSE as kOps sends it, KOPS_STATE_S3_ACL applied."""
    source = open_store(str(tmp_path / 'src'))
    destination = s3_store('dst')
    fill(source, {'c1/config': b'x'})
    monkeypatch.setenv('KOPS_STATE_S3_ACL', 'public-read')
    Sync(source, destination).run()
    key = destination.location.key + '/c1/config'
    head = destination.admin.head_object(Bucket=destination.location.bucket, Key=key)
    assert head['ServerSideEncryption'] == 'AES256'
    grants = destination.admin.get_object_acl(Bucket=destination.location.bucket, Key=key)['Grants']
    assert any(grant['Grantee'].get('URI', '').endswith('/AllUsers') and grant['Permission'] == 'READ' for grant in grants)

"""The store audit's pieces that need no server: the listed view answers every listing exactly as the store it views
(so every reader of the audit sees what it would see from the store, from one listing), refuses writes; locations
inside a store; severities; what a finding must carry."""

import sys

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import NotSupported
from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.store import Check
from ansible_collections.kops.state_store.plugins.module_utils.workflows.store_audit import (
    ListedStore,
    highest,
    relative_to,
)

ENTRIES = ['a.example.com/config', 'a.example.com/instancegroup/nodes', 'a.example.com/instancegroup/master',
           'a.example.com/pki/private/kubernetes-ca/keyset.yaml', 'a.example.com/backups/etcd/main/x/etcd.backup.gz',
           'a.example.com-old/config', 'a.example/config', 'b.example.com/config', '.kops-state-store-locks/b',
           'top-level-file']


@pytest.fixture(params=['file', 'memfs'])
def store(request, tmp_path):
    location = 'file://%s' % (tmp_path / 'store') if request.param == 'file' else 'memfs://audit-%s' % tmp_path.name
    backend = open_store(location)
    for number, path in enumerate(ENTRIES):
        backend.write(path, b'x' * (number + 1))
    return backend


def shape(entries):
    return [(entry.path, entry.is_dir, entry.size) for entry in entries]


@pytest.mark.parametrize('prefix', ['', 'a.example.com', 'a.example.com/', 'a.example.com/instancegroup',
                                    'a.example.com/pki', 'a.example', 'missing', 'top-level-file'])
@pytest.mark.parametrize('recursive', [False, True])
def test_the_view_lists_as_the_store_does(store, prefix, recursive):
    view = ListedStore.of(store)
    assert shape(view.list(prefix, recursive)) == shape(store.list(prefix, recursive))


@pytest.mark.parametrize('folder, prefix', [('a.example.com', ''), ('a.example.com', 'instancegroup'),
                                            ('a.example.com/pki', 'private'), ('a.example.com/pki', ''),
                                            ('missing', '')])
@pytest.mark.parametrize('recursive', [False, True])
def test_a_folder_view_lists_as_a_store_rooted_there(store, folder, prefix, recursive):
    below = ListedStore.of(store).below(folder)
    rooted = open_store(store.location.join(folder))
    assert shape(below.list(prefix, recursive)) == shape(rooted.list(prefix, recursive))
    assert below.render(prefix) == rooted.render(prefix)


def test_the_view_reads_through_and_refuses_writes(store):
    view = ListedStore.of(store).below('a.example.com')
    assert view.read('instancegroup/nodes')[0] == b'xx'
    assert view.has('config') and not view.has('instancegroup') and not view.has('missing')
    before = shape(store.list('', recursive=True))
    for attempt in (lambda: view.write('config', b'new'), lambda: view.create('fresh', b'new'),
                    lambda: view.delete('config')):
        with pytest.raises(NotSupported, match='only reads'):
            attempt()
    assert shape(store.list('', recursive=True)) == before and store.read('a.example.com/config')[0] == b'x'


OPENED = []  # paths opened while a test watches (sys.addaudithook: a hook stays for the process, so it is a flag)


def _watch_opens(event, arguments):
    if event == 'open' and OPENED and arguments and isinstance(arguments[0], str):
        OPENED.append(arguments[0])


sys.addaudithook(_watch_opens)


def test_file_listings_without_hashes_open_no_file(tmp_path):
    """The audit's one listing of a file:// store opens no file (an etcd snapshot can be gigabytes): entries come
    with their size, without hash or version."""
    backend = open_store('file://%s' % tmp_path)
    backend.write('c/backups/etcd/main/x/etcd.backup.gz', b'snapshot')
    backend.write('c/config', b'config')
    OPENED.append(None)  # watching
    try:
        listed = ListedStore.of(backend).list('', recursive=True)
        hashed = backend.list('', recursive=True)
    finally:
        opened, OPENED[:] = OPENED[1:], []
    snapshot = str(tmp_path / 'c' / 'backups' / 'etcd' / 'main' / 'x' / 'etcd.backup.gz')
    assert opened.count(snapshot) == 1  # by the hashing listing only
    assert [(entry.path, entry.size, entry.hash, entry.version) for entry in listed] == [
        ('c/backups/etcd/main/x/etcd.backup.gz', 8, None, None), ('c/config', 6, None, None)]
    assert all(entry.hash for entry in hashed)


@pytest.mark.parametrize('root, location, relative', [
    ('s3://b', 's3://b/c/pki', 'c/pki'),
    ('s3://b/prefix', 's3://b/prefix/c/pki', 'c/pki'),
    ('s3://b/prefix', 's3://b/prefix', ''),
    ('s3://b/prefix', 's3://b/prefix-other/c', None),
    ('s3://b', 's3://other/c', None),
    ('s3://b', 'do://b/c', None),
    ('file:///srv/store', 'file:///srv/store/c/pki', 'c/pki'),
    ('file:///srv/store', '/srv/store/c/secrets', 'c/secrets'),
    ('file:///srv/store', '/srv/storage/c', None),
    ('gs://b', 'vault://b/kv/c', None),
])
def test_locations_inside_a_store(root, location, relative):
    assert relative_to(parse_location(root), parse_location(location)) == relative


def test_highest_severity_and_what_a_finding_needs():
    checks = [Check.ok('a'), Check.not_checked('b', 'why'), Check.finding('c', 'medium', 'why', 'fix'),
              Check.finding('d', 'low', 'why', 'fix')]
    assert highest(checks) == 'medium' and highest(checks[:2]) is None
    for severity, reason, fix in (('severe', 'why', 'fix'), ('high', '', 'fix'), ('high', 'why', None)):
        with pytest.raises(ValueError):
            Check.finding('e', severity, reason, fix)

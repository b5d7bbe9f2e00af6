"""Listings that tell the truth, seen through a sync with delete (the operation a wrong listing hurts most):
a folder of a file:// source the user cannot list, links and special files in a file:// store, and folder
markers (names ending in '/') in a Swift store. A partial or invented listing must fail the sync, named, or
leave the odd names out; it must never copy outside content, hang, or delete a real entry."""

import os
import pwd
import shutil
import tempfile
import time

import pytest
from support.child_process import run_in_child

from ansible_collections.kops.state_store.plugins.module_utils.errors import AccessDenied
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.workflows.sync import Sync
from reliability.summary import FIGURES
from reliability.test_concurrency import _swift

FAULTS = 'Faults'
HEADER = ['fault', 'injected', 'outcome']
ENTRIES = ('c1/config', 'c1/instancegroup/nodes', 'c1/secrets/admin', 'c1/pki/private/ca/keyset.yaml')


def _tree(location):
    store = open_store(location)
    return dict((entry.path, store.read(entry.path)[0]) for entry in store.list('', recursive=True))


def _sync(source, destination):
    return Sync(open_store(source), open_store(destination), delete=True).run().as_dict()


@pytest.fixture
def world_readable_folder():
    """A folder the user nobody can reach (pytest's own temporary folders are root's alone)."""
    base = tempfile.mkdtemp(prefix='kops-listing-')
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base)


def test_unreadable_source_folder_fails_the_sync_and_deletes_nothing(world_readable_folder):
    """Run as nobody: c1/secrets of the source is root's (0700). The sync fails naming that folder, and the
    destination, which holds the same entries, loses none of them."""
    source = os.path.join(world_readable_folder, 'source')
    destination = os.path.join(world_readable_folder, 'destination')
    for location in (source, destination):
        for path in ENTRIES:
            open_store(location).write(path, path.encode())
    nobody = pwd.getpwnam('nobody')
    for folder, _folders, files in os.walk(world_readable_folder):
        for path in [folder] + [os.path.join(folder, name) for name in files]:
            if path.startswith(destination):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)  # the destination is the user's own
            else:
                os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)  # the source is readable by all
    unreadable = os.path.join(source, 'c1', 'secrets')
    os.chmod(unreadable, 0o700)
    before = _tree(destination)
    with pytest.raises(AccessDenied, match='cannot list the folder %s of the state store %s' % (unreadable, source)):
        run_in_child(_sync, source, destination, as_nobody=True)
    assert _tree(destination) == before and len(before) == len(ENTRIES)
    FIGURES.add(operations=1, faults_injected=1)
    FIGURES.row(FAULTS, HEADER, [
        'unreadable folder (0700, another user\'s) in a file:// sync source, sync with delete run as nobody', 1,
        'sync failed naming the folder; the destination kept all %d entries' % len(before)])


def test_links_and_special_files_in_a_store_are_not_entries(tmp_path):
    """Links to an outside file, an outside folder and /dev/zero, and a FIFO, in a file:// source: the sync
    finishes, copies the regular entries only, and nothing from outside the store."""
    source, destination = str(tmp_path / 'source'), str(tmp_path / 'destination')
    for path in ENTRIES:
        open_store(source).write(path, path.encode())
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'id_rsa').write_bytes(b'outside the store')
    folder = os.path.join(source, 'c1')
    os.symlink(str(outside / 'id_rsa'), os.path.join(folder, 'linked-file'))
    os.symlink(str(outside), os.path.join(folder, 'linked-folder'))
    os.symlink('/dev/zero', os.path.join(folder, 'zero'))
    os.mkfifo(os.path.join(folder, 'fifo'))
    started = time.monotonic()
    report = run_in_child(_sync, source, destination, timeout=60)
    seconds = time.monotonic() - started
    assert report['copied'] == len(ENTRIES)
    assert _tree(destination) == dict((path, path.encode()) for path in ENTRIES)
    FIGURES.add(operations=len(ENTRIES), faults_injected=4)
    FIGURES.row(FAULTS, HEADER, [
        'links in a file:// sync source (to an outside file, an outside folder, /dev/zero) and a FIFO', 4,
        'sync finished in %.1f s and copied the %d regular entries only' % (seconds, len(ENTRIES))])


def test_swift_folder_markers_are_not_entries(request, tmp_path, swift_server):
    """Folder markers in a Swift destination ('c1/' and 'c1/config/', as consoles make them) beside the real
    entries: a sync with delete from a file:// source keeps every real entry (deleting the marker
    'c1/config/' as an entry removed 'c1/config'); as a source, the markers are not copied."""
    location, _settings = _swift(request)
    source = str(tmp_path / 'source')
    for path in ENTRIES:
        open_store(source).write(path, path.encode())
    store = open_store(location)
    store.create('c1/config', b'c1/config')
    markers = ('c1/', 'c1/config/', 'c1/pki/')
    for marker in markers:
        swift_server.put_object(store.location.bucket, '%s/%s' % (store.location.key, marker))
    report = _sync(source, location)
    assert _tree(location) == dict((path, path.encode()) for path in ENTRIES)
    assert (report['deleted'], report['unchanged']) == (0, 1)
    back = str(tmp_path / 'back')
    assert _sync(location, back)['copied'] == len(ENTRIES)
    assert _tree(back) == _tree(location)
    FIGURES.add(operations=2, faults_injected=len(markers))
    FIGURES.row(FAULTS, HEADER, [
        'Swift folder markers (%s) in a sync destination with delete, and as a source' % ', '.join(markers),
        len(markers), 'markers not listed; no real entry deleted; copied back without them'])

import multiprocessing
import os
import shutil
import stat
import tempfile

import pytest
from support.child_process import run_in_child

from ansible_collections.kops.state_store.plugins.module_utils.errors import AccessDenied, AlreadyExists, BadLocation
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.backend_contract import BackendContract


class TestLocalBackend(BackendContract):
    @pytest.fixture
    def store(self, tmp_path):
        return open_store('file://%s' % (tmp_path / 'store'))

    def test_bare_path_is_a_file_store(self, tmp_path):
        store = open_store(str(tmp_path / 'bare'))
        store.write('c1/config', b'x')
        assert (tmp_path / 'bare' / 'c1' / 'config').read_bytes() == b'x'

    def test_modes_as_kops(self, store, tmp_path):
        store.write('c1/secrets/admin', b'x')
        root = tmp_path / 'store'
        assert stat.S_IMODE(os.stat(root / 'c1' / 'secrets' / 'admin').st_mode) == 0o600
        assert stat.S_IMODE(os.stat(root / 'c1' / 'secrets').st_mode) & 0o777 == 0o755 & ~_umask()

    def test_no_temporary_files_left(self, store, tmp_path):
        store.write('c1/config', b'x' * 100000)
        store.write('c1/config', b'y')
        assert sorted(os.listdir(tmp_path / 'store' / 'c1')) == ['config']

    def test_children_include_folders(self, store):
        store.write('c1/config', b'x')
        store.write('c1/instancegroup/nodes', b'x')
        assert [(e.path, e.is_dir) for e in store.list('c1')] == [('c1/config', False), ('c1/instancegroup', True)]

    def test_symlink_out_of_store_refused(self, store, tmp_path):
        outside = tmp_path / 'outside'
        outside.mkdir()
        (outside / 'target').write_bytes(b'do not touch')
        (tmp_path / 'store').mkdir()
        os.symlink(str(outside), str(tmp_path / 'store' / 'link'))
        with pytest.raises(BadLocation):
            store.write('link/target', b'overwritten')
        with pytest.raises(BadLocation):
            store.read('link/target')
        with pytest.raises(BadLocation):
            store.write('link/new', b'x')
        assert (outside / 'target').read_bytes() == b'do not touch'
        assert os.listdir(str(outside)) == ['target']

    def test_links_and_special_files_are_not_listed(self, store, tmp_path):
        """Links out of the store (to a file, to a folder, to /dev/zero) and a FIFO in it are no entries:
        listing them gave an outside file's size and hash, or never finished."""
        outside = tmp_path / 'outside'
        outside.mkdir()
        (outside / 'secret').write_bytes(b'not in the store')
        store.write('c1/config', b'x')
        folder = tmp_path / 'store' / 'c1'
        os.symlink(str(outside / 'secret'), str(folder / 'linked-file'))
        os.symlink(str(outside), str(folder / 'linked-folder'))
        os.symlink('/dev/zero', str(folder / 'zero'))
        os.mkfifo(str(folder / 'fifo'))
        os.symlink('config', str(folder / 'alias'))  # even one that stays inside the store
        tree = run_in_child(_paths, store, 'c1', True, timeout=20)
        children = run_in_child(_paths, store, 'c1', False, timeout=20)
        assert tree == children == ['c1/config']

    def test_unreadable_folder_fails_the_listing_named(self):
        """A folder the user cannot list fails the listing, named, instead of being left out (os.walk skipped
        it silently, and a partial listing passed for a whole one); so does a file it cannot read. Listed as
        the user nobody: root lists and reads anything."""
        base = tempfile.mkdtemp(prefix='kops-unreadable-')
        try:
            os.chmod(base, 0o755)
            store = open_store('file://%s' % base)
            for path in ('c1/config', 'c1/secrets/admin', 'c1/pki/ca'):
                store.write(path, b'x')
            for folder, _dirs, files in os.walk(base):
                os.chmod(folder, 0o755)
                for name in files:
                    os.chmod(os.path.join(folder, name), 0o644)
            secrets = os.path.join(base, 'c1', 'secrets')
            os.chmod(secrets, 0o700)  # root's own: nobody cannot list it
            for prefix, recursive in (('', True), ('c1', True), ('c1/secrets', False)):
                with pytest.raises(AccessDenied, match='cannot list the folder %s of the state store %s '
                                   '\\(Permission denied\\); refusing an incomplete listing' % (secrets, base)):
                    run_in_child(_paths, store, prefix, recursive, as_nobody=True)
            assert run_in_child(_paths, store, 'c1', False, as_nobody=True) == ['c1/config', 'c1/pki', 'c1/secrets']
            os.chmod(os.path.join(base, 'c1', 'config'), 0o600)  # an entry it cannot read: no size, no hash
            with pytest.raises(AccessDenied, match="access denied to entry 'c1/config' in %s" % base):
                run_in_child(_paths, store, 'c1', False, as_nobody=True)
        finally:
            shutil.rmtree(base)

    def test_create_race_across_processes(self, tmp_path):
        location = 'file://%s' % (tmp_path / 'store')
        with multiprocessing.get_context('fork').Pool(8) as pool:
            results = pool.map(_create_in_process, [(location, n) for n in range(24)])
        winners = [n for n in results if n is not None]
        assert len(winners) == 1
        assert open_store(location).read('c1/race')[0] == str(winners[0]).encode()

    def test_compare_and_swap_across_processes(self, tmp_path):
        location = 'file://%s' % (tmp_path / 'store')
        open_store(location).write('counter', b'0')
        with multiprocessing.get_context('fork').Pool(8) as pool:
            pool.map(_increment_in_process, [location] * 8)
        assert open_store(location).read('counter')[0] == b'80'


def _paths(store, prefix, recursive):
    return [entry.path for entry in store.list(prefix, recursive=recursive)]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _create_in_process(arguments):
    location, number = arguments
    try:
        open_store(location).create('c1/race', str(number).encode())
        return number
    except AlreadyExists:
        return None


def _increment_in_process(location):
    from ansible_collections.kops.state_store.plugins.module_utils.errors import PreconditionFailed

    store = open_store(location)
    done = 0
    while done < 10:
        data, version = store.read('counter')
        try:
            store.write('counter', str(int(data) + 1).encode(), expect=version)
            done += 1
        except PreconditionFailed:
            continue

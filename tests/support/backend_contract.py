"""Behaviour every backend must show. A backend's test module subclasses BackendContract and gives a
``store`` fixture returning a fresh, empty Backend on its real server (or folder)."""

import concurrent.futures
import hashlib
import time

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AlreadyExists,
    BadLocation,
    EntryTooLarge,
    NotFound,
    NotSupported,
    PreconditionFailed,
)
from ansible_collections.kops.state_store.plugins.module_utils.store import ABSENT


class BackendContract(object):
    def test_write_then_read(self, store):
        version = store.write('c1/config', b'spec: 1\n')
        data, read_version = store.read('c1/config')
        assert data == b'spec: 1\n'
        assert read_version == version

    def test_overwrite_changes_version(self, store):
        first = store.write('c1/config', b'one')
        second = store.write('c1/config', b'two')
        assert first != second
        assert store.read('c1/config')[0] == b'two'

    def test_read_missing(self, store):
        with pytest.raises(NotFound):
            store.read('c1/missing')

    def test_binary_content(self, store):
        payload = bytes(range(256)) * 4
        store.write('c1/pki/blob', payload)
        assert store.read('c1/pki/blob')[0] == payload

    def test_empty_content(self, store):
        store.write('c1/empty', b'')
        assert store.read('c1/empty')[0] == b''

    def test_create_if_absent(self, store):
        store.create('c1/config', b'first')
        with pytest.raises(AlreadyExists):
            store.create('c1/config', b'second')
        assert store.read('c1/config')[0] == b'first'

    def test_create_race_has_one_winner(self, store):
        def attempt(number):
            try:
                store.create('c1/race', str(number).encode())
                return number
            except AlreadyExists:
                return None

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            winners = [n for n in pool.map(attempt, range(16)) if n is not None]
        assert len(winners) == 1
        assert store.read('c1/race')[0] == str(winners[0]).encode()

    def test_compare_and_swap(self, store):
        if not store.supports_compare_and_swap:
            with pytest.raises(NotSupported):
                store.write('c1/config', b'x', expect='some-version')
            return
        version = store.write('c1/config', b'one')
        newer = store.write('c1/config', b'two', expect=version)
        with pytest.raises(PreconditionFailed):
            store.write('c1/config', b'lost update', expect=version)
        assert store.read('c1/config') == (b'two', newer)

    def test_compare_and_swap_on_missing_entry(self, store):
        if not store.supports_compare_and_swap:
            pytest.skip('backend has no compare-and-swap')
        version = store.write('c1/config', b'one')
        store.delete('c1/config')
        with pytest.raises(PreconditionFailed):
            store.write('c1/config', b'two', expect=version)
        with pytest.raises(NotFound):
            store.read('c1/config')

    def test_read_past_the_limit_is_refused(self, store):
        """An entry larger than a read's limit is refused, named with its size (what the server declared, where it
        declares one, before the body is read), and read whole up to the limit or with none (copies)."""
        payload = bytes(range(256)) * 9  # 2304 bytes
        store.write('c1/addons/large', payload)
        with pytest.raises(EntryTooLarge) as refused:
            store.read('c1/addons/large', limit=2048)
        assert str(refused.value).startswith('%s is 2304 bytes, more than max_entry_size allows (2048 bytes)'
                                             % store.render('c1/addons/large'))
        assert store.read('c1/addons/large', limit=2304)[0] == payload
        assert store.read('c1/addons/large', limit=None)[0] == payload
        assert store.read('c1/addons/large')[0] == payload  # the default bound: max_entry_size, 4 MiB unless set
        try:
            with pytest.raises(EntryTooLarge):
                store.read_with_age('c1/addons/large', limit=2048)
        except NotSupported:
            pass  # a backend with compare-and-swap keeps no lock entry that expires by age

    def test_read_with_age(self, store):
        """How long ago an entry was written, by the store's clock: what lock entries expire by."""
        version = store.write('c1/lock', b'x')
        try:
            data, read_version, age = store.read_with_age('c1/lock')
        except NotSupported:
            if store.supports_compare_and_swap:
                pytest.skip('backend has compare-and-swap: no lock entry expires by age')
            raise
        assert (data, read_version) == (b'x', version)
        assert 0 <= age < 2
        time.sleep(2.2)
        assert 1 < store.read_with_age('c1/lock')[2] < 10
        store.write('c1/lock', b'y')
        assert store.read_with_age('c1/lock')[2] < 2
        with pytest.raises(NotFound):
            store.read_with_age('c1/missing')

    def test_delete(self, store):
        store.write('c1/config', b'x')
        store.delete('c1/config')
        with pytest.raises(NotFound):
            store.read('c1/config')

    def test_delete_missing(self, store):
        with pytest.raises(NotFound):
            store.delete('c1/missing')

    def test_delete_with_stale_version(self, store):
        if not store.supports_compare_and_swap:
            pytest.skip('backend has no compare-and-swap')
        version = store.write('c1/config', b'one')
        store.write('c1/config', b'two')
        with pytest.raises(PreconditionFailed):
            store.delete('c1/config', expect=version)
        assert store.read('c1/config')[0] == b'two'

    def test_list_children_and_tree(self, store):
        for path in ('c1/config', 'c1/instancegroup/nodes', 'c1/instancegroup/master', 'c2/config'):
            store.write(path, path.encode())
        children = [(entry.path, entry.is_dir) for entry in store.list('c1')]
        assert ('c1/config', False) in children
        assert ('c1/instancegroup/nodes', False) not in children
        tree = [entry.path for entry in store.list('c1', recursive=True)]
        assert tree == ['c1/config', 'c1/instancegroup/master', 'c1/instancegroup/nodes']
        everything = [entry.path for entry in store.list('', recursive=True)]
        assert everything == ['c1/config', 'c1/instancegroup/master', 'c1/instancegroup/nodes', 'c2/config']
        sizes = dict((entry.path, entry.size) for entry in store.list('c1', recursive=True))
        assert sizes['c1/config'] == len(b'c1/config')

    def test_list_missing_prefix_is_empty(self, store):
        assert store.list('nothing-here') == []
        assert store.list('nothing-here', recursive=True) == []

    def test_listed_hashes_are_content_hashes(self, store):
        store.write('c1/config', b'hash me')
        for entry in store.list('c1', recursive=True):
            if entry.hash is not None:
                assert entry.hash == hashlib.new(entry.hash_algorithm, b'hash me').hexdigest()
                assert entry.hash_algorithm == store.hash_algorithm

    def test_hash_of_one_entry(self, store):
        store.write('c1/config', b'hash me')
        algorithm, digest = store.hash('c1/config')
        assert digest == hashlib.new(algorithm, b'hash me').hexdigest()
        assert store.hash('c1/config', 'md5') == ('md5', hashlib.md5(b'hash me').hexdigest())

    @pytest.mark.parametrize('path', ['../x', 'c1/../../x', '%2e%2e/x', '/etc/passwd', 'c1//x'])
    def test_escaping_paths_refused(self, store, path):
        with pytest.raises(BadLocation):
            store.write(path, b'x')
        with pytest.raises(BadLocation):
            store.read(path)
        assert store.list('', recursive=True) == []

    def test_absent_sentinel_is_distinct(self, store):
        assert repr(ABSENT) == 'ABSENT'

"""The read bound every backend shares (store.bounded_read, Backend.read's default from max_entry_size)."""

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import EntryTooLarge, StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.store import MAX_ENTRY_SIZE, bounded_read


class EndlessStream(object):
    """A body that never ends (a link to /dev/zero, a server that keeps sending), counting what was read."""

    def __init__(self):
        self.read_bytes = 0

    def read(self, amount=None):
        assert amount is not None, 'a bounded read never asks for everything'
        self.read_bytes += amount
        return b'\0' * amount


def test_a_stream_is_read_only_up_to_one_byte_past_the_limit():
    stream = EndlessStream()
    with pytest.raises(EntryTooLarge, match='^s3://b/c/config holds more than 1000 bytes, more than max_entry_size'):
        bounded_read(stream.read, 's3://b/c/config', 1000)
    assert stream.read_bytes == 1001


def test_a_declared_size_past_the_limit_is_refused_before_reading():
    stream = EndlessStream()
    with pytest.raises(EntryTooLarge, match='^s3://b/c/config is 5000 bytes, more than max_entry_size allows '
                                            r'\(1000 bytes\); it was not read'):
        bounded_read(stream.read, 's3://b/c/config', 1000, size=5000)
    assert stream.read_bytes == 0


def test_the_store_setting_bounds_every_read_unless_the_caller_says_otherwise(tmp_path):
    store = open_store('file://%s' % tmp_path, dict(max_entry_size=10))
    store.write('c1/config', b'x' * 11)
    with pytest.raises(EntryTooLarge, match='is 11 bytes'):
        store.read('c1/config')
    assert store.read('c1/config', limit=None)[0] == b'x' * 11  # copies
    assert open_store('file://%s' % tmp_path).read('c1/config')[0] == b'x' * 11  # MAX_ENTRY_SIZE by default
    assert MAX_ENTRY_SIZE == 4 * 1024 * 1024
    with pytest.raises(StateStoreError, match='max_entry_size must be a positive number of bytes; got 0'):
        open_store('file://%s' % tmp_path, dict(max_entry_size=0)).read('c1/config')

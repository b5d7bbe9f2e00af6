import base64
import itertools

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.entries import (
    content_fields,
    diff_text,
    list_entries,
    put_entry,
    remove_entry,
)
from ansible_collections.kops.state_store.plugins.module_utils.errors import PreconditionFailed
from ansible_collections.kops.state_store.plugins.module_utils.redaction import is_secret
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

_names = itertools.count()


@pytest.fixture(params=['file', 'memfs'])
def store(request, tmp_path):
    if request.param == 'file':
        return open_store(str(tmp_path / 'store'))
    return open_store('memfs://entries-%d' % next(_names))


def test_put_is_idempotent(store):
    assert put_entry(store, 'c1/config', b'a').changed
    again = put_entry(store, 'c1/config', b'a')
    assert not again.changed and again.before == b'a'
    changed = put_entry(store, 'c1/config', b'b')
    assert changed.changed and (changed.before, changed.after) == (b'a', b'b')


def test_check_mode_writes_nothing(store):
    change = put_entry(store, 'c1/config', b'a', check_mode=True)
    assert change.changed
    assert store.list('', recursive=True) == []
    store.write('c1/config', b'a')
    assert remove_entry(store, 'c1/config', check_mode=True).changed
    assert store.read('c1/config')[0] == b'a'


def test_create_only_leaves_existing_entry(store):
    store.write('c1/config', b'original')
    change = put_entry(store, 'c1/config', b'new', create_only=True)
    assert not change.changed
    assert store.read('c1/config')[0] == b'original'


def test_remove_missing_is_no_change(store):
    assert not remove_entry(store, 'c1/missing').changed


def test_concurrent_change_is_not_overwritten(store):
    """A writer that read an old version must fail, not overwrite (what put_entry relies on)."""
    store.write('c1/config', b'one')
    _data, version = store.read('c1/config')
    store.write('c1/config', b'someone else')
    with pytest.raises(PreconditionFailed):
        store.write('c1/config', b'mine', expect=version)
    assert store.read('c1/config')[0] == b'someone else'


def test_secret_detection(store):
    assert is_secret(store, 'c1/secrets/admin')
    assert is_secret(store, 'c1/pki/private/ca/keyset.yaml')
    assert not is_secret(store, 'c1/config')
    assert not is_secret(store, 'c1/secrets')  # a file named like the folder is not inside it
    assert is_secret(store, 'c1/config', marked_secret=True)


def test_content_fields_and_diff_redact_secrets():
    assert content_fields(b'text', secret=False, reveal=False) == dict(content='text', encoding='utf-8', redacted=False)
    assert content_fields(b'\xff\x00', secret=False, reveal=False)['content'] == base64.b64encode(b'\xff\x00').decode()
    hidden = content_fields(b'password', secret=True, reveal=False)
    assert hidden['content'] is None and hidden['redacted']
    assert content_fields(b'password', secret=True, reveal=True)['content'] == 'password'
    assert 'password' not in diff_text(b'password', secret=True, reveal=False)
    assert diff_text(b'password', secret=True, reveal=True) == 'password'
    assert diff_text(None, secret=False, reveal=False) == ''
    assert 'binary' in diff_text(b'\xff\xfe', secret=False, reveal=False)


def test_listing_hides_secret_hashes(store):
    store.write('c1/config', b'x')
    store.write('c1/secrets/admin', b'password')
    listed = dict((e['path'], e) for e in list_entries(store, 'c1', recursive=True, reveal=False))
    assert listed['c1/config']['hash'] is not None
    assert listed['c1/secrets/admin']['hash'] is None
    revealed = dict((e['path'], e) for e in list_entries(store, 'c1', recursive=True, reveal=True))
    assert revealed['c1/secrets/admin']['hash'] is not None

# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Idempotent entry operations shared by the modules: write only what differs, guard every
change with the backend's version check so a concurrent writer is never silently overwritten."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.kops.state_store.plugins.module_utils.errors import NotFound
from ansible_collections.kops.state_store.plugins.module_utils.redaction import is_secret, redacted
from ansible_collections.kops.state_store.plugins.module_utils.store import ABSENT, STORE_LIMIT


class Change(object):
    """Outcome of one entry operation: ``before``/``after`` are bytes or None (absent)."""

    __slots__ = ('changed', 'before', 'after')

    def __init__(self, changed, before, after):
        self.changed = changed
        self.before = before
        self.after = after


def read_or_none(backend, path, limit=STORE_LIMIT):
    """(data, version) of an entry, or (None, ABSENT) when it does not exist; ``limit`` as for Backend.read."""
    try:
        return backend.read(path, limit)
    except NotFound:
        return None, ABSENT


def write_expectation(backend, version):
    """What a read-modify-write may expect: the version read, or ABSENT; backends without
    compare-and-swap can still create-if-absent, but overwrite unconditionally."""
    if version is ABSENT or backend.supports_compare_and_swap:
        return version
    return None


def put_entry(backend, path, data, create_only=False, acl=None, check_mode=False):
    before, version = read_or_none(backend, path)
    if before is not None and (create_only or before == data):
        return Change(False, before, before)
    if not check_mode:
        backend.write(path, data, expect=write_expectation(backend, version), acl=acl)
    return Change(True, before, data)


def remove_entry(backend, path, check_mode=False):
    before, version = read_or_none(backend, path)
    if before is None:
        return Change(False, None, None)
    if not check_mode:
        backend.delete(path, expect=write_expectation(backend, version))
    return Change(True, before, None)


def content_fields(data, secret, reveal):
    """Result fields showing one entry's content: UTF-8 text, else base64; redacted when secret."""
    if secret and not reveal:
        return dict(content=None, encoding=None, redacted=True)
    try:
        return dict(content=data.decode('utf-8'), encoding='utf-8', redacted=False)
    except UnicodeDecodeError:
        return dict(content=base64.b64encode(data).decode('ascii'), encoding='base64', redacted=False)


def diff_text(data, secret, reveal):
    """How one side of a diff shows an entry's content ('' when absent)."""
    if data is None:
        return ''
    if secret and not reveal:
        return redacted(data) + '\n'
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return '<binary content: %d bytes>\n' % len(data)


def list_entries(backend, prefix, recursive, reveal, secret_patterns=()):
    """Listing as result dicts; hashes of secret entries are left out unless revealed."""
    listed = []
    for entry in backend.list(prefix, recursive):
        fields = entry.as_dict()
        if not entry.is_dir and not reveal and is_secret(backend, entry.path, secret_patterns):
            fields.update(hash=None, hash_algorithm=None)
        listed.append(fields)
    return listed

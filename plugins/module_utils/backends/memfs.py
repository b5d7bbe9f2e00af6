# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""memfs:// stores: in-process, for demos and tests; the content lives as long as one module or lookup run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.kops.state_store.plugins.module_utils.errors import NotFound
from ansible_collections.kops.state_store.plugins.module_utils.store import (
    NO_HASHES,
    Backend,
    Check,
    Entry,
    check_expectation,
    check_size,
    content_hash,
)

# name of the memfs store -> {full key: (bytes, version)}; one per process.
_STORES = {}
_LOCK = threading.Lock()


class MemfsBackend(Backend):
    """Versions are a per-entry counter; every operation holds one process lock, so
    compare-and-swap and create-if-absent are atomic among threads."""

    hash_algorithm = 'sha256'

    def __init__(self, location, settings=None):
        super(MemfsBackend, self).__init__(location, settings)
        with _LOCK:
            self._entries = _STORES.setdefault(location.bucket, {})

    def _key(self, path):
        return '/'.join(part for part in (self.location.key, path) if part)

    def _read(self, path, limit):
        with _LOCK:
            found = self._entries.get(self._key(path))
        if found is None:
            raise NotFound("entry '%s' does not exist in %s" % (path, self.location.render()))
        check_size(len(found[0]), self.render(path), limit)
        return found

    def _stored_hash(self, path):
        return content_hash(self._read(path, None)[0], 'sha256')

    def _write(self, path, data, expect, acl):
        key = self._key(path)
        with _LOCK:
            current = self._entries.get(key)
            check_expectation(path, current and current[1], expect)
            version = (current[1] if current else 0) + 1
            self._entries[key] = (data, version)
        return version

    def _delete(self, path, expect):
        key = self._key(path)
        with _LOCK:
            current = self._entries.get(key)
            if current is None:
                raise NotFound("entry '%s' does not exist in %s" % (path, self.location.render()))
            check_expectation(path, current[1], expect)
            del self._entries[key]

    def _store_checks(self, environ):
        return [Check.finding(
            'review only', 'info', 'a memfs:// store lives in memory for one module run: for demos and tests only',
            'keep real clusters in a state store nodes can read (s3://, gs://, swift://)')]

    def _list(self, prefix, recursive, hash_algorithm=None):
        base = self._key(prefix)
        start = base + '/' if base else ''
        root_length = len(self._key(''))
        root_length += 1 if root_length else 0
        entries = {}
        with _LOCK:
            items = [(key, value) for key, value in self._entries.items() if key.startswith(start)]
        for key, (data, version) in items:
            below = key[len(start):]
            if not recursive and '/' in below:
                folder = start + below.split('/', 1)[0]
                entries[folder] = Entry(folder[root_length:], is_dir=True)
                continue
            if hash_algorithm == NO_HASHES:
                entries[key] = Entry(key[root_length:], size=len(data))
                continue
            listed = hash_algorithm or 'sha256'
            entries[key] = Entry(key[root_length:], size=len(data), hash=content_hash(data, listed), hash_algorithm=listed,
                                 version=version)
        return list(entries.values())


SCHEMES = ('memfs',)
BACKEND = MemfsBackend
OPTIONS = {}

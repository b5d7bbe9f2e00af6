# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The one backend interface every backend implements (see registry.py for opening one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
from email.utils import parsedate_to_datetime

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    BackendFailure,
    EntryTooLarge,
    NotSupported,
    PreconditionFailed,
    StateStoreError,
)
from ansible_collections.kops.state_store.plugins.module_utils.locations import validate_entry_path


class _Absent(object):
    """Expectation that an entry does not exist yet (create-if-absent)."""

    def __repr__(self):
        return 'ABSENT'


ABSENT = _Absent()

#: the most bytes of one entry read() takes into memory unless the store's max_entry_size setting says otherwise:
#: far above any document, keyset or secret kOps writes, far below what could exhaust a controller
MAX_ENTRY_SIZE = 4 * 1024 * 1024
_CHUNK = 1024 * 1024


class _StoreLimit(object):
    """The bound of a read: the store's max_entry_size setting (else MAX_ENTRY_SIZE)."""

    def __repr__(self):
        return 'STORE_LIMIT'


STORE_LIMIT = _StoreLimit()


def bounded_read(read, where, limit, size=None):
    """The content of a stream read with ``read(amount)`` (``read()`` for all of it), but EntryTooLarge, at ``where``,
    when it holds more than ``limit`` bytes (None: no bound): at once when ``size`` (what the server declared) says
    so, else after reading at most ``limit`` + 1 bytes, never the rest."""
    if limit is None:
        return read()
    check_size(size, where, limit)
    chunks, total = [], 0
    while total <= limit:
        chunk = read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise EntryTooLarge(where, limit)
    return b''.join(chunks)


def check_size(size, where, limit):
    """EntryTooLarge when ``size`` (of an entry in memory, or as the server declared it) is past ``limit``; None for
    either: no check."""
    if limit is not None and size is not None and size > limit:
        raise EntryTooLarge(where, limit, size)


def check_expectation(path, current_version, expect):
    """Raise unless an entry whose version is ``current_version`` (None = missing) meets ``expect``.
    For backends that compare versions themselves under a lock."""
    if expect is None:
        return
    if expect is ABSENT:
        if current_version is not None:
            raise AlreadyExists("entry '%s' already exists" % path)
    elif current_version != expect:
        raise PreconditionFailed("entry '%s' was changed by someone else since it was read" % path)


def http_date_seconds(value, what):
    """Seconds since the epoch of an HTTP date header (Date, Last-Modified: whole seconds, GMT)."""
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        raise BackendFailure('the server answered without a valid %s header (%r), so the age of an entry cannot be '
                             'told by its clock' % (what, value))


HASH_ALGORITHMS = ('md5', 'sha1', 'sha256')
#: the hash_algorithm of a listing that needs no hashes: backends that hash the content themselves then read none
NO_HASHES = 'none'


def new_hash(algorithm):
    """A hashlib object of one of HASH_ALGORITHMS, to feed a stream to."""
    if algorithm not in HASH_ALGORITHMS:
        raise NotSupported('unknown hash algorithm %r; use one of %s' % (algorithm, ', '.join(HASH_ALGORITHMS)))
    return hashlib.new(algorithm)


def content_hash(data, algorithm):
    digest = new_hash(algorithm)
    digest.update(data)
    return digest.hexdigest()


#: how much a finding of a health check matters, least first
SEVERITIES = ('info', 'low', 'medium', 'high', 'critical')
FINDING, OK, NOT_CHECKED = 'finding', 'ok', 'not checked'


class Check(object):
    """One thing a health check looked at (store_audit.py): ``name`` says what, ``status`` is OK, FINDING or
    NOT_CHECKED (the caller may not read it, or the server does not tell), ``value`` what was found. A finding has a
    ``severity`` (one of SEVERITIES), a ``reason`` (why it matters) and a ``fix`` (the command or task that fixes it);
    a check not made has the ``reason`` why not."""

    __slots__ = ('name', 'status', 'severity', 'reason', 'fix', 'value')

    def __init__(self, name, status, severity=None, reason=None, fix=None, value=None):
        if status == FINDING and (severity not in SEVERITIES or not reason or not fix):
            raise ValueError('a finding needs a severity of %s, a reason and a fix' % ', '.join(SEVERITIES))
        self.name, self.status, self.severity, self.reason, self.fix, self.value = (
            name, status, severity, reason, fix, value)

    @classmethod
    def ok(cls, name, value=None):
        return cls(name, OK, value=value)

    @classmethod
    def finding(cls, name, severity, reason, fix, value=None):
        return cls(name, FINDING, severity, reason, fix, value)

    @classmethod
    def not_checked(cls, name, reason):
        return cls(name, NOT_CHECKED, reason=reason)

    def as_dict(self):
        return dict(check=self.name, status=self.status, severity=self.severity, reason=self.reason, fix=self.fix,
                    value=self.value)

    def __repr__(self):
        return 'Check(%r, %r, %r)' % (self.name, self.status, self.severity)


def read_setting(name, permission, read):
    """(what ``read()`` returns, None), or (None, a NOT_CHECKED Check named ``name``) when the caller may not read the
    setting (``permission`` says what it takes), the server does not offer it, or the answer failed: a health check
    reports what it could not see and goes on."""
    try:
        return read(), None
    except AccessDenied:
        return None, Check.not_checked(name, 'the caller may not read it (needs %s)' % permission)
    except NotSupported as exc:
        return None, Check.not_checked(name, 'the server does not offer it: %s' % exc)
    except BackendFailure as exc:
        return None, Check.not_checked(name, 'it could not be read: %s' % exc)


class Entry(object):
    """One listed entry. ``path`` is relative to the store root; ``hash`` is a hex content hash of
    ``hash_algorithm`` or None when the backend has no trustworthy one; ``version`` is the token
    compare-and-swap writes expect."""

    __slots__ = ('path', 'size', 'hash', 'hash_algorithm', 'version', 'is_dir')

    def __init__(self, path, size=None, hash=None, hash_algorithm=None, version=None, is_dir=False):
        self.path = path
        self.size = size
        self.hash = hash
        self.hash_algorithm = hash_algorithm if hash is not None else None
        self.version = version
        self.is_dir = is_dir

    def as_dict(self):
        result = dict(path=self.path, is_dir=self.is_dir)
        if not self.is_dir:
            result.update(size=self.size, hash=self.hash, hash_algorithm=self.hash_algorithm)
        return result

    def __repr__(self):
        return 'Entry(%r, size=%r, %s=%r)' % (self.path, self.size, self.hash_algorithm, self.hash)


class Backend(object):
    """A store rooted at one location. Public methods validate entry paths, then call the
    backend's ``_``-prefixed implementation with the same (validated, relative) path.

    ``expect`` on write/delete: None = unconditional, ABSENT = only if missing (create-if-absent),
    any other value = only if the entry's current version equals it (compare-and-swap).
    """

    #: algorithm of the hashes listings carry, or None
    hash_algorithm = None
    #: True when write/delete honour a version expectation atomically on the server
    supports_compare_and_swap = True
    #: name prefix of the probe entries the backend writes next to an entry (and removes again), or None
    probe_prefix = None
    #: True when a listed hash may not be the content's for some entries (S3: an object written with its own
    #: SSE-KMS or SSE-C header lists an ETag that looks like an MD5): equal listed hashes still mean equal
    #: content, unequal ones are confirmed with hash() before they count
    listed_hashes_presumed = False

    def __init__(self, location, settings=None):
        self.location = location
        self.settings = settings or {}

    # -- public API ---------------------------------------------------------------------------
    def render(self, path=''):
        return self.location.join(validate_entry_path(path, folder=True)).render()

    def read(self, path, limit=STORE_LIMIT):
        """Return (bytes, version); raise NotFound when the entry does not exist, EntryTooLarge when it holds more
        than ``limit`` bytes: by default the store's ``max_entry_size`` setting (MAX_ENTRY_SIZE when not set), None
        for no bound (copies, which hold an entry only to write it elsewhere). A backend stops reading past the
        limit where its server allows (see docs/secrets.md)."""
        return self._read(validate_entry_path(path), self._limit(limit))

    def _limit(self, limit):
        if limit is not STORE_LIMIT:
            return limit
        limit = self.settings.get('max_entry_size')
        if limit is None:
            return MAX_ENTRY_SIZE
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise StateStoreError('max_entry_size must be a positive number of bytes; got %r' % (limit,))
        return limit

    def read_with_age(self, path, limit=STORE_LIMIT):
        """(bytes, version, age) of one entry: ``age`` is how many seconds ago the entry was last written, by
        the clock of the store that keeps it (an object store's Date minus the entry's write time; for file://
        this host's clock), never this host's clock against the server's. The lock entries of backends without
        compare-and-swap expire by it, so a host with a wrong clock cannot misjudge them. HTTP dates count whole
        seconds: an age read from them can be off by one second. Raises NotFound and EntryTooLarge like read,
        NotSupported where the backend cannot tell."""
        return self._read_with_age(validate_entry_path(path), self._limit(limit))

    def write(self, path, data, expect=None, acl=None):
        """Write ``data`` (bytes); return the new version. Raises AlreadyExists (expect=ABSENT) or
        PreconditionFailed (stale version)."""
        if not isinstance(data, bytes):
            raise TypeError('entry data must be bytes')
        return self._write(validate_entry_path(path), data, expect, acl)

    def create(self, path, data, acl=None):
        """Create-if-absent, atomically; raises AlreadyExists."""
        return self.write(path, data, expect=ABSENT, acl=acl)

    def copy_from(self, source, path, expect=None, acl=None):
        """Copy entry ``path`` of the store ``source`` to the same path here inside the server, without
        its content passing through this process; ``expect`` and ``acl`` as for write. Returns the new
        version, or None when these two stores cannot do that (the caller then reads and writes)."""
        return self._copy_from(source, validate_entry_path(path), expect, acl)

    def delete(self, path, expect=None):
        """Delete one entry; raise NotFound when missing, PreconditionFailed when stale."""
        self._delete(validate_entry_path(path), expect)

    def list(self, prefix='', recursive=False, hash_algorithm=None):
        """Entries below ``prefix``: direct children (files and folders) or, with recursive,
        every file of the tree. A missing prefix gives an empty list. Sorted by path.
        ``hash_algorithm``: the one the caller compares with; backends that hash the content
        themselves (file, memfs) list hashes of it, the others the hashes they keep. With NO_HASHES
        the former read no content and list neither hashes nor versions."""
        entries = self._list(validate_entry_path(prefix, folder=True), recursive, hash_algorithm)
        return sorted(entries, key=lambda entry: entry.path)

    def purge_versions(self, prefix, check_mode=False):
        """Permanently remove every old version of the entries below the folder ``prefix``: noncurrent
        versions and delete markers on S3, noncurrent generations on GCS, soft-deleted and older KV v2
        versions on Vault (a secret without a live version loses its metadata too). Current versions stay.
        Only the folder itself counts (``prefix`` + '/'), never a sibling that merely starts with the same
        text (``c.example`` when the folder is ``c``). Returns how many versions (and delete markers) were
        removed, or with ``check_mode`` would be removed, without removing any. Raises when the old versions
        cannot be listed or some of them could not be removed (the message says how many remain).
        Backends that keep no old versions (file, memfs, and this collection's Swift and OSS backends) have
        nothing to remove: 0."""
        return self._purge_versions(validate_entry_path(prefix, folder=True), check_mode)

    def keeps_versions(self, prefix):
        """Whether deleting or overwriting an entry below the folder ``prefix`` leaves its content behind as
        an old version (S3 versioning, GCS object versioning, Vault KV v2 soft deletes), as far as the
        backend can tell without extra permissions; False for backends that keep no old versions."""
        return self._keeps_versions(validate_entry_path(prefix, folder=True))

    def store_checks(self, environ):
        """Check the store itself (its bucket, container or folder) against what kOps and the provider recommend:
        a list of Check, each OK, a FINDING with its severity, reason and fix, or NOT_CHECKED when the caller's
        identity may not read the setting or the server does not offer it. Reads only. ``environ``: the
        environment kOps would run in (KOPS_STATE_S3_ACL, ...)."""
        return self._store_checks(environ)

    def hash(self, path, algorithm=None):
        """(algorithm, hex) of one entry: the backend's own hash when it has one and no other
        algorithm is asked for, else computed from the content."""
        path = validate_entry_path(path)
        own = self._stored_hash(path) if algorithm in (None, self.hash_algorithm) else None
        if own is not None:
            return self.hash_algorithm, own
        data, _version = self._read(path, None)
        algorithm = algorithm or 'sha256'
        return algorithm, content_hash(data, algorithm)

    # -- to implement -------------------------------------------------------------------------
    def _read(self, path, limit):
        """(bytes, version) of an entry of at most ``limit`` bytes (None: any size), else EntryTooLarge."""
        raise NotImplementedError

    def _read_with_age(self, path, limit):
        raise NotSupported('%s cannot tell how long ago an entry was written' % self.location.render())

    def _write(self, path, data, expect, acl):
        raise NotImplementedError

    def _delete(self, path, expect):
        raise NotImplementedError

    def _copy_from(self, source, path, expect, acl):
        """Server-side copy from ``source`` when possible, else None (no backend has to offer it)."""
        return None

    def _list(self, prefix, recursive, hash_algorithm=None):
        raise NotImplementedError

    def _stored_hash(self, path):
        """The server-side hash of ``hash_algorithm`` for one entry, or None."""
        return None

    def _purge_versions(self, prefix, check_mode):
        """Old versions below ``prefix`` + '/' removed (or counted); backends keeping none: 0."""
        return 0

    def _keeps_versions(self, prefix):
        return False

    def _store_checks(self, environ):
        return [Check.not_checked('store settings', '%s:// stores have no settings this collection can check'
                                  % self.location.scheme)]

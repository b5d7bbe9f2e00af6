# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Make one store folder a copy of another, on any two backends.

One recursive listing per side, no per-entry request to decide what to do when both listings carry
hashes of one algorithm; otherwise the content decides (never a hash that is not a content hash:
backends report None for those). Copies run in a thread pool, each worker holding one entry at a
time; a copy is done inside the server when the two stores allow it (``Backend.copy_from``), else read
and written through ``Backend.write``; either way the destination's rules (SSE, ACLs) apply.
The source is only ever read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import fnmatch
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kops.state_store.plugins.module_utils.entries import write_expectation
from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation, NotFound
from ansible_collections.kops.state_store.plugins.module_utils.redaction import is_secret_location
from ansible_collections.kops.state_store.plugins.module_utils.store import ABSENT, content_hash

#: how many changed paths a report lists; the counts stay exact beyond it
MAX_LISTED = 1000


class SyncReport(object):
    """Counts and bounded path lists of one run; workers update it under a lock."""

    def __init__(self, max_listed=MAX_LISTED):
        self.max_listed = max_listed
        self.copied = self.deleted = self.unchanged = self.bytes = self.secrets_skipped = 0
        self.copied_paths = []
        self.deleted_paths = []
        self.truncated = False
        self._lock = threading.Lock()

    def _listed(self, paths, path):
        # keep the first ``max_listed`` paths in path order, whatever order the workers finish in
        bisect.insort(paths, path)
        if len(paths) > self.max_listed:
            paths.pop()
            self.truncated = True

    def record_copy(self, path, size):
        with self._lock:
            self.copied += 1
            self.bytes += size
            self._listed(self.copied_paths, path)

    def record_delete(self, path):
        with self._lock:
            self.deleted += 1
            self._listed(self.deleted_paths, path)

    def record_unchanged(self):
        with self._lock:
            self.unchanged += 1

    @property
    def changed(self):
        return bool(self.copied or self.deleted)

    def as_dict(self):
        return dict(
            changed=self.changed, copied=self.copied, deleted=self.deleted, unchanged=self.unchanged,
            bytes=self.bytes, copied_paths=list(self.copied_paths), deleted_paths=list(self.deleted_paths),
            truncated=self.truncated, secrets_skipped=self.secrets_skipped,
        )


def listed_equal(source_entry, dest_entry, presumed=False):
    """True/False when the two listings decide equality alone, None when content must be read. With
    ``presumed`` (a side whose listed hashes may not be content hashes), unequal hashes decide nothing."""
    if source_entry.size is not None and dest_entry.size is not None and source_entry.size != dest_entry.size:
        return False
    if source_entry.hash is not None and source_entry.hash_algorithm == dest_entry.hash_algorithm:
        if source_entry.hash == dest_entry.hash:
            return True
        return None if presumed else False
    return None


def _digest(backend, entry, algorithm):
    """The ``algorithm`` hash of a listed entry's content: the listed one where it can be trusted, else the
    backend's own (S3: HeadObject, which tells an encrypted object apart) or one of the content."""
    if entry.hash is not None and entry.hash_algorithm == algorithm and not backend.listed_hashes_presumed:
        return entry.hash
    return backend.hash(entry.path, algorithm)[1]


def content_equal(source, destination, source_entry, dest_entry):
    """(equal, source bytes or None) for entries the listings cannot compare: the destination's
    hash algorithm computed on the source content (or the source's on the destination, or SHA-256
    of both). Reads one entry at a time; the source bytes are returned so a copy need not re-read."""
    algorithm = dest_entry.hash_algorithm or source_entry.hash_algorithm or 'sha256'
    dest_digest = _digest(destination, dest_entry, algorithm)
    if source_entry.hash is not None and source_entry.hash_algorithm == algorithm:
        return _digest(source, source_entry, algorithm) == dest_digest, None
    data = source.read(source_entry.path, None)[0]  # copies take entries of any size (etcd backups)
    return content_hash(data, algorithm) == dest_digest, data


def _same_place(first, second):
    return (first.scheme, first.bucket, first.port, first.mount) == (second.scheme, second.bucket, second.port, second.mount)


def _within(key, other):
    return not other or key == other or key.startswith(other + '/')


def check_not_overlapping(source_location, dest_location):
    """Refuse a source and destination where one contains the other (a sync would feed on itself)."""
    if not _same_place(source_location, dest_location):
        return
    first, second = source_location.key, dest_location.key
    if source_location.scheme == 'file':
        first, second = os.path.realpath(first), os.path.realpath(second)
        first, second = first.rstrip(os.sep), second.rstrip(os.sep)
    if _within(first, second) or _within(second, first):
        raise BadLocation("source '%s' and destination '%s' overlap; sync needs two separate folders"
                          % (source_location.render(), dest_location.render()))


class Sync(object):
    """Copy every selected source entry that is missing or different at the destination and, with
    ``delete``, remove selected destination entries the source does not have. With ``skip_secrets``,
    entries secret by their location on either side (see secrets.is_secret_location, with
    ``secret_patterns``) are left alone on both sides. With ``ignore_existing``, only missing entries
    are copied: an entry present at the destination is left as it is, even when it differs."""

    def __init__(self, source, destination, include=(), exclude=(), delete=False, parallel=16, acl=None,
                 check_mode=False, max_listed=MAX_LISTED, skip_secrets=False, secret_patterns=(),
                 ignore_existing=False, check_overlap=True):
        if check_overlap:  # off only for callers whose include patterns keep the two folders apart
            check_not_overlapping(source.location, destination.location)
        self.source = source
        self.destination = destination
        self.presumed = source.listed_hashes_presumed or destination.listed_hashes_presumed
        self.include = list(include or ())
        self.exclude = list(exclude or ())
        self.skip_secrets = skip_secrets
        self.secret_patterns = list(secret_patterns or ())
        self.delete = delete
        self.parallel = max(1, parallel)
        self.acl = acl
        self.check_mode = check_mode
        self.ignore_existing = ignore_existing
        self.report = SyncReport(max_listed)
        self.source_entries = []
        self.left_existing = set()  # paths ignore_existing left alone: verify asks only that they are there

    def selected(self, path):
        """Include patterns (any; none = all) then exclude patterns; ``*`` also matches ``/``."""
        if self.include and not any(fnmatch.fnmatchcase(path, pattern) for pattern in self.include):
            return False
        return not any(fnmatch.fnmatchcase(path, pattern) for pattern in self.exclude)

    def secret(self, path):
        """Whether ``skip_secrets`` leaves this path alone (decided alike for both sides)."""
        return self.skip_secrets and any(
            is_secret_location(backend.location.join(path), path, self.secret_patterns)
            for backend in (self.source, self.destination))

    def _listing(self, backend, other):
        """The selected entries of one side, hashed the other side's way where this side can choose."""
        listed = [entry for entry in backend.list('', recursive=True, hash_algorithm=other.hash_algorithm)
                  if not entry.is_dir and self.selected(entry.path)]
        if not self.skip_secrets:
            return listed
        kept = [entry for entry in listed if not self.secret(entry.path)]
        if backend is self.source:
            self.report.secrets_skipped = len(listed) - len(kept)
        return kept

    def run(self):
        """Copy and delete; returns the report. In check mode, decides the same and writes nothing."""
        # both listings at once: on remote stores most of their time is the server's
        with ThreadPoolExecutor(2) as pool:
            source_listing = pool.submit(self._listing, self.source, self.destination)
            dest_listing = pool.submit(self._listing, self.destination, self.source)
            self.source_entries = source_listing.result()
            dest_index = dict((entry.path, entry) for entry in dest_listing.result())
        if self.delete and dest_index and not self.source_entries:
            # most likely a mistyped source: do not turn it into "delete everything"
            raise NotFound("source '%s' has no entries to sync; refusing to delete every entry of '%s'"
                           % (self.source.render(), self.destination.render()))
        work = []
        for entry in self.source_entries:
            dest_entry = dest_index.pop(entry.path, None)
            if dest_entry is not None and self.ignore_existing:
                self.left_existing.add(entry.path)
                self.report.record_unchanged()
                continue
            equal = None if dest_entry is None else listed_equal(entry, dest_entry, self.presumed)
            if equal:
                self.report.record_unchanged()
            else:
                work.append((self._copy, entry, dest_entry, equal))
        if self.delete:
            work.extend((self._delete, dest_entry) for dest_entry in dest_index.values())
        self._run_parallel(work)
        return self.report

    def _copy(self, entry, dest_entry, equal):
        data = None
        if dest_entry is not None and equal is None:
            equal, data = content_equal(self.source, self.destination, entry, dest_entry)
            if equal:
                self.report.record_unchanged()
                return
        if not self.check_mode:
            expect = write_expectation(self.destination, ABSENT if dest_entry is None else dest_entry.version)
            copied = data is None and self.destination.copy_from(self.source, entry.path, expect=expect, acl=self.acl)
            if not copied:
                if data is None:
                    data = self.source.read(entry.path, None)[0]
                self.destination.write(entry.path, data, expect=expect, acl=self.acl)
        self.report.record_copy(entry.path, len(data) if data is not None else entry.size or 0)

    def _delete(self, dest_entry):
        if not self.check_mode:
            try:
                self.destination.delete(dest_entry.path, expect=write_expectation(self.destination, dest_entry.version))
            except NotFound:
                pass  # already gone: the goal is reached
        self.report.record_delete(dest_entry.path)

    def _run_parallel(self, work):
        """Run (function, *arguments) items on ``parallel`` workers, each taking the next item when done with
        the last (nothing is queued, and this thread only waits); after the first error, or an interruption of
        this thread, no worker starts another item, and the first error is raised."""
        if not work:
            return
        items = iter(work)
        lock = threading.Lock()
        errors = []

        def worker():
            while True:
                with lock:
                    item = None if errors else next(items, None)
                if item is None:
                    return
                try:
                    item[0](*item[1:])
                except BaseException as exc:
                    with lock:
                        errors.append(exc)
                    return

        count = min(self.parallel, len(work))
        with ThreadPoolExecutor(count) as pool:
            workers = [pool.submit(worker) for _number in range(count)]
            try:
                for future in workers:
                    future.result()
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                raise
        if errors:
            raise errors[0]

    def verify(self):
        """List the destination again: every selected source entry must be there with equal content
        (only there, for those ``ignore_existing`` left alone; and, with ``delete``, nothing else).
        Returns the paths that differ, sorted."""
        dest_index = dict((entry.path, entry) for entry in self._listing(self.destination, self.source))
        differences = []
        lock = threading.Lock()

        def check(entry, dest_entry):
            if not content_equal(self.source, self.destination, entry, dest_entry)[0]:
                with lock:
                    differences.append(entry.path)

        work = []
        for entry in self.source_entries:
            dest_entry = dest_index.pop(entry.path, None)
            if dest_entry is not None and entry.path in self.left_existing:
                continue
            equal = None if dest_entry is None else listed_equal(entry, dest_entry, self.presumed)
            if dest_entry is None or equal is False:
                differences.append(entry.path)
            elif equal is None:
                work.append((check, entry, dest_entry))
        self._run_parallel(work)
        if self.delete:
            differences.extend(dest_index)
        return sorted(differences)

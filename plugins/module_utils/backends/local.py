# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""file:// (and bare path) stores: for review and dry-run workflows, as kOps intends them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import stat
import tempfile
import time
from contextlib import contextmanager

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    BackendFailure,
    BadLocation,
    NotFound,
)
from ansible_collections.kops.state_store.plugins.module_utils.store import (
    NO_HASHES,
    Backend,
    Check,
    Entry,
    bounded_read,
    check_expectation,
    content_hash,
    new_hash,
)

HASHED_PIECE = 1024 * 1024
FILE_MODE = 0o600  # kOps writes state files readable by the owner only
DIR_MODE = 0o755  # and creates folders as MkdirAll(0755) does


class LocalBackend(Backend):
    """Entries are files under the root folder.

    The version of an entry is the SHA-256 of its content. Every write takes an exclusive lock on
    the entry's folder, so compare-and-swap and create-if-absent are atomic across processes;
    the content itself lands by rename of a fsynced temporary file in the same folder.
    """

    hash_algorithm = 'sha256'

    def __init__(self, location, settings=None):
        super(LocalBackend, self).__init__(location, settings)
        self.root = os.path.abspath(location.key)

    # -- path safety ------------------------------------------------------------------------
    def _real_root(self):
        return os.path.realpath(self.root)

    def _file_path(self, path):
        """Absolute file path of an entry; refuse one whose real location leaves the root."""
        target = os.path.join(self.root, *path.split('/')) if path else self.root
        real_root = self._real_root()
        real_target = os.path.realpath(target)
        if real_target != real_root and not real_target.startswith(real_root + os.sep):
            raise BadLocation("entry path '%s' leads outside the state store %s (symbolic link?)" % (path, self.root))
        return target

    # -- reading ------------------------------------------------------------------------------
    def _read(self, path, limit):
        return self._read_with_age(path, limit)[:2]

    def _current_version(self, file_path):
        try:
            with open(file_path, 'rb') as handle:
                return content_hash(handle.read(), 'sha256')
        except (IOError, OSError) as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise

    def _stored_hash(self, path):
        return self._read(path, None)[1]

    def _read_with_age(self, path, limit):
        # The store is a folder of this host: its clock is the one that stamped the file.
        file_path = self._file_path(path)
        try:
            with open(file_path, 'rb') as handle:
                status = os.fstat(handle.fileno())
                written = status.st_mtime
                data = bounded_read(handle.read, self.render(path), limit, status.st_size)
        except (IOError, OSError) as exc:
            raise _translate(exc, path, self.root)
        return data, content_hash(data, 'sha256'), max(0.0, time.time() - written)

    def _list(self, prefix, recursive, hash_algorithm=None):
        files, folders = self._children(self._file_path(prefix))
        if recursive:
            while folders:
                more_files, more_folders = self._children(folders.pop())
                files += more_files
                folders += more_folders
        entries = [Entry(self._relative(folder), is_dir=True) for folder in folders]
        for full in files:
            entry = self._file_entry(full, hash_algorithm)
            if entry is not None:
                entries.append(entry)
        return entries

    def _children(self, folder):
        """(files, folders) directly in ``folder``, as full paths; none when it is missing or not a folder. Only
        regular files and real folders are entries: symbolic links (which can lead out of the store, to /dev/zero
        or to a FIFO) and other special files are left out; this backend never writes one, and reads refuse links
        that leave the store. A folder that cannot be listed fails the listing, named: a listing without it would
        pass for a whole one (and a sync with delete would remove what it holds at the destination)."""
        try:
            with os.scandir(folder) as scan:
                children = list(scan)
        except (IOError, OSError) as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return [], []  # missing, not a folder, or removed since its parent was listed
            raise _unlistable(exc, folder, self.root)
        files, folders = [], []
        for child in children:
            if _is_temp(child.name) or child.is_symlink():
                continue
            if child.is_dir(follow_symlinks=False):
                folders.append(child.path)
            elif child.is_file(follow_symlinks=False):
                files.append(child.path)
        return files, folders

    def _file_entry(self, full, hash_algorithm):
        """The listed entry of one regular file, or None when it is gone or no longer a regular file."""
        if hash_algorithm == NO_HASHES:
            try:
                status = os.stat(full, follow_symlinks=False)
            except (IOError, OSError) as exc:
                if exc.errno == errno.ENOENT:
                    return None
                raise _translate(exc, self._relative(full), self.root)
            return Entry(self._relative(full), size=status.st_size) if stat.S_ISREG(status.st_mode) else None
        try:
            # O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a FIFO since the folder was listed
            # fails or opens at once instead of being followed or blocking.
            descriptor = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except (IOError, OSError) as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP):
                return None
            raise _translate(exc, self._relative(full), self.root)
        listed = hash_algorithm or 'sha256'
        digests = dict((algorithm, new_hash(algorithm)) for algorithm in set(('sha256', listed)))
        size = 0
        with os.fdopen(descriptor, 'rb') as handle:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                return None
            # hashed a piece at a time: listing a store never holds a whole file in memory, however large
            for chunk in iter(lambda: handle.read(HASHED_PIECE), b''):
                size += len(chunk)
                for digest in digests.values():
                    digest.update(chunk)
        return Entry(self._relative(full), size=size, hash=digests[listed].hexdigest(), hash_algorithm=listed,
                     version=digests['sha256'].hexdigest())

    def _relative(self, full):
        return os.path.relpath(full, self.root).replace(os.sep, '/')

    def _store_checks(self, environ):
        return [Check.finding(
            'review only', 'info',
            'a file:// store is for review and dry runs only, as kOps\'s documentation says: nodes cannot read it, so '
            'kops update cluster --yes from it cannot work',
            'review here (kops update cluster without --yes) and apply from the real state store; '
            'playbooks/review_state_changes.yml makes such a copy')]

    # -- writing ------------------------------------------------------------------------------
    def _write(self, path, data, expect, acl):
        file_path = self._file_path(path)
        folder = os.path.dirname(file_path)
        try:
            os.makedirs(folder, DIR_MODE, exist_ok=True)
            self._file_path(path)  # re-check: a folder created above may not be a symlink out
            with _folder_lock(folder):
                current = self._current_version(file_path)
                check_expectation(path, current, expect)
                _atomic_replace(folder, file_path, data)
        except (IOError, OSError) as exc:
            raise _translate(exc, path, self.root)
        return content_hash(data, 'sha256')

    def _delete(self, path, expect):
        file_path = self._file_path(path)
        folder = os.path.dirname(file_path)
        if not os.path.isdir(folder):
            raise NotFound("entry '%s' does not exist in %s" % (path, self.root))
        try:
            with _folder_lock(folder):
                current = self._current_version(file_path)
                if current is None:
                    raise NotFound("entry '%s' does not exist in %s" % (path, self.root))
                check_expectation(path, current, expect)
                os.unlink(file_path)
        except (IOError, OSError) as exc:
            raise _translate(exc, path, self.root)


_TEMP_PREFIX = '.kops-state-store-tmp-'


def _is_temp(name):
    return name.startswith(_TEMP_PREFIX)


@contextmanager
def _folder_lock(folder):
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _atomic_replace(folder, file_path, data):
    descriptor, temp_path = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=folder)
    try:
        with os.fdopen(descriptor, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_path, FILE_MODE)
        os.rename(temp_path, file_path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise
    folder_descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_descriptor)  # make the rename itself durable
    finally:
        os.close(folder_descriptor)


def _unlistable(exc, folder, root):
    error = AccessDenied if exc.errno in (errno.EACCES, errno.EPERM) else BackendFailure
    return error('cannot list the folder %s of the state store %s (%s); refusing an incomplete listing'
                 % (folder, root, exc.strerror or exc))


def _translate(exc, path, root):
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return NotFound("entry '%s' does not exist in %s" % (path, root))
    if exc.errno in (errno.EACCES, errno.EPERM):
        return AccessDenied("access denied to entry '%s' in %s: %s" % (path, root, exc.strerror))
    if exc.errno == errno.EISDIR:
        return BadLocation("entry '%s' in %s is a folder, not an entry" % (path, root))
    if exc.errno == errno.EEXIST:  # a folder to create is an entry already
        return BadLocation("entry '%s' in %s lies below an entry, not below a folder" % (path, root))
    return BackendFailure("cannot access entry '%s' in %s: %s" % (path, root, exc.strerror or exc))


SCHEMES = ('file',)
BACKEND = LocalBackend
OPTIONS = {}

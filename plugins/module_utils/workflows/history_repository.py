# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The repository side of a store's git history (history.py): git in one working tree, where each store and
cluster lives in it, the manifests of snapshots, and files written into the working tree.

Repository layout: one folder per store (``s3/<bucket>/<prefix>``, ``file/<path>``, ...), in it one folder per
cluster holding its entries by their paths, and ``.kops-history/<cluster>.json`` (no kOps cluster name starts
with a dot), the manifest saying whether the snapshot holds the cluster's secrets and which files are Ansible
Vault text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation, StateStoreError, first_line
from ansible_collections.kops.state_store.plugins.module_utils.locations import validate_entry_path

MANIFEST_FOLDER = '.kops-history'
LINK_MODE = b'120000'  # git's mode of a symbolic link
SECRETS_ENCRYPTED = 'encrypted'
SECRETS_LEFT_OUT = 'left out'


class HistoryError(StateStoreError):
    """A request the history cannot serve, or a git command that failed; nothing was changed by the step that
    raised it unless the message says so."""


# -- git ------------------------------------------------------------------------------------------

def blob_id(data, algorithm):
    """git's object id of a file holding ``data``: the hash of ``blob <size>\\0`` and the content."""
    return hashlib.new(algorithm, b'blob %d\x00' % len(data) + data).hexdigest()


def git_runner(module, author_name='kops.state_store', author_email='kops.state_store@localhost', committer_name=None,
               committer_email=None):
    """git through a module's run_command: bytes in and out, a fixed language for parsed output, literal paths, no
    prompt (a push without credentials fails instead of waiting), the commit identity given."""
    git = module.get_bin_path('git', required=True)
    environment = dict(
        LC_ALL='C', LANGUAGE='C', GIT_TERMINAL_PROMPT='0', GIT_LITERAL_PATHSPECS='1',
        GIT_AUTHOR_NAME=author_name, GIT_AUTHOR_EMAIL=author_email,
        GIT_COMMITTER_NAME=committer_name or author_name, GIT_COMMITTER_EMAIL=committer_email or author_email,
    )

    def run(arguments, data=None):
        return module.run_command([git] + arguments, data=data, binary_data=True, encoding=None,
                                  environ_update=environment)
    return run


class Git(object):
    """git in one working tree. ``run(arguments, data)`` runs git with the arguments and ``data`` (bytes or None)
    on its standard input and returns (rc, stdout bytes, stderr bytes)."""

    def __init__(self, run, path):
        self._run = run
        self.path = path

    def run(self, *arguments, **options):
        rc, out, err = self._run(['-C', self.path] + list(arguments), options.get('data'))
        if rc not in options.get('allowed', (0,)):
            why = first_line((err or out).decode('utf-8', 'replace'))
            raise HistoryError('git %s failed in %s: %s' % (arguments[0], self.path, why))
        return rc, out

    def is_repository(self):
        """True when the folder exists and is the top of a git working tree (not merely inside another)."""
        if not os.path.isdir(self.path):
            return False
        rc, out = self.run('rev-parse', '--show-toplevel', allowed=(0, 128))
        return rc == 0 and os.path.realpath(out.decode('utf-8').strip()) == os.path.realpath(self.path)

    def init(self):
        if not os.path.isdir(self.path):
            os.makedirs(self.path)
        self.run('init', '-q')

    def head(self):
        """The commit id of HEAD, or None in a repository without commits."""
        rc, out = self.run('rev-parse', '--verify', '-q', 'HEAD^{commit}', allowed=(0, 1))
        return out.decode('ascii').strip() if rc == 0 else None

    def resolve(self, revision):
        rc, out = self.run('rev-parse', '--verify', '-q', '%s^{commit}' % revision, allowed=(0, 1))
        if rc != 0:
            raise HistoryError("'%s' names no commit of the repository %s" % (revision, self.path))
        return out.decode('ascii').strip()

    def tree(self, commit, folder):
        """({path relative to ``folder``: blob id} of every file below ``folder`` at ``commit``, the set of those
        paths that are symbolic links); None for ``commit``: none."""
        if commit is None:
            return {}, set()
        _rc, out = self.run('ls-tree', '-r', '-z', commit, '--', folder + '/')
        files, links = {}, set()
        for record in out.split(b'\x00'):
            if not record:
                continue
            meta, _tab, path = record.partition(b'\t')
            mode, kind, object_id = meta.split(b' ')
            if kind == b'blob':
                relative = path.decode('utf-8', 'surrogateescape')[len(folder) + 1:]
                files[relative] = object_id.decode('ascii')
                if mode == LINK_MODE:
                    links.add(relative)
        return files, links

    def blobs(self, object_ids):
        """{blob id: content} of the given blobs, read by one git process."""
        object_ids = sorted(set(object_ids))
        if not object_ids:
            return {}
        _rc, out = self.run('cat-file', '--batch', data=''.join(i + '\n' for i in object_ids).encode('ascii'))
        contents, position = {}, 0
        for object_id in object_ids:
            end = out.index(b'\n', position)
            header = out[position:end].split(b' ')
            if len(header) != 3:
                raise HistoryError('git cannot read object %s of %s' % (object_id, self.path))
            size = int(header[2])
            contents[object_id] = out[end + 1:end + 1 + size]
            position = end + 1 + size + 1
        return contents

    def add(self, paths):
        self.run('add', '-A', '--', *paths)

    def has_staged(self, paths):
        return self.run('diff', '--cached', '--quiet', '--', *paths, allowed=(0, 1))[0] == 1

    def commit(self, message, paths):
        """Commit what is staged below ``paths``. When nothing else is staged the index is committed as it is:
        ``git commit -- <paths>`` takes a folder that replaced a committed file or link for a submodule and fails."""
        staged = self.run('diff', '--cached', '--name-only', '-z')[1].decode('utf-8', 'surrogateescape')
        others = [path for path in staged.split('\x00') if path and not any(
            path == prefix or path.startswith(prefix.rstrip('/') + '/') for prefix in paths)]
        self.run(*(['commit', '-q', '-F', '-'] + (['--'] + list(paths) if others else [])),
                 data=message.encode('utf-8'))
        return self.head()

    def push(self, remote, check_mode):
        """Push the current branch to ``remote`` (a remote's name or a URL); True when the remote lacked it. In
        check mode git only asks the remote (``--dry-run``)."""
        branch = self.run('symbolic-ref', '--short', 'HEAD')[1].decode('utf-8').strip()
        arguments = ['push', '--porcelain'] + (['--dry-run'] if check_mode else [])
        _rc, out = self.run(*(arguments + [remote, 'HEAD:refs/heads/%s' % branch]))
        flags = [line[:1] for line in out.decode('utf-8', 'replace').splitlines() if line.count('\t') >= 2]
        return any(flag != '=' for flag in flags)


# -- where things are -----------------------------------------------------------------------------

def store_folder(location):
    """The default folder of a store in the repository: its scheme, bucket and prefix (``s3/bucket/prefix``), or
    ``file/`` and the absolute path of a local store."""
    if location.scheme == 'file':
        parts = ['file', os.path.abspath(location.key)]
    else:
        parts = [location.scheme, location.bucket, location.key]
    return checked_folder('/'.join(part.strip('/') for part in parts if part.strip('/')))


def checked_folder(folder):
    """A folder given by the user, relative to the repository, never inside ``.git``."""
    folder = validate_entry_path(folder.strip('/'), folder=True)
    if not folder or '.git' in folder.split('/') or MANIFEST_FOLDER in folder.split('/'):
        raise BadLocation("'%s' cannot be a store's folder in the repository: give a relative folder outside .git"
                          % folder)
    return folder


def manifest_path(cluster):
    return '%s/%s.json' % (MANIFEST_FOLDER, cluster)


class Snapshot(object):
    """One cluster in one commit: ``files`` {entry path relative to the cluster: blob id}, ``links`` (those that are
    symbolic links, which no snapshot writes: they equal no entry), ``encrypted`` (the paths holding Ansible Vault
    text), ``secrets_included``, ``manifest_id`` (the manifest's blob id); ``exists`` False when the commit has no
    such snapshot."""

    def __init__(self, files=None, manifest=None, manifest_id=None, links=()):
        self.files = files or {}
        self.links = set(links)
        self.exists = manifest is not None
        self.manifest_id = manifest_id
        manifest = manifest or {}
        self.encrypted = set(manifest.get('encrypted', ()))
        self.secrets_included = manifest.get('secrets') == SECRETS_ENCRYPTED


def read_snapshots(git, commit, folder):
    """{cluster: Snapshot} of every cluster of the store folder ``folder`` at ``commit`` (None: no commit)."""
    files, links = git.tree(commit, folder)
    manifests = dict((path[len(MANIFEST_FOLDER) + 1:-len('.json')], object_id) for path, object_id in files.items()
                     if path.startswith(MANIFEST_FOLDER + '/') and path.endswith('.json'))
    contents = git.blobs(manifests.values())
    snapshots = {}
    for cluster, object_id in manifests.items():
        try:
            manifest = json.loads(contents[object_id].decode('utf-8'))
        except ValueError:
            raise HistoryError('%s/%s at %s is not a manifest this collection wrote' % (folder, manifest_path(cluster), commit))
        prefix = cluster + '/'
        snapshots[cluster] = Snapshot(dict((path[len(prefix):], object_id) for path, object_id in files.items()
                                           if path.startswith(prefix)), manifest, object_id,
                                      (path[len(prefix):] for path in links if path.startswith(prefix)))
    return snapshots


# -- the working tree ------------------------------------------------------------------------------
# Anyone who can push to a shared repository can commit a symbolic link where a file or folder of a snapshot goes.
# The history never follows one: as git checkout does, it removes a link in the way and writes a real folder or
# file in its place, so nothing outside the working tree is ever read or written, and git records the change.

_NO_FOLLOW = getattr(os, 'O_NOFOLLOW', 0)


def _folder(top, parts, make, checked=None):
    """The folder ``top``/``parts``, never reached through a link: a link in the way is removed (and, with
    ``make``, so is a file), and a missing folder made; without ``make``, None when there is none. ``top`` is the
    working tree the task names, taken as it is. ``checked`` holds folders already made real by the caller."""
    path = top
    for part in parts:
        path = os.path.join(path, part)
        if checked is not None and path in checked:
            continue
        if os.path.islink(path) or (make and os.path.lexists(path) and not os.path.isdir(path)):
            os.unlink(path)
        if not os.path.isdir(path):
            if not make:
                return None
            os.mkdir(path)
        if checked is not None:
            checked.add(path)
    return path


def _holds(path, data):
    """Whether the file ``path`` (not a link) holds ``data``."""
    try:
        descriptor = os.open(path, os.O_RDONLY | _NO_FOLLOW)
    except OSError:
        return False
    with os.fdopen(descriptor, 'rb') as handle:
        try:
            return handle.read() == data
        except OSError:  # a folder
            return False


def write_file(top, path, data, checked=None):
    """Make ``path`` (relative to the working tree ``top``, '/'-separated) a file holding ``data``, unless it is
    one already; a link there, or on the way, is replaced."""
    parts = path.split('/')
    try:
        full = os.path.join(_folder(top, parts[:-1], True, checked), parts[-1])
        if os.path.islink(full):
            os.unlink(full)
        elif _holds(full, data):
            return
        descriptor = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NO_FOLLOW, 0o666)
        with os.fdopen(descriptor, 'wb') as handle:
            handle.write(data)
    except OSError as exc:
        raise HistoryError('cannot write %s in the working tree %s: %s' % (path, top, exc.strerror or exc))


def remove_file(top, path):
    """Remove ``path`` (relative to the working tree ``top``) if it is there; a link on the way is removed instead."""
    parts = path.split('/')
    folder = _folder(top, parts[:-1], False)
    full = os.path.join(folder, parts[-1]) if folder is not None else None
    if full is not None and (os.path.islink(full) or os.path.isfile(full)):
        os.unlink(full)


def mirror(top, folder, files):
    """Make ``folder`` (relative to the working tree ``top``) hold exactly ``files`` ({path relative to it: bytes}),
    as real files and folders, and nothing else; without files it is removed."""
    parts = folder.split('/')
    root = _folder(top, parts, bool(files))
    if root is not None:
        for current, folders, names in os.walk(root, topdown=False):  # links are listed, never entered
            for name in folders + names:
                full = os.path.join(current, name)
                if os.path.islink(full) or (name in names and
                                            os.path.relpath(full, root).replace(os.sep, '/') not in files):
                    os.unlink(full)
            if not os.listdir(current) and (current != root or not files):
                os.rmdir(current)
    checked = set()
    for path, data in files.items():
        write_file(top, '%s/%s' % (folder, path), data, checked)

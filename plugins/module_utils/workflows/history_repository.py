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
        """{path relative to ``folder``: blob id} of every file below ``folder`` at ``commit`` (None: none)."""
        if commit is None:
            return {}
        _rc, out = self.run('ls-tree', '-r', '-z', commit, '--', folder + '/')
        files = {}
        for record in out.split(b'\x00'):
            if not record:
                continue
            meta, _tab, path = record.partition(b'\t')
            _mode, kind, object_id = meta.split(b' ')
            if kind == b'blob':
                files[path.decode('utf-8', 'surrogateescape')[len(folder) + 1:]] = object_id.decode('ascii')
        return files

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
        self.run('commit', '-q', '-F', '-', '--', *paths, data=message.encode('utf-8'))
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
    """One cluster in one commit: ``files`` {entry path relative to the cluster: blob id}, ``encrypted`` (the paths
    holding Ansible Vault text), ``secrets_included``, ``manifest_id`` (the manifest's blob id); ``exists`` False
    when the commit has no such snapshot."""

    def __init__(self, files=None, manifest=None, manifest_id=None):
        self.files = files or {}
        self.exists = manifest is not None
        self.manifest_id = manifest_id
        manifest = manifest or {}
        self.encrypted = set(manifest.get('encrypted', ()))
        self.secrets_included = manifest.get('secrets') == SECRETS_ENCRYPTED


def read_snapshots(git, commit, folder):
    """{cluster: Snapshot} of every cluster of the store folder ``folder`` at ``commit`` (None: no commit)."""
    files = git.tree(commit, folder)
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
                                           if path.startswith(prefix)), manifest, object_id)
    return snapshots


# -- the working tree ------------------------------------------------------------------------------

def write_file(path, data):
    """Write ``data`` to ``path`` unless the file holds it already."""
    try:
        with open(path, 'rb') as handle:
            if handle.read() == data:
                return
    except (IOError, OSError):
        pass
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent)
    with open(path, 'wb') as handle:
        handle.write(data)


def remove_file(path):
    if os.path.lexists(path):
        os.remove(path)


def mirror(root, files):
    """Make the folder ``root`` hold exactly ``files`` ({path relative to it: bytes}), and nothing else."""
    if os.path.isdir(root):
        for folder, _folders, names in os.walk(root, topdown=False):
            for name in names:
                full = os.path.join(folder, name)
                if os.path.relpath(full, root).replace(os.sep, '/') not in files:
                    os.remove(full)
            if not os.listdir(folder) and (folder != root or not files):
                os.rmdir(folder)
    for path, data in files.items():
        write_file(os.path.join(root, *path.split('/')), data)

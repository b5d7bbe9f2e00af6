# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A git history of state stores (docs/history.md): snapshots of clusters into a git working tree, the drift
of a store from a commit, and restores of a commit's entries to a store.

The repository's layout and git itself are history_repository.py's. Secret entries (redaction.py decides) are left
out, or encrypted in memory before they are written (ansible_vault_file.py): clear text never reaches the working
tree, git or a result.

Every comparison is of contents: a store entry against a snapshot file by git's own blob id of the content,
an encrypted one by its decrypted content. An entry whose listing names the content hash and size of the snapshot's
file is not read: its content is the file's (read_cluster_entries). Restores write with the version each entry was
read at (compare-and-swap; a lock entry on backends without it, as the cluster module does).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import fnmatch
import json
import posixpath
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kops.state_store.plugins.module_utils.entries import diff_text, read_or_none, write_expectation
from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster import clusters_listed, config_path
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import refused_names_warning
from ansible_collections.kops.state_store.plugins.module_utils.lock import cluster_lock
from ansible_collections.kops.state_store.plugins.module_utils.redaction import is_secret, is_secret_location
from ansible_collections.kops.state_store.plugins.module_utils.store import ABSENT, content_hash
from ansible_collections.kops.state_store.plugins.module_utils.workflows import ansible_vault_file
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history_repository import (
    HistoryError,
    SECRETS_ENCRYPTED,
    SECRETS_LEFT_OUT,
    Snapshot,
    blob_id,
    manifest_path,
    mirror,
    read_snapshots,
    remove_file,
    write_file,
)


# -- the store side -------------------------------------------------------------------------------


class StoreEntry(object):
    __slots__ = ('data', 'version', 'secret')

    def __init__(self, data, version, secret):
        self.data, self.version, self.secret = data, version, secret


class ClusterContent(object):
    """A cluster's entries in a store as a snapshot selects them: ``entries`` {path relative to the cluster:
    StoreEntry}; ``left_out`` the secret ones left alone (not read when their location tells). Entries the
    ``exclude`` globs match are left out as well."""

    def __init__(self):
        self.entries = {}
        self.left_out = set()


def excluded(path, exclude):
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in exclude)


def read_cluster_entries(backend, cluster, with_secrets, exclude=(), secret_patterns=(), parallel=16, committed=None,
                         listed=None):
    """The cluster's entries as ``ClusterContent``. ``listed``: its entries in a listing already made (None: list
    them); ``committed``: (git, the cluster's Snapshot in it) or None. An entry whose listing carries a content
    hash and size that the snapshot's file has is taken from git, not read from the store (as ``aws s3 sync``
    trusts a listing); every other entry is read: one the listing tells nothing about (no hash: Vault, an S3
    bucket whose ETags are not MD5s, multipart ETags), one whose hash differs (also when the listed hash is
    presumed, so a mismatch may only mean the ETag is not a content hash), and every encrypted one."""
    content = ClusterContent()
    wanted = []
    for entry in backend.list(cluster, recursive=True) if listed is None else listed:
        if entry.is_dir:
            continue
        relative = entry.path[len(cluster) + 1:]
        if excluded(relative, exclude):
            continue
        if not with_secrets and is_secret_location(backend.location.join(entry.path), entry.path, secret_patterns):
            content.left_out.add(relative)  # never read
        else:
            wanted.append((entry, relative))
    found = dict(unchanged_in_git(wanted, *committed)) if committed is not None else {}

    def read(item):  # copied into the repository whole, of any size (etcd backups, when secrets are recorded)
        entry, relative = item
        if relative in found:
            return relative, (found[relative], entry.version)
        return relative, read_or_none(backend, entry.path, None)

    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for relative, (data, version) in pool.map(read, wanted):
            if data is None:
                continue  # deleted since the listing
            secret = is_secret(backend, cluster + '/' + relative, secret_patterns, (data,))
            if secret and not with_secrets:
                content.left_out.add(relative)
            else:
                content.entries[relative] = StoreEntry(data, version, secret)
    check_tree_paths(cluster, content.entries)
    return content


def unchanged_in_git(listed, git, snapshot):
    """(path, content) of the ``listed`` (entry, path) whose listed size and content hash the snapshot's plain
    file (not encrypted, not a link) has: the file's content is the entry's, so the store need not be read."""
    told = dict((relative, entry) for entry, relative in listed
                if entry.hash is not None and entry.size is not None and relative in snapshot.files
                and relative not in snapshot.links and relative not in snapshot.encrypted)
    if not told:
        return
    blobs = git.blobs(snapshot.files[relative] for relative in told)
    for relative, entry in told.items():
        data = blobs[snapshot.files[relative]]
        if len(data) == entry.size and content_hash(data, entry.hash_algorithm) == entry.hash:
            yield relative, data


def check_tree_paths(cluster, paths):
    """Refuse entries a working tree cannot hold together: ``a`` and ``a/b`` (object stores allow both)."""
    folders = set()
    for path in paths:
        parts = path.split('/')
        folders.update('/'.join(parts[:depth]) for depth in range(1, len(parts)))
    clashing = sorted(folders.intersection(paths))
    if clashing:
        raise HistoryError("cluster %s has entries that are also folders of other entries (%s), which files in a git "
                           "working tree cannot be; exclude them" % (cluster, ', '.join(clashing[:10])))


# -- comparing ------------------------------------------------------------------------------------

class Opener(object):
    """Contents of snapshot files on demand: blobs read in one batch, Ansible Vault text decrypted with the
    password (bytes or None)."""

    def __init__(self, git, password, what):
        self.git = git
        self.password = password
        self.what = what
        self._blobs = {}

    def preload(self, object_ids):
        missing = set(object_ids) - set(self._blobs)
        self._blobs.update(self.git.blobs(missing))

    def raw(self, object_id):
        self.preload([object_id])
        return self._blobs[object_id]

    def content(self, snapshot, relative, cluster):
        """The entry's content in the snapshot (decrypted when encrypted)."""
        data = self.raw(snapshot.files[relative])
        if relative not in snapshot.encrypted:
            return data
        if self.password is None:
            raise HistoryError('%s/%s is encrypted in the snapshot; give the vault secret and secrets=true' % (cluster, relative))
        return ansible_vault_file.decrypt(data, self.password, '%s/%s in %s' % (cluster, relative, self.what))


def object_algorithm(snapshot):
    """The repository's object hash (sha1, or sha256 in a repository made with --object-format=sha256)."""
    for object_id in snapshot.files.values():
        return 'sha256' if len(object_id) == 64 else 'sha1'
    return 'sha1'


def same(entry, snapshot, relative, opener, cluster):
    """Whether a store entry equals the snapshot's file of the same path (a secret only equals an encrypted file,
    nothing a symbolic link)."""
    if relative not in snapshot.files or relative in snapshot.links or entry.secret != (relative in snapshot.encrypted):
        return False
    if not entry.secret:
        return blob_id(entry.data, object_algorithm(snapshot)) == snapshot.files[relative]
    return opener.content(snapshot, relative, cluster) == entry.data


class Difference(object):
    """What changed from a snapshot to a store, per entry path relative to the cluster."""

    def __init__(self, added=(), changed=(), removed=()):
        self.added, self.changed, self.removed = sorted(added), sorted(changed), sorted(removed)

    @property
    def any(self):
        return bool(self.added or self.changed or self.removed)

    def as_dict(self):
        return dict(added=self.added, changed=self.changed, removed=self.removed)


def compare(cluster, entries, snapshot, snapshot_paths, opener):
    """Difference from the snapshot's files ``snapshot_paths`` to the store ``entries``."""
    added = [path for path in entries if path not in snapshot_paths]
    changed = [path for path in entries if path in snapshot_paths and not same(entries[path], snapshot, path, opener, cluster)]
    removed = [path for path in snapshot_paths if path not in entries]
    return Difference(added, changed, removed)


def diffs(cluster, where_before, where_after, pairs):
    """Ansible diff dicts of entries that are not secret: ``pairs`` {path: (before bytes or None, after bytes or None)}."""
    return [dict(before_header='%s/%s/%s' % (where_before, cluster, path), after_header='%s/%s/%s' % (where_after, cluster, path),
                 before=diff_text(before, False, False), after=diff_text(after, False, False))
            for path, (before, after) in sorted(pairs.items())]


# -- snapshot -------------------------------------------------------------------------------------

class History(object):
    """The history operations on one store (``backend``) and one repository (``git``). ``folder``: the store's
    folder in the repository; ``password``: the vault password (bytes) or None; ``vault_id``: the label of the
    files it encrypts."""

    def __init__(self, backend, git, folder, password=None, vault_id=None, exclude=(), secret_patterns=(), parallel=16):
        self.backend = backend
        self.git = git
        self.folder = folder
        self.password = password
        self.vault_id = vault_id
        self.exclude = list(exclude or ())
        self.secret_patterns = list(secret_patterns or ())
        self.parallel = parallel
        self.warnings = []

    def _read(self, cluster, with_secrets, committed=None, listed=None):
        """The cluster's entries; with ``committed`` (its Snapshot) those the listing shows unchanged from it
        come from git (snapshot and drift; a restore reads every entry it may write over)."""
        return read_cluster_entries(self.backend, cluster, with_secrets, self.exclude, self.secret_patterns, self.parallel,
                                    None if committed is None else (self.git, committed), listed)

    def _existing(self, clusters, recorded=()):
        """(the store's clusters, {cluster: its entries}) from one listing of the whole store; fails naming each of
        ``clusters`` neither in it nor in ``recorded``."""
        listing = {}
        entries = self.backend.list('', recursive=True)
        for entry in entries:
            listing.setdefault(entry.path.split('/', 1)[0], []).append(entry)
        present, refused = clusters_listed(entries)
        if refused:  # never a folder of the repository
            self.warnings.append(refused_names_warning(refused, self.backend.render()))
        missing = [name for name in clusters if name not in present and name not in recorded]
        if missing:
            raise HistoryError('no cluster %s in %s (no %s)' % (
                ', '.join(missing), self.backend.render(), ', '.join(config_path(name) for name in missing)))
        return present, listing

    def snapshot(self, clusters=(), secrets=False, check_mode=False, diff=False):
        """Record the clusters (default: every cluster of the store; then clusters gone from the store are
        recorded as removed) in one commit, only when something changed."""
        initialised = not self.git.is_repository()
        head = None if initialised else self.git.head()
        present, listing = self._existing(clusters)
        before = read_snapshots(self.git, head, self.folder)
        selected = sorted(clusters or present)
        gone = [] if clusters else sorted(set(before) - set(present))
        opener = Opener(self.git, self.password, 'HEAD')
        report, files, pairs = {}, {}, {}
        for cluster in selected + gone:
            snapshot = before.get(cluster, Snapshot())
            content = self._read(cluster, secrets, snapshot, listing[cluster]) if cluster in selected else ClusterContent()
            difference = compare(cluster, content.entries, snapshot, snapshot.files, opener)
            files[cluster] = (self._files(cluster, content, snapshot, difference, opener, secrets)
                              if cluster in selected else None)
            manifest_changed = files[cluster] is not None and (
                not snapshot.exists or opener.raw(snapshot.manifest_id) != files[cluster][1])
            report[cluster] = dict(difference.as_dict(), secrets_left_out=len(content.left_out),
                                   secrets_encrypted=sum(1 for entry in content.entries.values() if entry.secret),
                                   gone=cluster in gone, differs=difference.any or manifest_changed)
            if diff:
                pairs[cluster] = self._pairs(cluster, content, snapshot, difference, opener)
        changed = any(item['differs'] for item in report.values())
        result = dict(changed=changed or initialised, initialised=initialised, folder=self.folder, previous=head, commit=head,
                      clusters=report, message=None)
        if changed:
            result['message'] = commit_message(self.backend.render().rstrip('/'), report)
        if diff:
            result['diff'] = [item for cluster in sorted(pairs) for item in diffs(
                cluster, '%s@%s' % (self.folder, head or 'empty'), self.backend.render(), pairs[cluster])]
        if check_mode:
            return result
        if initialised:
            self.git.init()
        paths = []
        for cluster in selected + gone:  # also when nothing changed: puts back what someone changed in the folder
            paths.extend(self._write(cluster, files[cluster], before.get(cluster, Snapshot())))
        if changed:
            self.git.add(paths)
            if self.git.has_staged(paths):
                result['commit'] = self.git.commit(result['message'], paths)
        return result

    def push(self, remote, check_mode, would_commit):
        """Push the branch to ``remote``; True when the remote lacked commits of it (in check mode: would lack,
        counting the commit the snapshot would make)."""
        if check_mode and would_commit:
            return True
        if not self.git.is_repository() or self.git.head() is None:
            return False
        return self.git.push(remote, check_mode)

    def _files(self, cluster, content, snapshot, difference, opener, secrets):
        """({path: bytes} of the cluster's folder, manifest bytes): unchanged encrypted files are kept as they are
        (new Ansible Vault text of the same content would make a commit on every run)."""
        files = {}
        unchanged = set(content.entries) - set(difference.added) - set(difference.changed)
        for path, entry in content.entries.items():
            if entry.secret and path in unchanged:
                files[path] = opener.raw(snapshot.files[path])
            elif entry.secret:
                files[path] = ansible_vault_file.encrypt(entry.data, self._password(), self.vault_id)
            else:
                files[path] = entry.data
        encrypted = sorted(path for path, entry in content.entries.items() if entry.secret)
        manifest = dict(cluster=cluster, store=self.backend.render(cluster), encrypted=encrypted,
                        secrets=SECRETS_ENCRYPTED if secrets else SECRETS_LEFT_OUT)
        return files, (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode('utf-8')

    def _password(self):
        if self.password is None:
            raise HistoryError('secret entries can only be kept encrypted: the vault secret is missing')
        return self.password

    def _pairs(self, cluster, content, snapshot, difference, opener):
        """Before/after of the entries that differ, secrets left out."""
        public = [path for path in difference.added + difference.changed + difference.removed
                  if not (content.entries.get(path) and content.entries[path].secret) and path not in snapshot.encrypted]
        opener.preload(snapshot.files[path] for path in public if path in snapshot.files)
        return dict((path, (opener.raw(snapshot.files[path]) if path in snapshot.files else None,
                            content.entries[path].data if path in content.entries else None)) for path in public)

    def _write(self, cluster, files, snapshot):
        """Make the working tree hold the cluster's files (none for a cluster gone from the store); returns the
        pathspecs of the commit."""
        manifest = posixpath.join(self.folder, manifest_path(cluster))
        folder = posixpath.join(self.folder, cluster)
        if files is None:
            mirror(self.git.path, folder, {})
            remove_file(self.git.path, manifest)
        else:
            mirror(self.git.path, folder, files[0])
            write_file(self.git.path, manifest, files[1])
        paths = [manifest]
        if (files and files[0]) or snapshot.files:
            paths.append(folder)
        return paths

    # -- drift --------------------------------------------------------------------------------
    def drift(self, revision='HEAD', clusters=(), secrets=False, diff=False):
        """Which entries of the store differ from the commit, per cluster; writes nothing."""
        commit = self._commit(revision)
        snapshots = read_snapshots(self.git, commit, self.folder)
        present, listing = self._existing(clusters, snapshots)
        selected = sorted(clusters or set(present) | set(snapshots))
        opener = Opener(self.git, self.password if secrets else None, commit)
        report, pairs = {}, {}
        for cluster in selected:
            snapshot = snapshots.get(cluster, Snapshot())
            compared = secrets and (snapshot.secrets_included or not snapshot.exists)
            content = self._read(cluster, compared, snapshot, listing[cluster]) if cluster in present else ClusterContent()
            entries = dict((path, entry) for path, entry in content.entries.items() if compared or not entry.secret)
            recorded = [path for path in snapshot.files if not excluded(path, self.exclude)]
            paths = set(path for path in recorded if compared or path not in snapshot.encrypted)
            difference = compare(cluster, entries, snapshot, paths, opener)
            not_compared = len(content.left_out) + len(content.entries) - len(entries) + len(recorded) - len(paths)
            report[cluster] = dict(difference.as_dict(), drifted=difference.any, in_snapshot=snapshot.exists,
                                   in_store=cluster in present, secrets_not_compared=not_compared)
            if diff:
                pairs[cluster] = self._pairs(cluster, content, snapshot, difference, opener)
        result = dict(changed=False, commit=commit, folder=self.folder, clusters=report,
                      drifted=sorted(cluster for cluster, item in report.items() if item['drifted']))
        if diff:
            result['diff'] = [item for cluster in sorted(pairs) for item in diffs(
                cluster, '%s@%s' % (self.folder, commit[:12]), self.backend.render(), pairs[cluster])]
        return result

    def _commit(self, revision):
        if not self.git.is_repository():
            raise HistoryError('%s is not a git repository with snapshots (take a snapshot first)' % self.git.path)
        return self.git.resolve(revision or 'HEAD')

    # -- restore ------------------------------------------------------------------------------
    def restore(self, clusters, revision='HEAD', source_folder=None, secrets=False, delete=False, force=False,
                check_mode=False, diff=False):
        """Write the clusters' entries of the commit (from ``source_folder``, default the store's own folder) back
        to the store. Refused, changing nothing, when an entry it would overwrite or delete holds content that
        the latest snapshot of the store (HEAD, the store's own folder) does not have, unless ``force``."""
        if not clusters:
            raise HistoryError('name the clusters to restore')
        commit = self._commit(revision)
        source_folder = source_folder or self.folder
        sources = read_snapshots(self.git, commit, source_folder)
        missing = [cluster for cluster in clusters if cluster not in sources]
        if missing:
            raise HistoryError('commit %s has no snapshot of %s in %s/' % (commit[:12], ', '.join(missing), source_folder))
        latest = read_snapshots(self.git, self.git.head(), self.folder)
        opener = Opener(self.git, self.password if secrets else None, commit)
        needs_lock = not (check_mode or self.backend.supports_compare_and_swap)
        with contextlib.ExitStack() as stack:
            locks = dict((cluster, stack.enter_context(cluster_lock(self.backend, cluster)) if needs_lock else None)
                         for cluster in clusters)
            plans = dict((cluster, self._plan(cluster, sources[cluster], latest.get(cluster, Snapshot()), secrets,
                                              delete, opener)) for cluster in clusters)
            conflicts = dict((cluster, plan.conflicts) for cluster, plan in plans.items() if plan.conflicts)
            if conflicts and not force:
                raise HistoryError(
                    'refusing to restore: entries changed since the latest snapshot (%s) would be overwritten or '
                    'deleted - %s. Take a snapshot first (then they stay in the history) or set force; nothing was '
                    'written' % (self._latest_name(), '; '.join('%s: %s' % (cluster, ', '.join(paths))
                                                                for cluster, paths in sorted(conflicts.items()))))
            if not check_mode:
                for cluster in clusters:
                    plans[cluster].apply(self.backend, cluster, locks[cluster])
        result = dict(changed=any(plan.steps for plan in plans.values()), commit=commit, folder=self.folder,
                      source_folder=source_folder, forced=bool(conflicts) and force,
                      clusters=dict((cluster, plan.as_dict()) for cluster, plan in plans.items()))
        if diff:
            result['diff'] = [item for cluster in sorted(plans) for item in diffs(
                cluster, self.backend.render(), '%s@%s' % (source_folder, commit[:12]), plans[cluster].pairs)]
        return result

    def _latest_name(self):
        head = self.git.head()
        return 'HEAD %s' % head[:12] if head else 'none yet'

    def _plan(self, cluster, source, latest, secrets, delete, opener):
        with_secrets = secrets and source.secrets_included
        content = self._read(cluster, with_secrets)
        wanted = dict((path, opener.content(source, path, cluster)) for path in source.files
                      if not excluded(path, self.exclude) and (with_secrets or path not in source.encrypted))
        plan = RestorePlan(sum(1 for path in source.encrypted if path not in wanted))
        for path, data in sorted(wanted.items()):
            entry = content.entries.get(path)
            if path in content.left_out:
                plan.skipped.append(path)  # secret in the store now: left alone unless secrets are restored
            elif entry is None:
                plan.add('create', path, data, None, ABSENT, path in source.encrypted)
            elif entry.data != data:
                plan.add('update', path, data, entry, entry.version, entry.secret or path in source.encrypted)
        if delete:
            for path, entry in sorted(content.entries.items()):
                if path not in wanted:
                    plan.add('delete', path, None, entry, entry.version, entry.secret)
        plan.conflicts = sorted(step.path for step in plan.steps
                                if step.before is not None and not same(step.before, latest, step.path, opener, cluster))
        return plan


class Step(object):
    __slots__ = ('action', 'path', 'data', 'before', 'version', 'secret')

    def __init__(self, action, path, data, before, version, secret):
        self.action, self.path, self.data, self.before, self.version, self.secret = (
            action, path, data, before, version, secret)


class RestorePlan(object):
    """The writes and deletes of one cluster's restore, in path order; ``conflicts`` the paths whose current
    content the latest snapshot lacks; ``skipped`` snapshot entries secret in the store now (not restored)."""

    def __init__(self, secrets_not_restored=0):
        self.steps = []
        self.conflicts = []
        self.skipped = []
        self.secrets_not_restored = secrets_not_restored

    def add(self, action, path, data, before, version, secret):
        self.steps.append(Step(action, path, data, before, version, secret))

    @property
    def pairs(self):
        return dict((step.path, (step.before.data if step.before else None, step.data))
                    for step in self.steps if not step.secret)

    def apply(self, backend, cluster, lock):
        done = 0
        try:
            for step in self.steps:
                if lock is not None:
                    lock.confirm()
                path = '%s/%s' % (cluster, step.path)
                expect = write_expectation(backend, step.version)
                if step.action == 'delete':
                    backend.delete(path, expect=expect)
                else:
                    backend.write(path, step.data, expect=expect)
                done += 1
        except StateStoreError as exc:
            if done:
                exc.args = ('restore of cluster %s stopped after %d of %d changes: %s' % (cluster, done, len(self.steps), exc),)
            raise

    def as_dict(self):
        return dict(plan=[dict(action=step.action, path=step.path, secret=step.secret) for step in self.steps],
                    conflicts=list(self.conflicts), secrets_not_restored=self.secrets_not_restored,
                    skipped=list(self.skipped))


def commit_message(store, report):
    """The subject names the store, the clusters that changed and the counts; one body line per cluster."""
    changed = sorted(cluster for cluster, item in report.items() if item['differs'])
    total = dict((kind, sum(len(report[cluster][kind]) for cluster in changed)) for kind in ('added', 'changed', 'removed'))
    lines = ['Snapshot of %s: %s: %d added, %d changed, %d removed' % (
        store, ', '.join(changed), total['added'], total['changed'], total['removed']), '']
    for cluster in sorted(report):
        item = report[cluster]
        secrets = ('%d secret entries encrypted' % item['secrets_encrypted'] if item['secrets_encrypted']
                   else '%d secret entries left out' % item['secrets_left_out'])
        state = 'gone from the store, ' if item['gone'] else ''
        lines.append('%s: %s%d added, %d changed, %d removed; %s' % (
            cluster, state, len(item['added']), len(item['changed']), len(item['removed']), secrets))
    return '\n'.join(lines) + '\n'

# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A health check of one state store (docs/health.md): the store itself against what kOps and its provider
recommend (each backend's store_checks), and each of its clusters - the config parses and validates, configBase
names this store, the key and secret stores hold what the config says, the soonest CA expiry, the newest complete
etcd backup per etcd cluster and its age, pending etcd restores, stale lock entries, leftover probe entries and,
given a history repository, the drift since the last snapshot. Every finding has a severity, a reason and the
command or task that fixes it; what the caller may not read is "not checked", never a failure.

Reads only, and boundedly: one listing of the store (and one of each other store a config names), then the entries
each check needs, clusters read in parallel. Every reader gets a view of that listing (ListedStore), which answers
listings from it and refuses writes. Never read: an etcd snapshot (``etcd.backup.gz``), a secret's value, private
key material (a keyset's certificates only are decoded), and any store named by a vault:// address that comes from
the store itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import datetime
import os
import posixpath
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    BadLocation,
    NotFound,
    NotSupported,
    StateStoreError,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster import (
    config_path,
    documents_findings,
    list_clusters,
    read_cluster,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster_stores import (
    DEFAULT_EXPIRES_WITHIN,
    read_keysets,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import ClusterError, refused_names_warning
from ansible_collections.kops.state_store.plugins.module_utils.kops.etcd import (
    EtcdError,
    ETCD_CLUSTERS,
    pending_restores,
    read_backup_stores,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.fleet import cluster_facts
from ansible_collections.kops.state_store.plugins.module_utils.kops.validation import KOPS_VERSION
from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location
from ansible_collections.kops.state_store.plugins.module_utils.lock import LOCK_FOLDER, LOCK_TTL, lock_entry_state
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.store import (
    FINDING,
    NO_HASHES,
    NOT_CHECKED,
    SEVERITIES,
    Backend,
    Check,
    Entry,
)
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history import History

DEFAULT_BACKUP_MAX_AGE = 24  # hours; etcd-manager backs up every 15 minutes
READERS = 16  # clusters audited at once: each is a few small reads, so waiting dominates
COMPLETED_SPECS = ('cluster-completed.spec', 'cluster.spec')  # written by kops update cluster (cluster.spec before 1.22)
LISTED_FIELDS = 5  # validation findings a reason names
PROBE_MIN_AGE = LOCK_TTL  # seconds: a probe younger than this may belong to a write happening right now
# stores named by a cluster's config are opened only on these schemes, and only on the scheme of the audited store:
# the operator's settings for that store then serve them, and no local path or Vault address comes from stored data
OPENED_ELSEWHERE = ('s3', 'do', 'gs', 'swift', 'oss')


class ListedStore(Backend):
    """A read-only view of ``backend`` rooted at its folder ``prefix``, answering listings from ``entries`` (one
    recursive listing of ``backend``, sorted, paths relative to its root): however many readers list through it, the
    store is listed once. Reads go to ``backend``; writes and deletes are refused."""

    def __init__(self, backend, entries, prefix=''):
        super(ListedStore, self).__init__(backend.location.join(prefix), backend.settings)
        self.inner, self.entries, self.prefix = backend, entries, prefix
        self._paths = [entry.path for entry in entries]
        self.hash_algorithm = backend.hash_algorithm
        self.supports_compare_and_swap = backend.supports_compare_and_swap
        self.probe_prefix = backend.probe_prefix

    @classmethod
    def of(cls, backend):
        return cls(backend, backend.list('', recursive=True, hash_algorithm=NO_HASHES))

    def below(self, folder):
        """The view of the folder ``folder`` (relative to this view)."""
        return ListedStore(self.inner, self.entries, self._inner_path(folder))

    def has(self, path):
        """Whether the listing holds the entry ``path``."""
        inner = self._inner_path(path)
        index = bisect.bisect_left(self._paths, inner)
        return index < len(self._paths) and self._paths[index] == inner

    def _inner_path(self, path):
        return posixpath.join(self.prefix, path).strip('/') if path else self.prefix

    def _read(self, path, limit):
        return self.inner.read(self._inner_path(path), limit)

    def _read_with_age(self, path, limit):
        return self.inner.read_with_age(self._inner_path(path), limit)

    def _write(self, path, data, expect, acl):
        raise NotSupported('the store audit only reads (refused a write of %s)' % self.render(path))

    def _delete(self, path, expect):
        raise NotSupported('the store audit only reads (refused a delete of %s)' % self.render(path))

    def _list(self, prefix, recursive, hash_algorithm=None):
        base = self._inner_path(prefix)
        start = base + '/' if base else ''
        cut = len(self.prefix) + 1 if self.prefix else 0
        found = {}
        for index in range(bisect.bisect_left(self._paths, start), len(self._paths)):
            entry = self.entries[index]
            if not entry.path.startswith(start):
                break  # the paths below a folder sort together
            rest = entry.path[len(start):]
            if not recursive and '/' in rest:
                folder = start + rest.split('/', 1)[0]
                found[folder] = Entry(folder[cut:], is_dir=True)
            else:
                found[entry.path] = Entry(entry.path[cut:], entry.size, entry.hash, entry.hash_algorithm,
                                          entry.version)
        return list(found.values())


def relative_to(root, location):
    """The path of ``location`` (a Location) below the store root ``root`` ('' for the root itself), or None when
    it is not inside it."""
    same = (location.scheme, location.bucket, location.port, location.mount) == (root.scheme, root.bucket, root.port,
                                                                                 root.mount)
    if not same:
        return None
    if not root.key or location.key == root.key:
        return location.key[len(root.key):].strip('/') if root.key else location.key
    return location.key[len(root.key) + 1:] if location.key.startswith(root.key + '/') else None


class Audit(object):
    """One audit of a store: the listed store, what to check, and the other stores configs name (listed once each)."""

    def __init__(self, backend, settings, now, expires_within, backup_max_age, probe_min_age):
        self.store = ListedStore.of(backend)
        self.probe_min_age = probe_min_age
        self.settings = settings
        self.now = now
        self.expires_within = expires_within
        self.backup_max_age = backup_max_age
        self._elsewhere = {}
        self._elsewhere_lock = threading.Lock()

    def view(self, location):
        """(a ListedStore of ``location``, None), or (None, the reason it is not opened)."""
        if location.scheme == 'vault':
            return None, 'Vault address comes from the store (%s)' % location.render()
        inside = relative_to(self.store.location, location)
        if inside is not None:
            return self.store.below(inside), None
        if location.scheme != self.store.location.scheme or location.scheme not in OPENED_ELSEWHERE:
            return None, ('%s is outside this store, and a %s:// location named by the store is not opened'
                          % (location.render(), location.scheme))
        key = location.render()
        with self._elsewhere_lock:
            if key not in self._elsewhere:
                try:
                    self._elsewhere[key] = (ListedStore.of(open_store(location, self.settings)), None)
                except AccessDenied:
                    self._elsewhere[key] = (None, 'the caller may not list %s' % key)
                except StateStoreError as exc:
                    self._elsewhere[key] = (None, str(exc))
            return self._elsewhere[key]


# -- the clusters -------------------------------------------------------------------------------------------

class ClusterAudit(object):
    """The checks of one cluster and the facts a report shows about it."""

    def __init__(self, audit, name):
        self.audit = audit
        self.name = name
        self.checks = []
        self.facts = dict(name=name, config=audit.store.render(config_path(name)), config_base=None, key_store=None,
                          secret_store=None, cloud_provider=None, kubernetes_version=None, applied=None,
                          validation_findings=None, ca_expiry=None, etcd_backups={}, pending_restores=[], drift=None)

    def add(self, check):
        self.checks.append(check)

    def run(self):
        store = self.audit.store
        try:
            stored = read_cluster(store, self.name)
        except ClusterError as exc:
            self.add(Check.finding('config', 'critical', 'kOps cannot read the cluster: %s' % exc,
                                   'correct or restore the document named (kops edit cluster cannot open it; restore '
                                   'an earlier version of the entry, or kops.state_store.history operation=restore)'))
            return self
        except StateStoreError as exc:
            self.add(_not_read('config', exc))
            return self
        if stored.cluster is None:
            self.add(Check.not_checked('config', 'removed since the store was listed'))
            return self
        spec = stored.cluster.get('spec') or {}
        facts = cluster_facts(store, store.render(), self.name, stored, spec_fields=[])
        self.facts.update((key, facts[key]) for key in ('config_base', 'cloud_provider', 'kubernetes_version'))
        self.facts['applied'] = any(store.has('%s/%s' % (self.name, spec_file)) for spec_file in COMPLETED_SPECS)
        groups = dict((group, document) for group, (document, _version) in stored.groups.items())
        self._validation(documents_findings(self.name, stored.cluster, groups))
        config_base, own = self._config_base(spec)
        key_store = self._store_location('key store', spec, 'keyStore', config_base, 'pki')
        secret_store = self._store_location('secret store', spec, 'secretStore', config_base, 'secrets')
        self._keys(key_store, config_base)
        self._secrets(secret_store, config_base)
        self._etcd(spec, config_base if own else None)
        return self

    # -- the config ---------------------------------------------------------------------------------------
    def _validation(self, findings):
        self.facts['validation_findings'] = len(findings)
        if not findings:
            self.add(Check.ok('validation', 0))
            return
        fields = ['%s: %s' % (finding.entry[len(self.name) + 1:], finding.path) for finding in findings]
        self.add(Check.finding(
            'validation', 'medium',
            '%d finding%s against kOps %s\'s schema and rules (%s%s): kOps may not read the config as intended, and '
            'refuses to write it with new ones' % (len(findings), '' if len(findings) == 1 else 's', KOPS_VERSION,
                                                   ', '.join(fields[:LISTED_FIELDS]),
                                                   ', ...' if len(fields) > LISTED_FIELDS else ''),
            'list them with kops.state_store.cluster_info (name: %s, validate: true) and correct them with kops edit '
            'cluster, kops edit instancegroup or kops.state_store.cluster' % self.name,
            dict(count=len(findings), fields=fields)))

    def _config_base(self, spec):
        """(the Location of the cluster's configBase or None when it is not one, whether it is this cluster's folder
        of this store)."""
        expected = self.audit.store.location.join(self.name)
        stored = spec.get('configBase')
        if not stored:
            self.add(Check.ok('config base', expected.render()))  # kOps derives it from the store
            return expected, True
        fix = ('set spec.configBase to %s (kops edit cluster, or kops.state_store.cluster with spec: {configBase: '
               '...}), then kops update cluster --yes so the nodes read this store; kops.state_store.move_clusters '
               'rewrites it as part of a move' % expected.render())
        try:
            location = parse_location(str(stored))
        except BadLocation as exc:
            self.add(Check.finding('config base', 'high', 'spec.configBase is not a location kOps reads: %s' % exc,
                                   fix, str(stored)))
            return None, False
        if location != expected:
            self.add(Check.finding(
                'config base', 'high',
                'spec.configBase names %s, not this cluster\'s folder %s: the nodes read their configuration there, '
                'so changes made here do not reach them (a copy or move without the configBase rewrite)'
                % (location.render(), expected.render()), fix, location.render()))
            return location, False
        self.add(Check.ok('config base', location.render()))
        return location, True

    def _store_location(self, name, spec, field, config_base, folder):
        """The Location of the key or secret store: spec.<field>, else <configBase>/<folder> as kOps derives it."""
        stored = spec.get(field)
        if not stored and config_base is None:
            self.add(Check.not_checked(name, 'spec.configBase is not a location, so the default %s is not one either'
                                       % name))
            return None
        if not stored:
            location = config_base.join(folder)
        else:
            try:
                location = parse_location(str(stored))
            except BadLocation as exc:
                self.add(Check.finding(name, 'high', 'spec.%s is not a location kOps reads: %s' % (field, exc),
                                       'correct spec.%s with kops edit cluster or kops.state_store.cluster' % field,
                                       str(stored)))
                return None
        self.facts[name.replace(' ', '_')] = location.render()
        return location

    # -- keys and secrets ---------------------------------------------------------------------------------
    def _keys(self, location, config_base):
        if location is None:
            return
        view, why_not = self.audit.view(location)
        if view is None:
            self.add(Check.not_checked('key store', why_not))
            self.add(Check.not_checked('ca expiry', why_not))
            return
        try:
            keysets = read_keysets(view, self.audit.now, self.audit.expires_within)
        except StateStoreError as exc:
            self.add(_not_read('key store', exc))
            self.add(_not_read('ca expiry', exc))
            return
        if not keysets:
            self._missing_store_content('key store', location, config_base, 'pki', 'keyset',
                                        'kops update cluster would issue new CAs there, which the running nodes do not '
                                        'trust', 'keyStore')
            return
        self.add(Check.ok('key store', location.render()))
        for keyset in keysets:
            if keyset['error']:
                self.add(Check.finding(
                    'keyset', 'medium', 'keyset %s cannot be read: %s' % (keyset['name'], keyset['error']),
                    'restore the keyset from an earlier version of the entry (versioning); kops get keypairs skips it '
                    'meanwhile', keyset['name']))
        self._ca_expiry(keysets)

    def _ca_expiry(self, keysets):
        trusted = [dict(keyset=keyset['name'], id=key['id'], not_after=key['not_after'], days_left=key['days_left'],
                        expired=key['expired'])
                   for keyset in keysets for key in keyset['certificates']
                   if key['certificate'] and key['is_ca'] and not key['distrusted']]
        if not trusted:
            self.add(Check.ok('ca expiry'))
            return
        trusted.sort(key=lambda key: key['not_after'])
        self.facts['ca_expiry'] = dict((field, trusted[0][field]) for field in ('keyset', 'id', 'not_after', 'days_left'))
        ending = {}
        for key in trusted:
            if key['expired'] or key['days_left'] < self.audit.expires_within:
                ending.setdefault(key['keyset'], key)  # the soonest of each keyset
        for keyset, key in sorted(ending.items()):
            rotate = ('rotate it as kOps documents: kops create keypair %s, kops update cluster --yes, kops '
                      'rolling-update cluster --force --yes, then kops distrust keypair %s' % (keyset, keyset))
            if key['expired']:
                self.add(Check.finding(
                    'ca expiry', 'critical',
                    'CA %s (key %s) ended on %s: certificates it signs are no longer valid, so components that rely '
                    'on it fail' % (keyset, key['id'], key['not_after']), rotate, key['not_after']))
            else:
                self.add(Check.finding(
                    'ca expiry', 'high', 'CA %s (key %s) ends on %s, in %d days (expires_within: %d)'
                    % (keyset, key['id'], key['not_after'], key['days_left'], self.audit.expires_within), rotate,
                    key['not_after']))
        if not ending:
            self.add(Check.ok('ca expiry', trusted[0]['not_after']))

    def _secrets(self, location, config_base):
        if location is None:
            return
        view, why_not = self.audit.view(location)
        if view is None:
            self.add(Check.not_checked('secret store', why_not))
            return
        if view.list('', recursive=True) or not self.facts['applied']:
            self.add(Check.ok('secret store', location.render()))
            return
        self._missing_store_content('secret store', location, config_base, 'secrets', 'secret',
                                    'kops update cluster would create new secrets there', 'secretStore')

    def _missing_store_content(self, name, location, config_base, folder, what, consequence, field):
        """A key or secret store the config names that holds nothing: fine before the cluster is applied, a finding
        after (saying where the cluster's default folder holds them instead, when it does)."""
        if not self.facts['applied']:
            self.add(Check.ok(name, location.render()))
            return
        default = config_base.join(folder) if config_base is not None else None
        inside = relative_to(self.audit.store.location, default) if default not in (None, location) else None
        elsewhere = ''
        if inside and self.audit.store.below(inside).list('', recursive=True):
            elsewhere = '; %s holds them' % default.render()
        self.add(Check.finding(
            name, 'high', 'the %s the config names (%s) holds no %s, but the cluster has been applied: %s%s'
            % (name, location.render(), what, consequence, elsewhere),
            'point spec.%s at the folder holding the cluster\'s %ss (kops.state_store.cluster with spec: {%s: ...}), '
            'or copy them there with kops.state_store.sync' % (field, what, field), location.render()))

    # -- etcd -----------------------------------------------------------------------------------------------
    def _etcd(self, spec, config_base):
        if config_base is None:
            reason = 'etcd-manager keeps its backups below configBase, which is not this cluster\'s folder'
            self.add(Check.not_checked('etcd backups', reason))
            return
        if not self.facts['applied']:
            self.add(Check.not_checked('etcd backups', 'the cluster has not been applied yet (no %s)' % COMPLETED_SPECS[0]))
            return
        try:
            stores = read_backup_stores(self.audit.store, self.name, 'all', with_details=False)
        except EtcdError as exc:
            self.add(Check.finding(
                'etcd restore', 'medium', 'etcd-manager cannot read a file of its control folder: %s' % exc,
                'remove the pending commands with kops.state_store.etcd_restore (cluster: %s, state: absent)'
                % self.name))
            return
        except StateStoreError as exc:
            self.add(_not_read('etcd backups', exc))
            return
        elsewhere = _backup_stores_elsewhere(spec, config_base)
        for etcd_cluster, store in stores.items():
            if etcd_cluster in elsewhere:
                self.add(Check.not_checked('etcd backups', 'etcd cluster %s keeps its backups in %s '
                                                           '(spec.etcdClusters[].backups.backupStore)'
                                           % (etcd_cluster, elsewhere[etcd_cluster])))
                continue
            self._newest_backup(etcd_cluster, store)
        self._pending(pending_restores(dict((etcd_cluster, store) for etcd_cluster, store in stores.items()
                                            if etcd_cluster not in elsewhere)))

    def _newest_backup(self, etcd_cluster, store):
        try:
            newest = next(store.complete_backups(), None)
        except StateStoreError as exc:
            self.add(_not_read('etcd backups', exc))
            return
        watch = ('see why etcd-manager stopped backing up: kubectl -n kube-system logs on the etcd-manager-%s pods of '
                 'the control plane (backups go to %s)' % (etcd_cluster, store.location))
        if newest is None:
            self.facts['etcd_backups'][etcd_cluster] = None
            self.add(Check.finding(
                'etcd backups', 'high', 'etcd cluster %s has no complete backup in %s: the cluster\'s data cannot be '
                'restored' % (etcd_cluster, store.location), watch))
            return
        age = None
        if newest.time is not None:
            age = round((self.audit.now.replace(tzinfo=None) - newest.time).total_seconds() / 3600.0, 1)
        self.facts['etcd_backups'][etcd_cluster] = dict(backup=newest.name, age_hours=age)
        if age is not None and age > self.audit.backup_max_age:
            self.add(Check.finding(
                'etcd backups', 'high',
                'the newest complete backup of etcd cluster %s, %s, is %.1f hours old (backup_max_age: %d): '
                'etcd-manager backs up every 15 minutes, so its backups have stopped'
                % (etcd_cluster, newest.name, age, self.audit.backup_max_age), watch, newest.name))
        else:
            self.add(Check.ok('etcd backups', newest.name))

    def _pending(self, commands):
        self.facts['pending_restores'] = [dict(etcd_cluster=command.etcd_cluster, backup=command.restore_backup,
                                               queued=command.as_dict()['time']) for command in commands]
        if not commands:
            self.add(Check.ok('etcd restore'))
            return
        queued = '; '.join('%(etcd_cluster)s: restore of backup %(backup)s, queued %(queued)s' % dict(
            item, queued=item['queued'] or 'at an unknown time') for item in self.facts['pending_restores'])
        self.add(Check.finding(
            'etcd restore', 'high',
            'etcd-manager has pending restore commands (%s): it runs them at its next start, replacing the cluster\'s '
            'current etcd data' % queued,
            'when the restore is done or not wanted, withdraw it with kops.state_store.etcd_restore (cluster: %s, '
            'state: absent), as etcd-manager-ctl delete-command does' % self.name,
            [item['backup'] for item in self.facts['pending_restores']]))

    # -- leftovers -------------------------------------------------------------------------------------------
    def leftovers(self, locks, probes):
        """Stale lock entries (``locks``: the paths of this cluster's) and leftover probe entries (``probes``)."""
        checks = lock_checks(self.audit.store, locks)
        checks += probe_checks(self.audit.store, probes, self.audit.probe_min_age)
        for check in checks:
            self.add(check)
        return self

    def drift(self, drift):
        """The drift of this cluster since the last snapshot (one cluster of History.drift's report)."""
        counts = dict((kind, len(drift[kind])) for kind in ('added', 'changed', 'removed'))
        self.facts['drift'] = counts
        if not drift['drifted']:
            self.add(Check.ok('drift', counts))
            return
        what = ('it is not in the last snapshot' if not drift['in_snapshot'] else
                '%(added)d entries added, %(changed)d changed and %(removed)d removed since the last snapshot' % counts)
        self.add(Check.finding(
            'drift', 'low', '%s: the history does not hold the current state of the cluster' % what,
            'review the changes (kops.state_store.history operation=drift with --diff), then take a snapshot '
            '(playbooks/state_store_history.yml) or restore the snapshot', counts))

    def result(self):
        return report(self.facts, self.checks)


def _not_read(name, exc):
    if isinstance(exc, AccessDenied):
        return Check.not_checked(name, 'the caller may not read it: %s' % exc)
    return Check.not_checked(name, str(exc))


def _backup_stores_elsewhere(spec, config_base):
    """{etcd cluster: location} of the etcd clusters whose spec names a backup store other than kOps's default."""
    elsewhere = {}
    for etcd_cluster in spec.get('etcdClusters') or []:
        if not isinstance(etcd_cluster, dict) or etcd_cluster.get('name') not in ETCD_CLUSTERS:
            continue
        backups = etcd_cluster.get('backups')
        named = backups.get('backupStore') if isinstance(backups, dict) else None
        if not named:
            continue
        default = config_base.join('backups/etcd/%s' % etcd_cluster['name'])
        try:
            if parse_location(str(named)) == default:
                continue
        except BadLocation:
            pass
        elsewhere[etcd_cluster['name']] = str(named)
    return elsewhere


def lock_checks(store, paths):
    """A finding per lock entry or takeover marker of ``paths`` whose holder stopped renewing it past its ttl."""
    checks = []
    for path in paths:
        try:
            state = lock_entry_state(store, path)
        except NotFound:
            continue  # released since the listing
        except StateStoreError as exc:
            checks.append(_not_read('lock entries', exc))
            continue
        if state.expired:
            checks.append(Check.finding(
                'stale lock', 'low',
                'the lock entry %s, written by %s, was last renewed %d seconds ago, past its lifetime: that run ended '
                'without releasing it (the next run takes it over after waiting for it)'
                % (path, state.holder, state.age, ),
                'remove it: kops.state_store.entry with path: %s, state: absent' % store.render(path), path))
    return checks


def probe_checks(store, paths, min_age=PROBE_MIN_AGE):
    """One finding for the probe entries of ``paths`` (S3's conditional-write probes) older than ``min_age`` seconds."""
    left = []
    for path in paths:
        try:
            age = store.read_with_age(path)[2]
        except NotFound:
            continue
        except NotSupported:
            age = None  # the store cannot tell: a probe is never meant to stay
        except StateStoreError as exc:
            return [_not_read('probe entries', exc)]
        if age is None or age > min_age:
            left.append(path)
    if not left:
        return []
    return [Check.finding(
        'leftover probe', 'medium',
        '%d probe entr%s of a conditional write left behind (%s): kOps reads every entry of instancegroup/ as an '
        'instance group, and kops delete cluster refuses entries it does not know'
        % (len(left), 'y' if len(left) == 1 else 'ies', ', '.join(left)),
        'remove %s with kops.state_store.entry (state: absent)' % ('it' if len(left) == 1 else 'each'), left)]


# -- the report -----------------------------------------------------------------------------------------------

def highest(checks):
    """The highest severity among the findings of ``checks`` (Check objects), or None."""
    found = [SEVERITIES.index(check.severity) for check in checks if check.status == FINDING]
    return SEVERITIES[max(found)] if found else None


def report(facts, checks):
    """What the result shows of one store or cluster: its facts, every check, the findings and what was not checked
    separately, and the highest severity."""
    return dict(facts, checks=[check.as_dict() for check in checks],
                findings=[check.as_dict() for check in checks if check.status == FINDING],
                not_checked=[check.as_dict() for check in checks if check.status == NOT_CHECKED],
                severity=highest(checks))


def audit_store(backend, settings=None, clusters=None, now=None, expires_within=DEFAULT_EXPIRES_WITHIN,
                backup_max_age=DEFAULT_BACKUP_MAX_AGE, history=None, environ=None, readers=READERS,
                probe_min_age=PROBE_MIN_AGE):
    """The health report of the store ``backend`` (opened with ``settings``, which also open the other stores configs
    name): its own checks and a report per cluster (all of them, or those named in ``clusters``). ``history``: a
    (Git, folder) pair of the store's history repository, for the drift since its last commit. ``environ``: the
    environment kOps would run in (os.environ by default); ``probe_min_age``: seconds after which a probe entry counts
    as left behind. Reads only."""
    environ = os.environ if environ is None else environ
    now = now or datetime.datetime.now(datetime.timezone.utc)
    store_checks = backend.store_checks(environ)
    audit = Audit(backend, settings, now, expires_within, backup_max_age, probe_min_age)
    present, refused = list_clusters(audit.store)
    if refused:
        store_checks.append(Check.finding(
            'folders that are not clusters', 'medium', refused_names_warning(refused, audit.store.render()),
            'rename or remove them: kOps names clusters by DNS names only, and this audit reads nothing in them',
            len(refused)))
    selected = present if clusters is None else sorted(set(clusters))
    for name in selected:
        if name not in present:
            store_checks.append(Check.finding(
                'cluster missing', 'high', 'cluster %s is not in the store (there is no %s)'
                % (name, audit.store.render(config_path(name))),
                'check the cluster name and the state store it is audited in', name))
    audited = [name for name in selected if name in present]
    locks, probes = _leftovers(audit.store, present)
    store_checks.extend(lock_checks(audit.store, locks.pop(None, []))
                        + probe_checks(audit.store, probes.pop(None, []), probe_min_age))
    with ThreadPoolExecutor(max(1, min(readers, len(audited) or 1))) as pool:
        cluster_audits = list(pool.map(lambda name: ClusterAudit(audit, name).run().leftovers(
            locks.get(name, []), probes.get(name, [])), audited))
    if history is not None:
        _drift(audit.store, history, cluster_audits, store_checks, clusters is None)
    store_facts = dict(location=backend.render(), scheme=backend.location.scheme, clusters=len(present))
    results = [cluster_audit.result() for cluster_audit in cluster_audits]
    findings = [dict(finding, cluster=None) for finding in report(store_facts, store_checks)['findings']]
    findings += [dict(finding, cluster=result['name']) for result in results for finding in result['findings']]
    return dict(
        state_store=backend.render(), checked_at=now.strftime('%Y-%m-%dT%H:%M:%SZ'), kops_schema_version=KOPS_VERSION,
        store=report(store_facts, store_checks), clusters=results, findings=findings,
        counts=dict((severity, sum(1 for finding in findings if finding['severity'] == severity))
                    for severity in SEVERITIES),
        severity=max((finding['severity'] for finding in findings), key=SEVERITIES.index, default=None))


def _leftovers(store, clusters):
    """({cluster or None: [lock entry paths]}, {cluster or None: [probe entry paths]}) of the listing: lock entries by
    the cluster they lock, probes by the cluster folder they are in (None: not a cluster's)."""
    locks, probes = {}, {}
    names = set(clusters)
    prefix = store.inner.probe_prefix
    for entry in store.entries:
        first, _sep, rest = entry.path.partition('/')
        if first == LOCK_FOLDER and rest:
            name = rest.split('~takeover-', 1)[0]
            locks.setdefault(name if name in names else None, []).append(entry.path)
        elif prefix and posixpath.basename(entry.path).startswith(prefix):
            probes.setdefault(first if first in names and rest else None, []).append(entry.path)
    return locks, probes


def _drift(store, history, cluster_audits, store_checks, whole_store):
    git, folder = history
    by_name = dict((cluster_audit.name, cluster_audit) for cluster_audit in cluster_audits)
    try:
        drift = History(store, git, folder).drift(clusters=() if whole_store else sorted(by_name))
    except StateStoreError as exc:
        store_checks.append(Check.not_checked('drift', 'the history repository %s: %s' % (git.path, exc)))
        return
    for name, item in sorted(drift['clusters'].items()):
        if name in by_name:
            by_name[name].drift(item)
        elif not item['in_store']:
            store_checks.append(Check.finding(
                'drift', 'low', 'cluster %s is in the last snapshot (commit %s) but no longer in the store'
                % (name, drift['commit'][:12]),
                'if it was removed by mistake, restore it (kops.state_store.history operation=restore, clusters: '
                '[%s]); else take a snapshot so the history records the removal' % name, name))

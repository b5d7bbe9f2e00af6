# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Move kOps clusters from one store to another, many clusters in one run (the migrate_state_store role).

Each cluster is judged on its own first (both sides read, in parallel): a cluster the destination holds
under another identity, one in neither store, or one whose key or secret store points into the old store
outside its folder is refused with its own message and left untouched; the others move together:

1. ``copy``: one sync of every accepted cluster's folder but its config (one listing per side, verified),
   a cluster moved by an earlier run only gaining what is missing; the config is copied where the destination
   has none; then every config's ``configBase`` (and the key and secret stores inside the folder) is rewritten
   through the cluster module's compare-and-swap update, validated as that module validates;
2. ``remove_source``: the two copies compared, nothing written - the config by its documents: the source's, with
   the rewrite of step 1 applied, must equal the destination's (kOps's bookkeeping, metadata.generation and
   creationTimestamp, aside); every other entry by its bytes, but those ``kops update`` rewrites - and each
   cluster whose copy is complete removed from the source as ``kops delete cluster`` does.

In check mode both steps decide the same and write nothing; the comparison then counts what the copy would
bring as present.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation, StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster import (
    CONFIG,
    ClusterRequest,
    config_path,
    delete_cluster,
    finding_warnings,
    location_below,
    merge,
    read_config,
    update_cluster,
)
from ansible_collections.kops.state_store.plugins.module_utils.workflows.sync import Sync, check_not_overlapping

#: what `kops update cluster --yes` writes below a moved cluster's folder: these may differ from the source's
#: afterwards (globs relative to the cluster's folder; ``*`` also matches ``/``). It never writes the config, which
#: is compared whatever these say.
UPDATE_REWRITES = ('cluster-completed.spec', 'cluster.spec', 'kops-version.txt', 'igconfig/*', 'addons/*',
                   'manifests/*', 'backups/etcd/*/control/etcd-cluster-spec')
#: the spec fields naming stores that move with the cluster when they lie inside its folder
STORE_FIELDS = ('keyStore', 'secretStore')
#: kOps's bookkeeping in a config's metadata, which the rewrite sets as kops edit would
BOOKKEEPING = ('generation', 'creationTimestamp')
#: how many differing entries a refusal names
NAMED = 5
#: every copied path is kept (the check-mode comparison needs them all), however many
UNBOUNDED = 1 << 62


class ClusterMove(object):
    """One cluster's side of the move: what both stores hold and what the move will do with it."""

    def __init__(self, name, source, destination):
        self.name = name
        self.old_location = source.render(config_path(name))
        self.new_location = destination.render(config_path(name))
        # configBase as kOps renders it (a local store is a plain path)
        self.new_folder = destination.render(name)
        self.old = self.new = None
        self.old_spec = self.new_spec = {}
        self.moved = False
        self.refusal = None
        self.spec = {}
        self.result = {}

    def read(self, source, destination):
        """Read both configs (the instance groups move as entries; the rewrite reads them when it writes)."""
        self.old = read_config(source, self.name)[0]
        self.new = read_config(destination, self.name)[0]
        self.old_spec = (self.old or {}).get('spec') or {}
        self.new_spec = (self.new or {}).get('spec') or {}
        # moved by an earlier run: from then on kops update writes at the destination and people may use it,
        # so no entry there is ever overwritten again
        self.moved = self.new is not None and location_below(
            self.new_spec.get('configBase'), destination.location.join(self.name)) == ''
        self.result = dict(moved_before=self.moved, exists_in_source=self.old is not None,
                           exists_in_destination=self.new is not None)
        return self

    @property
    def rewritten(self):
        """Whether the destination's config already holds every field the move sets."""
        return self.new is not None and all(self.new_spec.get(field) == value for field, value in self.spec.items())

    def judge(self, source, destination):
        """Set ``refusal`` (a message) or the spec fields to rewrite."""
        stored_base = self.new_spec.get('configBase')
        if self.new is not None and not self.moved and not (
                self.old is not None and stored_base == self.old_spec.get('configBase')):
            self.refusal = ('%s already holds a cluster %s that is not a copy of %s (its configBase is %s); '
                            'nothing was changed' % (self.new_location, self.name, self.old_location,
                                                     stored_base or 'unset'))
        elif self.old is None and self.new is None:
            self.refusal = 'cluster %s is in neither %s nor %s' % (self.name, source.render(), destination.render())
        elif self.old is not None:
            self._judge_stores(source, destination)

    def _judge_stores(self, source, destination):
        try:
            check_not_overlapping(source.location.join(self.name), destination.location.join(self.name))
        except BadLocation as exc:
            self.refusal = '%s; nothing was changed' % exc
            return
        # every spelling kOps reads the same place from counts: file:// or a bare path, a trailing '/'
        stores = dict((field, value) for field, value in self.old_spec.items() if field in STORE_FIELDS)
        inside = dict((field, location_below(value, source.location.join(self.name))) for field, value in stores.items())
        outside = dict((field, value) for field, value in stores.items()
                       if inside[field] is None and location_below(value, source.location) is not None)
        if outside:
            self.refusal = ('%s of %s point into %s outside the cluster\'s folder (%s); they would not be moved. '
                            'Nothing was changed' % (' and '.join(sorted(outside)), self.name, source.render(),
                                                     ', '.join(outside[field] for field in sorted(outside))))
            return
        self.spec = dict((field, '/'.join(part for part in (self.new_folder, rest) if part))
                         for field, rest in inside.items() if rest is not None)
        self.spec['configBase'] = self.new_folder

    def rewritten_config(self, config):
        """``config`` (a Cluster document) with the spec fields the move sets, kOps's bookkeeping left out."""
        return without_bookkeeping(dict(config, spec=merge(config.get('spec') or {}, self.spec)))


class ClusterFolders(Sync):
    """A sync of whole cluster folders between the two stores' roots: ``folders`` maps each cluster's name to
    globs, relative to its folder, of entries left out. An entry is chosen by its first path segment (one lookup
    per entry however many clusters move), so no other folder of either store is touched."""

    def __init__(self, source, destination, folders, **options):
        # the roots may overlap (a store moving into a folder of itself); the folders are checked per cluster
        super(ClusterFolders, self).__init__(source, destination, max_listed=UNBOUNDED, check_overlap=False, **options)
        self.folders = folders

    def selected(self, path):
        name, _slash, relative = path.partition('/')
        left_out = self.folders.get(name)
        return left_out is not None and bool(relative) and not any(
            fnmatch.fnmatchcase(relative, pattern) for pattern in left_out)


class Migration(object):
    """The move of ``names`` (every cluster of the source when empty) from ``source`` to ``destination``."""

    def __init__(self, source, destination, names, parallel=16, check_mode=False, validate='strict',
                 update_rewrites=UPDATE_REWRITES):
        self.source = source
        self.destination = destination
        self.parallel = max(1, parallel)
        self.check_mode = check_mode
        self.validate = validate
        self.update_rewrites = list(update_rewrites)
        self.copied_paths = set()  # paths (relative to the stores) the copy wrote, or would write
        self.copy_planned = False  # whether copy() ran (in check mode: what it would have done counts)
        self.warnings = []
        self.copied = self.bytes = 0
        # every cluster of the source: the top-level folders holding a config (one listing, the reads below)
        candidates = names or [entry.path for entry in source.list('') if entry.is_dir]
        self.clusters = [ClusterMove(name, source, destination) for name in candidates]
        read = self._each(self.clusters, lambda cluster: cluster.read(source, destination))
        if not names:
            self.clusters = [cluster for cluster in self.clusters if cluster.refusal or cluster.old is not None]
        for cluster, _read in read:
            if cluster in self.clusters:
                cluster.judge(source, destination)

    def _in_source(self):
        """The clusters not refused (so far) that the source holds."""
        return [cluster for cluster in self.clusters if cluster.refusal is None and cluster.old is not None]

    @property
    def refusals(self):
        return dict((cluster.name, cluster.refusal) for cluster in self.clusters if cluster.refusal)

    def _sync(self, clusters, ignore_existing=False):
        """One sync of the folders of ``clusters``, verified; a config the destination has is left out (it is
        rewritten there, or about to be, and must stay so)."""
        if not clusters:
            return
        sync = ClusterFolders(self.source, self.destination,
                              dict((cluster.name, [CONFIG] if cluster.new is not None else []) for cluster in clusters),
                              parallel=self.parallel, check_mode=self.check_mode, ignore_existing=ignore_existing)
        report = sync.run()
        self.copied += report.copied
        self.bytes += report.bytes
        self.copied_paths.update(report.copied_paths)
        if report.copied and not self.check_mode:  # with nothing copied, the run's own comparison was the check
            differences = sync.verify()
            if differences:
                raise StateStoreError('verification failed: %d entries differ at the destination, first: %s'
                                      % (len(differences), ', '.join(differences[:NAMED])))

    def copy(self):
        """Step 1 for every accepted cluster still in the source."""
        self.copy_planned = True
        present = self._in_source()
        self._sync([cluster for cluster in present if not cluster.moved])
        self._sync([cluster for cluster in present if cluster.moved], ignore_existing=True)
        copied = Counter(path.split('/', 1)[0] for path in self.copied_paths)
        for cluster in present:
            cluster.result['copied'] = copied[cluster.name]
        # in check mode a first run's destination has no config to read yet
        rewrites = [cluster for cluster in present if not cluster.rewritten and (cluster.new is not None or not self.check_mode)]
        for cluster, plan in self._each(rewrites, self._rewrite):
            cluster.result['rewritten'] = [write.path for write in plan.writes]
            self.warnings.extend(plan.warnings)
            self.warnings.extend(finding_warnings(cluster.name, plan.findings, self.validate, self.check_mode))
        for cluster in present:
            cluster.result['spec'] = cluster.spec
            if cluster.new is None and self.check_mode:
                cluster.result['rewritten'] = [config_path(cluster.name)]
            cluster.result.setdefault('rewritten', [])

    def _rewrite(self, cluster):
        return update_cluster(self.destination, ClusterRequest(cluster.name, spec=cluster.spec), self.check_mode,
                              validate=self.validate)

    def remove_source(self):
        """Step 2: compare, then remove each cluster whose copy is complete; returns {name: differences}
        of those kept."""
        present = self._in_source()
        if not present:
            return {}
        left_out = [CONFIG] + self.update_rewrites
        comparison = ClusterFolders(self.source, self.destination,
                                    dict((cluster.name, left_out) for cluster in present),
                                    parallel=self.parallel, check_mode=True)
        report = comparison.run()
        # in check mode nothing was copied: what the copy would bring is not missing
        differing = sorted(set(report.copied_paths) - (self.copied_paths if self.check_mode else set()))
        configs = dict(self._each(present, self._config_differences))
        kept = {}
        for cluster in present:
            own = [path for path in differing if path.startswith(cluster.name + '/')]
            fields = configs.get(cluster)
            if fields:
                own.insert(0, config_path(cluster.name))
            if own:
                kept[cluster.name] = own
                cluster.refusal = self._kept_message(cluster, own, fields)
        removable = [cluster for cluster in present if cluster.name not in kept and cluster.refusal is None]
        for cluster, plan in self._each(removable, lambda cluster: delete_cluster(self.source, cluster.name,
                                                                                  self.check_mode)):
            cluster.result['source_removed'] = plan.changed
        return kept

    def _config_differences(self, cluster):
        """The fields (dotted paths) in which the destination's config differs from the source's with the move's
        rewrite applied, both read now; [] when they agree. In check mode after a copy, the destination's is taken
        as the copy would leave it."""
        source = read_config(self.source, cluster.name)[0]
        destination = read_config(self.destination, cluster.name)[0]
        if source is None:  # removed meanwhile: nothing left to lose
            return []
        if self.check_mode and self.copy_planned:  # the copy would bring the source's where there is none
            destination = cluster.rewritten_config(destination or source)
        return differing_fields(cluster.rewritten_config(source), without_bookkeeping(destination))

    def _each(self, clusters, work):
        """(cluster, result of work(cluster)) for each cluster, run in parallel; a cluster whose work fails with a
        store error (a rewrite kOps would refuse, a folder kOps would not delete) gets it as its refusal."""
        def attempt(cluster):
            try:
                return work(cluster)
            except StateStoreError as exc:
                cluster.refusal = str(exc)
                return None
        with ThreadPoolExecutor(min(self.parallel, max(1, len(clusters)))) as pool:
            outcomes = list(pool.map(attempt, clusters))
        return [(cluster, outcome) for cluster, outcome in zip(clusters, outcomes) if outcome is not None]

    def _kept_message(self, cluster, differing, config_fields):
        named = [path[len(cluster.name) + 1:] for path in differing[:NAMED]]
        if len(differing) > NAMED:
            named.append('and %d more' % (len(differing) - NAMED))
        if config_fields:
            named[0] = '%s (%s%s)' % (CONFIG, ', '.join(config_fields[:NAMED]),
                                      ' and %d more fields' % (len(config_fields) - NAMED)
                                      if len(config_fields) > NAMED else '')
        return ('entries of %s missing or different at %s: %s. The source was not removed, and the comparison '
                'wrote nothing: once moved, the role never overwrites an entry of the new store, which may be in '
                'use. Settle each of them (bring the source\'s version over with kops.state_store.sync, or change '
                'or remove it in the source; a config edited on one side only - kops edit cluster - must be edited '
                'alike on the other: the two may differ in configBase, keyStore and secretStore alone, as the move '
                'set them) and run again'
                % (self.source.render(cluster.name), self.destination.render(cluster.name), ', '.join(named)))

    def listed_copies(self, limit):
        """The first ``limit`` paths copied (or to be), in path order."""
        return sorted(self.copied_paths)[:limit]

    def results(self):
        return dict((cluster.name, dict(cluster.result, refused=cluster.refusal)) for cluster in self.clusters)


def without_bookkeeping(config):
    """A Cluster document (or None) without kOps's bookkeeping in its metadata."""
    if not isinstance(config, dict):
        return config
    metadata = config.get('metadata') if isinstance(config.get('metadata'), dict) else {}
    return dict(config, metadata=dict((key, value) for key, value in metadata.items() if key not in BOOKKEEPING))


def differing_fields(expected, found):
    """Dotted paths of the fields where the document ``found`` differs from ``expected`` (mappings compared key by
    key, anything else as a whole); ['(the whole config)'] when ``found`` is missing."""
    if not isinstance(found, dict):
        return ['(the whole config)']
    return sorted(_differences(expected, found, ''))


def _differences(expected, found, prefix):
    if not (isinstance(expected, dict) and isinstance(found, dict)):
        return [prefix.rstrip('.')] if expected != found else []
    return [path for key in set(expected) | set(found)
            for path in _differences(expected.get(key), found.get(key), '%s%s.' % (prefix, key))]

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
2. ``remove_source``: the two copies compared, nothing written (the entries ``kops update`` rewrites and the
   config may differ), and each cluster whose other entries are all at the destination and equal removed
   from the source as ``kops delete cluster`` does.

In check mode both steps decide the same and write nothing; the comparison then counts what the copy would
bring as present.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kops.state_store.plugins.module_utils.cluster import (
    CONFIG, ClusterRequest, config_path, delete_cluster, finding_warnings, list_clusters, read_cluster,
    update_cluster,
)
from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation, StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.sync import Sync, check_not_overlapping

#: what `kops update cluster --yes` writes below a moved cluster's folder: these may differ from the source's
#: afterwards (globs relative to the cluster's folder; ``*`` also matches ``/``)
UPDATE_REWRITES = ('cluster-completed.spec', 'cluster.spec', 'kops-version.txt', 'igconfig/*', 'addons/*',
                   'manifests/*')
#: the spec fields naming stores that move with the cluster when they lie inside its folder
STORE_FIELDS = ('keyStore', 'secretStore')
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
        # configBase values as kOps renders them (a local store is a plain path)
        self.old_folder = self.old_location[:-len(CONFIG) - 1]
        self.new_folder = self.new_location[:-len(CONFIG) - 1]
        self.old = self.new = None
        self.old_spec = self.new_spec = {}
        self.moved = False
        self.refusal = None
        self.spec = {}
        self.result = {}

    def read(self, source, destination):
        self.old = read_cluster(source, self.name)
        self.new = read_cluster(destination, self.name)
        self.old_spec = (self.old.cluster or {}).get('spec') or {}
        self.new_spec = (self.new.cluster or {}).get('spec') or {}
        # moved by an earlier run: from then on kops update writes at the destination and people may use it,
        # so no entry there is ever overwritten again
        self.moved = self.new.cluster is not None and self.new_spec.get('configBase') == self.new_folder
        self.result = dict(moved_before=self.moved, exists_in_source=self.old.cluster is not None,
                           exists_in_destination=self.new.cluster is not None)
        return self

    def judge(self, source, destination):
        """Set ``refusal`` (a message) or the spec fields to rewrite."""
        stored_base = self.new_spec.get('configBase')
        if self.new.cluster is not None and not self.moved and not (
                self.old.cluster is not None and stored_base == self.old_spec.get('configBase')):
            self.refusal = ('%s already holds a cluster %s that is not a copy of %s (its configBase is %s); '
                            'nothing was changed' % (self.new_location, self.name, self.old_location,
                                                     stored_base or 'unset'))
        elif self.old.cluster is None and self.new.cluster is None:
            self.refusal = 'cluster %s is in neither %s nor %s' % (self.name, source.render(), destination.render())
        elif self.old.cluster is not None:
            self._judge_stores(source, destination)

    def _judge_stores(self, source, destination):
        try:
            check_not_overlapping(source.location.join(self.name), destination.location.join(self.name))
        except BadLocation as exc:
            self.refusal = '%s; nothing was changed' % exc
            return
        inside = re.compile('^%s(/|$)' % re.escape(self.old_folder))
        old_root = re.compile('^%s(/|$)' % re.escape(self.old_folder[:-len(self.name) - 1]))
        stores = dict((field, value) for field, value in self.old_spec.items()
                      if field in STORE_FIELDS and isinstance(value, str))
        outside = dict((field, value) for field, value in stores.items()
                       if old_root.match(value) and not inside.match(value))
        if outside:
            self.refusal = ('%s of %s point into %s outside the cluster\'s folder (%s); they would not be moved. '
                            'Nothing was changed' % (' and '.join(sorted(outside)), self.name, source.render(),
                                                     ', '.join(outside[field] for field in sorted(outside))))
            return
        self.spec = dict((field, self.new_folder + value[len(self.old_folder):])
                         for field, value in stores.items() if inside.match(value))
        self.spec['configBase'] = self.new_folder


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
        self.warnings = []
        self.copied = self.bytes = 0
        self.clusters = [ClusterMove(name, source, destination) for name in names or list_clusters(source)]
        for cluster, _read in self._each(self.clusters, lambda cluster: cluster.read(source, destination)):
            cluster.judge(source, destination)

    def _in_source(self):
        """The clusters not refused (so far) that the source holds."""
        return [cluster for cluster in self.clusters if cluster.refusal is None and cluster.old.cluster is not None]

    @property
    def refusals(self):
        return dict((cluster.name, cluster.refusal) for cluster in self.clusters if cluster.refusal)

    def _sync(self, clusters, patterns, exclude=(), ignore_existing=False):
        """One sync of ``patterns`` (globs under each cluster's folder) of ``clusters``, verified."""
        if not clusters:
            return
        include = ['%s/%s' % (cluster.name, pattern) for cluster in clusters for pattern in patterns]
        exclude = ['%s/%s' % (cluster.name, pattern) for cluster in clusters for pattern in exclude]
        sync = Sync(self.source, self.destination, include, exclude, parallel=self.parallel,
                    check_mode=self.check_mode, max_listed=UNBOUNDED, ignore_existing=ignore_existing,
                    check_overlap=False)
        report = sync.run()
        self.copied += report.copied
        self.bytes += report.bytes
        self.copied_paths.update(report.copied_paths)
        if not self.check_mode:
            differences = sync.verify()
            if differences:
                raise StateStoreError('verification failed: %d entries differ at the destination, first: %s'
                                      % (len(differences), ', '.join(differences[:NAMED])))

    def copy(self):
        """Step 1 for every accepted cluster still in the source."""
        present = self._in_source()
        self._sync([cluster for cluster in present if not cluster.moved], ['*'], exclude=[CONFIG])
        self._sync([cluster for cluster in present if cluster.moved], ['*'], exclude=[CONFIG], ignore_existing=True)
        self._sync([cluster for cluster in present if cluster.new.cluster is None], [CONFIG])
        for cluster in present:
            cluster.result['copied'] = sorted(path for path in self.copied_paths if path.startswith(cluster.name + '/'))
        rewrites = [cluster for cluster in present if cluster.new.cluster is not None or not self.check_mode]
        for cluster, plan in self._each(rewrites, self._rewrite):
            cluster.result['rewritten'] = [write.path for write in plan.writes]
            self.warnings.extend(plan.warnings)
            self.warnings.extend(finding_warnings(cluster.name, plan.findings, self.validate, self.check_mode))
        for cluster in present:
            cluster.result['spec'] = cluster.spec
            if cluster not in rewrites:  # check mode, first run: the destination has no config to read yet
                cluster.result['rewritten'] = [config_path(cluster.name)]

    def _rewrite(self, cluster):
        return update_cluster(self.destination, ClusterRequest(cluster.name, spec=cluster.spec), self.check_mode,
                              validate=self.validate)

    def remove_source(self):
        """Step 2: compare, then remove each cluster whose copy is complete; returns {name: differences}
        of those kept."""
        present = self._in_source()
        if not present:
            return {}
        exclude = [CONFIG] + self.update_rewrites
        include = ['%s/*' % cluster.name for cluster in present]
        exclude = ['%s/%s' % (cluster.name, pattern) for cluster in present for pattern in exclude]
        comparison = Sync(self.source, self.destination, include, exclude, parallel=self.parallel,
                          check_mode=True, max_listed=UNBOUNDED, check_overlap=False)
        report = comparison.run()
        # in check mode nothing was copied: what the copy would bring is not missing
        differing = sorted(set(report.copied_paths) - (self.copied_paths if self.check_mode else set()))
        kept = {}
        for cluster in present:
            own = [path for path in differing if path.startswith(cluster.name + '/')]
            if own:
                kept[cluster.name] = own
                cluster.refusal = self._kept_message(cluster, own)
        removable = [cluster for cluster in present if cluster.name not in kept]
        for cluster, plan in self._each(removable, lambda cluster: delete_cluster(self.source, cluster.name,
                                                                                  self.check_mode)):
            cluster.result['source_removed'] = plan.changed
        return kept

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

    def _kept_message(self, cluster, differing):
        named = [path[len(cluster.name) + 1:] for path in differing[:NAMED]]
        if len(differing) > NAMED:
            named.append('and %d more' % (len(differing) - NAMED))
        return ('entries of %s missing or different at %s: %s. The source was not removed, and the comparison '
                'wrote nothing: once moved, the role never overwrites an entry of the new store, which may be in '
                'use. Settle each of them (bring the source\'s version over with kops.state_store.sync, or change '
                'or remove it in the source) and run again'
                % (self.source.render(cluster.name), self.destination.render(cluster.name), ', '.join(named)))

    def results(self):
        return dict((cluster.name, dict(cluster.result, refused=cluster.refusal)) for cluster in self.clusters)


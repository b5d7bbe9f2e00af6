#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: move_clusters
short_description: Move kOps clusters from one state store to another, many clusters in one run
version_added: 0.2.0
description:
  - The steps of the R(migrate_state_store role,ansible_collections.kops.state_store.migrate_state_store_role) that touch
    the stores, for every selected cluster in one run - the role adds C(kops update cluster) between them. Use the role
    unless you build your own workflow.
  - Each cluster is read from both stores first (in parallel) and judged on its own. A cluster the destination holds
    under another identity (its C(configBase) is neither the destination nor the source's), a cluster in neither store,
    and one whose C(keyStore) or C(secretStore) points into the source store outside the cluster's folder are refused
    with their own message in RV(clusters) and left untouched; the task then fails after moving the others.
  - With O(copy=true) - one sync of every accepted cluster's folder but its C(config) (one listing per side, copies
    in parallel, verified by listing the destination again and comparing contents). A cluster moved by an earlier run
    (its C(configBase) at the destination is the destination) only gains the entries missing there - kOps and people
    may be using the new copy, so nothing there is overwritten. The C(config) is copied only where the destination has
    none; then C(configBase), and C(keyStore)/C(secretStore) when they lie inside the cluster's folder, are rewritten
    at the destination as M(kops.state_store.cluster) writes (compare-and-swap guarded, validated by O(validate)).
    A store counts as inside however the config spells it, as long as kOps reads the same place from it - a
    C(file://) URL or a bare path for a local store, with or without a trailing C(/).
  - With O(remove_source=true) - the two copies are only compared, nothing is written. The C(config) is compared by
    its content - the source's with the rewrite above applied must equal the destination's, kOps's bookkeeping
    (C(metadata.generation), C(metadata.creationTimestamp)) aside - so an edit made on either side since the copy
    (C(kops edit cluster) against the old store, say) is never lost. Every other entry must be at the destination
    and equal, except those C(kops update cluster) rewrites (O(update_rewrites)). Each cluster that passes is removed
    from the source as M(kops.state_store.cluster) with O(kops.state_store.cluster#module:state=absent) removes it
    (every version in a versioned bucket); a cluster with missing or different entries stays, named with them (the
    config with the fields that differ), and the task fails.
  - In check mode nothing is written; the comparison counts what the copy would bring as present.
  - Results hold entry paths and store locations, never entry contents.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.STATE_STORE_BACKENDS
  - kops.state_store.store.STATE_STORE_SIDES
options:
  source:
    description: The store the clusters are in now, for example V(s3://old-kops-state) or V(file:///srv/kops-state).
    type: str
    required: true
  destination:
    description: The store they move to, for example V(s3://new-kops-state). No selected cluster's folder may overlap its new place.
    type: str
    required: true
  clusters:
    description: Names of the clusters to move; empty moves every cluster of the source (every C(<name>/config) entry).
    type: list
    elements: str
    default: []
  copy:
    description: Copy the clusters and rewrite their C(configBase) at the destination.
    type: bool
    default: true
  remove_source:
    description:
      - Compare both copies and remove from the source each cluster whose copy is complete.
      - Do it only once C(kops update cluster --yes) ran against the destination - until then the cluster's nodes
        read the source.
    type: bool
    default: false
  update_rewrites:
    description:
      - Entries, relative to a cluster's folder, that C(kops update cluster --yes) rewrites at the destination and that
        may therefore differ from the source's when O(remove_source=true) compares them (globs, C(*) also matches C(/)).
      - They never cover C(config), which C(kops update cluster) does not write - it is always compared.
    type: list
    elements: str
    default: [cluster-completed.spec, cluster.spec, kops-version.txt, igconfig/*, addons/*, manifests/*,
              backups/etcd/*/control/etcd-cluster-spec]
  parallel:
    description: How many entries are copied, and clusters read and rewritten, at once.
    type: int
    default: 16
  max_listed:
    description: How many copied entries RV(copied_paths) lists at most (the counts stay exact).
    type: int
    default: 1000
  validate:
    description: How the rewritten configs are validated, as O(kops.state_store.cluster#module:validate).
    type: str
    choices: [strict, warn, none]
    default: strict
attributes:
  check_mode:
    support: full
    details: Reads both stores and reports the plan in RV(clusters); writes nothing.
  diff_mode:
    support: none
    details: The plan is reported per cluster in RV(clusters), as entry paths, never entry contents.
seealso:
  - module: kops.state_store.sync
  - module: kops.state_store.cluster
'''

EXAMPLES = r'''
- name: Move two clusters to a new bucket (copy and rewrite configBase)
  kops.state_store.move_clusters:
    source: s3://old-kops-state
    destination: s3://new-kops-state
    clusters: [prod.example.com, staging.example.com]

- name: After kops update cluster --yes ran against the new store, remove the old copies
  kops.state_store.move_clusters:
    source: s3://old-kops-state
    destination: s3://new-kops-state
    clusters: [prod.example.com, staging.example.com]
    copy: false
    remove_source: true
'''

RETURN = r'''
clusters:
  description: Per cluster name, what was found and done (or would be, in check mode).
  returned: always
  type: dict
  contains:
    refused:
      description: Why the cluster was left alone or kept in the source, or null.
      type: str
    moved_before:
      description: Whether an earlier run had moved it (its C(configBase) at the destination was the destination).
      type: bool
    exists_in_source:
      description: Whether the source held the cluster's C(config).
      type: bool
    exists_in_destination:
      description: Whether the destination held it before this run.
      type: bool
    copied:
      description: How many of its entries were copied (or would be), with O(copy=true).
      type: int
    rewritten:
      description: Entries the C(configBase) rewrite wrote, with O(copy=true).
      type: list
      elements: str
    spec:
      description: The spec fields set at the destination (C(configBase), and C(keyStore)/C(secretStore) when moved).
      type: dict
    source_removed:
      description: Whether the cluster was removed from the source, with O(remove_source=true).
      type: bool
  sample:
    prod.example.com:
      refused: null
      moved_before: false
      exists_in_source: true
      exists_in_destination: false
      copied: 198
      rewritten: [prod.example.com/config]
      spec: {configBase: s3://new-kops-state/prod.example.com}
copied:
  description: Number of entries copied (or that would be).
  returned: always
  type: int
  sample: 1980
copied_paths:
  description: The first O(max_listed) entries copied (or that would be), in path order.
  returned: always
  type: list
  elements: str
  sample: [prod.example.com/config, prod.example.com/instancegroup/nodes]
bytes:
  description: Bytes copied (or that would be).
  returned: always
  type: int
  sample: 4411800
'''

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    side_settings,
    side_settings_spec,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster import VALIDATE_MODES
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import check_name
from ansible_collections.kops.state_store.plugins.module_utils.registry import STATE_STORE_BACKENDS, open_store
from ansible_collections.kops.state_store.plugins.module_utils.workflows.migration import Migration, UPDATE_REWRITES


def main():
    module = StateStoreModule(
        argument_spec=dict(
            source=dict(type='str', required=True),
            destination=dict(type='str', required=True),
            source_options=side_settings_spec(STATE_STORE_BACKENDS),
            destination_options=side_settings_spec(STATE_STORE_BACKENDS),
            clusters=dict(type='list', elements='str', default=[]),
            copy=dict(type='bool', default=True),
            remove_source=dict(type='bool', default=False),
            update_rewrites=dict(type='list', elements='str', default=list(UPDATE_REWRITES)),
            parallel=dict(type='int', default=16),
            max_listed=dict(type='int', default=1000),
            validate=dict(type='str', choices=list(VALIDATE_MODES), default='strict'),
        ),
        backend_modules=STATE_STORE_BACKENDS,
    )
    params = module.params
    result = dict(changed=False, clusters={}, copied=0, copied_paths=[], bytes=0)
    with module.store_errors(result):
        names = [check_name(name, 'cluster name') for name in params['clusters']]
        source = open_store(params['source'], side_settings(module.settings, params['source_options']))
        destination = open_store(params['destination'], side_settings(module.settings, params['destination_options']))
        if source.render() == destination.render():
            module.fail_json(msg='source and destination are the same store (%s)' % source.render(), **result)
        migration = Migration(source, destination, names, params['parallel'], module.check_mode, params['validate'],
                              params['update_rewrites'])
        try:
            if params['copy']:
                migration.copy()
            if params['remove_source']:
                migration.remove_source()
        finally:
            result.update(clusters=migration.results(), copied=migration.copied, bytes=migration.bytes,
                          copied_paths=migration.listed_copies(params['max_listed']))
            result['changed'] = any(outcome.get('copied') or outcome.get('rewritten') or outcome.get('source_removed')
                                    for outcome in result['clusters'].values())
    for warning in migration.warnings:
        module.warn(warning)
    refusals = migration.refusals
    if refusals:
        module.fail_json(msg='%d of %d clusters not moved or not removed from the source: %s'
                         % (len(refusals), len(migration.clusters),
                            ' | '.join('%s: %s' % item for item in sorted(refusals.items()))), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

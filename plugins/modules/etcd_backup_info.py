#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: etcd_backup_info
short_description: List a kOps cluster's etcd backups, expected etcd cluster spec and pending etcd-manager commands
version_added: 0.2.0
description:
  - Reads what etcd-manager keeps in the state store for the C(main) and C(events) etcd clusters of a kOps cluster,
    in kOps's default backup store C(<configBase>/backups/etcd/<main|events>/) (the store etcd-manager-ctl's
    C(-backup-store) names), with the cluster's C(spec.configBase) (by default C(<state store>/<cluster>)) read
    from its config. A configBase outside the given state store is refused - the config is data from whoever can
    write the store, and does not choose where the task's credentials read.
  - The backups, newest first, each with its time, etcd version, member count and size, and whether it is complete
    (both C(etcd.backup.gz) and a readable C(_etcd_backup.meta)); the expected cluster spec
    (C(control/etcd-cluster-spec), which C(kops update cluster) writes); the pending commands (C(control/*/_command.json)), such as a queued restore.
  - Reads only metadata. The snapshots (C(etcd.backup.gz)) hold every Kubernetes Secret of the cluster; they are
    listed for their size and never read. Of the meta and control files only the fields etcd-manager defines are
    returned.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.STATE_STORE_BACKENDS
  - kops.state_store.store.CLUSTER_FORMERLY_NAME
options:
  etcd_cluster:
    description:
      - The etcd cluster to read, or V(all) for both.
    type: str
    choices: [main, events, all]
    default: all
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
    details: Reads only.
notes:
  - The module runs on the target host and uses that host's environment, C(~/.kops.yaml) and credentials.
  - A cluster whose C(spec.etcdClusters[].backups.backupStore) points somewhere else than kOps's default keeps its
    backups there; this module reads the default location (below C(spec.configBase)) only.
  - The collection's C(docs/etcd-recovery.md) describes the whole recovery, including the steps outside the state store.
  - On C(file://) stores, listing a folder hashes its files, as every listing of such a store does; the snapshot
    bytes still never reach the result.
seealso:
  - module: kops.state_store.etcd_restore
  - name: kOps - backing up and restoring etcd
    description: kOps's own guide, with etcd-manager-ctl.
    link: https://kops.sigs.k8s.io/operations/etcd_backup_restore_encryption/
'''

EXAMPLES = r'''
- name: List the etcd backups of a cluster
  kops.state_store.etcd_backup_info:
    state_store: s3://my-kops-state
    cluster: demo.k8s.local
  register: etcd

- name: Show the newest complete backup of each etcd cluster
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ (item.value.backups | selectattr('complete') | first).name }}"
  loop: "{{ etcd.etcd_clusters | dict2items }}"

- name: Fail when a restore is still pending for main
  ansible.builtin.assert:
    that: etcd.etcd_clusters.main.commands | selectattr('restore_backup') | list | length == 0
'''

RETURN = r'''
etcd_clusters:
  description: What etcd-manager keeps for each etcd cluster read, by etcd cluster name (V(main), V(events)).
  returned: always
  type: dict
  contains:
    location:
      description: The backup store, as etcd-manager-ctl's C(-backup-store) takes it.
      type: str
      returned: always
      sample: s3://my-kops-state/demo.k8s.local/backups/etcd/main
    backups:
      description: The backups, newest first (by the time in their names, then their sequence).
      type: list
      elements: dict
      returned: always
      contains:
        name:
          description: The backup's name, C(<RFC3339 UTC time>-<sequence>), as etcd-manager-ctl's C(restore-backup) takes it.
          type: str
          returned: always
          sample: 2026-11-30T10:15:02Z-000042
        time:
          description: The UTC time in the name; null for a folder named otherwise.
          type: str
          returned: always
          sample: "2026-11-30T10:15:02Z"
        etcd_version:
          description: The etcd version the backup was taken with (from its meta file); null when unknown.
          type: str
          returned: always
          sample: 3.5.21
        member_count:
          description: The etcd cluster's member count when the backup was taken; null when unknown.
          type: int
          returned: always
          sample: 3
        size:
          description: Size of C(etcd.backup.gz) in bytes; null when it is missing.
          type: int
          returned: always
          sample: 1048576
        has_data:
          description: Whether C(etcd.backup.gz) exists.
          type: bool
          returned: always
          sample: true
        has_meta:
          description: Whether C(_etcd_backup.meta) exists.
          type: bool
          returned: always
          sample: true
        complete:
          description: Whether the backup can be restored - both files exist and the meta file parses and names an etcd version.
          type: bool
          returned: always
          sample: true
        problem:
          description: Why the backup is not complete; null when it is.
          type: str
          returned: always
          sample: its etcd.backup.gz is missing
    cluster_spec:
      description:
        - The expected cluster spec (C(control/etcd-cluster-spec)), C(member_count) and C(etcd_version); a restore copies it.
        - Null when C(kops update cluster) never wrote one for this configBase (then no restore can be queued).
      type: dict
      returned: always
      sample: {member_count: 3, etcd_version: 3.5.21}
    cluster_created:
      description: Whether etcd-manager marked the etcd cluster as created (C(control/etcd-cluster-created)).
      type: bool
      returned: always
      sample: true
    commands:
      description: The pending commands, in the order etcd-manager runs them (by timestamp).
      type: list
      elements: dict
      returned: always
      contains:
        command:
          description: The command file, relative to C(control/).
          type: str
          returned: always
          sample: 2026-11-30T12:00:00Z-000000/_command.json
        time:
          description: The UTC time in the command folder's name.
          type: str
          returned: always
          sample: "2026-11-30T12:00:00Z"
        timestamp:
          description: The command's timestamp, nanoseconds since the epoch.
          type: int
          returned: always
          sample: 1796040000000000000
        restore_backup:
          description: For a restore, the C(backup) to restore and the C(cluster_spec) to restore it into; null otherwise.
          type: dict
          returned: always
          sample: {backup: 2026-11-30T10:15:02Z-000042, cluster_spec: {member_count: 3, etcd_version: 3.5.21}}
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.etcd import ETCD_CLUSTERS, read_backup_stores
from ansible_collections.kops.state_store.plugins.module_utils.registry import STATE_STORE_BACKENDS


def main():
    module = StateStoreModule(
        argument_spec=dict(
            cluster=dict(type='str', required=True, fallback=(env_fallback, ['KOPS_CLUSTER_NAME']), aliases=['name'],
                         deprecated_aliases=[dict(name='name', version='1.0.0', collection_name='kops.state_store')]),
            etcd_cluster=dict(type='str', choices=list(ETCD_CLUSTERS) + ['all'], default='all'),
        ),
        backend_modules=STATE_STORE_BACKENDS,
    )
    with module.store_errors():
        backend = open_configured_store(module.settings)
        stores = read_backup_stores(backend, module.params['cluster'], module.params['etcd_cluster'])
        result = dict((etcd_cluster, store.as_dict()) for etcd_cluster, store in stores.items())
    module.exit_json(changed=False, etcd_clusters=result)


if __name__ == '__main__':
    main()

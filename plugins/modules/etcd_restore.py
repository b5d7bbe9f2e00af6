#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: etcd_restore
short_description: Queue (or withdraw) the restore of a kOps cluster's etcd backups for etcd-manager
version_added: 0.2.0
description:
  - Writes the restore command etcd-manager-ctl's C(restore-backup) writes, for the C(main) and C(events) etcd
    clusters of a kOps cluster at once, or for one of them - C(control/<UTC time>-000000/_command.json) in the
    etcd cluster's backup store, holding the backup's name and the expected cluster spec
    (C(control/etcd-cluster-spec)) - in the protojson form etcd-manager reads (etcd-manager-ctl's own output
    differs at most by the extra space after each colon that some builds of Go's protojson add).
  - The backup stores are where kOps puts them, C(<configBase>/backups/etcd/<main|events>), with the cluster's
    C(spec.configBase) (by default C(<state store>/<cluster>)) read from its config. A configBase outside the
    given state store is refused - the config is data from whoever can write the store, and does not choose
    where the task's credentials write.
  - Nothing is restored yet - every etcd-manager of the cluster acts on the command when it restarts (restart the
    etcd-manager pods, or roll the control plane); see the collection's C(docs/etcd-recovery.md).
  - Refuses, writing nothing, a backup that does not exist or is incomplete (naming the newest complete ones), an
    etcd cluster without an expected cluster spec (which C(kops update cluster) writes; etcd-manager-ctl refuses
    too), and an etcd cluster where a restore of another backup is pending (etcd-manager would run that one
    first).
  - A restore of the same backup already pending is not queued again.
  - O(state=absent) removes pending restore commands, as etcd-manager-ctl's C(delete-command) does.
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
      - The etcd cluster to restore, or V(all) for both C(main) and C(events).
    type: str
    choices: [main, events, all]
    default: all
  backup:
    description:
      - The backup to restore, by its name (C(<RFC3339 UTC time>-<sequence>), as
        M(kops.state_store.etcd_backup_info) and etcd-manager-ctl's C(list-backups) show it), or V(latest) for the
        newest complete one.
      - With O(etcd_cluster=all), the etcd cluster the named backup belongs to (for V(latest), C(main)) gets it,
        and the other one its complete backup taken closest to that time; RV(restores) and RV(skew_seconds) say which.
      - Required with O(state=present). With O(state=absent), only the restores of this backup are removed; when
        not given, every pending restore is. V(latest) is not taken there.
    type: str
  state:
    description:
      - V(present) queues the restore, V(absent) removes pending restore commands.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Shows each command file written or removed.
notes:
  - The module runs on the target host and uses that host's environment, C(~/.kops.yaml) and credentials.
  - The backup snapshots (C(etcd.backup.gz)) hold every Kubernetes Secret of the cluster. They are never read;
    results and diffs show only backup names, times, etcd versions, member counts and command timestamps.
  - With O(etcd_cluster=all) both command files are written, or neither - when the second write fails, the first
    command is removed again.
  - A cluster whose C(spec.etcdClusters[].backups.backupStore) points somewhere else than kOps's default keeps its
    backups there; this module works on the default location (below C(spec.configBase)) only.
seealso:
  - module: kops.state_store.etcd_backup_info
  - name: kOps - backing up and restoring etcd
    description: kOps's own guide, with etcd-manager-ctl.
    link: https://kops.sigs.k8s.io/operations/etcd_backup_restore_encryption/
'''

EXAMPLES = r'''
- name: See what a restore of the newest backups would write
  kops.state_store.etcd_restore:
    state_store: s3://my-kops-state
    cluster: demo.k8s.local
    backup: latest
  check_mode: true
  diff: true
  register: planned

- name: Queue it (main and events, taken closest to the same time)
  kops.state_store.etcd_restore:
    state_store: s3://my-kops-state
    cluster: demo.k8s.local
    backup: latest
  register: queued          # queued.restores: [{etcd_cluster: main, backup: ...}, {etcd_cluster: events, ...}]

- name: Restore one named backup of main only
  kops.state_store.etcd_restore:
    state_store: s3://my-kops-state
    cluster: demo.k8s.local
    etcd_cluster: main
    backup: 2026-11-30T10:15:02Z-000042

- name: Withdraw every pending restore
  kops.state_store.etcd_restore:
    state_store: s3://my-kops-state
    cluster: demo.k8s.local
    state: absent
'''

RETURN = r'''
restores:
  description: The restore of each etcd cluster, queued now or already pending.
  returned: when O(state=present)
  type: list
  elements: dict
  contains:
    etcd_cluster:
      description: V(main) or V(events).
      type: str
      returned: always
      sample: main
    backup:
      description: The backup restored.
      type: str
      returned: always
      sample: 2026-11-30T10:15:02Z-000042
    backup_time:
      description: The UTC time in the backup's name.
      type: str
      returned: always
      sample: "2026-11-30T10:15:02Z"
    etcd_version:
      description: The etcd version the backup was taken with.
      type: str
      returned: always
      sample: 3.5.21
    already_pending:
      description: Whether a restore of this backup was pending already (then nothing was written for it).
      type: bool
      returned: always
      sample: false
    command:
      description: The command file, relative to the state store.
      type: str
      returned: always
      sample: demo.k8s.local/backups/etcd/main/control/2026-11-30T12:00:00Z-000000/_command.json
    location:
      description: The command file's full location.
      type: str
      returned: always
      sample: s3://my-kops-state/demo.k8s.local/backups/etcd/main/control/2026-11-30T12:00:00Z-000000/_command.json
skew_seconds:
  description: Seconds between the times of the C(main) and C(events) backups chosen; null for one etcd cluster.
  returned: when O(state=present)
  type: int
  sample: 3
removed:
  description: The restore commands removed (or, in check mode, that would be).
  returned: when O(state=absent)
  type: list
  elements: dict
  sample: [{etcd_cluster: main, backup: 2026-11-30T10:15:02Z-000042,
            command: demo.k8s.local/backups/etcd/main/control/2026-11-30T12:00:00Z-000000/_command.json}]
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.etcd import (
    ETCD_CLUSTERS,
    apply_restore,
    command_text,
    pending_restores,
    plan_restore,
    read_backup_stores,
    remove_commands,
    skew_seconds,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import STATE_STORE_BACKENDS


def command_diff(backend, path, before='', after=''):
    location = backend.render(path)
    return dict(before_header=location, after_header=location, before=before, after=after)


def main():
    module = StateStoreModule(
        argument_spec=dict(
            cluster=dict(type='str', required=True, fallback=(env_fallback, ['KOPS_CLUSTER_NAME']), aliases=['name'],
                         deprecated_aliases=[dict(name='name', version='1.0.0', collection_name='kops.state_store')]),
            etcd_cluster=dict(type='str', choices=list(ETCD_CLUSTERS) + ['all'], default='all'),
            backup=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        required_if=[('state', 'present', ('backup',))],
        backend_modules=STATE_STORE_BACKENDS,
    )
    params = module.params
    if params['state'] == 'absent' and params['backup'] == 'latest':
        module.fail_json(msg='backup=latest only chooses what to restore; with state=absent give a backup name, or '
                             'none to remove every pending restore')
    with module.store_errors():
        backend = open_configured_store(module.settings)
        stores = read_backup_stores(backend, params['cluster'], params['etcd_cluster'], with_details=False)
        if params['state'] == 'absent':
            commands = pending_restores(stores, params['backup'])
            if not module.check_mode:
                remove_commands(backend, commands)
            result = dict(changed=bool(commands), removed=[
                dict(etcd_cluster=command.etcd_cluster, backup=command.restore_backup, command=command.path)
                for command in commands])
            diffs = [command_diff(backend, command.path, before=command_text(command)) for command in commands]
        else:
            restores = plan_restore(stores, params['backup'])
            if not module.check_mode:
                apply_restore(backend, restores)
            result = dict(changed=any(restore.changed for restore in restores),
                          restores=[restore.as_dict() for restore in restores],
                          skew_seconds=skew_seconds(restores))
            diffs = [command_diff(backend, restore.command_path, after=command_text(restore.data))
                     for restore in restores if restore.changed]
        if module._diff:
            result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()

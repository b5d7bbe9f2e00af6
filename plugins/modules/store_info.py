#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: store_info
short_description: Audit a kOps state store and every cluster in it - findings with severity, reason and fix
version_added: 0.2.0
description:
  - A health check of one state store, read-only. Each finding has a severity (V(info), V(low), V(medium), V(high),
    V(critical)), the reason it matters and the command or task that fixes it. What the caller's identity may not
    read, or the server does not offer, is reported as not checked, never as a failure.
  - 'The store itself, against what kOps and its provider recommend - C(s3://): versioning (kOps''s documentation
    "STRONGLY" recommends it), default encryption, Block Public Access, object ownership against E(KOPS_STATE_S3_ACL)
    (read from the environment the module runs in), and the region; C(do://) the same where the server offers them;
    C(gs://): object versioning, uniform bucket-level access, public access prevention and the location;
    C(swift://): the container''s public read ACL and object versioning; C(oss://): the bucket''s ACL, versioning and
    server-side encryption; C(file://) and C(memfs://): flagged as stores for review only, as kOps''s documentation
    says.'
  - 'Per cluster: the config and instance groups parse and how many findings kOps''s schema and rules give (see
    M(kops.state_store.cluster_info)); C(spec.configBase) names this cluster''s folder of this store; the key store
    and the secret store the config names hold keysets and secrets once the cluster has been applied
    (C(cluster-completed.spec) exists); the soonest end of a trusted CA certificate (expired, or within
    O(expires_within) days); per etcd cluster (C(main), C(events)) the newest complete backup and its age (older than
    O(backup_max_age) hours is a finding); pending etcd restore commands; lock entries left by runs that ended
    without releasing them; probe entries of conditional writes left behind; and, with O(history_repository), the
    drift since the repository''s last snapshot (see M(kops.state_store.history)).'
  - 'Bounded: one listing of the store (and one of each other store of the same kind that a config names), then the
    entries each check needs, clusters read O(readers) at once. Never read: etcd snapshots (C(etcd.backup.gz)),
    secret values, private key material (keysets are read for their certificates only), and nothing at all of a
    C(vault://) key or secret store named by the stored config - it is reported as not checked, so no credential
    goes to a Vault the task did not name. Stores on another scheme than the audited one, or on C(file://), that a
    config names are not opened either.'
  - C(playbooks/fleet_report.yml) turns the results of several stores into one Markdown and one HTML report and fails
    at a chosen severity (C(docs/health.md)).
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.STATE_STORE_BACKENDS
options:
  clusters:
    description:
      - The clusters to audit. A name not in the store is a finding. By default every cluster of the store (every
        C(<name>/config), as kOps discovers clusters).
    type: list
    elements: str
  expires_within:
    description:
      - A trusted CA certificate ending within this many days is a V(high) finding; one that has ended is V(critical).
    type: int
    default: 30
  backup_max_age:
    description:
      - Hours after which the newest complete backup of an etcd cluster is a V(high) finding (etcd-manager backs up
        every 15 minutes).
    type: int
    default: 24
  history_repository:
    description:
      - The git working tree of the store's history (M(kops.state_store.history)), on the host the module runs on.
        When given, each cluster's drift since the repository's C(HEAD) is checked (secret entries are not compared).
    type: path
  history_folder:
    description:
      - The store's folder in O(history_repository), as M(kops.state_store.history) takes it. By default made of the
        store's scheme, bucket and prefix.
    type: str
  readers:
    description: How many clusters are read at once.
    type: int
    default: 16
attributes:
  check_mode:
    support: full
    details: Reads only; nothing is ever written, in check mode or not.
  diff_mode:
    support: none
    details: Reads only.
notes:
  - The module runs on the target host and uses that host's environment, C(~/.kops.yaml) and credentials.
  - Reading the bucket's settings needs, on S3, C(s3:GetBucketVersioning), C(s3:GetEncryptionConfiguration),
    C(s3:GetBucketPublicAccessBlock), C(s3:GetBucketOwnershipControls) and C(s3:GetBucketLocation); on GCS,
    C(storage.buckets.get). Without them those checks are not checked. An account-level Block Public Access or an
    organization policy enforcing public access prevention is not read.
  - etcd backups are read where kOps keeps them by default (below the cluster's folder); a cluster whose configBase
    or C(spec.etcdClusters[].backups.backupStore) names another place reports them as not checked.
seealso:
  - module: kops.state_store.cluster_info
  - module: kops.state_store.keyset_info
  - module: kops.state_store.etcd_backup_info
  - module: kops.state_store.history
'''

EXAMPLES = r'''
- name: Audit a state store
  kops.state_store.store_info:
    state_store: s3://my-kops-state
  register: audit

- name: Fail on anything high or critical
  ansible.builtin.assert:
    that: audit.counts.high + audit.counts.critical == 0
    fail_msg: "{{ audit.findings | selectattr('severity', 'in', ['high', 'critical']) | map(attribute='reason') | list }}"

- name: Audit two clusters, with the drift since the last snapshot and a week's CA warning
  kops.state_store.store_info:
    state_store: gs://my-kops-state
    clusters: [prod.example.com, staging.example.com]
    expires_within: 7
    history_repository: /srv/kops-history
  register: audit
'''

RETURN = r'''
state_store:
  description: The store audited.
  returned: always
  type: str
  sample: s3://my-kops-state/
checked_at:
  description: When the audit ran (UTC); ages and days left count from it.
  returned: always
  type: str
  sample: "2026-12-07T09:00:00Z"
kops_schema_version:
  description: The kOps release whose schema and rules the configs were validated against.
  returned: always
  type: str
  sample: 1.37.0-alpha.1
severity:
  description: The highest severity of all findings, null when there is none.
  returned: always
  type: str
  sample: high
counts:
  description: How many findings there are of each severity.
  returned: always
  type: dict
  sample: {info: 0, low: 0, medium: 1, high: 2, critical: 0}
findings:
  description: Every finding, of the store (RV(findings[].cluster) null) and of its clusters.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: What was checked.
      type: str
      sample: versioning
    status:
      description: Always V(finding) here.
      type: str
    severity:
      description: V(info), V(low), V(medium), V(high) or V(critical).
      type: str
      sample: high
    reason:
      description: What was found and why it matters.
      type: str
      sample: "versioning is not enabled: an overwritten or deleted entry (a config, a keyset, a secret) cannot be
        recovered; kOps's documentation STRONGLY recommends versioning the state store bucket"
    fix:
      description: The command or task that fixes it.
      type: str
      sample: aws s3api put-bucket-versioning --bucket my-kops-state --versioning-configuration Status=Enabled
    value:
      description: What was found, where there is a value to show.
      type: raw
    cluster:
      description: The cluster the finding is about; null for the store itself.
      type: str
      sample: prod.example.com
store:
  description: The store itself.
  returned: always
  type: dict
  contains:
    location:
      description: The store.
      type: str
    scheme:
      description: Its scheme.
      type: str
      sample: s3
    clusters:
      description: How many clusters the store holds.
      type: int
    checks:
      description: Every check of the store (RV(findings[]) fields, V(ok), V(finding) or V(not checked) as C(status)).
      type: list
      elements: dict
    findings:
      description: The checks that are findings.
      type: list
      elements: dict
    not_checked:
      description: The checks not made, each with the C(reason).
      type: list
      elements: dict
    severity:
      description: The highest severity of the store's own findings, or null.
      type: str
clusters:
  description: One report per cluster audited, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The cluster.
      type: str
    config:
      description: Its config entry.
      type: str
    config_base:
      description: Its configBase (as stored, else derived as kOps derives it); null when the config cannot be read.
      type: str
    key_store:
      description: The key store the config names (or its default).
      type: str
    secret_store:
      description: The secret store the config names (or its default).
      type: str
    cloud_provider:
      description: The cluster's cloud.
      type: str
    kubernetes_version:
      description: The cluster's C(spec.kubernetesVersion).
      type: str
    applied:
      description: Whether C(kops update cluster) has run for it (C(cluster-completed.spec) exists).
      type: bool
    validation_findings:
      description: How many findings kOps's schema and rules give for its documents.
      type: int
    ca_expiry:
      description: The trusted CA certificate that ends first - C(keyset), C(id), C(not_after) and C(days_left); null
        when none was read.
      type: dict
      sample: {keyset: etcd-clients-ca, id: "7324712498473917233", not_after: "2027-01-05T10:00:00Z", days_left: 29}
    etcd_backups:
      description: Per etcd cluster the newest complete backup, C(backup) and C(age_hours); null when there is none.
      type: dict
      sample: {main: {backup: 2026-12-07T08:45:00Z-000123, age_hours: 0.3}, events: null}
    pending_restores:
      description: The pending etcd restore commands - C(etcd_cluster), C(backup) and C(queued).
      type: list
      elements: dict
    drift:
      description: With O(history_repository), how many entries were C(added), C(changed) and C(removed) since the
        last snapshot; null otherwise.
      type: dict
    checks:
      description: Every check of the cluster, as RV(store.checks).
      type: list
      elements: dict
    findings:
      description: The checks that are findings.
      type: list
      elements: dict
    not_checked:
      description: The checks not made, each with the C(reason).
      type: list
      elements: dict
    severity:
      description: The highest severity of the cluster's findings, or null.
      type: str
'''

import os

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster_stores import DEFAULT_EXPIRES_WITHIN
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import check_name
from ansible_collections.kops.state_store.plugins.module_utils.registry import STATE_STORE_BACKENDS
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history_repository import (
    Git,
    checked_folder,
    git_runner,
    store_folder,
)
from ansible_collections.kops.state_store.plugins.module_utils.workflows.store_audit import (
    DEFAULT_BACKUP_MAX_AGE,
    READERS,
    audit_store,
)


def main():
    module = StateStoreModule(
        argument_spec=dict(
            clusters=dict(type='list', elements='str'),
            expires_within=dict(type='int', default=DEFAULT_EXPIRES_WITHIN),
            backup_max_age=dict(type='int', default=DEFAULT_BACKUP_MAX_AGE),
            history_repository=dict(type='path'),
            history_folder=dict(type='str'),
            readers=dict(type='int', default=READERS),
        ),
        backend_modules=STATE_STORE_BACKENDS,
    )
    params = module.params
    for option in ('expires_within', 'backup_max_age', 'readers'):
        if params[option] < (1 if option == 'readers' else 0):
            module.fail_json(msg='%s must be %s, not %d' % (option, 'at least 1' if option == 'readers' else '0 or more',
                                                            params[option]))
    with module.store_errors():
        clusters = None if params['clusters'] is None else [check_name(name, 'cluster name')
                                                            for name in params['clusters']]
        backend = open_configured_store(module.settings)
        history = None
        if params['history_repository']:
            folder = checked_folder(params['history_folder']) if params['history_folder'] else store_folder(
                backend.location)
            history = (Git(git_runner(module), params['history_repository']), folder)
        result = audit_store(backend, module.settings, clusters, expires_within=params['expires_within'],
                             backup_max_age=params['backup_max_age'], history=history, environ=os.environ,
                             readers=params['readers'])
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()

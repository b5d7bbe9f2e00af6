#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sync
short_description: Make one state store folder a copy of another, across any two backends
version_added: 0.1.0
description:
  - Copies every entry of O(source) that is missing or different at O(destination) (S3 to S3, S3 to a local folder,
    a local folder to S3, and so on) and, with O(delete=true), removes destination entries the source does
    not have. The source is only read, never modified.
  - Each side is listed once. An entry is skipped when both listings carry content hashes of the same
    algorithm (for example MD5 on S3 and GCS) and they are equal. Otherwise the content decides - the
    destination's hash algorithm is computed on the source content (for example the MD5 of a local file
    against an S3 ETag), or both contents are hashed. A hash that is not a content hash (multipart or
    SSE-KMS ETags) is never trusted.
  - Copies run in parallel (O(parallel)); each transfer holds one entry in memory at a time. Every write
    goes through the destination backend, so its rules apply (server-side encryption, E(KOPS_STATE_S3_ACL)).
    Writes are guarded by the version seen in the listing, so an entry changed at the destination during the
    run makes the task fail instead of being silently overwritten.
  - A run that was interrupted can simply be run again; only what is still missing or different is copied.
  - Entry paths (never contents) are listed in the result, so secrets are not revealed. With
    O(skip_secrets=true), secret entries are not even copied.
  - Each side can have its own backend settings (O(source_options), O(destination_options)), for a copy between two
    accounts, two projects or two services (AWS S3 and DigitalOcean Spaces or MinIO).
  - With O(compare_only=true) nothing is written and RV(differences) lists what differs.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.ENTRY_BACKENDS
  - kops.state_store.store.SECRET_PATTERNS
  - kops.state_store.store.SIDES
options:
  source:
    description:
      - The folder to copy from, as a full location (V(s3://old-bucket/demo.k8s.local),
        V(file:///srv/review/state)) or a local path.
      - When not set, the configured state store is used (O(state_store), E(KOPS_STATE_STORE), kOps's config files).
      - The alias C(src) is deprecated and will be removed in version 1.0.0 (in the other modules C(src) is a local
        file).
    type: str
    aliases: [src]
  destination:
    description:
      - The folder to copy to, as a full location or a local path. It must not overlap O(source).
      - The alias C(dest) is deprecated and will be removed in version 1.0.0.
    type: str
    required: true
    aliases: [dest]
  delete:
    description:
      - Remove destination entries that the source does not have (only among entries selected by
        O(include) and O(exclude)).
      - A source without any (selected) entry is refused instead, so a mistyped O(source) never empties O(destination).
    type: bool
    default: false
  include:
    description:
      - Glob patterns (C(fnmatch), case-sensitive) on entry paths relative to O(source); when given, only matching
        entries are synced. C(*) also matches C(/), so V(*/config) selects every C(config) at any depth.
    type: list
    elements: str
    default: []
  exclude:
    description:
      - Glob patterns of entries to leave alone, applied after O(include), for example V(backups/*).
      - Excluded destination entries are never deleted.
    type: list
    elements: str
    default: []
  ignore_existing:
    description:
      - Copy only the entries missing at the destination; an entry already there is left as it is, even when
        it differs (it counts in RV(unchanged), and O(verify) only checks that it is there). As C(rsync
        --ignore-existing) does.
      - For adding what appeared in the source since an earlier copy to a destination that is now in use
        and may have changed since (the C(kops.state_store.migrate_state_store) role does so once a cluster
        was moved).
    type: bool
    default: false
  skip_secrets:
    description:
      - Leave secret entries alone on both sides - neither copied, deleted nor verified - for copies that must
        not hold secrets (a review copy, a git history). Secret here means by location, as the other modules
        see it (every C(vault://) entry; C(secrets/), C(pki/), C(private/) and C(backups/) folders;
        O(secret_patterns)); contents are not inspected.
      - RV(secrets_skipped) counts the source entries left out.
    type: bool
    default: false
  parallel:
    description:
      - How many transfers run at the same time.
    type: int
    default: 16
  verify:
    description:
      - After copying, list the destination again and prove that every source entry is there with equal
        content (and, with O(delete=true), that nothing else is). Any difference fails the task.
      - Not done in check mode.
    type: bool
    default: false
  compare_only:
    description:
      - Only compare - list and compare both sides as a sync does and write nothing, in check mode or not.
        RV(differences) then lists the selected source entries missing or different at the destination (and,
        with O(delete=true), the destination entries the source does not have); RV(copied) and RV(deleted)
        count what a sync would copy and delete; RV(verified) is true when nothing differs. The task never
        reports a change and does not fail on differences.
      - For a last check before something irreversible, such as removing the source once the destination is
        in use (the C(kops.state_store.migrate_state_store) role does so after C(kops update cluster --yes)).
    type: bool
    default: false
  acl:
    description:
      - Canned ACL for written entries on backends that have ACLs. On S3 the E(KOPS_STATE_S3_ACL) environment
        variable, when set, overrides it, as in kOps.
    type: str
  max_listed:
    description:
      - How many copied and deleted paths the result lists at most; the counts are always complete and
        RV(truncated) tells when a list was cut.
    type: int
    default: 1000
attributes:
  check_mode:
    support: full
    details: Lists and compares both sides (reading contents when hashes cannot be compared) and reports
      exactly what would be copied and deleted; writes nothing.
  diff_mode:
    support: none
    details: The result lists the paths that change; contents are not shown.
notes:
  - Both sides use the module's store options unless O(source_options) or O(destination_options) give their own.
  - The C(kops.state_store.migrate_state_store) role moves whole clusters between stores with this module.
  - The module runs on the target host and uses that host's environment and credentials.
seealso:
  - module: kops.state_store.entry_info
'''

EXAMPLES = r'''
- name: Copy one cluster to a new bucket, verified
  kops.state_store.sync:
    source: s3://old-kops-state/demo.k8s.local
    destination: s3://new-kops-state/demo.k8s.local
    verify: true

- name: Download the whole configured store for a review (KOPS_STATE_STORE is the source)
  kops.state_store.sync:
    destination: file:///srv/review/state
    delete: true

- name: Copy a cluster from one AWS account to another (a profile for each)
  kops.state_store.sync:
    source: s3://old-kops-state/demo.k8s.local
    destination: s3://new-kops-state/demo.k8s.local
    source_options:
      profile: old-account
    destination_options:
      profile: new-account
    verify: true

- name: Copy a cluster from DigitalOcean Spaces to AWS S3 (the destination's identity from the environment)
  kops.state_store.sync:
    source: do://old-space/demo.k8s.local
    destination: s3://new-kops-state/demo.k8s.local
    source_options:
      endpoint_url: nyc3.digitaloceanspaces.com
      region: nyc3
      access_key: "{{ spaces_key }}"
      secret_key: "{{ spaces_secret }}"
    verify: true

- name: Before removing the old copy, prove the new one holds everything (kops update rewrites some entries)
  kops.state_store.sync:
    source: s3://old-kops-state/demo.k8s.local
    destination: s3://new-kops-state/demo.k8s.local
    exclude: [config, cluster-completed.spec, kops-version.txt, 'igconfig/*', 'addons/*', 'manifests/*']
    compare_only: true
  register: compared
  failed_when: compared.differences | length > 0

- name: What would be pushed back, leaving etcd backups alone
  kops.state_store.sync:
    source: /srv/review/state/demo.k8s.local
    destination: s3://my-kops-state/demo.k8s.local
    exclude: ['backups/*']
  check_mode: true
  register: plan
'''

RETURN = r'''
source:
  description: The source folder's location.
  returned: always
  type: str
  sample: s3://old-kops-state/demo.k8s.local
destination:
  description: The destination folder's location, as kOps renders it (usable as C(spec.configBase)).
  returned: always
  type: str
  sample: s3://new-kops-state/demo.k8s.local
src:
  description: The same as RV(source), under its name of version 0.1.0; deprecated, removed in version 1.0.0.
  returned: always
  type: str
  sample: s3://old-kops-state/demo.k8s.local
dest:
  description: The same as RV(destination), under its name of version 0.1.0; deprecated, removed in version 1.0.0.
  returned: always
  type: str
  sample: s3://new-kops-state/demo.k8s.local
copied:
  description: Number of entries copied (or that would be copied in check mode or with O(compare_only)).
  returned: always
  type: int
  sample: 12
deleted:
  description: Number of destination entries deleted (or that would be in check mode or with O(compare_only)).
  returned: always
  type: int
  sample: 0
unchanged:
  description: Number of source entries already equal at the destination (or, with O(ignore_existing), present there).
  returned: always
  type: int
  sample: 140
bytes:
  description: Total size of the copied entries.
  returned: always
  type: int
  sample: 40960
copied_paths:
  description: Paths (relative to O(source)) copied, sorted; at most O(max_listed).
  returned: always
  type: list
  elements: str
  sample: [config, instancegroup/nodes]
deleted_paths:
  description: Paths (relative to O(destination)) deleted, sorted; at most O(max_listed).
  returned: always
  type: list
  elements: str
  sample: []
secrets_skipped:
  description: Number of source entries left out as secret (only with O(skip_secrets=true)).
  returned: always
  type: int
  sample: 0
truncated:
  description: True when RV(copied_paths) or RV(deleted_paths) was cut at O(max_listed).
  returned: always
  type: bool
  sample: false
verified:
  description:
    - True when O(verify) proved the destination equal; null when not verified (or check mode).
    - With O(compare_only), true when nothing differs, else false.
  returned: always
  type: bool
  sample: true
differences:
  description:
    - Paths that differ after the copy (when verification failed), or, with O(compare_only), the paths a sync
      would copy or delete; sorted, at most O(max_listed).
  returned: when verification failed, and always with O(compare_only)
  type: list
  elements: str
  sample: [instancegroup/nodes]
'''

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    SECRET_PATTERNS_ARGUMENT_SPEC,
    StateStoreModule,
    error_message,
    open_configured_store,
    side_settings,
    side_settings_spec,
)
from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.workflows.sync import Sync


def main():
    module = StateStoreModule(
        argument_spec=dict(
            source=dict(type='str', aliases=['src'], deprecated_aliases=[
                dict(name='src', version='1.0.0', collection_name='kops.state_store')]),
            destination=dict(type='str', required=True, aliases=['dest'], deprecated_aliases=[
                dict(name='dest', version='1.0.0', collection_name='kops.state_store')]),
            delete=dict(type='bool', default=False),
            include=dict(type='list', elements='str', default=[]),
            exclude=dict(type='list', elements='str', default=[]),
            parallel=dict(type='int', default=16),
            verify=dict(type='bool', default=False),
            acl=dict(type='str'),
            max_listed=dict(type='int', default=1000),
            skip_secrets=dict(type='bool', default=False),
            compare_only=dict(type='bool', default=False),
            ignore_existing=dict(type='bool', default=False),
            source_options=side_settings_spec(),
            destination_options=side_settings_spec(),
            **SECRET_PATTERNS_ARGUMENT_SPEC
        ),
        mutually_exclusive=[('compare_only', 'verify')],
    )
    params = module.params
    # a comparison is a check-mode run: the same listings and decisions, nothing written
    writes = not (module.check_mode or params['compare_only'])
    with module.store_errors():
        source_settings = side_settings(module.settings, params['source_options'])
        source = (open_store(params['source'], source_settings) if params['source']
                  else open_configured_store(source_settings))
        destination = open_store(params['destination'], side_settings(module.settings, params['destination_options']))
        sync = Sync(source, destination, params['include'], params['exclude'], params['delete'], params['parallel'],
                    params['acl'], not writes, params['max_listed'], params['skip_secrets'],
                    params['secret_patterns'], params['ignore_existing'])

    result = dict(source=source.render(), destination=destination.render(), verified=None)
    result.update(src=result['source'], dest=result['destination'])  # the names of 0.1.0, until 1.0.0
    try:
        sync.run()
        if params['verify'] and writes:
            differences = sync.verify()
            result['verified'] = not differences
            if differences:
                result.update(sync.report.as_dict())
                module.fail_json(msg='verification failed: %d entries differ at the destination, first: %s'
                                 % (len(differences), ', '.join(differences[:5])),
                                 differences=differences[:params['max_listed']], **result)
    except StateStoreError as exc:
        # What was done before the failure is reported too; a new run copies only what is left.
        result.update(sync.report.as_dict())
        module.fail_json(msg=error_message(exc), **result)
    report = sync.report
    result.update(report.as_dict())
    if params['compare_only']:
        result.update(changed=False, verified=not report.changed,
                      differences=sorted(report.copied_paths + report.deleted_paths)[:params['max_listed']])
    module.exit_json(**result)


if __name__ == '__main__':
    main()

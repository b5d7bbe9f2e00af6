#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: history
short_description: Keep a git history of a kOps state store - snapshot, drift report and restore
version_added: 0.2.0
description:
  - O(operation=snapshot) copies the clusters of a state store into a local git repository (created when missing),
    one folder per store and cluster, and commits only when something changed. The commit message names the store,
    the clusters and how many entries were added, changed and removed.
  - O(operation=drift) compares the store with a commit (default C(HEAD)) and reports, per cluster, which entries
    differ; with C(--diff) it shows the differences of entries that are not secret. It writes nothing anywhere.
  - O(operation=restore) writes the entries of clusters from a commit or tag back to the store. Every write expects
    the version of the entry it read (compare-and-swap; a lock entry on backends without it), so a concurrent change
    makes the task fail instead of being overwritten. Entries are deleted only with O(delete=true). The restore is
    refused, changing nothing, when an entry it would overwrite or delete holds content the latest snapshot of the
    store does not have (the entries are named), unless O(force=true).
  - Secret entries (every entry below C(secrets/), C(pki/), C(private/) or C(backups/), kOps's secret formats,
    O(secret_patterns)) are left out unless O(secrets=true). Then they are encrypted with Ansible Vault, with the
    play's vault secret, in the module's memory before anything is written, so their clear text never reaches the
    working tree, the git objects, the result or a log. A restore decrypts them only with O(secrets=true).
  - The store and the repository can be on any backend the collection supports; a snapshot of one store can be
    restored to another (O(source_folder)), which copies the clusters to it.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.STATE_STORE_BACKENDS
  - kops.state_store.store.SECRET_PATTERNS
options:
  operation:
    description:
      - V(snapshot) records the store in the repository, V(drift) compares them, V(restore) writes a commit's entries
        back to the store.
    type: str
    choices: [snapshot, drift, restore]
    required: true
  repository:
    description:
      - The folder of the git working tree, on the host the module runs on. O(operation=snapshot) creates and
        initialises it when it is missing (or not the top of a git working tree).
    type: path
    required: true
  folder:
    description:
      - The store's folder in the repository. By default made of the store's scheme, bucket and prefix
        (V(s3/my-bucket/prefix), V(gs/bucket)), or V(file) and the absolute path of a local store.
      - Set it to keep the history of a store whose location changes (a renamed bucket, another endpoint with the
        same bucket name).
    type: str
  source_folder:
    description:
      - With O(operation=restore), the folder of the snapshot to restore, when it is another store's (for example
        V(s3/old-bucket) restored to a C(gs://) store). Defaults to O(folder).
      - The check against unsaved changes always compares the store with its own folder (O(folder)) at C(HEAD).
    type: str
  clusters:
    description:
      - The clusters. Empty means every cluster of the store (for O(operation=drift), also every cluster of the
        commit); O(operation=restore) needs them named.
      - A snapshot of every cluster records clusters gone from the store as removed.
    type: list
    elements: str
    default: []
  commit:
    description:
      - With O(operation=drift) and O(operation=restore), the commit, tag or other revision to compare with or
        restore from.
    type: str
    default: HEAD
  secrets:
    description:
      - Include secret entries, encrypted with Ansible Vault. A snapshot stores them encrypted, a drift report
        compares them (never showing their content), a restore decrypts and writes them.
      - Needs the play's vault secret (C(--ask-vault-pass), C(--vault-password-file), C(--vault-id)); the action
        plugin passes it to the module as O(vault_password).
      - A snapshot without secrets removes earlier encrypted files from the latest snapshot; older commits keep them.
    type: bool
    default: false
  vault_id:
    description:
      - Which of the play's vault secrets to use, by its vault id; the files it encrypts carry this label (Ansible
        Vault format 1.2). Needed only when the play has more than one vault secret.
    type: str
  vault_password:
    description:
      - The vault password. Filled by the action plugin from the play's vault secrets when O(secrets=true); give it
        only to override them.
    type: str
  exclude:
    description:
      - Glob patterns (C(fnmatch); C(*) also matches C(/)) of entry paths relative to a cluster's folder to leave out
        of snapshots, drift reports and restores, for example V(backups/*) (etcd backups can be large).
    type: list
    elements: str
    default: []
  delete:
    description:
      - With O(operation=restore), delete the cluster's entries that the snapshot does not have. Secret entries are
        only deleted with O(secrets=true) and when the snapshot holds the secrets; excluded entries never.
    type: bool
    default: false
  force:
    description:
      - With O(operation=restore), restore even over entries whose content the latest snapshot does not have (they
        are lost unless an older snapshot holds them).
    type: bool
    default: false
  author_name:
    description: Author name of snapshot commits.
    type: str
    default: kops.state_store
  author_email:
    description: Author e-mail of snapshot commits.
    type: str
    default: kops.state_store@localhost
  committer_name:
    description: Committer name of snapshot commits; defaults to O(author_name).
    type: str
  committer_email:
    description: Committer e-mail of snapshot commits; defaults to O(author_email).
    type: str
  push:
    description:
      - After a snapshot, push the current branch to O(remote) when the remote lacks it, also when the snapshot
        made no commit (an earlier push may have failed). In check mode git only asks the remote (C(--dry-run)).
    type: bool
    default: false
  remote:
    description: The remote to push to, a remote's name or a URL.
    type: str
    default: origin
  parallel:
    description: How many entries are read from the store at the same time.
    type: int
    default: 16
attributes:
  check_mode:
    support: full
    details:
      - A snapshot reports what it would record (nothing is written to the repository, which is not even created).
      - A restore reports its exact plan, and refuses as it would without check mode.
  diff_mode:
    support: full
    details:
      - Secret entries are never shown, only named in the lists.
      - A drift report never reports a change, and Ansible prints the diffs of changed tasks only; set C(changed_when)
        on the drift task (as the C(kops.state_store.state_store_history) role does) to see them.
notes:
  - The module runs C(git) on the host it runs on, with that host's git configuration (credential helpers for
    O(push)). Commits are made with the identity of O(author_name) and O(committer_name), not the user's.
  - Encryption needs the Python C(cryptography) library (it comes with ansible-core) on that host.
  - The vault password travels to the module as a C(no_log) option, as any credential does.
  - Restoring a snapshot of another store copies the entries as they are; C(spec.configBase) in C(config) still
    names the other store (M(kops.state_store.cluster) or the C(kops.state_store.migrate_state_store) role rewrite it).
requirements:
  - git
seealso:
  - module: kops.state_store.sync
  - module: kops.state_store.entry_info
'''

EXAMPLES = r'''
- name: Snapshot every cluster of the store (run it from cron or a CI schedule)
  kops.state_store.history:
    operation: snapshot
    state_store: s3://my-kops-state
    repository: /srv/kops-history

- name: Snapshot with the secrets, encrypted with the play's vault secret, and push
  kops.state_store.history:
    operation: snapshot
    state_store: s3://my-kops-state
    repository: /srv/kops-history
    secrets: true
    exclude: ['backups/*']
    push: true

- name: What changed in the store since the last snapshot (changed when it drifted, so --diff shows the differences)
  kops.state_store.history:
    operation: drift
    state_store: s3://my-kops-state
    repository: /srv/kops-history
  register: drift
  changed_when: drift.drifted | length > 0
  diff: true

- name: Plan a restore of one cluster to the state of a tag
  kops.state_store.history:
    operation: restore
    state_store: s3://my-kops-state
    repository: /srv/kops-history
    clusters: [demo.k8s.local]
    commit: before-upgrade
  check_mode: true

- name: Copy a snapshot of the S3 store into a local review store
  kops.state_store.history:
    operation: restore
    state_store: file:///srv/review/state
    repository: /srv/kops-history
    source_folder: s3/my-kops-state
    clusters: [demo.k8s.local]
'''

RETURN = r'''
folder:
  description: The store's folder in the repository.
  returned: always
  type: str
  sample: s3/my-kops-state
commit:
  description:
    - With O(operation=snapshot), the commit holding the snapshot (the new one, or C(HEAD) when nothing changed;
      null in a repository without commits).
    - With O(operation=drift) and O(operation=restore), the commit compared with or restored from.
  returned: always
  type: str
  sample: 2f1c0e0d7b5c9d1a8f3e4b6a7c8d9e0f1a2b3c4d
previous:
  description: With O(operation=snapshot), C(HEAD) before the run (null in a repository without commits).
  returned: when O(operation=snapshot)
  type: str
  sample: 9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b
initialised:
  description: With O(operation=snapshot), whether the repository was created (or, in check mode, would be).
  returned: when O(operation=snapshot)
  type: bool
  sample: false
message:
  description: With O(operation=snapshot), the commit message (null when nothing changed).
  returned: when O(operation=snapshot)
  type: str
  sample: "Snapshot of s3://my-kops-state: demo.k8s.local: 0 added, 1 changed, 0 removed\n..."
pushed:
  description: Whether O(push) pushed (in check mode, would push) anything.
  returned: when O(push=true)
  type: bool
  sample: true
drifted:
  description: With O(operation=drift), the clusters whose store entries differ from the commit.
  returned: when O(operation=drift)
  type: list
  elements: str
  sample: [demo.k8s.local]
source_folder:
  description: With O(operation=restore), the folder of the snapshot restored.
  returned: when O(operation=restore)
  type: str
  sample: s3/my-kops-state
forced:
  description: With O(operation=restore), whether O(force) let the restore overwrite entries the latest snapshot lacks.
  returned: when O(operation=restore)
  type: bool
  sample: false
clusters:
  description:
    - Per cluster. Entry paths are relative to the cluster's folder; contents are never returned.
    - For O(operation=snapshot) and O(operation=drift) - C(added), C(changed), C(removed) (the entries the store
      has that the commit lacks, that differ, that only the commit has).
    - For O(operation=snapshot) also C(differs) (whether the cluster's snapshot changes), C(gone) (the cluster left
      the store), C(secrets_left_out) and C(secrets_encrypted) (counts).
    - For O(operation=drift) also C(drifted), C(in_snapshot), C(in_store) and C(secrets_not_compared) (a count).
    - For O(operation=restore) - C(plan) (the steps in order, each with C(action) V(create), V(update) or V(delete),
      C(path) and C(secret)), C(conflicts) (entries whose content the latest snapshot lacks), C(skipped) (secret in
      the store now, left alone) and C(secrets_not_restored) (a count).
  returned: always
  type: dict
  sample: {demo.k8s.local: {added: [], changed: [instancegroup/nodes], removed: [], differs: true, gone: false,
           secrets_left_out: 12, secrets_encrypted: 0}}
'''

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    SECRET_PATTERNS_ARGUMENT_SPEC,
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import check_name
from ansible_collections.kops.state_store.plugins.module_utils.registry import STATE_STORE_BACKENDS
from ansible_collections.kops.state_store.plugins.module_utils.workflows.ansible_vault_file import HAS_CRYPTOGRAPHY
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history import History
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history_repository import (
    Git,
    checked_folder,
    git_runner,
    store_folder,
)


def main():
    module = StateStoreModule(
        argument_spec=dict(
            operation=dict(type='str', required=True, choices=['snapshot', 'drift', 'restore']),
            repository=dict(type='path', required=True),
            folder=dict(type='str'),
            source_folder=dict(type='str'),
            clusters=dict(type='list', elements='str', default=[]),
            commit=dict(type='str', default='HEAD'),
            secrets=dict(type='bool', default=False),
            vault_id=dict(type='str'),
            vault_password=dict(type='str', no_log=True),
            exclude=dict(type='list', elements='str', default=[]),
            delete=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
            author_name=dict(type='str', default='kops.state_store'),
            author_email=dict(type='str', default='kops.state_store@localhost'),
            committer_name=dict(type='str'),
            committer_email=dict(type='str'),
            push=dict(type='bool', default=False),
            remote=dict(type='str', default='origin'),
            parallel=dict(type='int', default=16),
            **SECRET_PATTERNS_ARGUMENT_SPEC
        ),
        backend_modules=STATE_STORE_BACKENDS,
    )
    params = module.params
    operation = params['operation']
    password = None
    if params['secrets']:
        if not params['vault_password']:
            module.fail_json(msg='secrets=true needs the play\'s vault secret (--ask-vault-pass, --vault-password-file '
                                 'or --vault-id), which the action plugin passes on as vault_password')
        if not HAS_CRYPTOGRAPHY:
            module.fail_json(msg='secrets=true needs the Python cryptography library (it comes with ansible-core) for '
                                 'Ansible Vault encryption')
        password = params['vault_password'].encode('utf-8')
    with module.store_errors():
        clusters = [check_name(name, 'cluster name') for name in params['clusters']]
        backend = open_configured_store(module.settings)
        folder = checked_folder(params['folder']) if params['folder'] else store_folder(backend.location)
        runner = git_runner(module, params['author_name'], params['author_email'], params['committer_name'],
                            params['committer_email'])
        history = History(backend, Git(runner, params['repository']), folder, password=password,
                          vault_id=params['vault_id'], exclude=params['exclude'], secret_patterns=params['secret_patterns'],
                          parallel=params['parallel'])
        if operation == 'snapshot':
            result = history.snapshot(clusters, params['secrets'], module.check_mode, module._diff)
            if params['push']:
                result['pushed'] = history.push(params['remote'], module.check_mode, bool(result['message']))
                result['changed'] = result['changed'] or result['pushed']
        elif operation == 'drift':
            result = history.drift(params['commit'], clusters, params['secrets'], module._diff)
        else:
            source_folder = checked_folder(params['source_folder']) if params['source_folder'] else None
            result = history.restore(clusters, params['commit'], source_folder, params['secrets'], params['delete'],
                                     params['force'], module.check_mode, module._diff)
    for warning in history.warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

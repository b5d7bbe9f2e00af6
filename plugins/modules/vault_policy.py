#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: vault_policy
short_description: Create, update or delete a Vault ACL policy
version_added: 0.1.0
description:
  - Writes the ACL policy O(name) at C(sys/policy/<name>) of a Vault (or OpenBao) server, or removes it.
  - The policy is read first and written only when its text differs (ignoring trailing white space), so a
    second run reports no change.
  - Used by the C(kops.state_store.vault_iam_roles) role for the policies of a cluster's masters and
    nodes on a C(vault://) secret and key store; kOps itself creates no Vault policy.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.vault
options:
  name:
    description:
      - Name of the policy.
    type: str
    required: true
  policy:
    description:
      - The policy document (HCL or JSON). With O(state=present), this or O(stores) is required.
    type: str
  stores:
    description:
      - Build the policy of a kOps cluster's secret and key stores instead of giving O(policy) - the policy the
        C(kops.state_store.vault_iam_roles) role writes - O(access) below each store, and C(list) on the store itself.
      - Each store is a C(vault://) location, as a cluster's C(spec.secretStore) and C(spec.keyStore) name it, which
        must be on the Vault at O(url) (same scheme, host and port), or C(<mount>/<path>).
      - Store locations may come from a cluster's stored config, which whoever can write the state store controls, so
        every segment of the mount and the path must be a plain KV path segment - ASCII letters, digits, C(.), C(_)
        and C(-), not dots alone. A glob of Vault's policy syntax (C(*), C(+)), a quote, brace, blank, line break,
        C(%) or an empty segment fails the task before anything is sent. Every path is written as a quoted string.
    type: list
    elements: str
  access:
    description:
      - With O(stores), V(read) (what kOps's masters and nodes need - C(list) and C(read) on C(<mount>/metadata/<path>/*),
        C(read) on C(<mount>/data/<path>/*)) or V(operate) (what C(kops create/update/delete cluster) needs - also
        C(create), C(update), C(delete) on the data, C(delete) on the metadata and C(update) on C(<mount>/delete),
        C(<mount>/undelete) and C(<mount>/destroy) below each store).
    type: str
    choices: [read, operate]
    default: read
  state:
    description:
      - V(present) writes the policy, V(absent) deletes it (a missing policy is no change).
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details: Reads the policy and reports whether it would change; writes nothing.
  diff_mode:
    support: full
    details: The policy text before and after.
notes:
  - The token needs C(read), C(create)/C(update) and C(delete) on C(sys/policy/<name>) as the task requires.
seealso:
  - module: kops.state_store.vault_aws_auth_role
'''

EXAMPLES = r'''
- name: Let a cluster's nodes read its secrets and keys
  kops.state_store.vault_policy:
    url: https://vault.example.com:8200
    name: kops-nodes-demo.example.com
    policy: |
      path "kv/metadata/clusters/demo.example.com/*" {
        capabilities = ["list", "read"]
      }
      path "kv/data/clusters/demo.example.com/*" {
        capabilities = ["read"]
      }

- name: Let a cluster's nodes read its secret and key stores (the policy built from the stores' locations)
  kops.state_store.vault_policy:
    url: https://vault.example.com:8200
    name: kops-nodes-demo.example.com
    stores:
      - vault://vault.example.com:8200/kv/clusters/demo.example.com/secrets
      - kv/clusters/demo.example.com/keys

- name: Remove a policy
  kops.state_store.vault_policy:
    url: https://vault.example.com:8200
    name: kops-nodes-old.example.com
    state: absent
'''

RETURN = r'''
name:
  description: The policy name.
  returned: always
  type: str
  sample: kops-nodes-demo.example.com
policy:
  description: The policy text after the task (or as it would be, in check mode); null when absent.
  returned: always
  type: str
  sample: 'path "kv/data/clusters/demo.example.com/*" { capabilities = ["read"] }'
'''

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import error_message
from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.vault_admin import (
    STORE_ACCESS,
    VaultAdminModule,
    store_policy,
)


def normalised(text):
    return '\n'.join(line.rstrip() for line in text.strip().splitlines()) + '\n'


def main():
    module = VaultAdminModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            policy=dict(type='str'),
            stores=dict(type='list', elements='str'),
            access=dict(type='str', choices=sorted(STORE_ACCESS), default='read'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        mutually_exclusive=[('policy', 'stores')],
        required_if=[('state', 'present', ('policy', 'stores'), True)],
    )
    name, state, policy = module.params['name'], module.params['state'], module.params['policy']
    if module.params['stores'] is not None:
        try:  # before anything is read: a store refused leaves Vault untouched
            policy = store_policy(module.params['stores'], module.params['access'], module.address)
        except StateStoreError as exc:
            module.fail_json(msg=error_message(exc))
    path = 'sys/policy/%s' % name
    stored = module.read(path)
    current = None if stored is None else dict(policy=normalised(stored.get('rules') or stored.get('policy') or ''))
    wanted = dict(policy=normalised(policy or ''))
    changed, after = module.converge(path, state, wanted, current, payload=dict(policy=policy))
    before_text = current['policy'] if current else ''
    after_text = after['policy'] if after else None
    module.exit_converged(path, changed, before_text, after_text or '', name=name, policy=after_text)


if __name__ == '__main__':
    main()

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
      - The policy document (HCL or JSON). Required with O(state=present).
    type: str
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

from ansible_collections.kops.state_store.plugins.module_utils.vault_admin import VaultAdminModule


def normalised(text):
    return '\n'.join(line.rstrip() for line in text.strip().splitlines()) + '\n'


def main():
    module = VaultAdminModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            policy=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        required_if=[('state', 'present', ('policy',))],
    )
    name, state = module.params['name'], module.params['state']
    path = 'sys/policy/%s' % name
    stored = module.read(path)
    current = None if stored is None else dict(policy=normalised(stored.get('rules') or stored.get('policy') or ''))
    wanted = dict(policy=normalised(module.params['policy'] or ''))
    changed, after = module.converge(path, state, wanted, current, payload=dict(policy=module.params['policy']))
    before_text = current['policy'] if current else ''
    after_text = after['policy'] if after else None
    module.exit_converged(path, changed, before_text, after_text or '', name=name, policy=after_text)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: vault_aws_auth_role
short_description: Manage an IAM-type role of Vault's AWS auth method
version_added: 0.1.0
description:
  - Writes the role C(auth/<mount_point>/role/<name>) of Vault's AWS auth method with C(auth_type=iam),
    bound to IAM principal ARNs and carrying token policies and TTLs, or removes it. This is what kOps's
    documentation asks for each cluster (C(masters.<cluster>) and C(nodes.<cluster>)) when its secret and key
    stores are on Vault.
  - The role is read first and only the options given are compared (policies and ARNs as sets, TTLs in
    seconds), so a second run reports no change. Fields not given are left as they are.
  - Vault stores the unique ids of the bound IAM principals when the role is written. After an IAM role is
    re-created (a re-provisioned cluster) they change and logins fail until the Vault role is written again;
    O(rebind=true) writes it even when nothing else changed.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.vault
options:
  name:
    description:
      - Name of the role (Vault stores AWS auth role names in lower case).
    type: str
    required: true
  mount_point:
    description:
      - Path the AWS auth method is mounted at (kOps expects V(aws)).
    type: str
    default: aws
  bound_iam_principal_arn:
    description:
      - IAM principal ARNs allowed to log in with this role, for example
        V(arn:aws:iam::123456789012:role/nodes.demo.example.com). Required when the role is created.
    type: list
    elements: str
  policies:
    description:
      - Policies of the tokens this role issues.
    type: list
    elements: str
  max_ttl:
    description:
      - Maximum lifetime of the tokens, a Vault duration such as V(500h) (kOps's documentation) or seconds.
    type: str
  ttl:
    description:
      - Initial lifetime of the tokens, a Vault duration.
    type: str
  resolve_aws_unique_ids:
    description:
      - Whether Vault binds the unique ids of the IAM principals (Vault's default V(true)).
    type: bool
  rebind:
    description:
      - Write the role even when it already matches, so Vault resolves the IAM unique ids again (after IAM
        roles were re-created). Always reports a change.
    type: bool
    default: false
  state:
    description:
      - V(present) writes the role, V(absent) deletes it (a missing role is no change).
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details: Reads the role and reports whether it would change; writes nothing.
  diff_mode:
    support: full
    details: The compared fields of the role before and after.
notes:
  - The aws auth method must be enabled at O(mount_point); see M(kops.state_store.vault_aws_auth_client).
seealso:
  - module: kops.state_store.vault_aws_auth_client
  - module: kops.state_store.vault_policy
'''

EXAMPLES = r'''
- name: Let the cluster's nodes log in with their IAM role
  kops.state_store.vault_aws_auth_role:
    url: https://vault.example.com:8200
    name: nodes.demo.example.com
    bound_iam_principal_arn:
      - arn:aws:iam::123456789012:role/nodes.demo.example.com
    policies: [kops-nodes-demo.example.com]
    max_ttl: 500h

- name: Re-bind after the cluster was re-provisioned
  kops.state_store.vault_aws_auth_role:
    url: https://vault.example.com:8200
    name: nodes.demo.example.com
    bound_iam_principal_arn:
      - arn:aws:iam::123456789012:role/nodes.demo.example.com
    rebind: true
'''

RETURN = r'''
name:
  description: The role name as Vault stores it (lower case).
  returned: always
  type: str
  sample: nodes.demo.example.com
role:
  description:
    - The compared fields of the role after the task (or as they would be, in check mode); null when absent.
    - C(token_ttl) and C(token_max_ttl) are in seconds.
  returned: always
  type: dict
  sample:
    auth_type: iam
    bound_iam_principal_arn: ["arn:aws:iam::123456789012:role/nodes.demo.example.com"]
    token_policies: [kops-nodes-demo.example.com]
    token_max_ttl: 1800000
    token_ttl: 0
    resolve_aws_unique_ids: true
'''

from ansible_collections.kops.state_store.plugins.module_utils.vault_admin import VaultAdminModule, duration_seconds


def role_fields(data):
    """The compared fields of a role as Vault reports it (older Vault versions use the unprefixed names)."""
    return dict(
        auth_type=data.get('auth_type'),
        bound_iam_principal_arn=sorted(data.get('bound_iam_principal_arn') or []),
        token_policies=sorted(data.get('token_policies', data.get('policies')) or []),
        token_max_ttl=data.get('token_max_ttl', data.get('max_ttl')) or 0,
        token_ttl=data.get('token_ttl', data.get('ttl')) or 0,
        resolve_aws_unique_ids=data.get('resolve_aws_unique_ids'),
    )


def main():
    module = VaultAdminModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            mount_point=dict(type='str', default='aws'),
            bound_iam_principal_arn=dict(type='list', elements='str'),
            policies=dict(type='list', elements='str'),
            max_ttl=dict(type='str'),
            ttl=dict(type='str'),
            resolve_aws_unique_ids=dict(type='bool'),
            rebind=dict(type='bool', default=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        required_if=[('rebind', True, ('bound_iam_principal_arn',))],
    )
    params = module.params
    name = params['name'].lower()
    path = 'auth/%s/role/%s' % (params['mount_point'].strip('/'), name)

    payload = dict(auth_type='iam')
    wanted = dict(auth_type='iam')
    for option, field in (('bound_iam_principal_arn', 'bound_iam_principal_arn'), ('policies', 'token_policies')):
        if params[option] is not None:
            payload[field] = params[option]
            wanted[field] = sorted(params[option])
    for option, field in (('max_ttl', 'token_max_ttl'), ('ttl', 'token_ttl')):
        if params[option] is not None:
            try:
                wanted[field] = duration_seconds(params[option])
            except ValueError as exc:
                module.fail_json(msg='%s: %s' % (option, exc))
            payload[field] = params[option]
    if params['resolve_aws_unique_ids'] is not None:
        payload['resolve_aws_unique_ids'] = wanted['resolve_aws_unique_ids'] = params['resolve_aws_unique_ids']

    stored = module.read(path)
    current = None if stored is None else role_fields(stored)
    if current is None and params['state'] == 'present' and not params['bound_iam_principal_arn']:
        module.fail_json(msg="role '%s' does not exist yet: bound_iam_principal_arn is required to create it" % name)
    changed, after = module.converge(path, params['state'], wanted, current, payload=payload,
                                     force=params['rebind'])
    module.exit_converged(path, changed, current, after, name=name, role=after)


if __name__ == '__main__':
    main()

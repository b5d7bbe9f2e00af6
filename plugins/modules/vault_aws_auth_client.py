#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: vault_aws_auth_client
short_description: Configure the client settings of Vault's AWS auth method
version_added: 0.1.0
description:
  - Sets C(auth/<mount_point>/config/client) of Vault's AWS auth method, above all
    C(iam_server_id_header_value), the value every IAM login must sign in its C(X-Vault-AWS-IAM-Server-ID)
    header. kOps sends the host name of its C(vault://) URL there, so kOps's documentation asks to set it to
    the Vault host name.
  - Optionally enables the aws auth method at O(mount_point) when it is not enabled yet.
  - The configuration is read first and only the options given are compared, so a second run reports no
    change. Settings not given (such as AWS keys set by other means) are left as they are.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.vault
options:
  mount_point:
    description:
      - Path the AWS auth method is mounted at (kOps expects V(aws)).
    type: str
    default: aws
  enable_auth_method:
    description:
      - Enable the aws auth method at O(mount_point) when it is not enabled (needs C(sudo) on
        C(sys/auth/<mount_point>)). When V(false), a missing auth method makes the task fail.
    type: bool
    default: false
  iam_server_id_header_value:
    description:
      - The value the C(X-Vault-AWS-IAM-Server-ID) header of every IAM login must carry; for kOps, the
        host name (without port) of the C(vault://) URL of the cluster's stores.
    type: str
  sts_endpoint:
    description:
      - STS endpoint Vault sends the login requests to, when not AWS's default.
    type: str
  sts_region:
    description:
      - Region of O(sts_endpoint).
    type: str
attributes:
  check_mode:
    support: full
    details: Reads the auth methods and the configuration and reports what would change; writes nothing.
  diff_mode:
    support: full
    details: The compared settings before and after.
seealso:
  - module: kops.state_store.vault_aws_auth_role
'''

EXAMPLES = r'''
- name: Require the Vault host name in every IAM login, enabling the aws auth method first if needed
  kops.state_store.vault_aws_auth_client:
    url: https://vault.example.com:8200
    enable_auth_method: true
    iam_server_id_header_value: vault.example.com
'''

RETURN = r'''
config:
  description: The compared settings after the task (or as they would be, in check mode).
  returned: always
  type: dict
  sample:
    iam_server_id_header_value: vault.example.com
enabled_auth_method:
  description: Whether the task enabled (or, in check mode, would enable) the aws auth method.
  returned: always
  type: bool
  sample: false
'''

from ansible_collections.kops.state_store.plugins.module_utils.vault_admin import VaultAdminModule

SETTINGS = ('iam_server_id_header_value', 'sts_endpoint', 'sts_region')


def auth_method_enabled(module, mount_point):
    with module.errors('list the auth methods'):
        methods = module.client.sys.list_auth_methods()
    return mount_point + '/' in (methods.get('data') or methods)


def main():
    module = VaultAdminModule(
        argument_spec=dict(
            mount_point=dict(type='str', default='aws'),
            enable_auth_method=dict(type='bool', default=False),
            iam_server_id_header_value=dict(type='str'),
            sts_endpoint=dict(type='str'),
            sts_region=dict(type='str'),
        ),
    )
    params = module.params
    mount_point = params['mount_point'].strip('/')
    path = 'auth/%s/config/client' % mount_point

    enabling = not auth_method_enabled(module, mount_point)
    if enabling:
        if not params['enable_auth_method']:
            module.fail_json(msg='the aws auth method is not enabled at auth/%s on %s; enable it or set '
                                 'enable_auth_method=true' % (mount_point, module.address))
        if not module.check_mode:
            with module.errors('enable the aws auth method at auth/%s' % mount_point):
                module.client.sys.enable_auth_method('aws', path=mount_point)

    stored = None if enabling else module.read(path)
    current = None if stored is None else dict((name, stored.get(name) or None) for name in SETTINGS)
    wanted = dict((name, params[name]) for name in SETTINGS if params[name] is not None)
    changed, after = module.converge(path, 'present', wanted, current) if wanted else (False, current)
    module.exit_converged(path, changed or enabling, current, after, config=after, enabled_auth_method=enabling)


if __name__ == '__main__':
    main()

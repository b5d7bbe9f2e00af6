#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: secret
short_description: Create, update or remove a secret of a kOps cluster, written as kOps writes it
version_added: 0.2.0
description:
  - Manages one entry of a cluster's secret store (C(spec.secretStore), by default C(<configBase>/secrets)), the
    entry C(<secretStore>/<name>), encoded as kOps encodes it - the JSON object C({"Data":"<value in base64>"}) - so
    kOps reads what the module writes (C(dockerconfig), C(encryptionconfig), tokens such as C(admin) or C(kube)).
  - O(state=present) writes the secret unless it already holds O(value) (C(kops create secret ... --force));
    with O(create_only=true) it creates the secret only when it does not exist, atomically, and otherwise keeps
    the stored one whatever it holds - kOps's own get-or-create, as C(kops create secret) without C(--force).
  - O(state=absent) removes it (C(kops delete secret)).
  - The value is never shown - not in results, diffs, warnings, errors or logs; the diff says only whether the
    secret is there and whether its value changes.
  - The secret store may be on another backend than the state store, a C(vault://) location included (the same
    store options apply to both).
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.ENTRY_BACKENDS
  - kops.state_store.store.CLUSTER
  - kops.state_store.store.VAULT_ADDRESSES
options:
  name:
    description:
      - The secret's name, one path segment, for example V(dockerconfig).
    type: str
    required: true
  value:
    description:
      - The secret's value (text, written as its UTF-8 bytes). Required with O(state=present).
    type: str
  state:
    description:
      - V(present) writes the secret, V(absent) removes it (a missing secret is no change).
    type: str
    choices: [present, absent]
    default: present
  create_only:
    description:
      - Create the secret only when it does not exist yet (get-or-create); an existing one is kept and reported
        unchanged. A stored secret kOps could not read fails the task, as it fails kOps.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reads the secret and reports what would change; writes nothing.
  diff_mode:
    support: partial
    details: Whether the secret exists and whether its value changes; never the value.
notes:
  - The module runs on the target host and uses that host's environment, C(~/.kops.yaml) and credentials.
  - A stored secret is compared by its value, so one written by kOps and one written by this module with the same
    value are the same.
seealso:
  - module: kops.state_store.keyset_info
  - module: kops.state_store.ssh_public_key
'''

EXAMPLES = r'''
- name: Give the cluster's nodes registry credentials (kops create secret dockerconfig --force)
  kops.state_store.secret:
    state_store: s3://my-kops-state
    cluster: demo.k8s.local
    name: dockerconfig
    value: "{{ registry_auth | to_json }}"

- name: Create a token only once (get-or-create)
  kops.state_store.secret:
    cluster: demo.k8s.local
    name: ciliumpassword
    value: "{{ lookup('ansible.builtin.password', '/dev/null', length=32, chars=['ascii_letters', 'digits']) }}"
    create_only: true

- name: Remove a secret
  kops.state_store.secret:
    cluster: demo.k8s.local
    name: dockerconfig
    state: absent
'''

RETURN = r'''
location:
  description: The secret's entry.
  returned: always
  type: str
  sample: s3://my-kops-state/demo.k8s.local/secrets/dockerconfig
exists:
  description: Whether the secret exists after the task (or would, in check mode).
  returned: always
  type: bool
  sample: true
created:
  description: Whether the task created the secret (or would, in check mode).
  returned: always
  type: bool
  sample: false
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.backends.vault_kv import VAULT_ADDRESSES_OPTION
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster_stores import (
    open_cluster_stores,
    put_secret,
    remove_secret,
)


def diff_side(name, exists, note=''):
    return 'secret %s%s\n' % (name, note) if exists else ''


def main():
    module = StateStoreModule(
        argument_spec=dict(
            cluster=dict(type='str', required=True, fallback=(env_fallback, ['KOPS_CLUSTER_NAME'])),
            name=dict(type='str', required=True),
            value=dict(type='str', no_log=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            create_only=dict(type='bool', default=False),
            **VAULT_ADDRESSES_OPTION
        ),
        required_if=[('state', 'present', ('value',))],
    )
    params = module.params
    name = params['name']
    with module.store_errors():
        stores = open_cluster_stores(open_configured_store(module.settings), params['cluster'], module.settings,
                                     params['vault_addresses'])
        if params['state'] == 'present':
            change = put_secret(stores.secret_store, name, params['value'].encode('utf-8'), params['create_only'],
                                module.check_mode)
        else:
            change = remove_secret(stores.secret_store, name, module.check_mode)
        location = stores.secret_store.render(name)
    result = dict(changed=change.changed, location=location, exists=change.exists, created=change.created)
    if module._diff:
        replaced = change.changed and change.existed and change.exists
        result['diff'] = dict(before_header=location, after_header=location,
                              before=diff_side(name, change.existed, ': value not shown'),
                              after=diff_side(name, change.exists, ': new value, not shown' if replaced
                                              else ': value not shown'))
    module.exit_json(**result)


if __name__ == '__main__':
    main()

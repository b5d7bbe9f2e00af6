#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ssh_public_key
short_description: Add, replace or remove the admin SSH public key of a kOps cluster
version_added: 0.2.0
description:
  - Manages the SSH public keys kOps gives the cluster's instances, as C(kops create sshpublickey) and
    C(kops delete sshpublickey) do - entries C(<keyStore>/ssh/public/admin/<id>) of the cluster's key store
    (C(spec.keyStore), by default C(<configBase>/pki)), where C(<id>) is the MD5 of the key's wire form in hex
    (kOps's fingerprint without the colons) and the content is O(key) as given, as C(kops create sshpublickey)
    stores the bytes of the file it is given.
  - O(state=present) adds the key (kOps keeps any other admin key); with O(exclusive=true) every other admin key
    is removed afterwards, so the cluster has exactly this one (on AWS kOps accepts only one).
  - O(state=absent) removes the key given in O(key), or, without O(key), every admin key as
    C(kops delete sshpublickey) does.
  - The key is checked before anything is written; a malformed key fails the task and changes nothing.
  - As with the C(kops) commands, the change reaches the instances with the next C(kops update cluster).
author:
  - kops.state_store contributors (!UNKNOWN)
requirements:
  - cryptography (to check the key)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.ENTRY_BACKENDS
  - kops.state_store.store.CLUSTER
  - kops.state_store.store.VAULT_ADDRESSES
options:
  key:
    description:
      - The public key, one line of a C(.pub) or C(authorized_keys) file (C(<type> <base64> [comment]), options
        before the type allowed), for example from C(lookup('file', '~/.ssh/id_ed25519.pub')).
      - Key types are those the C(cryptography) library reads - C(ssh-rsa), C(ssh-ed25519), C(ecdsa-sha2-nistp256),
        C(ecdsa-sha2-nistp384), C(ecdsa-sha2-nistp521) and the security-key types (AWS takes RSA and ED25519 only).
      - It is written as given (UTF-8), byte for byte - what C(kops create sshpublickey -i) stores for a file
        holding this text. kOps reads the entry with surrounding blanks removed, so a stored key that differs
        from O(key) only there (the final newline of a C(.pub) file, which C(lookup('file')) drops) is the
        same key and is left alone.
      - Required with O(state=present).
    type: str
  state:
    description:
      - V(present) adds the key, V(absent) removes it (or every admin key without O(key)).
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), remove every other admin key, once this one is stored.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reads the admin keys and reports what would change; writes nothing.
  diff_mode:
    support: full
    details: The admin keys' lines before and after (public keys).
notes:
  - The module runs on the target host and uses that host's environment, C(~/.kops.yaml) and credentials.
seealso:
  - module: kops.state_store.keyset_info
  - module: kops.state_store.secret
'''

EXAMPLES = r'''
- name: Make this the only admin SSH key of the cluster (kops delete sshpublickey, then create sshpublickey)
  kops.state_store.ssh_public_key:
    state_store: s3://my-kops-state
    cluster: demo.k8s.local
    key: "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    exclusive: true

- name: Remove one key
  kops.state_store.ssh_public_key:
    cluster: demo.k8s.local
    key: "{{ lookup('ansible.builtin.file', 'old_admin.pub') }}"
    state: absent

- name: Remove every admin key (kops delete sshpublickey)
  kops.state_store.ssh_public_key:
    cluster: demo.k8s.local
    state: absent
'''

RETURN = r'''
key_store:
  description: The cluster's key store.
  returned: always
  type: str
  sample: s3://my-kops-state/demo.k8s.local/pki
id:
  description: The entry name of O(key) - the MD5 of its wire form, in hex.
  returned: when O(key) is given
  type: str
  sample: 5ab37d0a1fd5cd5d7e1e1d2c2b3a4f60
fingerprint:
  description: The MD5 fingerprint of O(key) as kOps prints it (hex pairs joined by colons).
  returned: when O(key) is given
  type: str
  sample: 5a:b3:7d:0a:1f:d5:cd:5d:7e:1e:1d:2c:2b:3a:4f:60
type:
  description: The key type of O(key).
  returned: when O(key) is given
  type: str
  sample: ssh-ed25519
location:
  description: The entry of O(key).
  returned: when O(key) is given
  type: str
  sample: s3://my-kops-state/demo.k8s.local/pki/ssh/public/admin/5ab37d0a1fd5cd5d7e1e1d2c2b3a4f60
public_keys:
  description: The cluster's admin SSH public keys after the task (or, in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The entry's name.
      type: str
    key:
      description: The entry's content as kOps reads it (surrounding blanks removed).
      type: str
    location:
      description: The entry.
      type: str
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.backends.vault_kv import VAULT_ADDRESSES_OPTION
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster_stores import (
    SSH_ADMIN_FOLDER,
    open_cluster_stores,
    parse_ssh_public_key,
    remove_ssh_public_keys,
    set_ssh_public_key,
)


def key_lines(keys):
    return ''.join('%s\n' % line for _path, line in sorted(keys.items()))


def main():
    module = StateStoreModule(
        argument_spec=dict(
            cluster=dict(type='str', required=True, fallback=(env_fallback, ['KOPS_CLUSTER_NAME'])),
            key=dict(type='str', no_log=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            exclusive=dict(type='bool', default=False),
            **VAULT_ADDRESSES_OPTION
        ),
        required_if=[('state', 'present', ('key',))],
    )
    params = module.params
    with module.store_errors():
        key = parse_ssh_public_key(params['key']) if params['key'] is not None else None
        stores = open_cluster_stores(open_configured_store(module.settings), params['cluster'], module.settings,
                                     params['vault_addresses'])
        key_store = stores.key_store
        if params['state'] == 'present':
            change = set_ssh_public_key(key_store, key, params['exclusive'], module.check_mode)
        else:
            change = remove_ssh_public_keys(key_store, key, module.check_mode)
    result = dict(
        changed=change.changed,
        key_store=key_store.render(),
        public_keys=[dict(id=path.rsplit('/', 1)[-1], key=line, location=key_store.render(path))
                     for path, line in sorted(change.after.items())],
    )
    if key is not None:
        result.update(id=key.id, fingerprint=key.fingerprint, type=key.key_type, location=key_store.render(key.path))
    if module._diff:
        folder = key_store.render(SSH_ADMIN_FOLDER)
        result['diff'] = dict(before_header=folder, after_header=folder,
                              before=key_lines(change.before), after=key_lines(change.after))
    module.exit_json(**result)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: keyset_info
short_description: Read the public facts of a kOps cluster's keysets (CAs and their rotation state)
version_added: 0.2.0
description:
  - Reads every keyset of a cluster's key store, as C(kops get keypairs) lists them - the entries
    C(<keyStore>/private/<name>/keyset.yaml), where the key store is the cluster's C(spec.keyStore), by default
    C(<configBase>/pki) - and returns, per keyset, its type and primary key and, per key, the certificate's
    subject, issuer, serial, validity and days left, whether the key is distrusted and whether a private key is
    present.
  - A keyset holds the private keys of the cluster's CAs. The module reads them only to tell that they are there -
    private material is never decoded, and never appears in results, diffs, warnings, errors or logs.
  - Keys whose certificate ends within O(expires_within) days are flagged (RV(keysets[].certificates[].expiring)) and listed
    in RV(expiring), to audit a fleet (see C(playbooks/ca_expiry_audit.yml)).
  - The key store may be on another backend than the state store, a C(vault://) location included (the same
    store options apply to both).
author:
  - kops.state_store contributors (!UNKNOWN)
requirements:
  - cryptography (to read the certificates)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.ENTRY_BACKENDS
  - kops.state_store.store.CLUSTER
  - kops.state_store.store.VAULT_ADDRESSES
options:
  expires_within:
    description:
      - Flag trusted keys whose certificate ends within this many days (or has ended already).
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
    details: Reads only.
notes:
  - The module runs on the target host and uses that host's environment, C(~/.kops.yaml) and credentials.
  - The primary key is the one kOps signs with - C(spec.primaryId) when that key is trusted, else the trusted key
    with the largest id.
  - A keyset that cannot be read (YAML that does not parse, a certificate that is not PEM) is returned with
    RV(keysets[].error) and a warning naming it, as C(kops get keypairs) skips it with a warning; the other keysets
    are still read.
seealso:
  - module: kops.state_store.ssh_public_key
  - module: kops.state_store.secret
  - module: kops.state_store.cluster_info
'''

EXAMPLES = r'''
- name: Read the keysets of a cluster
  kops.state_store.keyset_info:
    state_store: s3://my-kops-state
    cluster: demo.k8s.local
    expires_within: 90
  register: keysets

- name: Fail when a CA ends within 90 days
  ansible.builtin.assert:
    that: keysets.expiring | selectattr('is_ca') | list | length == 0
    fail_msg: "{{ keysets.expiring | map(attribute='keyset') | join(', ') }} end within 90 days"

- name: Show the keys of the Kubernetes CA
  ansible.builtin.debug:
    msg: "{{ keysets.keysets | selectattr('name', 'equalto', 'kubernetes-ca') | map(attribute='certificates') | first }}"
'''

RETURN = r'''
key_store:
  description: The cluster's key store.
  returned: always
  type: str
  sample: s3://my-kops-state/demo.k8s.local/pki
keysets:
  description: Every keyset of the key store, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The keyset's name (the folder below C(private/)).
      type: str
      sample: kubernetes-ca
    location:
      description: The keyset's entry.
      type: str
      sample: s3://my-kops-state/demo.k8s.local/pki/private/kubernetes-ca/keyset.yaml
    type:
      description: C(spec.type) of the keyset.
      type: str
      sample: Keypair
    primary_id:
      description: The id of the key kOps signs with; null when no key is trusted.
      type: str
      sample: "7324712498473917233"
    error:
      description: Why the keyset could not be read (null when it could); it then has no keys.
      type: str
      sample: null
    certificates:
      description:
        - The keyset's keys (kOps's C(spec.keys)), in their stored order (kOps writes the oldest first), with their
          certificates' public facts.
      type: list
      elements: dict
      contains:
        id:
          description: The key's id (kOps uses the certificate's serial number).
          type: str
        primary:
          description: Whether this is the primary key.
          type: bool
        distrusted:
          description: Whether the key is distrusted (C(kops distrust keypair)).
          type: bool
        distrust_timestamp:
          description: When it was distrusted; null when trusted.
          type: str
        private_key:
          description: Whether the key has private material. The material itself is never returned.
          type: bool
        certificate:
          description: Whether the key has a certificate (public material).
          type: bool
        subject:
          description: The certificate's subject (RFC 4514).
          type: str
          sample: CN=kubernetes-ca
        issuer:
          description: The certificate's issuer (RFC 4514).
          type: str
          sample: CN=kubernetes-ca
        serial:
          description: The certificate's serial number, in decimal.
          type: str
        not_before:
          description: Start of the certificate's validity, UTC.
          type: str
          sample: "2026-01-05T10:00:00Z"
        not_after:
          description: End of the certificate's validity, UTC.
          type: str
          sample: "2036-01-03T10:00:00Z"
        days_left:
          description: Whole days until the certificate ends; negative once it has ended.
          type: int
          sample: 3320
        expired:
          description: Whether the certificate has ended.
          type: bool
        is_ca:
          description: Whether the certificate is a CA (basic constraints).
          type: bool
        expiring:
          description: Whether the key is trusted and its certificate ends within O(expires_within) days.
          type: bool
expiring:
  description: The trusted keys whose certificate ends within O(expires_within) days (or has ended).
  returned: always
  type: list
  elements: dict
  sample: [{keyset: etcd-clients-ca, id: "7324712498473917233", subject: CN=etcd-clients-ca, is_ca: true,
            not_after: "2026-12-20T10:00:00Z", days_left: 19, primary: true}]
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.backends.vault_kv import VAULT_ADDRESSES_OPTION
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster_stores import (
    DEFAULT_EXPIRES_WITHIN,
    open_cluster_stores,
    read_keysets,
)


def main():
    module = StateStoreModule(argument_spec=dict(
        cluster=dict(type='str', required=True, fallback=(env_fallback, ['KOPS_CLUSTER_NAME'])),
        expires_within=dict(type='int', default=DEFAULT_EXPIRES_WITHIN),
        **VAULT_ADDRESSES_OPTION
    ))
    if module.params['expires_within'] < 0:
        module.fail_json(msg='expires_within must be 0 or more days, not %d' % module.params['expires_within'])
    with module.store_errors():
        stores = open_cluster_stores(open_configured_store(module.settings), module.params['cluster'],
                                     module.settings, module.params['vault_addresses'])
        keysets = read_keysets(stores.key_store, expires_within=module.params['expires_within'])
    for keyset in keysets:
        if keyset['error']:
            module.warn('keyset %s was not read: %s' % (keyset['name'], keyset['error']))
    expiring = [dict(keyset=keyset['name'], id=key['id'], subject=key['subject'], is_ca=key['is_ca'],
                     not_after=key['not_after'], days_left=key['days_left'], primary=key['primary'])
                for keyset in keysets for key in keyset['certificates'] if key['expiring']]
    module.exit_json(changed=False, key_store=stores.key_store.render(), keysets=keysets, expiring=expiring)


if __name__ == '__main__':
    main()

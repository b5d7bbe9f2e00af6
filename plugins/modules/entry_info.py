#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: entry_info
short_description: Read one entry of a kOps state store, or list a folder of it
version_added: 0.1.0
description:
  - Reads one entry with its size and content hash, or lists the entries below a folder (its direct
    children, or the whole tree) with sizes and hashes.
  - Content is returned as text when it is UTF-8, else as base64 (see RV(encoding)).
  - The content and hashes of secret entries (see O(reveal_secrets)) are left out unless
    O(reveal_secrets=true).
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.ENTRY_BACKENDS
  - kops.state_store.store.SECRETS
  - kops.state_store.store.SECRET_PATTERNS
options:
  path:
    description:
      - The entry (or, with O(list=true), the folder), relative to the state store, or a full location.
      - With O(list=true) an empty path lists the store root.
    type: str
    default: ''
  list:
    description:
      - List the folder at O(path) instead of reading one entry.
    type: bool
    default: false
  recursive:
    description:
      - With O(list=true), list every entry of the tree below O(path) instead of only its direct children
        (files and folders).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
    details: The module only reads.
seealso:
  - module: kops.state_store.entry
  - plugin: kops.state_store.entry
    plugin_type: lookup
'''

EXAMPLES = r'''
- name: Read a cluster's config
  kops.state_store.entry_info:
    state_store: s3://my-kops-state
    path: demo.k8s.local/config
  register: config

- name: List every entry of a cluster
  kops.state_store.entry_info:
    path: demo.k8s.local
    list: true
    recursive: true
  register: tree
'''

RETURN = r'''
location:
  description: The full location read or listed.
  returned: always
  type: str
  sample: s3://my-kops-state/demo.k8s.local/config
exists:
  description: Whether the entry exists.
  returned: when O(list=false)
  type: bool
  sample: true
content:
  description: The content (text or base64, see RV(encoding)); null when absent or redacted.
  returned: when O(list=false)
  type: str
  sample: "apiVersion: kops.k8s.io/v1alpha2\n..."
encoding:
  description: V(utf-8) or V(base64); null when there is no content.
  returned: when O(list=false)
  type: str
  sample: utf-8
redacted:
  description: True when the entry is secret and its content was left out.
  returned: when O(list=false)
  type: bool
  sample: false
size:
  description: Size in bytes; null when absent.
  returned: when O(list=false)
  type: int
  sample: 1024
hash:
  description: Content hash (hex) of RV(hash_algorithm); null when absent, secret or not available.
  returned: when O(list=false)
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
hash_algorithm:
  description: Algorithm of RV(hash), for example V(md5) (S3 listings) or V(sha256) (local files).
  returned: when O(list=false)
  type: str
  sample: sha256
entries:
  description: The listed entries, sorted by path; paths are relative to the state store.
  returned: when O(list=true)
  type: list
  elements: dict
  contains:
    path:
      description: Entry path relative to the store.
      type: str
      returned: always
    is_dir:
      description: True for a folder (only when O(recursive=false)).
      type: bool
      returned: always
    size:
      description: Size in bytes (files only).
      type: int
      returned: when not a folder
    hash:
      description: Content hash from the listing, null when the backend has none or the entry is secret.
      type: str
      returned: when not a folder
    hash_algorithm:
      description: Algorithm of the hash.
      type: str
      returned: when not a folder
  sample: [{path: demo.k8s.local/config, is_dir: false, size: 1024, hash: 9f86d0..., hash_algorithm: sha256}]
'''

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    SECRETS_ARGUMENT_SPEC,
    StateStoreModule,
    open_entry_target,
    open_folder_target,
)
from ansible_collections.kops.state_store.plugins.module_utils.entries import content_fields, list_entries, read_or_none
from ansible_collections.kops.state_store.plugins.module_utils.redaction import is_secret


def main():
    module = StateStoreModule(
        argument_spec=dict(
            path=dict(type='str', default=''),
            list=dict(type='bool', default=False),
            recursive=dict(type='bool', default=False),
            **SECRETS_ARGUMENT_SPEC
        ),
    )
    params = module.params
    reveal, secret_patterns = params['reveal_secrets'], params['secret_patterns']
    with module.store_errors():
        if params['list']:
            backend, path = open_folder_target(module.settings, params['path'])
            entries = list_entries(backend, path, params['recursive'], reveal, secret_patterns)
            module.exit_json(changed=False, location=backend.render(path), entries=entries)

        backend, path = open_entry_target(module.settings, params['path'])
        data, _version = read_or_none(backend, path)
        secret = is_secret(backend, path, secret_patterns, (data,))
        result = dict(changed=False, location=backend.render(path), exists=data is not None,
                      size=None, hash=None, hash_algorithm=None, content=None, encoding=None, redacted=False)
        if data is not None:
            result.update(content_fields(data, secret, reveal), size=len(data))
            if reveal or not secret:
                result['hash_algorithm'], result['hash'] = backend.hash(path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: entry
short_description: Create, update or delete one entry of a kOps state store
version_added: 0.1.0
description:
  - Writes or removes one entry (a file such as C(mycluster/config) or C(mycluster/instancegroup/nodes))
    of a kOps state store, on any backend the collection supports.
  - The entry is read first and written only when its content differs, so a second run with the same
    input reports no change. Every write is guarded by the backend's version check, so a change made
    by someone else between the read and the write makes the task fail instead of being overwritten.
  - Secret entries (see O(reveal_secrets)) and entries with O(secret=true) never show their content in
    results, diffs, warnings or logs unless O(reveal_secrets=true). O(content) is never logged and shows
    masked in the task's invocation, whatever the entry.
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
      - The entry, relative to the state store (V(mycluster/config)), or a full location
        (V(s3://bucket/mycluster/config)), in which case O(state_store) is not used.
      - Paths with C(.) or C(..) segments, absolute paths and paths leading out of the store through a
        symbolic link are refused.
    type: str
    required: true
  state:
    description:
      - V(present) writes the entry, V(absent) deletes it (a missing entry is no change).
    type: str
    choices: [present, absent]
    default: present
  content:
    description:
      - The text to write. Mutually exclusive with O(src).
    type: str
  src:
    description:
      - A local file, on the host the module runs on, whose bytes are written. For binary content.
    type: path
  create_only:
    description:
      - Write only when the entry does not exist yet, atomically (two runs at once cannot both create it).
        An existing entry is left alone and reported unchanged.
    type: bool
    default: false
  acl:
    description:
      - Canned ACL for backends that have ACLs (S3 family, OSS). On S3 the E(KOPS_STATE_S3_ACL) environment
        variable, when set, overrides it, as in kOps. Ignored by backends without ACLs.
    type: str
  secret:
    description:
      - Treat this entry as secret even where the collection would not (see O(reveal_secrets)).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reads the entry and reports what would change; writes nothing.
  diff_mode:
    support: full
    details: Text before and after; binary content is summarised, secret content redacted.
notes:
  - The module runs on the target host and uses that host's environment, C(~/.kops.yaml) and credentials.
seealso:
  - module: kops.state_store.entry_info
  - plugin: kops.state_store.entry
    plugin_type: lookup
'''

EXAMPLES = r'''
- name: Write an instance group definition
  kops.state_store.entry:
    state_store: file:///srv/kops-review
    path: demo.k8s.local/instancegroup/nodes
    content: "{{ lookup('file', 'nodes.yaml') }}"

- name: Seed a file only when it does not exist yet
  kops.state_store.entry:
    path: s3://my-kops-state/demo.k8s.local/kops-version.txt
    content: "1.30.0"
    create_only: true

- name: Remove an entry
  kops.state_store.entry:
    path: demo.k8s.local/clusteraddons/default
    state: absent
'''

RETURN = r'''
location:
  description: The full location of the entry.
  returned: always
  type: str
  sample: s3://my-kops-state/demo.k8s.local/config
exists:
  description: Whether the entry exists after the task (or would, in check mode).
  returned: always
  type: bool
  sample: true
size:
  description: Size in bytes of the entry after the task; null when absent.
  returned: always
  type: int
  sample: 1024
sha256:
  description: SHA-256 of the entry's content after the task; null when absent, or secret and not revealed.
  returned: always
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
secret:
  description: Whether the entry was treated as secret.
  returned: always
  type: bool
  sample: false
'''

import hashlib

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    SECRETS_ARGUMENT_SPEC,
    StateStoreModule,
    open_entry_target,
)
from ansible_collections.kops.state_store.plugins.module_utils.entries import diff_text, put_entry, remove_entry
from ansible_collections.kops.state_store.plugins.module_utils.redaction import is_secret

# What AnsibleModule shows for a no_log value; ``content`` keeps showing it in the invocation.
MASKED = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def read_src(module):
    try:
        with open(module.params['src'], 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read src %s: %s' % (module.params['src'], exc.strerror))


def show_in_diff(module, content):
    """``content`` is no_log, so AnsibleModule never logs it and masks it in every result, failures
    included; once the entry is known not to be secret, its diff may show it again (unless another
    no_log option holds the same text)."""
    other_secrets = [module.params.get(name) for name, spec in module.argument_spec.items()
                     if spec.get('no_log') and name != 'content']
    if content not in other_secrets:
        module.no_log_values.discard(content)


def main():
    module = StateStoreModule(
        argument_spec=dict(
            path=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            content=dict(type='str', no_log=True),
            src=dict(type='path'),
            create_only=dict(type='bool', default=False),
            acl=dict(type='str'),
            secret=dict(type='bool', default=False),
            **SECRETS_ARGUMENT_SPEC
        ),
        mutually_exclusive=[('content', 'src')],
        required_if=[('state', 'present', ('content', 'src'), True)],
    )
    params = module.params
    content = params['content']
    if content is not None:
        params['content'] = MASKED  # the invocation in the result shows it masked, whatever the entry
    with module.store_errors():
        backend, path = open_entry_target(module.settings, params['path'])
        if params['state'] == 'present':
            data = content.encode('utf-8') if content is not None else read_src(module)
            change = put_entry(backend, path, data, params['create_only'], params['acl'], module.check_mode)
        else:
            change = remove_entry(backend, path, module.check_mode)
        location = backend.render(path)

    after = change.after
    secret = is_secret(backend, path, params['secret_patterns'], (change.before, after), params['secret'])
    reveal = params['reveal_secrets']
    if content is not None and (reveal or not secret):
        show_in_diff(module, content)
    result = dict(
        changed=change.changed,
        location=location,
        exists=after is not None,
        size=None if after is None else len(after),
        sha256=None if after is None or (secret and not reveal) else hashlib.sha256(after).hexdigest(),
        secret=secret,
    )
    if module._diff:
        result['diff'] = dict(
            before_header=location,
            after_header=location,
            before=diff_text(change.before, secret, reveal),
            after=diff_text(after, secret, reveal),
        )
    module.exit_json(**result)


if __name__ == '__main__':
    main()

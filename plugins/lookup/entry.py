# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: entry
short_description: Read entries of a kOps state store
version_added: 0.1.0
description:
  - Returns the content of each entry named in the terms, optionally parsed from YAML or JSON, or, with
    O(list=true), the entries below each folder named.
  - Runs on the controller, with the controller's environment, C(~/.kops.yaml) and credentials.
  - Reading a secret entry (see O(reveal_secrets)) fails unless O(reveal_secrets=true); the message names
    the entry, never its content.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.store
  - kops.state_store.store.ENTRY_BACKENDS
  - kops.state_store.store.PLUGINS
  - kops.state_store.store.SECRETS
  - kops.state_store.store.SECRET_PATTERNS
options:
  _terms:
    description:
      - Entry paths relative to the state store (V(mycluster/config)), or full locations.
    required: true
    type: list
    elements: str
  parse:
    description:
      - V(none) returns the text, V(yaml) or V(json) the parsed document (the first document of a
        multi-document YAML entry when V(yaml); use V(yaml_all) for a list of all of them).
      - YAML is read with PyYAML's safe loader; its aliases may repeat at most 100000 nodes in one entry (an alias
        bomb fails instead of filling the controller's memory). An entry that does not parse fails naming the entry,
        line and column, never the text there.
    type: str
    choices: [none, yaml, yaml_all, json]
    default: none
  list:
    description:
      - Return the entries below each term (a folder; an empty term lists the root) as dicts with
        C(path), C(is_dir), C(size), C(hash) and C(hash_algorithm).
    type: bool
    default: false
  recursive:
    description:
      - With O(list=true), the whole tree instead of the direct children.
    type: bool
    default: false
  default:
    description:
      - Returned for a missing entry instead of failing.
    type: raw
seealso:
  - module: kops.state_store.entry_info
'''

EXAMPLES = r'''
- name: Show a cluster's Kubernetes version
  ansible.builtin.debug:
    msg: "{{ (lookup('kops.state_store.entry', 'demo.k8s.local/config', parse='yaml',
             state_store='s3://my-kops-state')).spec.kubernetesVersion }}"

- name: Names of a cluster's instance groups
  ansible.builtin.debug:
    msg: "{{ query('kops.state_store.entry', 'demo.k8s.local/instancegroup', list=true) | map(attribute='path') }}"
'''

RETURN = r'''
_raw:
  description:
    - One item per term, the content (text, or base64 when not UTF-8) or the parsed document; with
      O(list=true), the entries of every term.
  type: list
  elements: raw
'''

import base64

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    open_entry_target,
    open_folder_target,
)
from ansible_collections.kops.state_store.plugins.module_utils.entries import list_entries
from ansible_collections.kops.state_store.plugins.module_utils.errors import NotFound, StateStoreError, load_json
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import yaml_documents
from ansible_collections.kops.state_store.plugins.module_utils.redaction import is_secret
from ansible_collections.kops.state_store.plugins.plugin_utils.store_lookup import StoreLookupBase


def _parse(data, parse, location):
    """The entry's text or document. A stored document is data: its aliases are bounded and an error names the
    entry, line and column only (kops/documents.py); timestamps become datetimes, as PyYAML's safe_load makes them."""
    if parse == 'none':
        try:
            return data.decode('utf-8')
        except UnicodeDecodeError:
            return base64.b64encode(data).decode('ascii')
    if parse == 'json':
        return load_json(data, location, StateStoreError)
    documents = yaml_documents(data, location, timestamps_as_text=False, error_type=StateStoreError)
    return documents if parse == 'yaml_all' else next(iter(documents), None)


class LookupModule(StoreLookupBase):
    def run(self, terms, variables=None, **kwargs):
        settings = self.store_settings(variables, **kwargs)
        reveal = self.get_option('reveal_secrets')
        secret_patterns = self.get_option('secret_patterns')
        results = []
        with self.store_errors():
            for term in terms:
                if self.get_option('list'):
                    backend, path = open_folder_target(settings, term)
                    results.extend(list_entries(backend, path, self.get_option('recursive'), reveal, secret_patterns))
                else:
                    results.append(self._read(settings, term, reveal, secret_patterns))
        return results

    def _read(self, settings, term, reveal, secret_patterns):
        backend, path = open_entry_target(settings, term)
        location = backend.render(path)
        refusal = StateStoreError('%s is a secret entry; set reveal_secrets=true to read it' % location)
        if not reveal and is_secret(backend, path, secret_patterns):
            raise refusal  # before reading: the secret never reaches the controller
        try:
            data, _version = backend.read(path)
        except NotFound:
            if self.get_option('default') is not None:
                return self.get_option('default')
            raise
        if not reveal and is_secret(backend, path, contents=(data,)):
            raise refusal
        return _parse(data, self.get_option('parse'), location)

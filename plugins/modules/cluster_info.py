#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: cluster_info
short_description: List the kOps clusters of a state store, or read one with its instance groups
version_added: 0.1.0
description:
  - Without O(name), lists the clusters of the store as kOps discovers them - every C(<name>/config) entry of a
    recursive listing.
  - With O(name), reads C(<name>/config) and the instance groups in C(<name>/instancegroup/), validates them
    (YAML, C(apiVersion) C(kops.k8s.io/v1alpha2), C(kind), C(metadata.name)) and returns them as data.
    An invalid stored document fails the task with a message naming the entry.
  - With O(validate=true), also checks them against kOps's own C(v1alpha2) schema and common rules, as
    M(kops.state_store.cluster) does before it writes, and returns what it finds in RV(findings) without failing,
    so a fleet of clusters can be audited.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.STATE_STORE_BACKENDS
options:
  name:
    description:
      - The cluster to read. When not given, the clusters of the store are listed. Unlike
        M(kops.state_store.cluster), E(KOPS_CLUSTER_NAME) is not used, so listing stays possible.
    type: str
  validate:
    description:
      - With O(name), validate the stored documents against kOps's schema and rules and return RV(findings) and
        RV(kops_schema_version). Findings do not fail the task.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
    details: Reads only.
notes:
  - The module runs on the target host and uses that host's environment, C(~/.kops.yaml) and credentials.
seealso:
  - module: kops.state_store.cluster
'''

EXAMPLES = r'''
- name: List the clusters of the store
  kops.state_store.cluster_info:
    state_store: s3://my-kops-state
  register: kops_clusters

- name: Read one cluster
  kops.state_store.cluster_info:
    state_store: s3://my-kops-state
    name: demo.k8s.local
  register: demo

- name: Audit every cluster of the store against kOps's schema and rules
  kops.state_store.cluster_info:
    state_store: s3://my-kops-state
    name: "{{ item }}"
    validate: true
  loop: "{{ kops_clusters.clusters }}"
  register: audit         # audit.results[].findings: [{entry, path, message}, ...]

- name: Show the nodes' machine type
  ansible.builtin.debug:
    msg: "{{ demo.instance_groups | selectattr('spec.role', 'equalto', 'Node') | map(attribute='spec.machineType') }}"
'''

RETURN = r'''
clusters:
  description: Names of the clusters in the store, sorted.
  returned: when O(name) is not given
  type: list
  elements: str
  sample: [demo.k8s.local, prod.example.com]
exists:
  description: Whether the cluster's C(config) exists.
  returned: when O(name) is given
  type: bool
  sample: true
location:
  description: Location of the cluster's C(config) entry.
  returned: when O(name) is given
  type: str
  sample: s3://my-kops-state/demo.k8s.local/config
cluster:
  description: The Cluster document; null when it does not exist.
  returned: when O(name) is given
  type: dict
  sample: {apiVersion: kops.k8s.io/v1alpha2, kind: Cluster, metadata: {name: demo.k8s.local},
           spec: {kubernetesVersion: 1.30.2}}
instance_groups:
  description: The cluster's InstanceGroup documents, sorted by name.
  returned: when O(name) is given
  type: list
  elements: dict
  sample: [{apiVersion: kops.k8s.io/v1alpha2, kind: InstanceGroup, metadata: {name: nodes},
            spec: {role: Node, machineType: m4.large}}]
findings:
  description:
    - What the validation against kOps's schema and rules found in the stored config and instance groups - C(entry)
      (relative to the store), C(path) (the field) and C(message).
  returned: when O(name) and O(validate=true) are given
  type: list
  elements: dict
  sample: [{entry: demo.k8s.local/config, path: spec.kubernetesVerison,
            message: "unknown field; did you mean spec.kubernetesVersion?"}]
kops_schema_version:
  description: The kOps release whose C(v1alpha2) schema and rules the documents are validated against.
  returned: when O(name) and O(validate=true) are given
  type: str
  sample: 1.37.0-alpha.1
'''

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster import (
    config_path,
    documents_findings,
    list_clusters,
    read_cluster,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import check_name, refused_names_warning
from ansible_collections.kops.state_store.plugins.module_utils.kops.validation import KOPS_VERSION
from ansible_collections.kops.state_store.plugins.module_utils.registry import STATE_STORE_BACKENDS


def main():
    module = StateStoreModule(argument_spec=dict(name=dict(type='str'), validate=dict(type='bool', default=False)),
                              backend_modules=STATE_STORE_BACKENDS)
    name = module.params['name']
    if module.params['validate'] and name is None:
        module.fail_json(msg='validate needs name: it checks one cluster')
    with module.store_errors():
        backend = open_configured_store(module.settings)
        if name is None:
            names, refused = list_clusters(backend)
            result = dict(clusters=names)
            if refused:
                module.warn(refused_names_warning(refused, backend.render()))
        else:
            stored = read_cluster(backend, check_name(name, 'cluster name'))
            result = dict(
                exists=stored.cluster is not None,
                location=backend.render(config_path(name)),
                cluster=stored.cluster,
                instance_groups=[document for document, _version in stored.groups.values()],
            )
            if module.params['validate']:
                groups = dict((group, document) for group, (document, _version) in stored.groups.items())
                result['findings'] = [finding.as_dict(with_introduced=False)
                                      for finding in documents_findings(name, stored.cluster, groups)]
                result['kops_schema_version'] = KOPS_VERSION
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()

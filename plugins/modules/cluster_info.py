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
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.store
  - kops.state_store.store.S3
  - kops.state_store.store.GCS
  - kops.state_store.store.SWIFT
  - kops.state_store.store.OSS
options:
  name:
    description:
      - The cluster to read. When not given, the clusters of the store are listed. Unlike
        M(kops.state_store.cluster), E(KOPS_CLUSTER_NAME) is not used, so listing stays possible.
    type: str
attributes:
  check_mode:
    description: Can run in check mode and report what would change without changing it.
    support: full
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
'''

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.cluster import (
    check_name,
    config_path,
    list_clusters,
    read_cluster,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import STATE_STORE_BACKENDS


def main():
    module = StateStoreModule(argument_spec=dict(name=dict(type='str')), backend_modules=STATE_STORE_BACKENDS)
    name = module.params['name']
    with module.store_errors():
        backend = open_configured_store(module.settings)
        if name is None:
            result = dict(clusters=list_clusters(backend))
        else:
            stored = read_cluster(backend, check_name(name, 'cluster name'))
            result = dict(
                exists=stored.cluster is not None,
                location=backend.render(config_path(name)),
                cluster=stored.cluster,
                instance_groups=[document for document, _version in stored.groups.values()],
            )
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()

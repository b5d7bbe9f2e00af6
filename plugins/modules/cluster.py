#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: cluster
short_description: Create, change, replace or delete a kOps cluster's configuration in a state store
version_added: 0.1.0
description:
  - Reads C(<name>/config) (a C(kops.k8s.io/v1alpha2) C(Cluster)) and the instance groups in
    C(<name>/instancegroup/) of a kOps state store, merges the requested changes into them the way
    C(kops edit cluster) would leave them, validates the result and writes only the entries that change.
  - B(No lost updates.) Every write expects the version that was read (S3 C(If-Match), GCS generation, Vault
    C(cas), file and memfs atomically). When another writer changed the cluster in between, the module reads
    it again, applies the same request to the new content and tries again, up to 20 times with a small
    jittered backoff. On backends without compare-and-swap (Swift, OSS) a lock entry
    C(.kops-state-store-locks/<name>) is taken with create-if-absent for the whole read-modify-write, renewed while
    the work runs and confirmed before each write; a lock the store says was last written more than 60 seconds ago
    (a crashed run) is taken over by one run only (a takeover marker created with create-if-absent); the same live
    holder is waited for up to 120 seconds. A run that could not renew its lock for 30 seconds writes nothing more.
    A lock is a lease, not a conditional write - on Swift and OSS, a run paused or delayed for longer than
    30 seconds between its last check of the lock and its write can lose another run's update. Use a backend with
    compare-and-swap for concurrent writers; docs/reliability.md has the measured figures.
  - Creating a cluster writes C(config) with create-if-absent. On every written document
    C(metadata.creationTimestamp) is set when empty, C(metadata.generation) is increased when the spec changes,
    and the cluster's C(spec.configBase) is filled as kOps derives it (the store joined with the cluster name,
    for example V(s3://bucket/name); a local store gives a plain path) when missing. Instance groups get the
    label C(kops.k8s.io/cluster=<name>).
  - The command-line short-cuts of C(kops create cluster) are options that land in the objects kOps puts them
    in (O(node_size), O(control_plane_size), O(node_count), O(zones), O(kubernetes_version), O(network_cidr)).
  - Nothing is written when the request, the result or a stored document is invalid (YAML, C(apiVersion),
    C(kind), C(metadata.name)).
  - B(Validation against kOps.) Before anything is written, and in check mode, the config and instance groups as
    the task leaves them are checked against kOps's own C(v1alpha2) schema (the kOps version is in
    RV(kops_schema_version)) - unknown fields (with the closest known name), types, integers or strings, quantities,
    allowed values, required fields - and against kOps's common rules - instance group C(role) and
    C(minSize) <= C(maxSize), instance group C(subnets) among the cluster's C(spec.subnets), C(kubernetesVersion) a
    semantic version, CIDRs that parse, subnet CIDRs inside C(networkCIDR) (or C(additionalNetworkCIDRs)). See
    O(validate).
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.STATE_STORE_BACKENDS
options:
  name:
    description:
      - The cluster name, for example V(demo.k8s.local). Defaults to the E(KOPS_CLUSTER_NAME) environment
        variable, as in kOps.
    type: str
    required: true
  state:
    description:
      - V(present) creates or changes the cluster.
      - V(absent) removes the cluster's state the way C(kops delete cluster) removes it from the store, and
        refuses, like kOps, when the cluster's folder holds entries outside C(config), C(cluster.spec),
        C(cluster-completed.spec), C(kops-version.txt) and the folders C(addons/), C(clusteraddons/), C(pki/),
        C(secrets/), C(instancegroup/), C(igconfig/), C(manifests/) and C(backups/). C(config) is removed
        last, so an interrupted run leaves the cluster discoverable and can be repeated. A separate
        C(secretStore)/C(keyStore) outside the cluster folder is not touched. No cloud resource is touched.
      - B(Versioned stores.) On a store that keeps old versions - an S3 bucket with versioning on (or suspended),
        a GCS bucket with object versioning - deleting an entry leaves its content behind as an old version (S3
        adds a delete marker), so every secret and key would stay recoverable. With O(purge_versions=true) (the
        default) the module therefore removes, after the current entries, every old version and delete marker
        below C(<name>/) for good - those the deletion just left and those of entries deleted or overwritten
        earlier (rotated secrets) - as C(kops delete cluster) removes all versions of each entry on S3. This is
        C(ListObjectVersions) then C(DeleteObjects) with version ids on S3 (permissions C(s3:ListBucketVersions) and
        C(s3:DeleteObjectVersion)); on GCS each noncurrent generation is deleted by its number. Only the folder
        C(<name>/) is touched, never a cluster whose name merely starts with O(name).
      - The versions are listed before anything is deleted; when that is not allowed (for example no
        C(s3:ListBucketVersions)) the task fails and deletes nothing. If removing an old version fails after the
        current entries were deleted, the task fails saying how many remain; running it again removes the rest
        (a folder without C(config) and without current entries, holding only old versions, is cleaned up too).
      - Objects held by a GCS bucket's soft-delete policy, by S3 Object Lock or by a provider's own version
        keeping on Swift or OSS are out of reach of this module.
    type: str
    choices: [present, absent]
    default: present
  purge_versions:
    description:
      - With O(state=absent), whether to permanently remove every old version and delete marker below the
        cluster's folder (see O(state)).
      - V(false) never removes a version. On a store that keeps old versions of the cluster's entries, or would
        keep the ones the deletion leaves, the task fails naming how many there are, and deletes nothing. One case
        cannot be seen beforehand - an S3 bucket whose versioning was switched on only after every entry of the
        cluster was written (their version ids are still C(null)) - there the entries are deleted and the task
        then fails, naming the old versions left. Either way the module never reports a cluster deleted while old
        versions of its entries remain that it can list.
      - Stores where this module sees no versions (C(file://), C(memfs://), Swift, OSS) behave the same either way.
    type: bool
    default: true
  spec:
    description:
      - Partial cluster spec deep-merged into the stored C(spec) - mappings merge key by key, scalars replace,
        lists replace (see O(list_merge)).
      - A key whose value is V(null) is removed (JSON merge patch, as C(kubectl patch --type merge)).
      - Keys keep their place in the document; new keys are added at the end of their mapping.
    type: dict
  list_merge:
    description:
      - V(replace) replaces a stored list by the given one.
      - V(by_name) merges a list of mappings that all have a string or number C(name) (C(subnets), C(etcdClusters),
        C(etcdMembers), C(additionalUserData), ...) item by item with the stored list - items of the same name
        are merged, new names are appended; lists of anything else still replace. To drop an item in this mode,
        give the whole list with O(list_merge=replace).
      - Applies to O(spec) and to the C(spec) of O(instance_groups).
    type: str
    choices: [replace, by_name]
    default: replace
  instance_groups:
    description:
      - Instance groups (C(kops.k8s.io/v1alpha2) C(InstanceGroup), entry C(<name>/instancegroup/<group>)) to
        create, change or delete. Groups not listed are left alone.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the instance group.
        type: str
        required: true
      spec:
        description:
          - Partial C(spec) merged into the stored one with the same rules as O(spec). A new group needs at
            least C(role) (V(Node), V(Master), V(Bastion), ...) for kOps.
        type: dict
      state:
        description: V(absent) deletes the instance group's entry.
        type: str
        choices: [present, absent]
        default: present
  replace:
    description:
      - Write the whole documents of O(definition) instead of merging into the stored ones, like
        C(kops replace -f). The Cluster's stored C(metadata.creationTimestamp) is kept when the definition has
        none; C(metadata.generation) is increased when the spec changes. Instance groups not in the definition
        are left alone. O(spec), O(instance_groups) and the short-cuts are applied on top.
    type: bool
    default: false
  definition:
    description:
      - With O(replace=true), the documents to write - YAML text (several documents separated by C(---), as kOps
        writes them), one mapping, or a list of mappings - holding at most one C(Cluster) named O(name) and any
        number of C(InstanceGroup)s.
    type: raw
  node_size:
    description:
      - Machine type of every instance group with role V(Node) (sets their C(spec.machineType)), like
        C(kops create cluster --node-size). Fails when the cluster has no such group.
    type: str
  control_plane_size:
    description:
      - Machine type of every control-plane instance group (role V(Master) or V(ControlPlane); sets their
        C(spec.machineType)), like C(--control-plane-size).
    type: str
  node_count:
    description:
      - Number of nodes, like C(--node-count) - spread over the V(Node) instance groups in name order (earlier
        groups get the remainder); sets C(spec.minSize) and C(spec.maxSize) of each.
    type: int
  zones:
    description:
      - Zones the cluster runs in, like C(--zones) - adds to C(spec.subnets) a subnet C({name, type Public, zone})
        for every zone no subnet covers yet; existing subnets are not changed. kOps assigns their CIDRs.
    type: list
    elements: str
  kubernetes_version:
    description: Sets C(spec.kubernetesVersion), like C(--kubernetes-version).
    type: str
  network_cidr:
    description: Sets C(spec.networkCIDR), the cluster's network CIDR, like C(--network-cidr).
    type: str
  validate:
    description:
      - What to do with findings of the validation against kOps's schema and rules (see the description).
      - V(strict) fails, writing nothing, when the task would introduce a finding - one the stored documents do not
        already have (same entry, field and message). Findings already in the store are kept and given as a warning,
        so a cluster stored with an old or unknown field can still be changed, and moved.
      - V(warn) writes anyway and gives every finding as a warning.
      - V(none) skips the validation (RV(findings) is then empty).
      - Every finding is in RV(findings) whatever the mode; a failure message lists up to 20.
      - Not used with O(state=absent).
    type: str
    choices: [strict, warn, none]
    default: strict
attributes:
  check_mode:
    support: full
    details: Reads the cluster and returns what would be written; writes nothing and takes no lock.
  diff_mode:
    support: full
    details: One YAML before/after pair per changed entry, keys in document order.
notes:
  - The module runs on the target host and uses that host's environment, C(~/.kops.yaml) and credentials.
  - Vault rules of kOps 1.19 to 1.25 are checked whatever O(validate) says - a V(vault://) C(spec.configBase) is
    refused, C(spec.secretStore) and C(spec.keyStore) must differ, and a V(vault://) secret or key store gives a warning unless
    E(KOPS_FEATURE_FLAGS) contains C(VFSVaultSupport) and C(spec.cloudProvider) is V(aws).
  - Changing the config of a running cluster takes effect only after C(kops update cluster --yes).
seealso:
  - module: kops.state_store.cluster_info
  - module: kops.state_store.entry
'''

EXAMPLES = r'''
- name: Nodes become m4.large (kops create cluster --node-size=m4.large)
  kops.state_store.cluster:
    state_store: s3://my-kops-state
    name: demo.k8s.local
    node_size: m4.large

- name: Create a cluster with one node group (create-if-absent)
  kops.state_store.cluster:
    state_store: file:///srv/kops-review
    name: demo.k8s.local
    kubernetes_version: 1.30.2
    network_cidr: 172.20.0.0/16
    zones: [us-east-1a]
    spec:
      cloudProvider: aws
      nonMasqueradeCIDR: 100.64.0.0/10
      networking:
        cilium: {}
    instance_groups:
      - name: nodes
        spec:
          role: Node
          machineType: t3.medium
          subnets: [us-east-1a]
    node_count: 2

- name: Add a subnet without repeating the others, and drop a field
  kops.state_store.cluster:
    name: demo.k8s.local
    list_merge: by_name
    spec:
      subnets:
        - name: us-east-1b
          zone: us-east-1b
          type: Public
      sshKeyName: null

- name: Write a change although the result has findings kOps would refuse (they come back as warnings)
  kops.state_store.cluster:
    name: demo.k8s.local
    validate: warn
    instance_groups:
      - name: nodes
        spec: {minSize: 3, maxSize: 6}
  register: written       # written.findings: [{entry, path, message, introduced}, ...]

- name: Replace the cluster and its groups from a file (kops replace -f)
  kops.state_store.cluster:
    name: demo.k8s.local
    replace: true
    # rstrip=false keeps the final newline a block scalar (user data) may end with
    definition: "{{ lookup('ansible.builtin.file', 'demo.k8s.local.yaml', rstrip=false) }}"

- name: Delete the cluster's state (refused if its folder holds unknown entries)
  kops.state_store.cluster:
    name: demo.k8s.local
    state: absent
  register: deleted       # deleted.old_versions_removed: old versions and delete markers removed for good
'''

RETURN = r'''
location:
  description: Location of the cluster's C(config) entry.
  returned: always
  type: str
  sample: s3://my-kops-state/demo.k8s.local/config
created:
  description: Whether the cluster's C(config) was (or, in check mode, would be) created.
  returned: always
  type: bool
  sample: false
cluster:
  description: The resulting Cluster document; null when the cluster does not exist (after V(absent)).
  returned: always
  type: dict
  sample: {apiVersion: kops.k8s.io/v1alpha2, kind: Cluster, metadata: {name: demo.k8s.local, generation: 2},
           spec: {kubernetesVersion: 1.30.2, configBase: s3://my-kops-state/demo.k8s.local}}
instance_groups:
  description: The resulting InstanceGroup documents, sorted by name; empty after V(absent).
  returned: always
  type: list
  elements: dict
  sample: [{apiVersion: kops.k8s.io/v1alpha2, kind: InstanceGroup, metadata: {name: nodes},
            spec: {role: Node, machineType: m4.large}}]
changed_entries:
  description: Store entries (relative to the store) that were (or would be) written or deleted, in order.
  returned: always
  type: list
  elements: str
  sample: [demo.k8s.local/config, demo.k8s.local/instancegroup/nodes]
findings:
  description:
    - What the validation against kOps's schema and rules found in the documents as the task leaves them (the
      config and every instance group); empty with O(validate=none) and O(state=absent).
    - C(entry) is the store entry (relative to the store), C(path) the field, C(message) what is wrong, and
      C(introduced) whether this task brings it in (false when the stored documents already had it).
  returned: always
  type: list
  elements: dict
  sample: [{entry: demo.k8s.local/instancegroup/nodes, path: spec.maxsize, introduced: true,
            message: "unknown field; did you mean spec.maxSize?"}]
kops_schema_version:
  description: The kOps release whose C(v1alpha2) schema and rules the documents are validated against.
  returned: always
  type: str
  sample: 1.37.0-alpha.1
old_versions_removed:
  description:
    - With O(state=absent), the number of old versions and delete markers that existed below the cluster's folder
      before the task and were (in check mode, would be) permanently removed; 0 on stores without versions.
    - On a versioned store, the versions and delete markers that deleting the current entries leaves behind are
      removed too; they are not counted here (those entries are in RV(changed_entries)).
  returned: when O(state=absent)
  type: int
  sample: 7
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    StateStoreModule,
    open_configured_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster import (
    ClusterRequest,
    VALIDATE_MODES,
    config_path,
    delete_cluster,
    finding_warnings,
    update_cluster,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import (
    check_name,
    dump_document,
    load_documents,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.validation import KOPS_VERSION
from ansible_collections.kops.state_store.plugins.module_utils.registry import STATE_STORE_BACKENDS


def definition_documents(definition):
    if definition is None:
        return []
    if isinstance(definition, str):
        return load_documents(definition, 'definition')
    return definition if isinstance(definition, list) else [definition]


def entry_diff(backend, write):
    location = backend.render(write.path)
    return dict(
        before_header=location,
        after_header=location,
        before='' if write.before is None else dump_document(write.before),
        after='' if write.after is None else dump_document(write.after),
    )


def main():
    module = StateStoreModule(
        argument_spec=dict(
            name=dict(type='str', required=True, fallback=(env_fallback, ['KOPS_CLUSTER_NAME'])),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            spec=dict(type='dict'),
            list_merge=dict(type='str', choices=['replace', 'by_name'], default='replace'),
            instance_groups=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                spec=dict(type='dict'),
                state=dict(type='str', choices=['present', 'absent'], default='present'),
            )),
            replace=dict(type='bool', default=False),
            definition=dict(type='raw'),
            node_size=dict(type='str'),
            control_plane_size=dict(type='str'),
            node_count=dict(type='int'),
            zones=dict(type='list', elements='str'),
            kubernetes_version=dict(type='str'),
            network_cidr=dict(type='str'),
            purge_versions=dict(type='bool', default=True),
            validate=dict(type='str', choices=list(VALIDATE_MODES), default='strict'),
        ),
        required_if=[('replace', True, ('definition',))],
        backend_modules=STATE_STORE_BACKENDS,
    )
    params = module.params
    if params['definition'] is not None and not params['replace']:
        module.fail_json(msg='definition is only used with replace=true')
    if params['node_count'] is not None and params['node_count'] < 0:
        module.fail_json(msg='node_count must not be negative')
    with module.store_errors():
        name = check_name(params['name'], 'cluster name')
        backend = open_configured_store(module.settings)
        if params['state'] == 'absent':
            plan = delete_cluster(backend, name, module.check_mode, purge_versions=params['purge_versions'])
            cluster, groups = None, []
        else:
            request = ClusterRequest(
                name,
                spec=params['spec'],
                by_name=params['list_merge'] == 'by_name',
                groups=params['instance_groups'],
                replacement=definition_documents(params['definition']) if params['replace'] else (),
                node_size=params['node_size'],
                control_plane_size=params['control_plane_size'],
                node_count=params['node_count'],
                zones=params['zones'],
                kubernetes_version=params['kubernetes_version'],
                network_cidr=params['network_cidr'],
            )
            plan = update_cluster(backend, request, module.check_mode, validate=params['validate'])
            cluster, groups = plan.cluster, list(plan.groups.values())
            plan.warnings.extend(finding_warnings(name, plan.findings, params['validate'], module.check_mode))
        for warning in plan.warnings:
            module.warn(warning)
        config = config_path(name)
        result = dict(
            changed=plan.changed,
            location=backend.render(config),
            created=any(write.path == config and write.before is None for write in plan.writes),
            cluster=cluster,
            instance_groups=groups,
            changed_entries=[write.path for write in plan.writes],
            findings=[finding.as_dict() for finding in plan.findings],
            kops_schema_version=KOPS_VERSION,
        )
        if params['state'] == 'absent':
            result['old_versions_removed'] = plan.old_versions
        if module._diff:
            result['diff'] = [entry_diff(backend, write) for write in plan.writes if write.before or write.after]
    module.exit_json(**result)


if __name__ == '__main__':
    main()

#!/usr/bin/env python
"""Write plugins/module_utils/kops/schema.py, the structure of kOps's v1alpha2 Cluster and InstanceGroup schemas
that the cluster modules validate against, from the CustomResourceDefinitions kOps generates from its Go types.

    build_kops_schema.py --kops-version 1.37.0-alpha.1 [CRD_FOLDER]   regenerate
    build_kops_schema.py --check [CRD_FOLDER]                         fail when the module differs from what the CRDs
                                                                     give (skipped when the folder is missing)

CRD_FOLDER (default: ../shared/reference/kops-api/ next to the repository) holds kops.k8s.io_clusters.yaml and
kops.k8s.io_instancegroups.yaml (kOps's k8s/crds/) and may hold a README.md naming the kubernetes/kops commit they
come from. Only structure is kept (types, properties, items, map values, required fields, int-or-string, integer
formats, patterns, enums), never description texts. The CRDs give no kOps version, so it is an argument; --check
keeps the one already in the module.
"""

import argparse
import json
import os
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(REPO, 'plugins', 'module_utils', 'kops', 'schema.py')
DEFAULT_CRDS = os.path.join(os.path.dirname(REPO), 'shared', 'reference', 'kops-api')
CRD_FILES = {'Cluster': 'kops.k8s.io_clusters.yaml', 'InstanceGroup': 'kops.k8s.io_instancegroups.yaml'}
API_VERSION = 'v1alpha2'

# Value sets kOps enforces in code (pkg/apis/kops/validation/, v1alpha2 conversion) rather than in the CRDs.
# Paths as in the documents: '[]' is any list item.
ENUMS = {
    'Cluster': {
        # v1alpha2 conversion refuses any other cloudProvider
        'spec.cloudProvider': ['aws', 'azure', 'digitalocean', 'gce', 'hetzner', 'linode', 'openstack', 'scaleway'],
        'spec.subnets[].type': ['Public', 'Private', 'DualStack', 'Utility'],
        'spec.updatePolicy': ['automatic', 'external'],
        'spec.networking.calico.encapsulationMode': ['Always', 'CrossSubnet', 'Never'],
    },
    'InstanceGroup': {
        # v1alpha2 stores the control plane as Master and reads ControlPlane too
        'spec.role': ['Master', 'ControlPlane', 'APIServer', 'Node', 'Bastion'],
        # EC2 tenancy values
        'spec.tenancy': ['default', 'dedicated', 'host'],
    },
}

# A CRD leaves metadata (Kubernetes ObjectMeta) to the API server: `type: object` and nothing else. kOps reads it as
# ObjectMeta, so these are its fields and types.
OBJECT_META = {
    'type': 'object',
    'properties': {
        'name': {'type': 'string'},
        'generateName': {'type': 'string'},
        'namespace': {'type': 'string'},
        'selfLink': {'type': 'string'},
        'uid': {'type': 'string'},
        'resourceVersion': {'type': 'string'},
        'generation': {'type': 'integer', 'format': 'int64'},
        'creationTimestamp': {'type': 'string'},
        'deletionTimestamp': {'type': 'string'},
        'deletionGracePeriodSeconds': {'type': 'integer', 'format': 'int64'},
        'labels': {'type': 'object', 'additionalProperties': {'type': 'string'}},
        'annotations': {'type': 'object', 'additionalProperties': {'type': 'string'}},
        'ownerReferences': {'type': 'array', 'items': {
            'type': 'object', 'required': ['apiVersion', 'kind', 'name', 'uid'], 'properties': {
                'apiVersion': {'type': 'string'}, 'kind': {'type': 'string'}, 'name': {'type': 'string'},
                'uid': {'type': 'string'}, 'controller': {'type': 'boolean'},
                'blockOwnerDeletion': {'type': 'boolean'}}}},
        'finalizers': {'type': 'array', 'items': {'type': 'string'}},
        'managedFields': {'type': 'array', 'items': {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True}},
    },
}


class Nodes(object):
    """Schema nodes, each stored once: equal subtrees (resource quantities, affinity, env) share one entry."""

    def __init__(self):
        self.table = []
        self.index = {}

    def add(self, node):
        key = json.dumps(node, sort_keys=True)
        if key not in self.index:
            self.index[key] = len(self.table)
            self.table.append(node)
        return self.index[key]


def compact(schema, path, enums, nodes):
    """Table index of ``schema`` (an OpenAPI v3 node of the CRD), structure only. Node keys: t type, p properties
    (name -> index), r required, v map values, i list items, f integer format, re pattern, e enum."""
    node = {}
    if schema.get('x-kubernetes-int-or-string'):
        node['t'] = 'int-or-string'
    elif schema.get('x-kubernetes-preserve-unknown-fields'):
        node['t'] = 'any'
    elif schema.get('type') == 'object' and 'properties' not in schema and 'additionalProperties' in schema:
        node['t'] = 'map'
    else:
        node['t'] = schema['type']
    if 'properties' in schema or node['t'] == 'object':
        node['t'] = 'object'
        node['p'] = dict((name, compact(child, '%s.%s' % (path, name) if path else name, enums, nodes))
                         for name, child in sorted(schema.get('properties', {}).items()))
        # A left-out boolean reads as false in kOps (Go), and kOps's own documents leave such fields out
        # (spec.iam.legacy): only required fields of other types must be there.
        required = [name for name in schema.get('required', ())
                    if schema['properties'].get(name, {}).get('type') != 'boolean']
        if required:
            node['r'] = required
    additional = schema.get('additionalProperties')
    if isinstance(additional, dict):
        node['v'] = compact(additional, path + '{}', enums, nodes)
    if 'items' in schema:
        node['i'] = compact(schema['items'], path + '[]', enums, nodes)
    if node['t'] == 'integer' and 'format' in schema:
        node['f'] = schema['format']
    if 'pattern' in schema:
        node['re'] = schema['pattern']
    if path in enums or 'enum' in schema:
        node['e'] = enums.pop(path, None) or schema['enum']
    return nodes.add(node)


def crd_schema(folder, kind):
    with open(os.path.join(folder, CRD_FILES[kind])) as handle:
        crd = yaml.safe_load(handle)
    if crd['spec']['names']['kind'] != kind:
        raise SystemExit('%s is the CRD of %s, not %s' % (CRD_FILES[kind], crd['spec']['names']['kind'], kind))
    for version in crd['spec']['versions']:
        if version['name'] == API_VERSION:
            schema = dict(version['schema']['openAPIV3Schema'])
            schema['properties'] = dict(schema['properties'], metadata=OBJECT_META)
            return schema
    raise SystemExit('%s has no %s version' % (CRD_FILES[kind], API_VERSION))


def source_commit(folder):
    """The kubernetes/kops commit the folder's README.md names, or None."""
    try:
        with open(os.path.join(folder, 'README.md')) as handle:
            found = re.search(r'\bcommit ([0-9a-f]{40})\b', handle.read())
    except OSError:
        return None
    return found.group(1) if found else None


def render(folder, kops_version, commit):
    nodes = Nodes()
    roots = {}
    for kind in sorted(CRD_FILES):
        enums = dict(ENUMS[kind])
        roots[kind] = compact(crd_schema(folder, kind), '', enums, nodes)
        if enums:
            raise SystemExit('ENUMS name %s fields the %s schema does not have: %s'
                             % (kind, kind, ', '.join(sorted(enums))))
    table = ',\n'.join(json.dumps(node, sort_keys=True, separators=(',', ':')) for node in nodes.table)
    if "'''" in table:
        raise SystemExit("the schema holds ''' and cannot be written as one string literal")
    return '''# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# GENERATED by tests/schema/build_kops_schema.py from kOps's CustomResourceDefinitions; do not edit.
"""The structure of kOps's kops.k8s.io/v1alpha2 Cluster and InstanceGroup schemas (no descriptions), read by
validation.py. NODES is JSON text, parsed on first use: a list of nodes, each a mapping with t (type: object, map,
array, string, boolean, integer, number, int-or-string, any), p (properties: name -> node number), r (required
properties), v (map values), i (list items), f (integer format), re (pattern), e (allowed values)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

KOPS_VERSION = %r
KOPS_COMMIT = %r
API_VERSION = 'kops.k8s.io/%s'
ROOTS = %r

NODES = r\'\'\'[
%s
]\'\'\'
''' % (kops_version, commit, API_VERSION, roots, table)


def committed(name):
    """A value of the committed module (check mode keeps its kOps version)."""
    namespace = {}
    with open(OUTPUT) as handle:
        exec(compile(handle.read(), OUTPUT, 'exec'), namespace)  # our own generated file
    return namespace[name]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('crds', nargs='?', default=DEFAULT_CRDS, help='folder of the two CRD files')
    parser.add_argument('--kops-version', help='kOps release the CRDs come from (required unless --check)')
    parser.add_argument('--commit', help='kubernetes/kops commit (default: the one README.md in the folder names)')
    parser.add_argument('--check', action='store_true', help='compare with the committed module, write nothing')
    options = parser.parse_args()
    if options.check and not os.path.isdir(options.crds):
        print('%s does not exist: nothing to compare with' % options.crds)
        return 0
    version = options.kops_version or (committed('KOPS_VERSION') if options.check else None)
    if not version:
        parser.error('--kops-version is required')
    commit = options.commit or source_commit(options.crds)
    text = render(options.crds, version, commit)
    if options.check:
        with open(OUTPUT) as handle:
            if handle.read() != text:
                print('%s differs from the CRDs in %s: run %s' % (OUTPUT, options.crds, sys.argv[0]))
                return 1
        return 0
    with open(OUTPUT, 'w') as handle:
        handle.write(text)
    print('wrote %s (%d bytes)' % (OUTPUT, len(text)))
    return 0


if __name__ == '__main__':
    sys.exit(main())

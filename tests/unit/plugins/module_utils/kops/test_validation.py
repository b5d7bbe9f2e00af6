"""Validation of Cluster and InstanceGroup documents against kOps's v1alpha2 schema and rules: the real kOps
fixtures as they are, then mutated one finding at a time (the exact path and message each), the values kOps
accepts that a naive check would refuse, and the generated schema module against the CRDs it comes from."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.kops import schema as kops_schema, validation as v
from support.paths import REPO
from support.kops_fixtures import FIXTURES, fixture_documents

GENERATOR = os.path.join(REPO, 'tests', 'schema', 'build_kops_schema.py')
REFERENCE = os.path.join(os.path.dirname(REPO), 'shared', 'reference', 'kops-api')

# kOps's own test inputs carry two fields that no kOps API type has ever had (its integration tests read them
# leniently and drop them); every other field of the ten documents is in the schema.
STALE_FIELDS = {
    'complex.yaml': [('spec.serviceOIDCProvider', 'unknown field')],
    'minimal_openstack.yaml': [('spec.openstackServiceAccount', 'unknown field')],
}


def fixture(name):
    """(Cluster, {ig name: InstanceGroup}) of one fixture."""
    documents = fixture_documents([path for path in FIXTURES if os.path.basename(path) == name][0])
    return documents[0], dict((document['metadata']['name'], document) for document in documents[1:])


def subnet_names(cluster):
    return [subnet['name'] for subnet in cluster['spec'].get('subnets', [])]


@pytest.mark.parametrize('path', FIXTURES, ids=os.path.basename)
def test_the_real_kops_documents_validate(path):
    cluster, groups = fixture(os.path.basename(path))
    assert v.document_findings(cluster, 'Cluster') == STALE_FIELDS.get(os.path.basename(path), [])
    assert groups
    for group in groups.values():
        assert v.document_findings(group, 'InstanceGroup', subnet_names(cluster)) == []


def test_the_stale_fields_are_all_that_stands_between_the_fixtures_and_kops():
    for name, stale in STALE_FIELDS.items():
        cluster, _groups = fixture(name)
        for path, _message in stale:
            del cluster['spec'][path.split('.')[1]]
        assert v.document_findings(cluster, 'Cluster') == []


def _set(document, path, value):
    """Set (or with value DELETE, remove) the dotted ``path`` of ``document``; digits index lists."""
    *parents, last = [int(part) if part.isdigit() else part for part in path.split('.')]
    for part in parents:
        document = document[part]
    if value is DELETE:
        del document[last]
    else:
        document[last] = value


DELETE = object()

# (fixture, document: 'config' or an instance group, field to set, value, expected finding path, message)
MUTATIONS = [
    # unknown fields at several depths, with the closest known name
    ('minimal-aws.yaml', 'config', 'spec.kubernetesVerison', '1.31.4', 'spec.kubernetesVerison',
     'unknown field; did you mean spec.kubernetesVersion?'),
    ('complex.yaml', 'config', 'spec.kubelet.anonymousAuthh', True, 'spec.kubelet.anonymousAuthh',
     'unknown field; did you mean spec.kubelet.anonymousAuth?'),
    ('complex.yaml', 'config', 'spec.subnets.1.egres', 'nat-1', 'spec.subnets[1].egres',
     'unknown field; did you mean spec.subnets[1].egress?'),
    ('complex.yaml', 'config', 'spec.etcdClusters.0.etcdMembers.0.instancegroup', 'x',
     'spec.etcdClusters[0].etcdMembers[0].instancegroup',
     'unknown field; did you mean spec.etcdClusters[0].etcdMembers[0].instanceGroup?'),
    ('minimal-aws.yaml', 'nodes', 'spec.maxsize', 5, 'spec.maxsize', 'unknown field; did you mean spec.maxSize?'),
    ('minimal-aws.yaml', 'config', 'metadata.label', {'a': 'b'}, 'metadata.label',
     'unknown field; did you mean metadata.labels?'),
    ('minimal-aws.yaml', 'config', 'status', {}, 'status', 'unknown field'),
    ('minimal-aws.yaml', 'config', 'spec.zzz', 1, 'spec.zzz', 'unknown field'),
    ('minimal-aws.yaml', 'config', 'spec.api', {'dns': {'x': 1}}, 'spec.api.dns.x',
     'unknown field (spec.api.dns takes no fields)'),
    # types
    ('minimal-aws.yaml', 'nodes', 'spec.minSize', 'three', 'spec.minSize',
     'expected an integer (int32), got the string "three"'),
    ('minimal-aws.yaml', 'nodes', 'spec.maxSize', 2 ** 31, 'spec.maxSize', '2147483648 is out of the int32 range'),
    ('minimal-aws.yaml', 'nodes', 'spec.machineType', 5, 'spec.machineType', 'expected a string, got the number 5'),
    ('minimal-aws.yaml', 'nodes', 'spec.associatePublicIp', 'yes', 'spec.associatePublicIp',
     'expected true or false, got the string "yes"'),
    ('minimal-aws.yaml', 'nodes', 'spec.subnets', 'us-test-1a', 'spec.subnets',
     'expected a list, got the string "us-test-1a"'),
    ('complex.yaml', 'config', 'spec.cloudLabels', ['Owner'], 'spec.cloudLabels', 'expected a mapping, got a list'),
    ('complex.yaml', 'config', 'spec.cloudLabels.Owner', 7, 'spec.cloudLabels[Owner]',
     'expected a string, got the number 7'),
    ('complex.yaml', 'config', 'spec.kubeAPIServer.cpuRequest', 'lots', 'spec.kubeAPIServer.cpuRequest',
     '"lots" does not match the pattern ^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|'
     '([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$'),
    ('complex.yaml', 'config', 'spec.kubeAPIServer.cpuRequest', True, 'spec.kubeAPIServer.cpuRequest',
     'expected an integer or a string, got the boolean true'),
    ('minimal-aws.yaml', 'config', 'spec.rollingUpdate', {'maxSurge': 1.5}, 'spec.rollingUpdate.maxSurge',
     'expected an integer or a string, got the number 1.5'),
    # allowed values
    ('minimal-aws.yaml', 'nodes', 'spec.role', 'Worker', 'spec.role',
     '"Worker" is not one of Master, ControlPlane, APIServer, Node, Bastion'),
    ('minimal-aws.yaml', 'config', 'spec.subnets.0.type', 'public', 'spec.subnets[0].type',
     '"public" is not one of Public, Private, DualStack, Utility'),
    ('minimal-aws.yaml', 'config', 'spec.cloudProvider', 'AWS', 'spec.cloudProvider',
     '"AWS" is not one of aws, azure, digitalocean, gce, hetzner, linode, openstack, scaleway'),
    # required fields
    ('complex.yaml', 'config', 'spec.kubeAPIServer.env', [{'value': 'x'}], 'spec.kubeAPIServer.env[0].name',
     'required field is missing'),
    ('minimal-aws.yaml', 'nodes', 'spec.role', DELETE, 'spec.role',
     'required field is missing: kOps needs the role of every instance group'),
    # kOps's rules
    ('minimal-aws.yaml', 'nodes', 'spec.minSize', 3, 'spec.minSize', 'minSize 3 is greater than maxSize 2'),
    ('minimal-aws.yaml', 'nodes', 'spec.subnets', ['us-test-1a', 'us-test-1b'], 'spec.subnets[1]',
     'subnet "us-test-1b" is not in the cluster\'s spec.subnets (us-test-1a)'),
    ('minimal-aws.yaml', 'config', 'spec.networkCIDR', '172.20.0.0/33', 'spec.networkCIDR',
     '"172.20.0.0/33" is not a CIDR'),
    ('minimal-aws.yaml', 'config', 'spec.networkCIDR', '172.20.0.1/16', 'spec.networkCIDR',
     '"172.20.0.1/16" has bits set after the prefix (did you mean 172.20.0.0/16?)'),
    ('minimal-aws.yaml', 'config', 'spec.nonMasqueradeCIDR', '100.64.0.0/255.192.0.0', 'spec.nonMasqueradeCIDR',
     '"100.64.0.0/255.192.0.0" is not a CIDR'),
    ('minimal-aws.yaml', 'config', 'spec.subnets.0.cidr', '172.21.32.0/19', 'spec.subnets[0].cidr',
     'subnet "172.21.32.0/19" is not inside spec.networkCIDR "172.20.0.0/16"'),
    ('minimal-aws.yaml', 'config', 'spec.subnets.0.cidr', '172.20.32.0', 'spec.subnets[0].cidr',
     '"172.20.32.0" is not a CIDR (did you mean 172.20.32.0/32?)'),
    ('minimal-aws.yaml', 'config', 'spec.sshAccess', ['0.0.0.0/0', '010.0.0.0/8'], 'spec.sshAccess[1]',
     '"010.0.0.0/8" is not a CIDR'),
    ('minimal-aws.yaml', 'config', 'spec.kubernetesApiAccess', ['fe80::1%eth0/64'], 'spec.kubernetesApiAccess[0]',
     '"fe80::1%eth0/64" is not a CIDR'),
    ('minimal-aws.yaml', 'config', 'spec.kubernetesVersion', 'latest', 'spec.kubernetesVersion',
     '"latest" is not a semantic version (like 1.31.4 or v1.31.4)'),
    ('minimal-aws.yaml', 'config', 'spec.kubernetesVersion', '1.31.4.1', 'spec.kubernetesVersion',
     '"1.31.4.1" is not a semantic version (like 1.31.4 or v1.31.4)'),
    ('minimal-aws.yaml', 'config', 'spec.kubernetesVersion', '1.31-rc.1', 'spec.kubernetesVersion',
     '"1.31-rc.1" is not a semantic version (like 1.31.4 or v1.31.4)'),
]


def _findings(cluster, groups):
    """(document, path, message) of every finding; documents named 'config' and by group name."""
    return [(finding.entry, finding.path, finding.message) for finding in v.cluster_findings('config', cluster, groups)]


@pytest.mark.parametrize('name, document, field, value, path, message', MUTATIONS,
                         ids=['%s-%s-%s' % (m[1], m[2], i) for i, m in enumerate(MUTATIONS)])
def test_one_mutation_gives_one_finding_at_its_path(name, document, field, value, path, message):
    cluster, groups = fixture(name)
    for stale, _message in STALE_FIELDS.get(name, ()):
        del cluster['spec'][stale.split('.')[1]]
    assert _findings(cluster, groups) == []
    _set(cluster if document == 'config' else groups[document], field, value)
    assert _findings(cluster, groups) == [(document, path, message)]


@pytest.mark.parametrize('field, value', [
    ('spec.kubernetesVersion', '1.31'),
    ('spec.kubernetesVersion', '1'),
    ('spec.kubernetesVersion', 'v1.32.0-beta.1+build.5'),
    ('spec.kubernetesVersion', ' 1.31.4 '),
    ('spec.kubernetesVersion', 'https://storage.googleapis.com/k8s-release-dev/ci/v1.33.0-alpha.1.123+abc/'),
    ('spec.sshAccess', ['pl-66666666', '2001:db8::/32', '0.0.0.0/0']),
    ('spec.kubeAPIServer', {'cpuRequest': 2, 'cpuLimit': 0.5, 'memoryRequest': '1.5Gi',
                            'auditWebhookBatchThrottleQps': '1e3'}),
    ('spec.rollingUpdate', {'maxSurge': '25%', 'maxUnavailable': 1}),
    ('spec.iam', {'allowContainerRegistry': True}),  # iam.legacy is required in the CRD; kOps reads it as false
    ('spec.sshKeyName', None),  # null: not set, as kOps reads it
    ('metadata.creationTimestamp', None),
    ('metadata.annotations', {'kops.k8s.io/note': 'x'}),
    ('spec.additionalNetworkCIDRs', ['10.1.0.0/16']),
    ('spec.subnets.0.cidr', '10.1.32.0/19'),  # inside an additional network CIDR
], ids=lambda value: value if isinstance(value, str) and value.startswith('spec') else None)
def test_what_kops_accepts_gives_no_finding(field, value):
    cluster, groups = fixture('minimal-aws.yaml')
    if field.startswith('spec.subnets'):
        cluster['spec']['additionalNetworkCIDRs'] = ['10.1.0.0/16']
    _set(cluster, field, value)
    assert _findings(cluster, groups) == []


def test_every_finding_is_reported_and_the_summary_is_bounded():
    cluster, groups = fixture('minimal-aws.yaml')
    for number in range(25):
        cluster['spec']['typo%02d' % number] = number
    groups['nodes']['spec']['minSize'] = 'three'
    found = [v.Finding(entry, path, message) for entry, path, message in _findings(cluster, groups)]
    assert len(found) == 26
    line = v.summary(found)
    assert line.count('unknown field') == 20 and line.endswith('; and 6 more') and '\n' not in line
    assert v.summary(found[:2]) == 'config: spec.typo00: unknown field; config: spec.typo01: unknown field'


def test_messages_stay_on_one_line_whatever_the_keys_and_values():
    cluster, groups = fixture('minimal-aws.yaml')
    cluster['spec']['bad\nkey'] = 1
    cluster['spec']['cloudLabels'] = {'multi\nline': ['x']}
    cluster['spec']['kubernetesVersion'] = 'one\ntwo' * 20
    found = _findings(cluster, groups)
    assert [(path, message.split(',')[0][:25]) for _doc, path, message in found] == [
        ('spec["bad\\nkey"]', 'unknown field'),
        ('spec.cloudLabels["multi\\nline"]', 'expected a string'),
        ('spec.kubernetesVersion', '"one\\ntwoone\\ntwoone\\ntwo'),
    ]
    assert not any('\n' in path + message for _doc, path, message in found)
    assert found[2][2].endswith('..." is not a semantic version (like 1.31.4 or v1.31.4)')


def test_rules_skip_values_the_schema_already_refuses():
    cluster, groups = fixture('minimal-aws.yaml')
    cluster['spec']['subnets'] = 'us-test-1a'
    cluster['spec']['networkCIDR'] = 10
    groups['nodes']['spec'].update(minSize='3', subnets=[1])
    # one finding each, from the schema: the rules (CIDR, subnets of the groups, minSize <= maxSize) stay quiet
    assert [(doc, path) for doc, path, _message in _findings(cluster, groups)] == [
        ('config', 'spec.networkCIDR'), ('config', 'spec.subnets'),
        ('nodes', 'spec.minSize'), ('nodes', 'spec.subnets[0]')]


def test_documents_that_are_not_mappings_are_findings_not_crashes():
    assert v.document_findings([], 'Cluster') == [('', 'expected a mapping, got a list')]
    assert v.document_findings({'spec': 'x'}, 'InstanceGroup') == [('spec', 'expected a mapping, got the string "x"')]
    assert v.document_findings({1: {2: 3}}, 'Cluster') == [('[1]', 'unknown field')]


def test_cluster_findings_name_the_entries_and_check_groups_against_the_cluster():
    cluster, groups = fixture('minimal-aws.yaml')
    groups['nodes']['spec']['subnets'] = ['elsewhere']
    entries = dict(('c/instancegroup/%s' % name, document) for name, document in groups.items())
    found = v.cluster_findings('c/config', cluster, entries)
    assert [finding.as_dict() for finding in found] == [
        {'entry': 'c/instancegroup/nodes', 'path': 'spec.subnets[0]', 'introduced': True,
         'message': 'subnet "elsewhere" is not in the cluster\'s spec.subnets (us-test-1a)'}]
    assert str(found[0]).startswith('c/instancegroup/nodes: spec.subnets[0]: subnet "elsewhere"')
    # without its cluster a group's subnets cannot be checked
    assert v.cluster_findings('c/config', None, entries) == []


# -- the generated schema module ----------------------------------------------------------------

def test_the_schema_module_is_structure_only_and_self_contained():
    nodes = json.loads(kops_schema.NODES)
    keys = set(key for node in nodes for key in node)
    assert keys <= {'t', 'p', 'r', 'v', 'i', 'f', 're', 'e'}
    assert 'defines the configuration for a cluster' not in kops_schema.NODES  # kOps's words stay out
    with open(kops_schema.__file__) as handle:
        source = handle.read()
    assert [line for line in source.splitlines() if line.startswith(('import', 'from'))] == [
        'from __future__ import absolute_import, division, print_function']  # reads no file, needs no package
    assert sorted(kops_schema.ROOTS) == ['Cluster', 'InstanceGroup']
    assert v.KOPS_VERSION == kops_schema.KOPS_VERSION == '1.37.0-alpha.1'
    assert len(source) < 40000


@pytest.mark.skipif(not os.path.isdir(REFERENCE), reason='the CRDs of ../shared/reference/kops-api are not here')
def test_the_schema_module_is_what_the_crds_give(tmp_path):
    checked = subprocess.run([sys.executable, GENERATOR, '--check', REFERENCE], capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # a CRD that changed is noticed
    changed = tmp_path / 'crds'
    changed.mkdir()
    for name in os.listdir(REFERENCE):
        with open(os.path.join(REFERENCE, name)) as source:
            text = source.read()
        if name == 'kops.k8s.io_instancegroups.yaml':
            text = text.replace('                maxSize:\n', '                maxSizes:\n', 1)
            assert 'maxSizes' in text
        (changed / name).write_text(text)
    checked = subprocess.run([sys.executable, GENERATOR, '--check', str(changed)], capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 1 and 'differs from the CRDs' in checked.stdout


def test_the_generator_check_is_skipped_without_the_reference(tmp_path):
    checked = subprocess.run([sys.executable, GENERATOR, '--check', str(tmp_path / 'missing')], capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0 and 'nothing to compare with' in checked.stdout


def test_generated_enums_and_required_fields_come_from_kops():
    nodes = json.loads(kops_schema.NODES)
    group_spec = nodes[nodes[kops_schema.ROOTS['InstanceGroup']]['p']['spec']]
    assert nodes[group_spec['p']['role']]['e'] == ['Master', 'ControlPlane', 'APIServer', 'Node', 'Bastion']
    cluster_spec = nodes[nodes[kops_schema.ROOTS['Cluster']]['p']['spec']]
    assert 'r' not in nodes[cluster_spec['p']['iam']]  # the one required field there is a boolean

"""Validation on the way into the store: every write of update_cluster (merge, create, replace, short-cuts) is
checked against kOps's schema and rules first; strict refuses what the task would introduce and writes nothing
(check mode too), warn writes and returns the findings, none skips; findings already stored do not block other
changes. Properties: documents valid by the schema give no finding, and merging valid patches into the real kOps
documents gives a valid result or a refusal naming the finding, never another error. On real file:// and memfs://
stores."""

import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.kops.state_store.plugins.module_utils.kops import (
    cluster as cl,
    schema as kops_schema,
    validation as v,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import load_documents
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from support.kops_fixtures import FIXTURES, store_entries, write_fixture

_names = itertools.count()
MINIMAL = [path for path in FIXTURES if path.endswith('minimal-aws.yaml')][0]
NAME = 'minimal-aws.example.com'
PROPERTY = settings(max_examples=int(os.environ.get('VALIDATION_EXAMPLES', '150')), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def memfs():
    return open_store('memfs://validation-%d' % next(_names))


@pytest.fixture
def store(tmp_path):
    return open_store('file://%s' % tmp_path)


@pytest.fixture
def laid_out(store):
    """minimal-aws.yaml as kOps stores it; returns the store, its entries before the test."""
    write_fixture(store, MINIMAL)
    return store, store_entries(store)


def refused(store, request, match, check_mode=False):
    """Assert the request is refused naming ``match``, and return the message."""
    with pytest.raises(cl.ClusterError, match='refusing to write cluster') as error:
        cl.update_cluster(store, request, check_mode=check_mode)
    assert match in str(error.value) and 'Nothing was written' in str(error.value)
    return str(error.value)


# -- strict: refused, nothing written -----------------------------------------------------------

@pytest.mark.parametrize('request_options, match', [
    (dict(spec={'kubernetesVerison': '1.31.4'}),
     'config: spec.kubernetesVerison: unknown field; did you mean spec.kubernetesVersion?'),
    (dict(groups=[{'name': 'nodes', 'spec': {'maxsize': 5}}]),
     'instancegroup/nodes: spec.maxsize: unknown field; did you mean spec.maxSize?'),
    (dict(spec={'kubelet': {'maxPods': '150'}}), 'spec.kubelet.maxPods: expected an integer (int32)'),
    (dict(groups=[{'name': 'nodes', 'spec': {'minSize': 'three'}}]), 'spec.minSize: expected an integer'),
    (dict(groups=[{'name': 'workers', 'spec': {'role': 'Worker'}}]), 'instancegroup/workers: spec.role: "Worker"'),
    (dict(groups=[{'name': 'nodes', 'spec': {'minSize': 5}}]), 'minSize 5 is greater than maxSize 2'),
    (dict(groups=[{'name': 'nodes', 'spec': {'subnets': ['us-test-1b']}}]), 'subnet "us-test-1b" is not in'),
    (dict(spec={'subnets': [{'name': 'us-test-1b', 'type': 'Public', 'zone': 'us-test-1b'}]}),
     'instancegroup/nodes: spec.subnets[0]: subnet "us-test-1a"'),  # a change of the config breaks a group
    (dict(zones=['us-test-1b'], spec={'subnets': None}),
     'subnet "us-test-1a" is not in the cluster\'s spec.subnets (us-test-1b)'),
    (dict(network_cidr='172.20.0.0/33'), 'spec.networkCIDR: "172.20.0.0/33" is not a CIDR'),
    (dict(network_cidr='10.0.0.0/16'), 'spec.subnets[0].cidr: subnet "172.20.32.0/19" is not inside'),
    (dict(kubernetes_version='1.31.x'), 'spec.kubernetesVersion: "1.31.x" is not a semantic version'),
], ids=lambda value: None)
def test_strict_refuses_what_kops_would_refuse_and_writes_nothing(laid_out, request_options, match):
    store, before = laid_out
    request = cl.ClusterRequest(NAME, **request_options)
    refused(store, request, match, check_mode=True)
    refused(store, request, match)
    assert store_entries(store) == before


def test_short_cuts_with_a_valid_result_are_written(laid_out):
    store, _before = laid_out
    # the group's maxSize 1 and the short-cut's count 3 would disagree; the short-cut sets both
    request = cl.ClusterRequest(NAME, node_count=3, groups=[{'name': 'nodes', 'spec': {'maxSize': 1}}],
                                zones=['us-test-1b'], kubernetes_version='v1.32.1', network_cidr='172.20.0.0/16')
    plan = cl.update_cluster(store, request)
    assert plan.changed and plan.findings == []
    assert cl.read_cluster(store, NAME).groups['nodes'][0]['spec']['minSize'] == 3


def test_every_finding_is_listed_not_only_the_first(laid_out):
    store, before = laid_out
    request = cl.ClusterRequest(NAME, spec={'kubernetesVerison': '1.31.4', 'networkCIDR': 'ten'},
                                groups=[{'name': 'nodes', 'spec': {'maxsize': 5, 'role': 'Worker'}}])
    message = refused(store, request, '4 findings')
    assert message.count('%s/' % NAME) == 4 and '\n' not in message
    assert store_entries(store) == before


def test_a_new_cluster_with_a_finding_is_not_created():
    store = memfs()
    request = cl.ClusterRequest('c1', spec={'cloudProvider': 'aws', 'subnets': [{'name': 'a', 'type': 'Public'}]},
                                groups=[{'name': 'nodes', 'spec': {'role': 'Node', 'subnets': ['b']}}])
    refused(store, request,
            'c1/instancegroup/nodes: spec.subnets[0]: subnet "b" is not in the cluster\'s spec.subnets (a)')
    assert store.list('', recursive=True) == []
    request.groups[0]['spec']['subnets'] = ['a']
    plan = cl.update_cluster(store, request)
    assert plan.changed and plan.findings == []


def test_a_replacement_with_a_finding_is_refused(laid_out):
    store, before = laid_out
    with open(MINIMAL) as handle:
        documents = load_documents(handle.read(), MINIMAL)
    nodes = [document for document in documents if document['metadata']['name'] == 'nodes'][0]
    nodes['spec']['rootVolumeSize'] = '48Gi'  # an integer in kOps
    refused(store, cl.ClusterRequest(NAME, replacement=documents),
            'instancegroup/nodes: spec.rootVolumeSize: expected an integer (int32), got the string "48Gi"')
    assert store_entries(store) == before
    del nodes['spec']['rootVolumeSize']
    assert not cl.update_cluster(store, cl.ClusterRequest(NAME, replacement=documents)).changed


# -- warn and none ----------------------------------------------------------------------------

def test_warn_writes_and_returns_the_findings(laid_out):
    store, before = laid_out
    request = cl.ClusterRequest(NAME, groups=[{'name': 'nodes', 'spec': {'maxsize': 5}}])
    check = cl.update_cluster(store, request, check_mode=True, validate='warn')
    assert store_entries(store) == before
    plan = cl.update_cluster(store, request, validate='warn')
    assert [finding.as_dict() for finding in plan.findings] == [finding.as_dict() for finding in check.findings] == [
        {'entry': NAME + '/instancegroup/nodes', 'path': 'spec.maxsize', 'introduced': True,
         'message': 'unknown field; did you mean spec.maxSize?'}]
    assert cl.read_cluster(store, NAME).groups['nodes'][0]['spec']['maxsize'] == 5


def test_none_skips_validation(laid_out):
    store, _before = laid_out
    plan = cl.update_cluster(store, cl.ClusterRequest(NAME, spec={'kubernetesVerison': 1}), validate='none')
    assert plan.changed and plan.findings == []
    assert cl.read_cluster(store, NAME).cluster['spec']['kubernetesVerison'] == 1


def test_an_unknown_mode_is_refused(laid_out):
    store, before = laid_out
    with pytest.raises(cl.ClusterError, match="validate must be one of strict, warn, none, not 'Strict'"):
        cl.update_cluster(store, cl.ClusterRequest(NAME, spec={'sshKeyName': 'k'}), validate='Strict')
    assert store_entries(store) == before


# -- findings already in the store ----------------------------------------------------------------

@pytest.fixture
def stored_with_findings(laid_out):
    """minimal-aws.yaml written by an older tool: an unknown field in the config, minSize > maxSize in nodes."""
    store, _before = laid_out
    cl.update_cluster(store, cl.ClusterRequest(NAME, spec={'oldField': 'x'},
                                               groups=[{'name': 'nodes', 'spec': {'minSize': 3}}]), validate='none')
    return store


def test_stored_findings_do_not_block_an_unrelated_change(stored_with_findings):
    store = stored_with_findings
    plan = cl.update_cluster(store, cl.ClusterRequest(NAME, spec={'configBase': 's3://new-store/' + NAME}))
    assert plan.changed and cl.read_cluster(store, NAME).cluster['spec']['configBase'] == 's3://new-store/' + NAME
    assert [(f.entry, f.path, f.introduced) for f in plan.findings] == [
        (NAME + '/config', 'spec.oldField', False), (NAME + '/instancegroup/nodes', 'spec.minSize', False)]
    # nothing to do: no write, the same findings
    again = cl.update_cluster(store, cl.ClusterRequest(NAME, spec={'configBase': 's3://new-store/' + NAME}))
    assert not again.changed and [f.key for f in again.findings] == [f.key for f in plan.findings]


def test_a_new_finding_next_to_stored_ones_is_refused_alone(stored_with_findings):
    store = stored_with_findings
    before = store_entries(store)
    message = refused(store, cl.ClusterRequest(NAME, spec={'kubernetesVerison': '1.31.4'}), '1 finding against')
    assert 'kubernetesVerison' in message and 'oldField' not in message
    # touching a stored finding without fixing it is a new finding: its message changes
    message = refused(store, cl.ClusterRequest(NAME, groups=[{'name': 'nodes', 'spec': {'minSize': 4}}]),
                      'minSize 4 is greater than maxSize 2')
    assert store_entries(store) == before


def test_fixing_a_stored_finding_clears_it(stored_with_findings):
    store = stored_with_findings
    plan = cl.update_cluster(store, cl.ClusterRequest(NAME, spec={'oldField': None},
                                                      groups=[{'name': 'nodes', 'spec': {'minSize': 2}}]))
    assert plan.changed and plan.findings == []


# -- properties -------------------------------------------------------------------------------

NODES = v._schema()
VERSIONS = st.sampled_from(['1.31.4', 'v1.32.0', '1.30', 'v1.33.0-alpha.1', '1.29.1+build.1'])
QUANTITIES = st.one_of(st.integers(-10 ** 6, 10 ** 6), st.floats(-1e6, 1e6),
                       st.sampled_from(['100m', '1.5Gi', '2', '0.5', '1e3', '+1', '64Mi']))
# a network and CIDRs inside it, so the generated subnets agree with the generated networkCIDR
NETWORK = '10.0.0.0/8'
CIDRS = st.integers(0, 255).map(lambda number: '10.%d.0.0/16' % number)
OVERRIDES = {
    'spec.kubernetesVersion': VERSIONS,
    'spec.networkCIDR': st.just(NETWORK),
    'spec.additionalNetworkCIDRs': st.lists(st.just(NETWORK), max_size=1),
    'spec.subnets[].cidr': CIDRS,
    'spec.nonMasqueradeCIDR': st.just('100.64.0.0/10'),
    'spec.podCIDR': st.just('100.96.0.0/11'),
    'spec.serviceClusterIPRange': st.just('100.64.0.0/13'),
    'spec.sshAccess': st.lists(st.one_of(CIDRS, st.just('pl-1234')), max_size=2),
    'spec.kubernetesApiAccess': st.lists(CIDRS, max_size=2),
    'spec.nodePortAccess': st.lists(CIDRS, max_size=2),
}
TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2fff), max_size=8)
_strategies = {}


def valid(index, path='', depth=0):
    """Values the schema node ``index`` accepts (at most a few fields per mapping, nesting bounded)."""
    key = (index, path, min(depth, 3))
    if key not in _strategies:
        _strategies[key] = _valid(NODES[index], path, depth)
    return _strategies[key]


def _valid(node, path, depth):
    if path in OVERRIDES:
        return OVERRIDES[path]
    kind = node['t']
    if 'e' in node:
        return st.sampled_from(node['e'])
    if kind == 'object':
        required = dict((name, valid(child, _join(path, name), depth + 1))
                        for name, child in node.get('p', {}).items() if name in node.get('r', ()))
        optional = sorted(set(node.get('p', {})) - set(required)) if depth < 3 else []
        chosen = st.sets(st.sampled_from(optional), max_size=3) if optional else st.just(())
        return chosen.flatmap(
            lambda names: st.fixed_dictionaries(dict(
                required, **dict((name, valid(node['p'][name], _join(path, name), depth + 1)) for name in names))))
    if kind == 'map':
        return st.dictionaries(TEXT, valid(node['v'], path + '{}', depth + 1), max_size=2)
    if kind == 'array':
        return st.lists(valid(node['i'], path + '[]', depth + 1), max_size=2 if depth < 3 else 0)
    if kind == 'string':
        return TEXT
    if kind == 'boolean':
        return st.booleans()
    if kind == 'integer':
        return st.integers(0, 2 ** 31 - 1) if node.get('f') == 'int32' else st.integers(-2 ** 63, 2 ** 63 - 1)
    if kind == 'number':
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == 'int-or-string':
        return QUANTITIES if 're' in node else st.one_of(st.integers(0, 100), st.sampled_from(['25%', '1']))
    return st.dictionaries(TEXT, TEXT, max_size=2)  # any


def _join(path, name):
    return '%s.%s' % (path, name) if path else name


def _in_order(spec):
    """kOps's minSize <= maxSize, kept by a valid instance group."""
    if 'minSize' in spec and 'maxSize' in spec:
        spec['minSize'], spec['maxSize'] = sorted((spec['minSize'], spec['maxSize']))
    return spec


CLUSTER_SPECS = valid(NODES[kops_schema.ROOTS['Cluster']]['p']['spec'], 'spec')
GROUP_SPECS = valid(NODES[kops_schema.ROOTS['InstanceGroup']]['p']['spec'], 'spec').map(_in_order)


@PROPERTY
@given(CLUSTER_SPECS, GROUP_SPECS)
def test_documents_valid_by_the_schema_give_no_finding(cluster_spec, group_spec):
    cluster = {'apiVersion': cl.API_VERSION, 'kind': 'Cluster', 'metadata': {'name': 'c1'}, 'spec': cluster_spec}
    group = {'apiVersion': cl.API_VERSION, 'kind': 'InstanceGroup', 'metadata': {'name': 'g'},
             'spec': dict(group_spec, role=group_spec.get('role') or 'Node')}
    assert v.document_findings(cluster, 'Cluster') == []
    assert v.document_findings(group, 'InstanceGroup') == []


OUTCOMES = {'written': 0, 'refused': 0}


@PROPERTY
@given(st.sampled_from(FIXTURES), CLUSTER_SPECS, st.lists(st.tuples(st.sampled_from(['nodes', 'new']), GROUP_SPECS),
                                                          max_size=2), st.booleans())
def test_merging_valid_patches_gives_a_valid_result_or_a_refusal(fixture, spec, groups, by_name):
    store = memfs()
    name, _written = write_fixture(store, fixture)
    before = store_entries(store)
    stored = cl.read_cluster(store, name)
    existing = set(finding.key for finding in cl.documents_findings(
        name, stored.cluster, dict((group, document) for group, (document, _version) in stored.groups.items())))
    # the new group gets the role kOps needs; 'nodes' has one
    groups = [{'name': group, 'spec': dict(group_spec, role=group_spec.get('role') or 'Node')
               if group == 'new' else group_spec} for group, group_spec in dict(groups).items()]
    request = cl.ClusterRequest(name, spec=spec, by_name=by_name, groups=groups)
    try:
        plan = cl.update_cluster(store, request)
    except cl.ClusterError as error:  # a finding, or a store rule (configBase, secretStore and keyStore)
        assert str(error) and '\n' not in str(error)
        assert store_entries(store) == before
        OUTCOMES['refused'] += 1
        return
    OUTCOMES['written'] += 1
    after = cl.read_cluster(store, name)
    assert after.cluster == plan.cluster
    found = cl.documents_findings(name, after.cluster, dict((g, d) for g, (d, _v) in after.groups.items()))
    assert set(finding.key for finding in found) <= existing


def test_the_merge_property_saw_both_outcomes():
    """The property above is not vacuous: some merges were written, some refused with a finding."""
    if not OUTCOMES['written'] + OUTCOMES['refused']:
        pytest.skip('run with test_merging_valid_patches_gives_a_valid_result_or_a_refusal')
    assert OUTCOMES['written'] > 0 and OUTCOMES['refused'] > 0


FIELD_NAMES = st.sampled_from(['minSize', 'maxSize', 'role', 'subnets', 'kubelet', 'networkCIDR', 'cidr', 'name',
                               'kubernetesVersion', 'cloudLabels', 'etcdClusters', 'rollingUpdate', 'maxSurge',
                               'cpuRequest', 'type', 'env']) | TEXT
ANY_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FIELD_NAMES, inner, max_size=3),
                         max_leaves=12)


@PROPERTY
@given(st.dictionaries(FIELD_NAMES, ANY_VALUE, max_size=4), st.dictionaries(FIELD_NAMES, ANY_VALUE, max_size=4),
       st.sampled_from(['strict', 'warn']))
def test_any_patch_gives_a_result_or_a_clear_refusal(spec, group_spec, validate):
    store = memfs()
    name, _written = write_fixture(store, MINIMAL)
    try:
        request = cl.ClusterRequest(name, spec=spec, groups=[{'name': 'nodes', 'spec': group_spec}])
        plan = cl.update_cluster(store, request, validate=validate)
    except cl.ClusterError as error:
        assert str(error) and '\n' not in str(error)
        return
    assert all(len(str(finding)) < 400 for finding in plan.findings)

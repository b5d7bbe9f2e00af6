"""Cluster documents: merge rules, validation, kOps bookkeeping, short-cuts and lost-update safety,
on real file:// and memfs:// stores with the real kOps fixtures."""

import itertools
import json
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import load_documents
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.cluster_races import hammer
from support.kops_fixtures import FIXTURES, fixture_documents, store_entries, write_fixture

_names = itertools.count()


@pytest.fixture
def file_store(tmp_path):
    return open_store('file://%s' % tmp_path)


@pytest.fixture
def memfs_store():
    return open_store('memfs://cluster-test-%d' % next(_names))


# -- merge rules ------------------------------------------------------------------------------

def test_maps_merge_scalars_and_lists_replace():
    base = {'a': {'x': 1, 'y': [1, 2]}, 'b': 'old', 'c': [{'name': 'n1', 'v': 1}]}
    patch = {'a': {'y': [3], 'z': True}, 'b': 'new', 'c': [{'name': 'n2'}]}
    assert cl.merge(base, patch) == {'a': {'x': 1, 'y': [3], 'z': True}, 'b': 'new', 'c': [{'name': 'n2'}]}
    assert base == {'a': {'x': 1, 'y': [1, 2]}, 'b': 'old', 'c': [{'name': 'n1', 'v': 1}]}


def test_null_removes_a_key_and_never_lands_in_new_maps():
    base = {'keep': 1, 'drop': {'deep': 1}, 'm': {'a': 1, 'b': 2}}
    merged = cl.merge(base, {'drop': None, 'm': {'a': None}, 'missing': None, 'new': {'x': None, 'y': 1}})
    assert merged == {'keep': 1, 'm': {'b': 2}, 'new': {'y': 1}}


def test_key_order_is_kept_and_new_keys_go_last():
    merged = cl.merge({'c': 1, 'a': 2, 'b': 3}, {'d': 4, 'a': 5})
    assert list(merged) == ['c', 'a', 'b', 'd']


def test_a_scalar_replaces_a_map_and_a_map_replaces_a_scalar():
    assert cl.merge({'a': {'x': 1}}, {'a': 'flat'}) == {'a': 'flat'}
    assert cl.merge({'a': 'flat'}, {'a': {'x': 1}}) == {'a': {'x': 1}}


def test_named_lists_merge_by_name_recursively():
    base = {'etcdClusters': [
        {'name': 'main', 'etcdMembers': [{'name': 'a', 'instanceGroup': 'm-a'}]},
        {'name': 'events', 'etcdMembers': [{'name': 'a', 'instanceGroup': 'm-a'}]},
    ]}
    members = [{'name': 'a', 'encryptedVolume': True}, {'name': 'b', 'instanceGroup': 'm-b'}]
    patch = {'etcdClusters': [{'name': 'main', 'etcdMembers': members}, {'name': 'cilium', 'etcdMembers': []}]}
    merged = cl.merge(base, patch, by_name=True)
    assert merged['etcdClusters'] == [
        {'name': 'main', 'etcdMembers': [{'name': 'a', 'instanceGroup': 'm-a', 'encryptedVolume': True},
                                         {'name': 'b', 'instanceGroup': 'm-b'}]},
        {'name': 'events', 'etcdMembers': [{'name': 'a', 'instanceGroup': 'm-a'}]},
        {'name': 'cilium', 'etcdMembers': []},
    ]


def test_by_name_refuses_a_list_naming_an_item_twice():
    with pytest.raises(cl.ClusterError, match='names an item twice'):
        cl.merge({}, {'subnets': [{'name': 'a'}, {'name': 'a', 'cidr': 'x'}]}, by_name=True)


def test_by_name_replaces_a_list_whose_names_are_not_scalars():
    base = {'subnets': [{'name': 'a', 'cidr': '10.0.0.0/24'}]}
    patch = {'subnets': [{'name': ['a'], 'cidr': 'x'}, {'name': {'b': 1}}]}
    assert cl.merge(base, patch, by_name=True) == patch
    assert cl.merge(patch, base, by_name=True) == base


def test_by_name_still_replaces_lists_of_plain_values():
    assert cl.merge({'sshAccess': ['0.0.0.0/0']}, {'sshAccess': ['1.2.3.4/32']}, by_name=True) == \
        {'sshAccess': ['1.2.3.4/32']}


_keys = st.sampled_from(['a', 'b', 'c', 'name'])
_scalars = st.one_of(st.integers(0, 3), st.sampled_from(['x', 'y', '0', True]))
_named_items = st.lists(st.fixed_dictionaries({'name': st.sampled_from(['n1', 'n2', 'n3'])},
                                              optional={'v': _scalars | st.none(), 'w': _scalars}),
                        max_size=3, unique_by=lambda item: item['name'])
_values = st.recursive(st.one_of(_scalars, _named_items, st.lists(_scalars, max_size=2)),
                       lambda children: st.dictionaries(_keys, children, max_size=3), max_leaves=8)
_patches = st.recursive(st.one_of(_scalars, st.none(), _named_items),
                        lambda children: st.dictionaries(_keys, children, max_size=3), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(base=st.dictionaries(_keys, _values, max_size=4), patch=st.dictionaries(_keys, _patches, max_size=4),
       by_name=st.booleans())
def test_merging_twice_changes_nothing_more(base, patch, by_name):
    """What a retry after a conflict relies on: re-applying a request to its own result is a no-op."""
    once = cl.merge(base, patch, by_name)
    assert cl.merge(once, patch, by_name) == once
    for key, value in base.items():  # keys the patch does not name are kept as they were
        if key not in patch:
            assert once[key] == value


# -- YAML and validation ----------------------------------------------------------------------

@pytest.mark.parametrize('fixture', FIXTURES, ids=os.path.basename)
def test_fixtures_round_trip_with_types_and_key_order(fixture):
    for document in fixture_documents(fixture):
        again = load_documents(cl.dump_document(document), 'dumped')[0]
        assert again == document
        assert json.dumps(again) == json.dumps(document)  # same key order everywhere
        assert isinstance(document['metadata']['creationTimestamp'], str)


def test_quoted_numbers_stay_strings():
    document = fixture_documents([f for f in FIXTURES if f.endswith('minimal-aws.yaml')][0])[2]
    assert document['spec']['maxInstanceLifetime'] == '0'
    assert "maxInstanceLifetime: '0'" in cl.dump_document(document)


@pytest.mark.parametrize('value', ['a\x85b', 'line1\nline2\x85', '\x85', 'a\u2028b\u2029', 'a\r\nb'])
def test_yaml_line_breaks_other_than_newline_survive_a_write(value):
    """NEL (U+0085) is a YAML line break PyYAML writes as it is: it read back as a space or a newline."""
    document = {'spec': {'cloudLabels': {value: value}}}
    assert load_documents(cl.dump_document(document), 'written')[0] == document


@pytest.mark.parametrize('text, message', [
    ('apiVersion: [', 'is not valid YAML'),
    ('- a', 'is not a YAML mapping'),
    ('apiVersion: kops.k8s.io/v1alpha3\nkind: Cluster\nmetadata: {name: c1}\n', 'apiVersion'),
    ('apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata: {name: c1}\n', 'kind'),
    ('apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata: {name: other}\n', 'metadata.name'),
    ('apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata: {name: c1}\nspec: [1]\n', 'spec'),
    ('--- 1\n--- 2\n', 'YAML documents'),
    ('apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata: {name: c1, labels: [a]}\n', 'labels'),
])
def test_an_invalid_stored_config_fails_clearly_and_writes_nothing(memfs_store, text, message):
    memfs_store.write('c1/config', text.encode())
    with pytest.raises(cl.ClusterError, match=message):
        cl.update_cluster(memfs_store, cl.ClusterRequest('c1', spec={'a': 1}))
    assert memfs_store.read('c1/config')[0] == text.encode()


def test_unsafe_yaml_tags_are_refused():
    with pytest.raises(cl.ClusterError, match='not valid YAML'):
        load_documents('a: !!python/object/apply:os.system ["true"]', 'input')


def test_aliases_are_read_within_their_bound_and_never_written():
    document = load_documents('labels: &labels {team: a}\nspec: {one: *labels, two: *labels}\n', 'input')[0]
    assert document['spec'] == {'one': {'team': 'a'}, 'two': {'team': 'a'}}
    assert '&' not in cl.dump_document(document) and '*' not in cl.dump_document(document)  # written out, as kOps does
    with pytest.raises(cl.ClusterError, match='input is not valid YAML at line 1, column 4: an alias refers to a node'):
        load_documents('a: &a [*a]\n', 'input')

    def nested(count):  # b repeats a 50 times (2,551 nodes written out), c repeats b ``count`` times
        return 'a: &a [%s]\nb: &b [%s]\nc: [%s]\n' % (', '.join(['x'] * 50), ', '.join(['*a'] * 50), ', '.join(['*b'] * count))
    with pytest.raises(cl.ClusterError, match='input is not valid YAML at line 1, column 1: its aliases repeat more than '
                                              '100000 nodes'):
        load_documents(nested(40), 'input')  # about 104,600 nodes repeated
    assert len(load_documents(nested(37), 'input')[0]['c']) == 37  # about 96,900


def test_cluster_names_are_those_kops_accepts():
    assert cl.cluster_folders(['b.example.com', 'a', '1-x.y', cl.LOCK_FOLDER, 'A.example.com', 'a_b', 'a.', '.a',
                               'x' * 254, 'x' * 253]) == (['1-x.y', 'a', 'b.example.com', 'x' * 253],
                                                          ['.a', 'A.example.com', 'a.', 'a_b', 'x' * 254])


def test_names_must_be_one_path_segment(memfs_store):
    with pytest.raises(cl.ClusterError, match='not a valid name'):
        cl.check_name('a/b', 'cluster name')
    request = cl.ClusterRequest('c1', spec={'a': 1}, groups=[{'name': '../x', 'spec': {}}])
    with pytest.raises(cl.ClusterError, match='not a valid name'):
        cl.update_cluster(memfs_store, request)
    assert memfs_store.list('', recursive=True) == []


# -- creating and changing ----------------------------------------------------------------------

def test_create_derives_config_base_and_stamps(file_store, tmp_path):
    request = cl.ClusterRequest('c1.k8s.local', spec={'cloudProvider': 'aws'}, kubernetes_version='1.30.2',
                                groups=[{'name': 'nodes', 'spec': {'role': 'Node'}}], node_size='m4.large')
    plan = cl.update_cluster(file_store, request)
    assert [w.path for w in plan.writes] == ['c1.k8s.local/config', 'c1.k8s.local/instancegroup/nodes']
    stored = cl.read_cluster(file_store, 'c1.k8s.local')
    spec = stored.cluster['spec']
    assert spec['configBase'] == '%s/c1.k8s.local' % tmp_path  # file stores render without a scheme
    assert spec['kubernetesVersion'] == '1.30.2'
    assert 'generation' not in stored.cluster['metadata']
    assert time.strptime(stored.cluster['metadata']['creationTimestamp'], '%Y-%m-%dT%H:%M:%SZ')
    nodes = stored.groups['nodes'][0]
    assert nodes['metadata']['labels'] == {cl.CLUSTER_LABEL: 'c1.k8s.local'}
    assert nodes['spec'] == {'role': 'Node', 'machineType': 'm4.large'}
    assert plan.cluster == stored.cluster and plan.groups == {'nodes': nodes}


@pytest.mark.parametrize('store, config_base', [
    ('memfs://bucket', 'memfs://bucket/c1'),
    ('memfs://bucket/sub/dir', 'memfs://bucket/sub/dir/c1'),
])
def test_config_base_follows_the_store(store, config_base):
    backend = open_store(store.replace('bucket', 'cb-%d' % next(_names)))
    cl.update_cluster(backend, cl.ClusterRequest('c1', spec={'cloudProvider': 'gce'}))
    expected = config_base.replace('bucket', backend.location.bucket)
    assert cl.read_cluster(backend, 'c1').cluster['spec']['configBase'] == expected


def test_a_missing_cluster_is_not_created_from_instance_groups_alone(memfs_store):
    with pytest.raises(cl.ClusterError, match='does not exist'):
        cl.update_cluster(memfs_store, cl.ClusterRequest('c1', groups=[{'name': 'nodes', 'spec': {'role': 'Node'}}]))


@pytest.mark.parametrize('fixture', FIXTURES, ids=os.path.basename)
def test_node_size_changes_only_the_nodes_machine_type(file_store, fixture):
    name, written = write_fixture(file_store, fixture)
    plan = cl.update_cluster(file_store, cl.ClusterRequest(name, node_size='m4.large'))
    after = store_entries(file_store)
    assert cl.config_path(name) not in [w.path for w in plan.writes]
    assert after[cl.config_path(name)] == written[cl.config_path(name)]  # untouched bytes
    for path, data in written.items():
        if path == cl.config_path(name):
            continue
        before = load_documents(data, path)[0]
        now = load_documents(after[path], path)[0]
        if before['spec']['role'] == 'Node':
            assert now['spec']['machineType'] == 'm4.large'
            assert now['metadata']['generation'] == 1
            assert now['metadata']['creationTimestamp'] == before['metadata']['creationTimestamp']
            before['spec']['machineType'] = 'm4.large'
            before['metadata']['generation'] = 1
            assert json.dumps(now) == json.dumps(before)  # nothing else, same key order and types
        else:
            assert after[path] == data
    assert cl.update_cluster(file_store, cl.ClusterRequest(name, node_size='m4.large')).writes == []


def test_spec_changes_bump_generation_and_keep_everything_else(file_store):
    name, written = write_fixture(file_store, [f for f in FIXTURES if f.endswith('complex.yaml')][0])
    before = cl.read_cluster(file_store, name).cluster
    request = cl.ClusterRequest(name, spec={'kubelet': {'maxPods': 200}, 'sshKeyName': None},
                                kubernetes_version='v1.33.0')
    for expected_generation in (1, 1):  # the second run changes nothing
        cl.update_cluster(file_store, request)
        after = cl.read_cluster(file_store, name).cluster
        assert after['metadata']['generation'] == expected_generation
    assert after['spec']['kubelet'] == {'anonymousAuth': False, 'maxPods': 200}
    assert 'sshKeyName' not in after['spec'] and after['spec']['kubernetesVersion'] == 'v1.33.0'
    assert list(after['spec']) == [key for key in before['spec'] if key != 'sshKeyName']
    cl.update_cluster(file_store, cl.ClusterRequest(name, spec={'kubelet': {'maxPods': 100}}))
    assert cl.read_cluster(file_store, name).cluster['metadata']['generation'] == 2


def test_check_mode_writes_nothing(memfs_store):
    plan = cl.update_cluster(memfs_store, cl.ClusterRequest('c1', spec={'sshKeyName': 'admin'}), check_mode=True)
    assert plan.changed and plan.cluster['spec']['sshKeyName'] == 'admin'
    assert memfs_store.list('', recursive=True) == []


def test_shortcuts_land_in_their_fields(memfs_store):
    groups = [{'name': 'nodes-b', 'spec': {'role': 'Node'}}, {'name': 'nodes-a', 'spec': {'role': 'Node'}},
              {'name': 'cp', 'spec': {'role': 'Master'}}, {'name': 'bastion', 'spec': {'role': 'Bastion'}}]
    request = cl.ClusterRequest('c1', spec={'subnets': [{'name': 'z1', 'zone': 'z1', 'type': 'Private'}]},
                                groups=groups, zones=['z1', 'z2', 'z2'], node_count=5, control_plane_size='c5.large',
                                network_cidr='10.0.0.0/16', kubernetes_version='1.31.0')
    plan = cl.update_cluster(memfs_store, request)
    spec = plan.cluster['spec']
    assert spec['subnets'] == [{'name': 'z1', 'zone': 'z1', 'type': 'Private'},
                               {'name': 'z2', 'type': 'Public', 'zone': 'z2'}]
    assert spec['networkCIDR'] == '10.0.0.0/16' and spec['kubernetesVersion'] == '1.31.0'
    sizes = dict((n, (g['spec'].get('minSize'), g['spec'].get('maxSize'))) for n, g in plan.groups.items())
    assert sizes == {'nodes-a': (3, 3), 'nodes-b': (2, 2), 'cp': (None, None), 'bastion': (None, None)}
    assert plan.groups['cp']['spec']['machineType'] == 'c5.large'
    assert 'machineType' not in plan.groups['bastion']['spec']


def test_a_shortcut_without_its_group_fails(memfs_store):
    with pytest.raises(cl.ClusterError, match='role Node'):
        cl.update_cluster(memfs_store, cl.ClusterRequest('c1', spec={'a': 1}, node_size='m4.large'))
    assert memfs_store.list('', recursive=True) == []


def test_instance_groups_are_merged_relabelled_and_deleted(file_store):
    name, _written = write_fixture(file_store, [f for f in FIXTURES if f.endswith('minimal-aws.yaml')][0])
    # an instance group stored without its label gets it when it is written
    nodes = cl.read_cluster(file_store, name).groups['nodes'][0]
    del nodes['metadata']['labels']
    file_store.write(cl.group_path(name, 'nodes'), cl.dump_document(nodes).encode())
    groups = [{'name': 'nodes', 'spec': {'maxSize': 4}}, {'name': 'master-us-test-1a', 'state': 'absent'}]
    request = cl.ClusterRequest(name, groups=groups)
    plan = cl.update_cluster(file_store, request)
    assert [w.path for w in plan.writes] == [cl.group_path(name, 'master-us-test-1a'), cl.group_path(name, 'nodes')]
    stored = cl.read_cluster(file_store, name)
    assert list(stored.groups) == ['nodes']
    nodes = stored.groups['nodes'][0]
    assert nodes['metadata']['labels'] == {cl.CLUSTER_LABEL: name}
    assert nodes['spec']['maxSize'] == 4 and nodes['spec']['minSize'] == 2


def test_replace_writes_whole_documents(file_store):
    name, _written = write_fixture(file_store, [f for f in FIXTURES if f.endswith('minimal-aws.yaml')][0])
    created = cl.read_cluster(file_store, name).cluster['metadata']['creationTimestamp']
    replacement = [{'apiVersion': cl.API_VERSION, 'kind': 'Cluster', 'metadata': {'name': name},
                    'spec': {'cloudProvider': 'aws', 'configBase': 'memfs://clusters.example.com/%s' % name,
                             # the group left alone still runs in this subnet
                             'subnets': [{'name': 'us-test-1a', 'type': 'Public', 'zone': 'us-test-1a'}]}},
                   {'apiVersion': cl.API_VERSION, 'kind': 'InstanceGroup', 'metadata': {'name': 'nodes'},
                    'spec': {'role': 'Node', 'machineType': 't3.small'}}]
    cl.update_cluster(file_store, cl.ClusterRequest(name, replacement=replacement))
    stored = cl.read_cluster(file_store, name)
    assert stored.cluster['spec'] == replacement[0]['spec']
    assert stored.cluster['metadata'] == {'name': name, 'creationTimestamp': created, 'generation': 1}
    assert stored.groups['nodes'][0]['spec'] == {'role': 'Node', 'machineType': 't3.small'}
    assert 'master-us-test-1a' in stored.groups  # not in the definition: left alone
    with pytest.raises(cl.ClusterError, match='metadata.name'):
        cl.update_cluster(file_store, cl.ClusterRequest('other', replacement=replacement))


# -- store rules (Vault) ----------------------------------------------------------------------

def test_vault_rules():
    vault = 'vault://vault.example.com:8200/kv/clusters/c1/'
    with pytest.raises(cl.ClusterError, match='configBase'):
        cl.store_warnings({'configBase': vault + 'config'})
    with pytest.raises(cl.ClusterError, match='must be different'):
        cl.store_warnings({'secretStore': vault + 'x', 'keyStore': vault + 'x'})
    spec = {'cloudProvider': 'gce', 'secretStore': vault + 'secrets', 'keyStore': 's3://b/c1/pki'}
    warnings = cl.store_warnings(spec, environ={})
    assert len(warnings) == 2 and 'VFSVaultSupport' in warnings[0] and 'AWS' in warnings[1]
    spec['cloudProvider'] = 'aws'
    assert cl.store_warnings(spec, environ={'KOPS_FEATURE_FLAGS': 'Foo,+VFSVaultSupport'}) == []
    assert len(cl.store_warnings(spec, environ={'KOPS_FEATURE_FLAGS': 'VFSVaultSupport,-VFSVaultSupport'})) == 1


def test_vault_config_base_is_refused_before_writing(memfs_store):
    with pytest.raises(cl.ClusterError, match='configBase'):
        cl.update_cluster(memfs_store, cl.ClusterRequest('c1', spec={'configBase': 'vault://v/kv/c1'}))
    assert memfs_store.list('', recursive=True) == []


# -- listing and deleting -----------------------------------------------------------------------

def test_list_clusters_finds_every_config(file_store):
    for fixture in FIXTURES[:3]:
        write_fixture(file_store, fixture)
    file_store.write('notacluster/sub/config', b'x')
    file_store.write('top-level-file', b'x')
    names = [fixture_documents(f)[0]['metadata']['name'] for f in FIXTURES[:3]]
    assert cl.list_clusters(file_store) == (sorted(names), [])


def test_delete_removes_known_entries_config_last(file_store):
    name, written = write_fixture(file_store, FIXTURES[0])
    for extra in ('pki/private/ca/keyset.yaml', 'secrets/admin', 'kops-version.txt', 'cluster-completed.spec'):
        file_store.write('%s/%s' % (name, extra), b'x')
    file_store.write('other.example.com/config', b'keep')
    plan = cl.delete_cluster(file_store, name, check_mode=True)
    assert plan.writes[-1].path == cl.config_path(name) and len(plan.writes) == len(written) + 4
    assert len(store_entries(file_store)) == len(written) + 5
    cl.delete_cluster(file_store, name)
    assert list(store_entries(file_store)) == ['other.example.com/config']
    assert cl.delete_cluster(file_store, name).writes == []


def test_delete_refuses_unknown_entries(file_store):
    name, written = write_fixture(file_store, FIXTURES[0])
    file_store.write('%s/notes.txt' % name, b'mine')
    with pytest.raises(cl.ClusterError, match='notes.txt'):
        cl.delete_cluster(file_store, name)
    assert len(store_entries(file_store)) == len(written) + 1


# -- no lost updates ------------------------------------------------------------------------------

def test_concurrent_merges_lose_nothing_on_memfs():
    location = 'memfs://race-%d' % next(_names)
    assert len(hammer(lambda: open_store(location))) == 40


def test_concurrent_merges_lose_nothing_on_file(tmp_path):
    assert len(hammer(lambda: open_store('file://%s' % tmp_path))) == 40

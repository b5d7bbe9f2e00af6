"""The kops.state_store.clusters inventory plugin, loaded by Ansible's own plugin loader and run on real file://
stores holding the real kOps fixtures laid out as kOps lays them out: file names, hosts, facts, groups, the
Constructable options, the cache, and every bad cluster or store reported by name and left out (or fatal with
strict_clusters)."""

import os
import re
import sys

import pytest
import yaml
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.kops.fleet import kubernetes_minor
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.kops_fixtures import FIXTURES, fixture_documents
from support.kops_fleet import lay_out

try:
    from ansible.template import is_trusted_as_template
    from ansible.template import trust_as_template as trusted  # ansible-core 2.19+ templates only trusted strings
except ImportError:
    is_trusted_as_template = None

    def trusted(template):
        return template

COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'build', 'collections')
CLOUDS = {'aws': 7, 'gce': 1, 'hetzner': 1, 'openstack': 1}


@pytest.fixture(scope='module')
def plugin_loader():
    """Ansible's inventory plugin loader, finding collections as ansible-inventory does. The test session imports
    the collection as plain packages from build/collections (tests/conftest.py); Ansible's collection finder loads
    the collection's own packages again, with their metadata (meta/runtime.yml), and reuses the modules already
    imported."""
    installed = AnsibleCollectionConfig.collection_finder is None
    if installed:
        for package in ('ansible_collections', 'ansible_collections.kops', 'ansible_collections.kops.state_store'):
            sys.modules.pop(package, None)
        _AnsibleCollectionFinder(paths=[os.path.abspath(COLLECTIONS)])._install()
    from ansible.plugins.loader import inventory_loader
    yield inventory_loader
    if installed:
        _AnsibleCollectionFinder._remove()


@pytest.fixture
def warnings(plugin_loader, monkeypatch):
    """The warnings the plugin shows, recorded."""
    shown = []
    plugin_module = sys.modules[type(plugin_loader.get('kops.state_store.clusters')).__module__]
    monkeypatch.setattr(plugin_module.display, 'warning', lambda message, *args, **kwargs: shown.append(message))
    return shown


@pytest.fixture
def parse(plugin_loader, tmp_path, monkeypatch):
    """Parse an inventory configuration (a dict); returns the InventoryData. ``name`` is the file's name."""
    monkeypatch.setenv('HOME', str(tmp_path))  # no ~/.kops.yaml of the machine
    monkeypatch.delenv('KOPS_STATE_STORE', raising=False)

    def run(config, name='clusters.kops.yml', cache=True):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(dict(config, plugin='kops.state_store.clusters')))
        plugin = plugin_loader.get('kops.state_store.clusters')
        assert plugin.verify_file(str(path))
        inventory = InventoryData()
        plugin.parse(inventory, DataLoader(), str(path), cache=cache)
        if config.get('cache'):
            plugin.update_cache_if_changed()
        return inventory
    return run


@pytest.fixture
def store(tmp_path):
    location = 'file://%s' % (tmp_path / 'store')
    return location, open_store(location)


def host_vars(inventory, name):
    return inventory.get_host(name).get_vars()


def members(inventory, group):
    return sorted(host.name for host in inventory.groups[group].get_hosts()) if group in inventory.groups else []


def test_file_names_are_verified(plugin_loader, tmp_path):
    plugin = plugin_loader.get('kops.state_store.clusters')
    for name, accepted in (('clusters.kops.yml', True), ('prod.kops.yaml', True), ('clusters.yml', False),
                           ('kops.yml', False), ('clusters.kops.json', False)):
        (tmp_path / name).write_text('plugin: kops.state_store.clusters\n')
        assert plugin.verify_file(str(tmp_path / name)) is accepted, name
    assert not plugin.verify_file(str(tmp_path / 'missing.kops.yml'))


def test_every_fixture_is_a_host_with_its_facts_and_groups(parse, store):
    location, backend = store
    names = sorted(lay_out(backend, fixture) for fixture in FIXTURES)
    backend.write('.kops-state-store-locks/config', b'{}')  # a lock entry of a cluster named "config": no cluster
    backend.write('not-a-cluster/instancegroup/nodes', b'kind: InstanceGroup\n')  # a folder without config
    inventory = parse(dict(state_stores=[location + '/']))

    assert members(inventory, 'kops_clusters') == names
    store_groups = [group for group in inventory.groups if group.startswith('kops_store_')]
    assert len(store_groups) == 1 and re.match('^kops_store_file_tmp_[a-z0-9_]+_store$', store_groups[0])
    assert members(inventory, store_groups[0]) == names
    assert dict((cloud, len(members(inventory, 'kops_cloud_' + cloud))) for cloud in CLOUDS) == CLOUDS
    minors = {}
    for name in names:
        minors.setdefault(host_vars(inventory, name)['kops_kubernetes_minor'], []).append(name)
    assert sorted(minors) == ['1.32', '1.34']
    for minor, hosts in minors.items():
        assert members(inventory, 'kops_k8s_' + minor.replace('.', '_')) == sorted(hosts)

    facts = host_vars(inventory, 'minimal-aws.example.com')
    documents = fixture_documents('minimal-aws.yaml')
    assert facts['kops_spec'] == dict(documents[0]['spec'], configBase=backend.render('minimal-aws.example.com'))
    assert facts['kops_state_store'] == location  # as given, one trailing slash trimmed
    assert facts['kops_cluster_name'] == 'minimal-aws.example.com'
    assert facts['kops_config_location'] == backend.render('minimal-aws.example.com/config')
    assert facts['kops_config_base'] == backend.render('minimal-aws.example.com')
    assert facts['kops_secret_store'] == backend.render('minimal-aws.example.com') + '/secrets'
    assert facts['kops_key_store'] == backend.render('minimal-aws.example.com') + '/pki'
    assert facts['kops_uses_vault'] is False
    assert (facts['kops_cloud_provider'], facts['kops_kubernetes_version']) == ('aws', 'v1.34.0')
    assert facts['kops_instance_groups'] == [
        dict(name='master-us-test-1a', role='Master', machine_type='m3.medium', min_size=1, max_size=1,
             subnets=['us-test-1a'], zones=['us-test-1a']),
        dict(name='nodes', role='Node', machine_type='t2.medium', min_size=2, max_size=2,
             subnets=['us-test-1a'], zones=['us-test-1a'])]
    assert facts['ansible_connection'] == 'local'
    assert os.path.isfile(facts['ansible_python_interpreter'])
    gce = host_vars(inventory, 'minimal-gce.example.com')['kops_instance_groups']
    assert all(group['zones'] for group in gce)  # GCE groups name their zones themselves


def test_a_chosen_part_of_the_spec_and_no_connection(parse, store):
    location, backend = store
    lay_out(backend, 'minimal-aws.yaml')
    inventory = parse(dict(state_stores=[location], spec_fields=['kubernetesVersion', 'networking', 'absent'],
                           connection=''))
    facts = host_vars(inventory, 'minimal-aws.example.com')
    assert facts['kops_spec'] == {'kubernetesVersion': 'v1.34.0', 'networking': {'cni': {}}}
    assert 'ansible_connection' not in facts and 'ansible_python_interpreter' not in facts
    assert host_vars(parse(dict(state_stores=[location], spec_fields=[])), 'minimal-aws.example.com')['kops_spec'] == {}


def test_vault_stores_and_versions_kops_accepts(parse, store):
    location, backend = store

    def vault(cluster, groups):
        cluster['spec'].update(secretStore='vault://vault.example.com:8200/kv/clusters/v/secrets',
                               keyStore='vault://vault.example.com:8200/kv/clusters/v/keys',
                               kubernetesVersion='https://cdn.example.com/kubernetes/release/v1.30.2')
    lay_out(backend, 'minimal-aws.yaml', 'v.example.com', change=vault)
    facts = host_vars(parse(dict(state_stores=[location])), 'v.example.com')
    assert facts['kops_uses_vault'] is True
    assert facts['kops_secret_store'] == 'vault://vault.example.com:8200/kv/clusters/v/secrets'
    assert facts['kops_kubernetes_minor'] == '1.30'


@pytest.mark.parametrize('version, minor', [
    ('v1.31.4', '1.31'), ('1.31.4', '1.31'), ('1.31', '1.31'), ('v1.32.0-beta.1', '1.32'),
    ('https://storage.googleapis.com/kubernetes-release/release/v1.30.0', '1.30'), ('stable', None), (None, None),
    ('', None), (1.31, '1.31')])
def test_kubernetes_minor(version, minor):
    assert kubernetes_minor(version) == minor


def broken_stores(tmp_path):
    """Two stores: the first with a good cluster, a config that is not YAML, a config of another kind and a
    cluster whose instance group names another group; the second with a good cluster and one named like a cluster
    of the first."""
    first, second = 'file://%s' % (tmp_path / 'one'), 'file://%s' % (tmp_path / 'two')
    one, two = open_store(first), open_store(second)
    lay_out(one, 'minimal-aws.yaml', 'good.example.com')
    one.write('unparsable.example.com/config', b'apiVersion: kops.k8s.io/v1alpha2\nkind: [Cluster\n')
    one.write('wrong-kind.example.com/config', b'apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\n'
                                               b'metadata: {name: wrong-kind.example.com}\n')
    lay_out(one, 'minimal-aws.yaml', 'bad-group.example.com')
    one.write('bad-group.example.com/instancegroup/nodes',
              b'apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata: {name: other}\nspec: {}\n')
    lay_out(two, 'minimal_gce.yaml', 'second.example.com')
    lay_out(two, 'minimal_gce.yaml', 'good.example.com')
    return first, second, one, two


def test_bad_clusters_are_named_and_left_out(parse, tmp_path, warnings):
    first, second, one, two = broken_stores(tmp_path)
    before = dict((entry.path, one.read(entry.path)[0]) for entry in one.list('', recursive=True))
    inventory = parse(dict(state_stores=[first, second]))
    assert members(inventory, 'kops_clusters') == ['good.example.com', 'second.example.com']
    assert host_vars(inventory, 'good.example.com')['kops_state_store'] == first  # the first store that has it
    assert warnings == [
        "cluster %s left out: %s has metadata.name other; expected nodes" % (
            one.render('bad-group.example.com'), one.render('bad-group.example.com/instancegroup/nodes')),
        "cluster %s left out: %s is not valid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'" % (
            one.render('unparsable.example.com'), one.render('unparsable.example.com/config')),
        "cluster %s left out: %s has kind InstanceGroup; expected Cluster" % (
            one.render('wrong-kind.example.com'), one.render('wrong-kind.example.com/config')),
        'cluster %s left out: a cluster of that name was found first at %s' % (
            two.render('good.example.com'), one.render('good.example.com')),
    ]
    # nothing was written
    assert dict((entry.path, one.read(entry.path)[0]) for entry in one.list('', recursive=True)) == before


def test_strict_clusters_fails_naming_every_problem(parse, tmp_path):
    first, second, one, _two = broken_stores(tmp_path)
    with pytest.raises(AnsibleParserError) as failure:
        parse(dict(state_stores=[first, second], strict_clusters=True))
    message = str(failure.value)
    for name in ('unparsable', 'wrong-kind', 'bad-group'):
        assert one.render('%s.example.com/' % name) in message
    assert 'a cluster of that name was found first at %s' % one.render('good.example.com') in message


def test_a_store_that_cannot_be_listed_is_left_out(parse, tmp_path, warnings):
    readable = 'file://%s' % (tmp_path / 'readable')
    lay_out(open_store(readable), 'minimal-aws.yaml')
    os.symlink('loop', str(tmp_path / 'loop'))  # a store folder that cannot be listed, even by root
    unreadable = 'file://%s' % (tmp_path / 'loop')
    inventory = parse(dict(state_stores=[unreadable, readable]))
    assert members(inventory, 'kops_clusters') == ['minimal-aws.example.com']
    assert len(warnings) == 1 and warnings[0].startswith('state store %s left out: ' % unreadable), warnings


def test_no_store_is_a_configuration_error(parse):
    with pytest.raises(AnsibleParserError, match='no state store given'):
        parse({})


def test_the_store_of_kops_state_store_is_the_default(parse, store, monkeypatch):
    location, backend = store
    lay_out(backend, 'ha.yaml')
    monkeypatch.setenv('KOPS_STATE_STORE', location)
    inventory = parse({})
    assert members(inventory, 'kops_clusters') == ['ha.example.com']
    assert [group['name'] for group in host_vars(inventory, 'ha.example.com')['kops_instance_groups']] == [
        'master-us-test-1a', 'master-us-test-1b', 'master-us-test-1c', 'nodes']


def test_constructed_options(parse, store):
    location, backend = store
    for fixture in ('minimal-aws.yaml', 'minimal_gce.yaml', 'ha.yaml'):
        lay_out(backend, fixture)
    inventory = parse(dict(
        state_stores=[location],
        keyed_groups=[dict(key='kops_cloud_provider', prefix='cloud'),
                      dict(key="kops_instance_groups | selectattr('role', 'equalto', 'Node') "
                               "| map(attribute='machine_type') | list", prefix='nodes')],
        groups=dict(several_control_planes="kops_instance_groups | selectattr('role', 'equalto', 'Master') "
                                           "| list | length > 1"),
        compose=dict(node_count="kops_instance_groups | selectattr('role', 'equalto', 'Node') "
                                "| map(attribute='max_size') | sum",
                     ansible_connection="'ssh'")))
    assert members(inventory, 'cloud_aws') == ['ha.example.com', 'minimal-aws.example.com']
    assert members(inventory, 'cloud_gce') == ['minimal-gce.example.com']
    assert members(inventory, 'nodes_t2_medium') == ['ha.example.com', 'minimal-aws.example.com']
    assert members(inventory, 'nodes_e2_medium') == ['minimal-gce.example.com']
    assert members(inventory, 'several_control_planes') == ['ha.example.com']
    assert int(host_vars(inventory, 'ha.example.com')['node_count']) == 2  # a string before ansible-core 2.19
    assert host_vars(inventory, 'ha.example.com')['ansible_connection'] == 'ssh'


def test_the_cache_serves_until_flushed(parse, store, tmp_path):
    location, backend = store
    lay_out(backend, 'minimal-aws.yaml')
    config = dict(state_stores=[location], cache=True, cache_plugin='ansible.builtin.jsonfile',
                  cache_connection=str(tmp_path / 'cache'), cache_timeout=3600)
    assert members(parse(config), 'kops_clusters') == ['minimal-aws.example.com']
    lay_out(backend, 'ha.yaml')
    cl.update_cluster(backend, cl.ClusterRequest('minimal-aws.example.com', kubernetes_version='v1.35.0'))
    cached = parse(config)
    assert members(cached, 'kops_clusters') == ['minimal-aws.example.com']
    assert host_vars(cached, 'minimal-aws.example.com')['kops_kubernetes_version'] == 'v1.34.0'
    refreshed = parse(config, cache=False)  # --flush-cache
    assert members(refreshed, 'kops_clusters') == ['ha.example.com', 'minimal-aws.example.com']
    assert host_vars(refreshed, 'minimal-aws.example.com')['kops_kubernetes_version'] == 'v1.35.0'
    assert members(parse(config), 'kops_k8s_1_35') == ['minimal-aws.example.com']  # the refreshed facts cached


def test_stored_values_are_never_templated(parse, store, tmp_path):
    location, backend = store
    marker = tmp_path / 'templated'

    def jinja(cluster, groups):
        cluster['spec']['cloudLabels'] = {'team': "{{ lookup('pipe', 'touch %s') }}" % marker}
    lay_out(backend, 'minimal-aws.yaml', change=jinja)
    inventory = parse(dict(state_stores=[location]))
    templar = Templar(loader=DataLoader(), variables=host_vars(inventory, 'minimal-aws.example.com'))
    assert templar.template(trusted('{{ kops_spec.cloudLabels.team }}')) == "{{ lookup('pipe', 'touch %s') }}" % marker
    assert not marker.exists()


def test_only_folders_named_as_kops_names_clusters_become_hosts(parse, store, warnings):
    """A folder whose config names it becomes a host only when kOps would accept its name; the others are left out
    in one warning that shows them escaped (a host named as a template was templated where a task used it)."""
    location, backend = store
    refused = ["{{ lookup('pipe', 'id') }}", 'Upper.example.com', 'new\nline.example.com', 'under_score.example.com']
    for name in ['good.example.com'] + refused:
        lay_out(backend, 'minimal-aws.yaml', name)
    inventory = parse(dict(state_stores=[location]))
    assert sorted(inventory.hosts) == ['good.example.com']
    assert warnings == ["4 folders of %s were left out: not cluster names kOps accepts (a DNS-1123 subdomain, as kOps "
                        "requires: lowercase letters, digits, '-' and '.', at most 253 characters): "
                        "Upper.example.com, 'new\\nline.example.com', under_score.example.com, "
                        "\"\\x7b\\x7b lookup('pipe', 'id') \\x7d\\x7d\"" % backend.render()]


def test_plain_values_are_plain_strings_and_braces_never_template(parse, store):
    """What AWX imports (ansible-inventory --list --export) prints a string that is not plain as an
    {"__ansible_unsafe": ...} object: a string without braces is plain (trusted as a template from ansible-core 2.19
    on: it templates to itself), one with a brace, value or key, is not."""
    location, backend = store
    template = "{{ lookup('pipe', 'id') }}"

    def labels(cluster, _groups):
        cluster['spec']['cloudLabels'] = {'team': template, template: 'key', 'owner': 'platform'}
    lay_out(backend, 'minimal-aws.yaml', change=labels)
    variables = host_vars(parse(dict(state_stores=[location], spec_fields=['cloudLabels'], connection='local')),
                          'minimal-aws.example.com')
    plain = [variables['kops_cluster_name'], variables['kops_state_store'], variables['ansible_python_interpreter'],
             variables['kops_instance_groups'][0]['name'], variables['kops_spec']['cloudLabels']['owner']]
    stored_templates = [variables['kops_spec']['cloudLabels']['team'],
                        [key for key in variables['kops_spec']['cloudLabels'] if '{' in key][0]]
    if is_trusted_as_template:  # ansible-core 2.19 and later
        assert all(is_trusted_as_template(value) for value in plain), plain
        assert not any(is_trusted_as_template(value) for value in stored_templates)
    else:
        from ansible.utils.unsafe_proxy import AnsibleUnsafe
        assert not any(isinstance(value, AnsibleUnsafe) for value in plain), [type(value) for value in plain]
        assert all(isinstance(value, AnsibleUnsafe) for value in stored_templates)
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(trusted('{{ kops_spec.cloudLabels }}'))['team'] == template

"""The kops.state_store.clusters inventory plugin through ansible-inventory, as users and AWX run it: --list and
--graph over a bucket of the test moto and a file:// store at once, the store options of the configuration file,
the plugin enabled by the default `auto` plugin and by name, a bad cluster on S3 reported by name, and a file
whose name does not end in .kops.yml not taken."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.kops_fleet import lay_out
from servers.moto import clean_aws_environment

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, 'build', 'collections')
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), 'ansible-inventory')
MARK = 'Quoted-Stored-Text'  # stored text no message may show


def listed_inventory(output):
    """ansible-inventory's JSON with strings as they are: ansible-core 2.19 lists every string an inventory plugin
    gives (data, never templated) as {"__ansible_unsafe": string}."""
    return json.loads(output, object_hook=lambda mapping: mapping['__ansible_unsafe']
                      if set(mapping) == {'__ansible_unsafe'} else mapping)


def ansible_inventory(tmp_path, config, *args, name='clusters.kops.yml', environment=None):
    """Run ansible-inventory on a configuration file written from ``config``; returns the CompletedProcess."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    environment = clean_aws_environment(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1', HOME=str(tmp_path),
                                        ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'), **(environment or {}))
    return subprocess.run([ANSIBLE_INVENTORY, '-i', str(path)] + list(args), env=environment, capture_output=True,
                          text=True, cwd=str(tmp_path), check=False)


@pytest.fixture
def two_stores(tmp_path, s3_bucket, aws_environment):
    """(S3 location, its backend, file location, its backend): kOps fixtures in a bucket of the test moto and in a
    file:// store."""
    settings = dict(endpoint_url=aws_environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                    region='us-east-1')
    s3_location = 's3://%s/kops' % s3_bucket('inventory')
    file_location = 'file://%s' % (tmp_path / 'store')
    s3, local = open_store(s3_location, settings), open_store(file_location)
    for fixture in ('minimal-aws.yaml', 'ha.yaml', 'minimal_gce.yaml'):
        lay_out(s3, fixture)
    for fixture in ('minimal_openstack.yaml', 'privatecilium.yaml'):
        lay_out(local, fixture)
    return s3_location, s3, file_location, local


def test_list_and_graph_over_s3_and_file_stores(tmp_path, two_stores, aws_environment):
    s3_location, s3, file_location, _local = two_stores
    config = dict(plugin='kops.state_store.clusters', state_stores=[s3_location, file_location],
                  spec_fields=['kubernetesVersion'])
    listed = ansible_inventory(tmp_path, config, '--list', environment=dict(
        AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
        AWS_ENDPOINT_URL=aws_environment['AWS_ENDPOINT_URL']))
    assert listed.returncode == 0, listed.stderr
    # the only warning: the test moto's plain HTTP, as the modules and the lookup warn
    assert [line for line in listed.stderr.splitlines() if 'WARNING' in line] == [
        '[WARNING]: S3 requests signed with your access key (and any session token) go to http://%s over plain HTTP, without '
        'TLS: anyone on the network path can read them and the entries; use https'
        % aws_environment['AWS_ENDPOINT_URL'][len('http://'):]], listed.stderr
    inventory = listed_inventory(listed.stdout)
    hostvars = inventory['_meta']['hostvars']
    s3_hosts = ['ha.example.com', 'minimal-aws.example.com', 'minimal-gce.example.com']
    file_hosts = ['minimal-openstack.k8s.local', 'privatecilium.example.com']
    assert sorted(hostvars) == sorted(s3_hosts + file_hosts)
    assert sorted(inventory['kops_clusters']['hosts']) == sorted(s3_hosts + file_hosts)
    assert sorted(inventory['kops_store_s3_%s_kops' % s3_location[5:-5].replace('-', '_')]['hosts']) == s3_hosts
    assert sorted(inventory['kops_cloud_aws']['hosts']) == ['ha.example.com', 'minimal-aws.example.com',
                                                            'privatecilium.example.com']
    assert inventory['kops_cloud_openstack']['hosts'] == ['minimal-openstack.k8s.local']
    ha = hostvars['ha.example.com']
    assert ha['kops_spec'] == {'kubernetesVersion': 'v1.32.0'}
    assert ha['kops_state_store'] == s3_location and ha['kops_config_base'] == s3.render('ha.example.com')
    assert ha['kops_config_location'] == s3_location + '/ha.example.com/config'
    assert [group['max_size'] for group in ha['kops_instance_groups']] == [1, 1, 1, 2]
    assert hostvars['privatecilium.example.com']['kops_state_store'] == file_location
    assert ha['ansible_connection'] == 'local'

    graph = ansible_inventory(tmp_path, config, '--graph', environment=dict(
        AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
        AWS_ENDPOINT_URL=aws_environment['AWS_ENDPOINT_URL']))
    assert graph.returncode == 0, graph.stderr
    assert '@kops_k8s_1_32:' in graph.stdout and '|--ha.example.com' in graph.stdout
    assert '@kops_k8s_1_34:' in graph.stdout and '|--minimal-aws.example.com' in graph.stdout


def test_store_options_from_the_file_enabled_by_name(tmp_path, two_stores, aws_environment):
    """The S3 settings given in the configuration file, no AWS variable in the environment; only this plugin
    enabled, as in an ansible.cfg that lists enable_plugins."""
    s3_location = two_stores[0]
    config = dict(plugin='kops.state_store.clusters', state_stores=[s3_location],
                  endpoint_url=aws_environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                  region='us-east-1')
    listed = ansible_inventory(tmp_path, config, '--list',
                               environment=dict(ANSIBLE_INVENTORY_ENABLED='kops.state_store.clusters'))
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed_inventory(listed.stdout)['kops_clusters']['hosts']) == [
        'ha.example.com', 'minimal-aws.example.com', 'minimal-gce.example.com']
    assert 'testing' not in listed.stdout  # the keys stay in the file: no host variable holds them


def test_a_bad_cluster_on_s3_is_a_warning_naming_it(tmp_path, two_stores, aws_environment):
    s3_location, s3 = two_stores[:2]
    s3.write('broken.example.com/config', b'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata: [\n')
    environment = dict(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
                       AWS_ENDPOINT_URL=aws_environment['AWS_ENDPOINT_URL'])
    config = dict(plugin='kops.state_store.clusters', state_stores=[s3_location])
    listed = ansible_inventory(tmp_path, config, '--list', environment=environment)
    assert listed.returncode == 0, listed.stderr
    assert 'cluster %s/broken.example.com left out: %s/broken.example.com/config is not valid YAML at line 4' % (
        s3_location, s3_location) in ' '.join(listed.stderr.split()), listed.stderr
    assert sorted(listed_inventory(listed.stdout)['_meta']['hostvars']) == [
        'ha.example.com', 'minimal-aws.example.com', 'minimal-gce.example.com']

    strict = ansible_inventory(tmp_path, dict(config, strict_clusters=True), '--list', environment=dict(
        environment, ANSIBLE_INVENTORY_UNPARSED_FAILED='true'))
    assert strict.returncode != 0
    assert 'strict_clusters' in strict.stderr and 'broken.example.com/config' in strict.stderr, strict.stderr


def test_oversized_hostile_and_broken_clusters_on_s3_are_each_a_warning(tmp_path, two_stores, aws_environment):
    """A config past max_entry_size is not read; a config nested past the parser's depth, one whose aliases repeat
    past their bound, one that is no UTF-8 and an instance group whose !!int is no number are each refused: every one
    leaves its cluster out with a warning naming the entry (line and column where the parser gives them) and quoting
    nothing stored, and the other clusters are listed; strict_clusters fails naming each."""
    s3_location, s3 = two_stores[:2]
    header = 'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata: {name: %s}\n'
    aliases = ''.join('l%d: &l%d [%s]\n' % (level, level, ', '.join(['*l%d' % (level - 1)] * 8 if level else [MARK] * 8))
                      for level in range(8))
    lay_out(s3, 'minimal-aws.yaml', 'big.example.com')
    s3.write('big.example.com/config', s3.read('big.example.com/config')[0] + b'# ' + b'x' * 20000 + b'\n')
    lay_out(s3, 'minimal-aws.yaml', 'group.example.com')
    s3.write('group.example.com/instancegroup/nodes-us-test-1a', (
        'apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata: {name: nodes-us-test-1a}\n'
        'spec:\n  maxSize: !!int %s\n' % MARK).encode())
    s3.write('deep.example.com/config', (header % 'deep.example.com' + 'spec: ' + '[' * 5000 + MARK).encode())
    s3.write('bomb.example.com/config', (header % 'bomb.example.com' + 'spec:\n' + ''.join(
        '  ' + line + '\n' for line in aliases.splitlines())).encode())
    s3.write('binary.example.com/config', (header % 'binary.example.com').encode() + b'spec: {a: \xff\xfe}\n')
    environment = dict(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
                       AWS_ENDPOINT_URL=aws_environment['AWS_ENDPOINT_URL'])
    config = dict(plugin='kops.state_store.clusters', state_stores=[s3_location], max_entry_size=16384)
    listed = ansible_inventory(tmp_path, config, '--list', environment=environment)
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed_inventory(listed.stdout)['_meta']['hostvars']) == [
        'ha.example.com', 'minimal-aws.example.com', 'minimal-gce.example.com']
    stderr = ' '.join(listed.stderr.replace('[WARNING]:', ' ').split())
    assert MARK not in listed.stderr
    size = len(s3.read('big.example.com/config')[0])
    for name, problem in [
            ('big.example.com', 'config is %d bytes, more than max_entry_size allows (16384 bytes); it was not read'
             % size),
            ('binary.example.com', 'config is not valid YAML: a value cannot be read (ReaderError)'),
            ('bomb.example.com', 'config is not valid YAML at line 1, column 1: its aliases repeat more than 100000 '
                                 'nodes'),
            ('deep.example.com', 'config is not valid YAML: it is nested too deeply'),
            ('group.example.com', 'instancegroup/nodes-us-test-1a is not valid YAML at line 5, column 12: a value '
                                  'cannot be read as its tag says (ValueError)')]:
        assert 'cluster %s left out: %s/%s' % (s3.render(name), s3.render(name), problem) in stderr, stderr

    strict = ansible_inventory(tmp_path, dict(config, strict_clusters=True), '--list', environment=dict(
        environment, ANSIBLE_INVENTORY_UNPARSED_FAILED='true'))
    assert strict.returncode != 0 and MARK not in strict.stderr
    for name in ('big', 'binary', 'bomb', 'deep', 'group'):
        assert '%s.example.com/' % name in strict.stderr, strict.stderr


def test_other_file_names_are_not_taken(tmp_path, two_stores):
    config = dict(plugin='kops.state_store.clusters', state_stores=[two_stores[2]])
    listed = ansible_inventory(tmp_path, config, '--list', name='clusters.yml',
                               environment=dict(ANSIBLE_INVENTORY_ENABLED='kops.state_store.clusters'))
    assert 'kops_clusters' not in listed.stdout
    assert 'clusters.yml' in listed.stderr  # "Unable to parse ... as an inventory source"
    taken = ansible_inventory(tmp_path, config, '--list', name='review.kops.yaml')
    assert taken.returncode == 0 and sorted(listed_inventory(taken.stdout)['kops_clusters']['hosts']) == [
        'minimal-openstack.k8s.local', 'privatecilium.example.com'], taken.stderr

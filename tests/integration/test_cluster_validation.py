"""Validation against kOps's schema and rules through ansible-playbook: the cluster module's strict, warn and none
modes on a file:// store laid out from a real kOps fixture, cluster_info's audit, and the migrate_state_store role
moving a cluster stored with a finding (kOps's own complex.yaml, which carries a field kOps does not have) between
file:// stores and between two buckets of the moto server."""

import json
import os

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import load_documents
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, 'tests', 'fixtures', 'kops-clusters')
NAME = 'minimal-aws.example.com'


def test_strict_warn_none_and_the_audit(run_playbook, tmp_path):
    result_file = tmp_path / 'results.json'
    run = run_playbook('tests/integration/playbooks/cluster_validation.yml', dict(
        store='file://%s' % (tmp_path / 'store'), fixture=os.path.join(FIXTURES, 'minimal-aws.yaml'),
        result_file=str(result_file)))
    assert run.rc == 0, run
    results = json.loads(result_file.read_text())

    laid_out = results['laid_out']
    assert laid_out['changed'] and laid_out['findings'] == [] and laid_out['kops_schema_version'] == '1.37.0-alpha.1'

    typos = [
        '%s/config: spec.kubernetesVerison: unknown field; did you mean spec.kubernetesVersion?' % NAME,
        '%s/instancegroup/nodes: spec.maxsize: unknown field; did you mean spec.maxSize?' % NAME,
        '%s/instancegroup/nodes: spec.minSize: expected an integer (int32), got the string "three"' % NAME,
        '%s/instancegroup/workers: spec.role: "Worker" is not one of Master, ControlPlane, APIServer, Node, Bastion'
        % NAME,
    ]
    for refused in (results['refused_check'], results['refused']):
        assert refused['failed'] and not refused.get('changed') and 'diff' not in refused
        assert refused['msg'].startswith("refusing to write cluster %s: 4 findings against kOps 1.37.0-alpha.1's "
                                         'kops.k8s.io/v1alpha2 schema and rules: ' % NAME)
        assert all(typo in refused['msg'] for typo in typos), refused['msg']
        assert refused['msg'].endswith('Nothing was written (validate=warn writes anyway)')
    assert 'nodes: spec.minSize: minSize 5 is greater than maxSize 2' in results['refused_sizes']['msg']
    assert results['entries_after'] == results['entries_before']
    assert sorted(os.listdir(tmp_path / 'store' / NAME / 'instancegroup')) == ['master-us-test-1a', 'nodes']

    warned = results['warned']
    assert warned['changed'] and warned['changed_entries'] == [NAME + '/instancegroup/nodes']
    assert warned['findings'] == [{'entry': NAME + '/instancegroup/nodes', 'path': 'spec.maxsize', 'introduced': True,
                                   'message': 'unknown field; did you mean spec.maxSize?'}]
    assert warned['warnings'] == [
        "cluster %s was written with 1 new finding against kOps 1.37.0-alpha.1's schema and rules (validate=warn): "
        '%s/instancegroup/nodes: spec.maxsize: unknown field; did you mean spec.maxSize?' % (NAME, NAME)]

    unrelated = results['unrelated']
    assert unrelated['changed'] and unrelated['cluster']['spec']['kubernetesVersion'] == 'v1.33.1'
    assert [finding['introduced'] for finding in unrelated['findings']] == [False]
    assert unrelated['warnings'] == [
        "cluster %s: the store already holds 1 finding against kOps 1.37.0-alpha.1's schema and rules, kept as they "
        'were: %s/instancegroup/nodes: spec.maxsize: unknown field; did you mean spec.maxSize?' % (NAME, NAME)]
    assert not results['unrelated_again']['changed']

    unchecked = results['unchecked']
    assert unchecked['changed'] and unchecked['findings'] == [] and 'warnings' not in unchecked

    assert results['audited']['findings'] == [
        {'entry': NAME + '/config', 'path': 'spec.sshKeyNmae',
         'message': 'unknown field; did you mean spec.sshKeyName?'},
        {'entry': NAME + '/instancegroup/nodes', 'path': 'spec.maxsize',
         'message': 'unknown field; did you mean spec.maxSize?'}]
    assert results['audited']['kops_schema_version'] == '1.37.0-alpha.1' and not results['audited']['changed']
    assert 'findings' not in results['read'] and results['read']['cluster'] == results['audited']['cluster']
    assert results['audit_without_name']['failed']
    assert results['audit_without_name']['msg'] == 'validate needs name: it checks one cluster'


def lay_out(store, fixture):
    """A kOps fixture written into a store as kOps stores it (raw entries); returns the cluster name."""
    with open(os.path.join(FIXTURES, fixture)) as handle:
        documents = load_documents(handle.read(), fixture)
    name = documents[0]['metadata']['name']
    documents[0]['spec']['configBase'] = store.render(name)
    store.write(cl.config_path(name), cl.dump_document(documents[0]).encode())
    for group in documents[1:]:
        store.write(cl.group_path(name, group['metadata']['name']), cl.dump_document(group).encode())
    return name


@pytest.fixture(params=['file', 's3'])
def two_stores(request, tmp_path):
    """(source location, destination location, environment, settings) on file:// or on two moto buckets."""
    if request.param == 'file':
        return 'file://%s' % (tmp_path / 'old'), 'file://%s' % (tmp_path / 'new'), {}, {}
    environment = request.getfixturevalue('aws_environment')
    make_bucket = request.getfixturevalue('s3_bucket')
    settings = dict(endpoint_url=environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                    region='us-east-1')
    return 's3://%s' % make_bucket('old'), 's3://%s/kops' % make_bucket('new'), environment, settings


def test_a_cluster_stored_with_a_finding_can_be_moved(run_playbook, two_stores):
    source, destination, environment, settings = two_stores
    old, new = open_store(source, settings), open_store(destination, settings)
    name = lay_out(old, 'complex.yaml')  # spec.serviceOIDCProvider: a field kOps's API does not have
    moved = run_playbook('playbooks/migrate_state_store.yml', dict(source=source, destination=destination),
                         env=environment)
    assert moved.rc == 0, moved
    config = yaml.safe_load(new.read(cl.config_path(name))[0])
    assert config['spec']['configBase'] == new.render(name)
    assert config['spec']['serviceOIDCProvider']['issuerURL'] == 'https://oidc.example.com/foo'  # kept as stored
    assert 'the store already holds 1 finding' in moved.output
    assert 'spec.serviceOIDCProvider: unknown field' in moved.output
    assert yaml.safe_load(old.read(cl.config_path(name))[0])['spec']['configBase'] == old.render(name)

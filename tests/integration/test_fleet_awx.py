"""The fleet job as AWX runs it, through ansible-runner (AWX's own runner of ansible-playbook and ansible-inventory):
the credential type "kOps state store (S3-compatible)" rendered into the job's environment the way AWX renders
injectors, an inventory source "Sourced from a Project" (ansible-inventory --list --export on the project's
clusters.kops.yml, nothing else configured), then playbooks/fleet_upgrade.yml sliced in two.

AWX's job slicing orders the inventory's hosts by name and gives slice k of n the hosts [k-1::n] (round-robin by
index; awx/main/models/inventory.py, get_script_data); each slice job then runs on an inventory holding only those
hosts. Here each slice runs on the plugin's inventory with --limit naming the same hosts, built the same way."""

import json
import os
import sys
import uuid

import ansible_runner
from ansible.parsing.dataloader import DataLoader
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.kops_fleet import lay_out_fleet

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, 'build', 'collections')
PLAYBOOK = os.path.join(REPO, 'playbooks', 'fleet_upgrade.yml')
CREDENTIAL_TYPE = os.path.join(REPO, 'awx', 'credential_types', 'kops_state_store_s3_compatible.yml')
SLICES = 2


def injected_environment(credential_type, inputs):
    """The environment a job gets from a credential of ``credential_type`` (a file of awx/credential_types/) with
    ``inputs``: every env injector rendered with the inputs in a sandboxed Jinja environment, as AWX does."""
    definition = json.loads(json.dumps(DataLoader().load_from_file(credential_type)))
    sandbox = ImmutableSandboxedEnvironment()
    return dict((variable, sandbox.from_string(template).render(**inputs))
                for variable, template in definition['injectors']['env'].items())


def awx_slices(hosts, count):
    """The hosts of each of ``count`` slices, as AWX assigns them."""
    ordered = sorted(hosts)
    return [ordered[number::count] for number in range(count)]


def test_sliced_fleet_job_with_the_credential_types_environment(tmp_path, moto_server, s3_bucket, monkeypatch):
    location = 's3://%s/kops' % s3_bucket('awx-fleet')
    secret = 'kops-awx-secret-%s' % uuid.uuid4().hex  # moto checks no key: any value reaches the same bucket
    backend = open_store(location, dict(endpoint_url=moto_server.endpoint, access_key='awx', secret_key=secret,
                                        region='us-east-1'))
    clusters = lay_out_fleet(backend, 5, fixtures=['minimal-aws.yaml', 'ha.yaml'])
    credential = injected_environment(CREDENTIAL_TYPE, dict(
        state_store=location, s3_endpoint=moto_server.endpoint, s3_region='us-east-1', s3_access_key_id='awx',
        s3_secret_access_key=secret))
    assert credential['KOPS_STATE_STORE'] == location and credential['S3_SECRET_ACCESS_KEY'] == secret
    for variable in list(os.environ):  # an execution environment has none of the machine's settings
        if variable.startswith(('AWS_', 'S3_', 'KOPS_')):
            monkeypatch.delenv(variable)
    # ansible-runner finds ansible-playbook and ansible-inventory on its own PATH, as in an execution environment
    monkeypatch.setenv('PATH', os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
    environment = dict(credential, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, HOME=str(tmp_path), ANSIBLE_NOCOLOR='1')
    project = tmp_path / 'project'
    project.mkdir()
    source = project / 'clusters.kops.yml'
    source.write_text('plugin: kops.state_store.clusters\n')  # the store comes from the credential

    for folder in ['inventory-update'] + ['slice-%d' % number for number in range(1, SLICES + 1)]:
        (tmp_path / folder).mkdir()  # ansible-runner's private data folders, one per job as AWX has
    synced, errors = ansible_runner.interface.get_inventory(
        'list', [str(source)], response_format='json', export=True, envvars=environment, quiet=True,
        private_data_dir=str(tmp_path / 'inventory-update'))
    assert sorted(synced['_meta']['hostvars']) == clusters, errors
    assert secret not in json.dumps(synced)

    slices = awx_slices(synced['_meta']['hostvars'], SLICES)
    assert sorted(sum(slices, [])) == clusters and all(slices)
    for number, hosts in enumerate(slices):
        run = ansible_runner.run(
            private_data_dir=str(tmp_path / ('slice-%d' % (number + 1))), playbook=PLAYBOOK, inventory=str(source),
            limit=','.join(hosts), envvars=environment, extravars=dict(kubernetes_version='v1.35.0'), quiet=True)
        with run.stdout as handle:
            output = handle.read()
        assert run.status == 'successful', output[-4000:]
        assert secret not in output
        changed = sorted(event['event_data']['host'] for event in run.events if event['event'] == 'runner_on_ok'
                         and event['event_data'].get('task') == 'Merge the change into the cluster'
                         and event['event_data']['res'].get('changed'))
        assert changed == hosts
        stats = [event['event_data'] for event in run.events if event['event'] == 'playbook_on_stats'][0]
        assert sorted(stats['artifact_data']['fleet_upgrade_summary']['changed']) == hosts
    for name in clusters:  # every cluster changed by exactly one slice
        cluster = cl.read_cluster(backend, name).cluster
        assert (cluster['spec']['kubernetesVersion'], cluster['metadata']['generation']) == ('v1.35.0', 1), name

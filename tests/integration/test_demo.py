"""playbooks/demo.yml, the tour `make demo` runs, as make runs it: every step's outcome in the stores it leaves
(kOps's layout and formats), every step's message in its output, the output short enough to read, no private key
in it, and a second run that changes nothing."""

import base64
import os
import subprocess

import yaml
from cryptography import x509

from support.documented_invocations import World
from support.kops_material import leaked_private_material

DEMO = 'playbooks/demo.yml'
CLUSTER = 'demo.k8s.local'
# as the Makefile's demo target runs it: skipped tasks hidden, one line of diff context
MAKE_DEMO_ENVIRONMENT = dict(ANSIBLE_DISPLAY_SKIPPED_HOSTS='false', ANSIBLE_DIFF_CONTEXT='1')
# make prints its own commands around the playbook's output: the collection's link (two lines, first run only) and
# the ansible-playbook command (two lines); pip prints nothing (-qq). The whole of `make demo` stays under 150.
MAKE_LINES = 4


def tree(folder):
    """{relative path: bytes} of every file below ``folder`` (a git repository's own folder left out)."""
    found = {}
    for current, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if name != '.git']
        for name in files:
            path = os.path.join(current, name)
            with open(path, 'rb') as handle:
                found[os.path.relpath(path, folder)] = handle.read()
    return found


def document(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def message(output, step):
    """What the last task of a step printed: its message."""
    return output.split('TASK [Step %d - ' % step)[-1].split('TASK [')[0].split('PLAY RECAP')[0]


def check_keyset(path, name):
    """A keyset.yaml as kOps writes it: one key whose id is its certificate's serial, primary, private key and
    certificate as base64 PEM; returns (certificate, private key PEM)."""
    keyset = document(path)
    assert (keyset['apiVersion'], keyset['kind'], keyset['metadata']['name']) == ('kops.k8s.io/v1alpha2', 'Keyset', name)
    assert keyset['spec']['type'] == 'Keypair'
    [key] = keyset['spec']['keys']
    certificate = x509.load_pem_x509_certificate(base64.b64decode(key['publicMaterial']))
    private = base64.b64decode(key['privateMaterial'])
    assert private.startswith(b'-----BEGIN RSA PRIVATE KEY-----')
    assert key['id'] == keyset['spec']['primaryId'] == str(certificate.serial_number)
    assert certificate.subject.rfc4514_string() == 'CN=%s' % name
    return certificate, private


def test_the_tour_tells_every_step_and_a_second_run_changes_nothing(run_playbook, tmp_path):
    demo = tmp_path / 'demo'
    first = run_playbook(DEMO, extra_vars=dict(demo_dir=str(demo)), env=MAKE_DEMO_ENVIRONMENT)
    assert first.rc == 0, first
    output = first.output
    assert len(output.splitlines()) + MAKE_LINES < 150, output

    store = demo / 'state-store' / CLUSTER
    config = document(store / 'config')
    groups = dict((name, document(store / 'instancegroup' / name)) for name in os.listdir(store / 'instancegroup'))
    # 1: as kops create cluster --zones --node-size --node-count --kubernetes-version (then upgraded in step 3)
    assert 'Created %s\'s config and instance groups control-plane-us-east-1a and nodes-us-east-1a' % CLUSTER \
        in message(output, 1)
    assert config['spec']['subnets'] == [{'name': 'us-east-1a', 'type': 'Public', 'zone': 'us-east-1a'}]
    assert config['spec']['configBase'] == str(store)
    assert sorted(groups) == ['control-plane-us-east-1a', 'nodes-us-east-1a']
    assert groups['nodes-us-east-1a']['spec']['machineType'] == 't3.medium'
    assert groups['nodes-us-east-1a']['spec']['minSize'] == 2
    # 2: refused with kOps's path and the closest known name
    assert 'spec.kubernetesVerison: unknown field; did you mean spec.kubernetesVersion?' in message(output, 2)
    assert 'kubernetesVerison' not in (store / 'config').read_text()
    # 3: merged, the one line in the diff
    assert '-  kubernetesVersion: 1.31.4\n+  kubernetesVersion: 1.32.4' in output
    assert config['spec']['kubernetesVersion'] == '1.32.4'
    # 4: a review copy without secrets, the proposal's diff, production's differences
    assert '-  maxSize: 2\n+  maxSize: 10' in output
    assert 'the proposal differs from production in: instancegroup/nodes-us-east-1a.' in message(output, 4)
    assert document(demo / 'review' / CLUSTER / 'instancegroup' / 'nodes-us-east-1a')['spec']['maxSize'] == 10
    # 5: one snapshot, then the proposal applied to production: the drift report names it
    assert groups['nodes-us-east-1a']['spec']['maxSize'] == 10
    assert 'drift of the store since then: instancegroup/nodes-us-east-1a changed' in message(output, 5)
    history = subprocess.run(['git', '-C', str(demo / 'history'), 'log', '--format=%s'], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    assert history == ['Snapshot of %s: %s: 3 added, 0 changed, 0 removed' % (demo / 'state-store', CLUSTER)]
    # 6: the inventory plugin's hosts and groups
    assert ('Hosts: %s; groups: kops_clusters, kops_store_file_%s, kops_cloud_aws, kops_k8s_1_32.'
            % (CLUSTER, ''.join(c if c.isalnum() else '_' for c in str(demo / 'state-store')).strip('_'))) \
        in message(output, 6)
    # 7: CAs in kOps's keyset format, the expiry table flags the one ending within 30 days
    keys = dict((name, check_keyset(store / 'pki' / 'private' / name / 'keyset.yaml', name))
                for name in ['kubernetes-ca', 'etcd-clients-ca'])
    table = message(output, 7)
    assert '"etcd-clients-ca  %s     19  YES"' % keys['etcd-clients-ca'][0].not_valid_after_utc.strftime(
        '%Y-%m-%dT%H:%M:%SZ') in table
    assert '"kubernetes-ca    %s   3649  no"' % keys['kubernetes-ca'][0].not_valid_after_utc.strftime(
        '%Y-%m-%dT%H:%M:%SZ') in table
    assert not os.path.exists(demo / 'review' / CLUSTER / 'pki')  # the review copy left secrets out
    # 8: moved, configBase rewritten at the destination only
    moved = demo / 'moved-store' / CLUSTER
    assert document(moved / 'config')['spec']['configBase'] == str(moved)
    assert 'its configBase rewritten to %s;' % moved in message(output, 8)
    assert tree(moved / 'pki') == tree(store / 'pki')
    assert leaked_private_material(output, [private for _certificate, private in keys.values()]) == []

    stores = tree(demo)
    # the second run as docs/first-steps.md shows it (the collection installed, the folder given)
    world = World(tmp_path, dict(os.environ, **MAKE_DEMO_ENVIRONMENT))
    world.replace('/tmp/kops-demo', demo)
    second = world.run('ansible-playbook playbooks/demo.yml -e demo_dir=/tmp/kops-demo')
    assert 'changed=0 ' in second and 'failed=0 ' in second
    assert tree(demo) == stores
    assert 'Already in the store (an earlier run made it): %s' % CLUSTER in message(second, 1)
    assert 'did you mean spec.kubernetesVersion?' in message(second, 2)
    assert 'Already merged by an earlier run' in message(second, 3)
    assert 'differs from production in: nothing' in message(second, 4)
    assert 'The first run committed a snapshot' in message(second, 5)
    assert 'instancegroup/nodes-us-east-1a changed' in message(second, 5)
    for step in (6, 7, 8):
        assert message(second, step) == message(output, step)


def test_check_mode_writes_nothing(run_playbook, tmp_path):
    demo = tmp_path / 'demo'
    result = run_playbook(DEMO, args=['--check'], extra_vars=dict(demo_dir=str(demo)), env=MAKE_DEMO_ENVIRONMENT)
    # the cluster step 1 would create is not there for step 3 to change: the tour stops, having written nothing
    assert result.rc != 0
    assert 'does not exist' in result.output
    assert not demo.exists()

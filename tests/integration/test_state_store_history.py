"""The state_store_history role and the history module through ansible-playbook (playbooks/state_store_history.yml,
the molecule scenario, tests/integration/playbooks/history_*.yml), on the moto server and on file:// stores: snapshot
and the run that changes nothing, drift with --diff, restore (refused, planned in check mode, forced, deleting only
when asked), secrets left out or encrypted with the play's vault secret (the whole .git scanned for their clear
text, and the -vvvv output), a snapshot of an S3 store restored to a file:// store, and a push to a bare remote."""

import base64
import os
import subprocess
import uuid

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

PLAYBOOK = 'playbooks/state_store_history.yml'
CLUSTER = 'a.k8s.local'
FIXTURE = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'kops-clusters', 'minimal-aws.yaml')
FIXTURE_NAME = 'minimal-aws.example.com'
SECRET_PATHS = ('secrets/admin', 'pki/private/kubernetes-ca/keyset.yaml')


@pytest.fixture
def secret():
    """The clear text inside the seeded secret entries; it must never show in the repository or the output."""
    return 'Clear-Secret-%s' % uuid.uuid4().hex


@pytest.fixture
def vault_password(tmp_path):
    path = tmp_path / 'vault-password'
    path.write_text('vault-%s\n' % uuid.uuid4().hex)
    return path


@pytest.fixture
def environment(aws_environment, vault_password):
    return dict(aws_environment, ANSIBLE_VAULT_PASSWORD_FILE=str(vault_password))


def seed(store, secret, name=CLUSTER):
    """A cluster as kOps leaves it (the fixture's config and groups, a key, a secret, the kOps version)."""
    with open(FIXTURE) as handle:
        documents = list(yaml.safe_load_all(handle.read().replace(FIXTURE_NAME, name)))
    for document in documents:
        path = 'config' if document['kind'] == 'Cluster' else 'instancegroup/' + document['metadata']['name']
        store.write('%s/%s' % (name, path), yaml.safe_dump(document).encode())
    store.write(name + '/secrets/admin', ('{"Data": "%s"}' % base64.b64encode(secret.encode()).decode()).encode())
    store.write(name + '/pki/private/kubernetes-ca/keyset.yaml', ('privateMaterial: %s\n' % secret).encode())
    store.write(name + '/kops-version.txt', b'1.30.4')


def tree(store):
    return dict((entry.path, store.read(entry.path)[0]) for entry in store.list('', recursive=True))


def git(repository, *arguments):
    return subprocess.run(['git', '-C', str(repository)] + list(arguments), capture_output=True, check=True).stdout


def everything_in(repository):
    """The working tree, every git object uncompressed (loose and packed) and every file of .git as it is."""
    found = git(repository, 'cat-file', '--batch-all-objects', '--batch')
    for folder, _folders, names in os.walk(str(repository)):
        for name in names:
            with open(os.path.join(folder, name), 'rb') as handle:
                found += handle.read()
    return found


def forms(secret):
    return [secret.encode(), base64.b64encode(secret.encode())]


def run(run_playbook, environment, args=(), **variables):
    return run_playbook(PLAYBOOK, variables, args=list(args), env=environment)


def test_molecule_scenario(environment, s3_bucket, molecule_test, secret):
    """prepare, converge, idempotence, verify: snapshots of an S3 store (secrets encrypted) and a local store,
    drift, the refused, planned and forced restores, a restore of the S3 snapshot into the local store."""
    molecule_test('state_store_history', dict(environment, MOLECULE_BUCKET=s3_bucket('history'), MOLECULE_SECRET=secret))


def test_snapshot_then_nothing_to_record_then_a_change(run_playbook, environment, s3_bucket, stores, tmp_path, secret):
    store = 's3://%s/team' % s3_bucket('history')
    seed(stores(store), secret)
    repository = tmp_path / 'history'
    variables = dict(state_store=store, repository=str(repository), author_name='Ops Team',
                     author_email='ops@example.com')

    first = run(run_playbook, environment, **variables)
    assert first.rc == 0, first
    folder = repository / 's3' / store[len('s3://'):] / CLUSTER
    assert (folder / 'config').read_bytes() == stores(store).read(CLUSTER + '/config')[0]
    assert not (folder / 'secrets').exists() and not (folder / 'pki').exists()  # left out by default
    log = git(repository, 'log', '--format=%an <%ae>|%B').decode()
    assert log.startswith('Ops Team <ops@example.com>|Snapshot of %s: %s: 4 added, 0 changed, 0 removed' % (store, CLUSTER))
    assert '%s: 4 added, 0 changed, 0 removed; 2 secret entries left out' % CLUSTER in log

    again = run(run_playbook, environment, **variables)
    assert again.rc == 0 and 'changed=0' in again.output and 'Nothing changed since' in again.output, again
    assert git(repository, 'rev-list', '--count', 'HEAD').strip() == b'1'

    stores(store).write(CLUSTER + '/kops-version.txt', b'1.31.0')
    stores(store).delete(CLUSTER + '/instancegroup/nodes')
    third = run(run_playbook, environment, **variables)
    assert third.rc == 0 and 'changed=1' in third.output, third
    assert ('Snapshot of %s: %s: 0 added, 1 changed, 1 removed' % (store, CLUSTER)).encode() in git(repository, 'log', '-1')
    assert git(repository, 'status', '--porcelain') == b''

    secret_free = everything_in(repository)
    assert not any(form in secret_free for form in forms(secret))
    assert b'kops-version.txt' in secret_free and b'1.31.0' in secret_free  # the scan sees what is there


def test_drift_and_restore_on_a_file_store(run_playbook, environment, tmp_path, secret):
    store_path = tmp_path / 'kops-state'
    store = open_store('file://%s' % store_path)
    seed(store, secret)
    repository = tmp_path / 'history'
    variables = dict(state_store='file://%s' % store_path, repository=str(repository))
    assert run(run_playbook, environment, **variables).rc == 0
    first = git(repository, 'rev-parse', 'HEAD').decode().strip()
    git(repository, 'tag', 'before-upgrade')

    store.write(CLUSTER + '/kops-version.txt', b'1.31.0')
    store.write(CLUSTER + '/addons/bootstrap-channel.yaml', b'kind: Addons\n')
    store.write(CLUSTER + '/secrets/admin', b'{"Data": "cm90YXRlZA=="}')
    drift = run(run_playbook, environment, args=['--diff'], operation='drift', fail_on_drift=True, **variables)
    assert drift.rc != 0 and 'a.k8s.local drifted from %s' % first[:12] in drift.output, drift
    assert '-1.30.4' in drift.output and '+1.31.0' in drift.output  # the diff of a public entry
    assert 'secrets/admin' not in drift.output and 'cm90YXRlZA' not in drift.output  # secrets left out of the drift
    assert git(repository, 'rev-parse', 'HEAD').decode().strip() == first  # nothing recorded
    assert git(repository, 'status', '--porcelain') == b''

    refused = run(run_playbook, environment, operation='restore', clusters=[CLUSTER], commit='before-upgrade', **variables)
    assert refused.rc != 0 and '%s: kops-version.txt' % CLUSTER in refused.output, refused
    assert store.read(CLUSTER + '/kops-version.txt')[0] == b'1.31.0'

    assert run(run_playbook, environment, **variables).rc == 0  # the change is recorded: a restore loses nothing now
    plan = run(run_playbook, environment, args=['--check', '--diff'], operation='restore', clusters=[CLUSTER],
               commit='before-upgrade', delete=True, **variables)
    assert plan.rc == 0 and 'changed=1' in plan.output, plan
    assert '%s: update kops-version.txt, delete addons/bootstrap-channel.yaml' % CLUSTER in plan.output
    assert store.read(CLUSTER + '/kops-version.txt')[0] == b'1.31.0'

    kept = run(run_playbook, environment, operation='restore', clusters=[CLUSTER], commit='before-upgrade', **variables)
    assert kept.rc == 0, kept
    assert store.read(CLUSTER + '/kops-version.txt')[0] == b'1.30.4'
    assert CLUSTER + '/addons/bootstrap-channel.yaml' in tree(store)  # not deleted unless asked
    assert store.read(CLUSTER + '/secrets/admin')[0] == b'{"Data": "cm90YXRlZA=="}'  # secrets not restored unless asked

    deleted = run(run_playbook, environment, operation='restore', clusters=[CLUSTER], commit='before-upgrade',
                  delete=True, **variables)
    assert deleted.rc == 0 and CLUSTER + '/addons/bootstrap-channel.yaml' not in tree(store), deleted
    assert store.read(CLUSTER + '/secrets/admin')[0] == b'{"Data": "cm90YXRlZA=="}'  # never deleted or written


def test_forced_restore_over_unrecorded_changes_on_s3(run_playbook, environment, s3_bucket, stores, tmp_path, secret):
    store = 's3://%s' % s3_bucket('history')
    seed(stores(store), secret)
    repository = tmp_path / 'history'
    variables = dict(state_store=store, repository=str(repository))
    assert run(run_playbook, environment, **variables).rc == 0
    stores(store).write(CLUSTER + '/kops-version.txt', b'unrecorded')
    stores(store).write(CLUSTER + '/instancegroup/nodes', b'kind: InstanceGroup\nunrecorded: true\n')
    before = tree(stores(store))

    refused = run(run_playbook, environment, operation='restore', clusters=[CLUSTER], **variables)
    assert refused.rc != 0, refused
    assert '%s: instancegroup/nodes, kops-version.txt' % CLUSTER in refused.output
    assert tree(stores(store)) == before

    planned = run(run_playbook, environment, args=['--check'], operation='restore', clusters=[CLUSTER], force=True,
                  **variables)
    assert planned.rc == 0 and tree(stores(store)) == before, planned
    forced = run(run_playbook, environment, operation='restore', clusters=[CLUSTER], force=True, **variables)
    assert forced.rc == 0, forced
    assert stores(store).read(CLUSTER + '/kops-version.txt')[0] == b'1.30.4'
    drift = run(run_playbook, environment, operation='drift', fail_on_drift=True, **variables)
    assert drift.rc == 0 and 'No drift from' in drift.output, drift


@pytest.mark.parametrize('kind', ['s3', 'file'])
def test_secrets_are_never_in_clear(run_playbook, environment, s3_bucket, stores, tmp_path, secret, vault_password, kind):
    """Every operation with secrets at -vvvv --diff; the output before the marker task and everything in the
    repository are scanned for the clear text (and its base64); the encrypted files open with the play's secret."""
    store = 's3://%s' % s3_bucket('history') if kind == 's3' else 'file://%s' % (tmp_path / 'store')
    seed(stores(store), secret)
    repository = tmp_path / 'history'
    result = run_playbook('tests/integration/playbooks/history_secrets.yml',
                          dict(store=store, repository=str(repository), secret=secret),
                          args=['-vvvv', '--diff'], env=environment)
    assert result.rc == 0, result
    hidden, revealed = result.output.split('TASK [REVEAL', 1)
    assert not any(form in hidden.encode() for form in forms(secret)), 'a secret shows in the output'
    assert secret in revealed or base64.b64encode(secret.encode()).decode() in revealed  # the scan finds one

    assert not any(form in everything_in(repository) for form in forms(secret)), 'a secret is in the repository'
    folder = repository / ('s3/' + store[len('s3://'):] if kind == 's3' else 'file' + str(tmp_path / 'store')) / CLUSTER
    vault = VaultLib([('default', VaultSecret(vault_password.read_text().strip().encode()))])
    for path in SECRET_PATHS:  # in the first commit, each holds the secret, encrypted
        text = git(repository, 'show', 'HEAD~1:%s' % os.path.relpath(str(folder / path), str(repository)))
        assert text.startswith(b'$ANSIBLE_VAULT;1.1;AES256')
        assert any(form in vault.decrypt(text) for form in forms(secret))
    restored = stores(store).read(CLUSTER + '/secrets/admin')[0]  # the first snapshot's, over the rotation
    assert restored == ('{"Data": "%s"}' % base64.b64encode(secret.encode()).decode()).encode()


def test_secrets_without_a_vault_secret_fail_and_change_nothing(run_playbook, aws_environment, tmp_path, secret):
    store_path = tmp_path / 'kops-state'
    seed(open_store('file://%s' % store_path), secret)
    repository = tmp_path / 'history'
    result = run(run_playbook, aws_environment, state_store='file://%s' % store_path, repository=str(repository),
                 secrets=True)
    assert result.rc != 0 and "needs the play's vault secret" in result.output, result
    assert not repository.exists()


def test_s3_snapshot_restored_to_a_file_store(run_playbook, environment, s3_bucket, stores, tmp_path, secret):
    """A migration by history: the S3 store's snapshot (secrets included) written to a new file:// store."""
    bucket = s3_bucket('history')
    store = 's3://%s' % bucket
    seed(stores(store), secret)
    repository = tmp_path / 'history'
    assert run(run_playbook, environment, state_store=store, repository=str(repository), secrets=True).rc == 0
    target = 'file://%s' % (tmp_path / 'review')
    restored = run(run_playbook, environment, state_store=target, repository=str(repository), operation='restore',
                   clusters=[CLUSTER], source_folder='s3/%s' % bucket, secrets=True)
    assert restored.rc == 0, restored
    assert tree(open_store(target)) == tree(stores(store))
    again = run(run_playbook, environment, state_store=target, repository=str(repository), operation='restore',
                clusters=[CLUSTER], source_folder='s3/%s' % bucket, secrets=True)
    assert again.rc == 0 and 'changed=0' in again.output, again


def test_push_to_a_bare_remote(run_playbook, environment, tmp_path, secret):
    store_path = tmp_path / 'kops-state'
    store = open_store('file://%s' % store_path)
    seed(store, secret)
    remote = tmp_path / 'remote.git'
    subprocess.run(['git', 'init', '-q', '--bare', str(remote)], check=True)
    repository = tmp_path / 'history'
    variables = dict(state_store='file://%s' % store_path, repository=str(repository), push=True, remote=str(remote))
    first = run(run_playbook, environment, **variables)
    assert first.rc == 0, first
    head = git(repository, 'rev-parse', 'HEAD')
    branch = git(repository, 'symbolic-ref', '--short', 'HEAD').decode().strip()
    assert git(remote, 'rev-parse', branch) == head
    again = run(run_playbook, environment, **variables)
    assert again.rc == 0 and 'changed=0' in again.output, again

    variables['remote'] = str(tmp_path / 'no-such-remote.git')
    missing = run(run_playbook, environment, **variables)
    assert missing.rc != 0 and 'git push failed' in missing.output, missing


def test_a_link_committed_into_the_repository_is_never_followed(
        run_playbook, environment, s3_bucket, stores, tmp_path, secret):
    """A collaborator of the shared repository commits symbolic links where the snapshot of an S3 store writes: one
    for a file, to a file outside, and one for a folder, to a folder outside. The next snapshot writes real files
    there, leaves the outside untouched, and commits what it reports."""
    store = 's3://%s' % s3_bucket('history')
    seed(stores(store), secret)
    repository = tmp_path / 'history'
    variables = dict(state_store=store, repository=str(repository))
    assert run(run_playbook, environment, **variables).rc == 0
    outside = tmp_path / 'outside'
    (outside / 'instancegroup').mkdir(parents=True)
    (outside / 'kops-version.txt').write_bytes(b'not yours\n')
    (outside / 'instancegroup' / 'nodes').write_bytes(b'not yours either\n')
    folder = repository / 's3' / store[len('s3://'):] / CLUSTER
    (folder / 'kops-version.txt').unlink()
    (folder / 'kops-version.txt').symlink_to(outside / 'kops-version.txt')
    subprocess.run(['rm', '-r', str(folder / 'instancegroup')], check=True)
    (folder / 'instancegroup').symlink_to(outside / 'instancegroup')
    git(repository, '-c', 'user.name=Collaborator', '-c', 'user.email=c@example.com', 'commit', '-q', '-a', '-m', 'links')
    linked = git(repository, 'rev-parse', 'HEAD').strip()
    stores(store).write(CLUSTER + '/kops-version.txt', b'1.31.0')

    snapshot = run(run_playbook, environment, **variables)
    assert snapshot.rc == 0 and 'changed=1' in snapshot.output, snapshot
    assert (outside / 'kops-version.txt').read_bytes() == b'not yours\n'
    assert sorted(os.listdir(str(outside / 'instancegroup'))) == ['nodes']
    assert (outside / 'instancegroup' / 'nodes').read_bytes() == b'not yours either\n'
    assert not (folder / 'kops-version.txt').is_symlink() and not (folder / 'instancegroup').is_symlink()
    assert (folder / 'kops-version.txt').read_bytes() == b'1.31.0'
    assert (folder / 'instancegroup' / 'nodes').read_bytes() == stores(store).read(CLUSTER + '/instancegroup/nodes')[0]
    assert git(repository, 'rev-parse', 'HEAD^').strip() == linked
    assert git(repository, 'status', '--porcelain') == b''

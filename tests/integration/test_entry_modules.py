"""The entry modules and lookup through real ansible-playbook runs on file:// and memfs:// stores."""

import base64
import os

import pytest

from ansible_collections.kops.state_store.plugins.module_utils import registry
from ansible_collections.kops.state_store.plugins.module_utils.locations import SCHEMES

SECRET = 'SuperSecretValue-7f3a9c'


def tree(folder):
    if not os.path.isdir(folder):
        return {}
    found = {}
    for current, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(current, name)
            with open(path, 'rb') as handle:
                found[os.path.relpath(path, folder)] = handle.read()
    return found


@pytest.fixture
def binary_file(tmp_path):
    payload = bytes(range(256))
    path = tmp_path / 'blob.bin'
    path.write_bytes(payload)
    (tmp_path / 'blob.bin.b64').write_text(base64.b64encode(payload).decode())
    return str(path)


@pytest.mark.parametrize('form', ['file_url', 'bare_path'])
def test_roundtrip(run_playbook, tmp_path, binary_file, form):
    folder = tmp_path / 'store'
    store = 'file://%s' % folder if form == 'file_url' else str(folder)
    result = run_playbook('tests/integration/playbooks/entry_roundtrip.yml', dict(
        store=store, store_url='file://%s' % folder, binary_file=binary_file))
    assert result.rc == 0, result
    assert set(tree(str(folder))) == {'c1.k8s.local/config', 'c1.k8s.local/kops-version.txt'}


def test_secrets_never_shown(run_playbook, tmp_path):
    folder = tmp_path / 'store'
    result = run_playbook('tests/integration/playbooks/entry_secrets.yml', dict(
        store='file://%s' % folder, secret_value=SECRET), args=['-vvvv', '--diff'])
    assert result.rc == 0, result
    # The playbook reveals the secret on request at its end; nothing before that may show it.
    before_reveal = result.output.split('TASK [Revealed on request]')[0]
    assert SECRET not in before_reveal
    assert tree(str(folder))['c1.k8s.local/secrets/admin'] == (SECRET + '-rotated').encode()


def test_memfs_lives_for_one_run(run_playbook):
    result = run_playbook('tests/integration/playbooks/entry_memfs.yml')
    assert result.rc == 0, result


def _unavailable_scheme():
    available = set()
    for backend_module in registry.BACKEND_MODULES:
        available.update(backend_module.SCHEMES)
    missing = [scheme for scheme in SCHEMES if scheme not in available]
    return missing[0] if missing else None


@pytest.mark.parametrize('case', ['malformed', 'escape', 'encoded_escape', 'absolute', 'no_store', 'unknown', 'unavailable'])
def test_bad_input_fails_clearly_and_writes_nothing(run_playbook, tmp_path, case):
    folder = tmp_path / 'store'
    folder.mkdir()
    (folder / 'c1').mkdir()
    (folder / 'c1' / 'config').write_bytes(b'original')
    store = 'file://%s' % folder
    home = tmp_path / 'home'
    home.mkdir()
    cases = dict(
        malformed=dict(bad_store='s3://', expected_message='empty bucket'),
        escape=dict(bad_store=store, bad_path='c1/../../outside', expected_message='escapes the state store'),
        encoded_escape=dict(bad_store=store, bad_path='%2e%2e/outside', expected_message='escapes the state store'),
        absolute=dict(bad_store=store, bad_path='/etc/kops', expected_message='is absolute'),
        no_store=dict(expected_message='KOPS_STATE_STORE environment variable, or kops_state_store in ~/.kops.yaml'),
        unknown=dict(bad_store='ftp://bucket', expected_message="unknown state store scheme 'ftp://'"),
    )
    if case == 'unavailable':
        scheme = _unavailable_scheme()
        if scheme is None:
            pytest.skip('every scheme has a backend now')
        cases[case] = dict(bad_store='%s://bucket/x/y' % scheme, expected_message='not available yet')
    environment = dict(HOME=str(home))
    result = run_playbook('tests/integration/playbooks/entry_error.yml', cases[case], env=environment)
    assert result.rc == 0, result
    assert tree(str(folder)) == {'c1/config': b'original'}
    assert sorted(name for name in os.listdir(str(tmp_path)) if not name.startswith('extra-vars')) == sorted(
        ['store', 'home', 'ansible-local'])

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation
from ansible_collections.kops.state_store.plugins.module_utils.resolve import resolve_state_store


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    return tmp_path


def test_option_wins(home):
    (home / '.kops.yaml').write_text('kops_state_store: s3://from-file\n')
    assert resolve_state_store('s3://option', {'KOPS_STATE_STORE': 's3://env'}) == ('s3://option', 'the state_store option')


def test_environment_before_files(home):
    (home / '.kops.yaml').write_text('kops_state_store: s3://from-file\n')
    value, source = resolve_state_store(None, {'KOPS_STATE_STORE': 's3://env/'})
    assert value == 's3://env'
    assert 'KOPS_STATE_STORE' in source


def test_kops_yaml_before_kops_config(home):
    (home / '.kops.yaml').write_text('KOPS_STATE_STORE: s3://yaml//\n')
    (home / '.kops').mkdir()
    (home / '.kops' / 'config').write_text('kops_state_store: s3://config\n')
    # one trailing slash trimmed, as kOps does
    assert resolve_state_store(None, {}) == ('s3://yaml/', str(home / '.kops.yaml'))


def test_only_the_first_existing_file_is_read(home):
    (home / '.kops.yaml').write_text('other: value\n')
    (home / '.kops').mkdir()
    (home / '.kops' / 'config').write_text('kops_state_store: s3://config\n')
    with pytest.raises(BadLocation):
        resolve_state_store(None, {})


def test_kops_config_with_mixed_case_key(home):
    (home / '.kops').mkdir()
    (home / '.kops' / 'config').write_text('Kops_State_Store: gs://bucket/\n')
    assert resolve_state_store(None, {})[0] == 'gs://bucket'


def test_nothing_configured_names_all_four_ways(home):
    with pytest.raises(BadLocation) as caught:
        resolve_state_store(None, {})
    message = str(caught.value)
    for way in ('state_store', 'KOPS_STATE_STORE', '~/.kops.yaml', '~/.kops/config'):
        assert way in message


def test_unparsable_config_file(home):
    (home / '.kops.yaml').write_text('kops_state_store: [unclosed\n')
    with pytest.raises(BadLocation) as caught:
        resolve_state_store(None, {})
    assert '.kops.yaml' in str(caught.value)


def test_vault_refused_as_state_store(home):
    with pytest.raises(BadLocation) as caught:
        resolve_state_store('vault://host/kv/clusters', {})
    assert 'secrets and keys' in str(caught.value)

"""The entry modules and lookup through ansible-playbook on swift:// (Swift + Keystone from Debian packages):
round trip, check mode, diff, redaction, the container rules of kOps, and clear errors that write nothing."""

import itertools

import pytest

SECRET = 'SwiftStoreSecret-8c41d2'
WRONG_PASSWORD = 'WrongSwiftPassword-19ab'
_names = itertools.count()


@pytest.fixture
def container(swift_server):
    return 'playbook-%d' % next(_names)


def object_names(swift_server, container):
    """Object names of a container as the tester sees them, or None when the container does not exist."""
    import openstack

    environment = swift_server.client_environment()
    connection = openstack.connect(
        load_yaml_config=False, load_envvars=False, region_name=environment['OS_REGION_NAME'],
        auth=dict(auth_url=swift_server.auth_url, username='tester', password=environment['OS_PASSWORD'],
                  project_name='kops', user_domain_name='Default', project_domain_name='Default'))
    response = connection.object_store.get(container, params=dict(format='json'))
    connection.close()
    if response.status_code == 404:
        return None
    return sorted(item['name'] for item in response.json())


def test_entries_roundtrip(run_playbook, swift_server, swift_environment, container):
    result = run_playbook('tests/integration/playbooks/swift_entries.yml', dict(
        store='swift://%s/state' % container, container=container, secret_value=SECRET),
        args=['-v', '--diff'], env=swift_environment)
    assert result.rc == 0, result
    assert SECRET not in result.output
    assert object_names(swift_server, container) == ['state/c1.k8s.local/config', 'state/c1.k8s.local/kops-version.txt']


def test_errors_are_clear_and_write_nothing(run_playbook, swift_server, swift_environment, container):
    auth = dict(auth_url=swift_server.auth_url, username='tester', password=swift_environment['OS_PASSWORD'],
                project_name='kops', user_domain_name='Default', project_domain_name='Default')
    result = run_playbook('tests/integration/playbooks/swift_errors.yml', dict(
        store='swift://%s/state' % container, auth=auth, wrong_password=WRONG_PASSWORD),
        args=['-v'], env=swift_environment)
    assert result.rc == 0, result
    assert WRONG_PASSWORD not in result.output
    assert object_names(swift_server, container) is None

"""The entry modules and lookup through ansible-playbook on gs:// (gcp-storage-emulator) and oss:// (the OSS
front over moto) stores: round trip, check mode, diff, redaction, and clear errors that write nothing."""

import json

import pytest

SECRET = 'ObjectStoreSecret-5d1e77'


@pytest.fixture(params=['gs', 'oss'])
def object_store(request):
    """(scheme, server, environment for ansible-playbook) of one object-store backend."""
    if request.param == 'gs':
        return 'gs', request.getfixturevalue('gcs_server'), request.getfixturevalue('gcs_environment')
    return 'oss', request.getfixturevalue('oss_server'), request.getfixturevalue('oss_environment')


def test_entries_roundtrip(run_playbook, object_store):
    scheme, server, environment = object_store
    bucket = server.create_bucket()
    result = run_playbook('tests/integration/playbooks/gcs_oss_entries.yml', dict(
        store='%s://%s/state' % (scheme, bucket), secret_value=SECRET), args=['-v', '--diff'], env=environment)
    assert result.rc == 0, result
    assert SECRET not in result.output
    assert server.object_names(bucket) == ['state/c1.k8s.local/config', 'state/c1.k8s.local/kops-version.txt']


def test_errors_are_clear_and_write_nothing(run_playbook, object_store):
    scheme, server, environment = object_store
    bucket = server.create_bucket()
    if scheme == 'gs':
        key = json.dumps(server.refused_service_account_info())
        refused, message, hidden = dict(GCP_SERVICE_ACCOUNT_CONTENTS=key), 'Google refused the credentials', 'PRIVATE KEY'
    else:
        refused, message, hidden = dict(ALIYUN_ACCESS_KEY_SECRET='wrong-secret-value'), 'SignatureDoesNotMatch', 'wrong-secret-value'
    result = run_playbook('tests/integration/playbooks/gcs_oss_errors.yml', dict(
        missing_store='%s://no-such-bucket/state' % scheme, store='%s://%s/state' % (scheme, bucket),
        refused_environment=refused, refused_message=message), env=environment)
    assert result.rc == 0, result
    assert hidden not in result.output
    assert server.object_names(bucket) == []

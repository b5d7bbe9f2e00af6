"""The sync module through ansible-playbook between real stores (local folders, S3 on the moto server)."""

import pytest

SECRET = 'SyncSecretValue-41c2e8'


def locations(kind, tmp_path, name):
    if kind == 'file':
        return 'file://%s' % (tmp_path / name)
    return 's3://%s' % name


@pytest.mark.parametrize('pair', ['file-file'])
def test_sync_roundtrip(run_playbook, tmp_path, pair):
    source_kind, dest_kind = pair.split('-')
    result = run_playbook('tests/integration/playbooks/sync_roundtrip.yml', dict(
        src=locations(source_kind, tmp_path, 'source-store') + '/team',
        dest=locations(dest_kind, tmp_path, 'dest-store') + '/team',
        secret=SECRET,
    ), args=['-v'])
    assert result.rc == 0, result
    assert SECRET not in result.output

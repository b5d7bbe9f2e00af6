"""The sync module through ansible-playbook between real stores (local folders, S3 on the moto server)."""


import pytest

SECRET = 'SyncSecretValue-41c2e8'


# Every pair of backends runs in the unit tests; here the module itself, on S3 and across backends.
@pytest.mark.parametrize('pair', ['s3-s3', 'file-s3'])
def test_sync_roundtrip(run_playbook, tmp_path, aws_environment, s3_bucket, pair):
    source_kind, dest_kind = pair.split('-')

    def location(kind, name):
        return 'file://%s/team' % (tmp_path / name) if kind == 'file' else 's3://%s/team' % s3_bucket(name)

    result = run_playbook('tests/integration/playbooks/sync_roundtrip.yml', dict(
        src=location(source_kind, 'source'), dest=location(dest_kind, 'dest'), secret=SECRET,
    ), args=['-v'], env=aws_environment)
    assert result.rc == 0, result
    assert SECRET not in result.output

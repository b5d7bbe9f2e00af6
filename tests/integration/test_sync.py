"""The sync module through ansible-playbook between real stores (local folders, S3 on the moto server), each
side with the same or its own settings (two moto servers with authentication on)."""

import base64

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from servers.moto import clean_aws_environment

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


# -- each side with its own settings -------------------------------------------------------------------------
SIDES_ENTRIES = {
    'c1/config': b'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\n',
    'c1/instancegroup/nodes': b'kind: InstanceGroup\nspec:\n  role: Node\n',
    'c1/secrets/admin': ('{"Data": "%s"}' % base64.b64encode(SECRET.encode()).decode()).encode(),
}


def _tree(store):
    return dict((entry.path, store.read(entry.path)[0]) for entry in store.list('', recursive=True))


@pytest.mark.parametrize('sides', ['s3-s3', 'do-s3'])
def test_sync_between_two_services_each_side_with_its_own_identity(run_playbook, two_s3_services, sides):
    """Two S3 services (authentication on) that know none of each other's keys or buckets: a request sent to
    one side with the other's settings fails, so every step below proves each side got its own.
    s3-s3: both sides by options, nothing in the environment. do-s3: an S3-compatible source (do://: path style,
    its keys, no SSE) by options, an AWS-style destination (AWS_* variables, AWS_ENDPOINT_URL) from the environment."""
    old, new = two_s3_services
    source_scheme = sides.split('-')[0]
    src, dest = '%s://%s/team' % (source_scheme, old.bucket('old')), 's3://%s/team' % new.bucket('new')
    source = open_store(src, old.settings())
    for path, data in SIDES_ENTRIES.items():
        source.write(path, data)
    environment = clean_aws_environment() if sides == 's3-s3' else new.aws_environment()
    destination_options = new.settings() if sides == 's3-s3' else {}

    result = run_playbook('tests/integration/playbooks/sync_sides.yml', dict(
        src=src, dest=dest, source_options=old.settings(), destination_options=destination_options,
        entries=sorted(SIDES_ENTRIES), changed='c1/instancegroup/nodes', added='c1/instancegroup/more',
        extra='c1/only-at-the-destination'), args=['-vvv'], env=environment)
    assert result.rc == 0, result
    for secret in (old.secret_key, new.secret_key, SECRET):
        assert secret not in result.output

    assert _tree(source) == dict(SIDES_ENTRIES, **{'c1/instancegroup/more': b'new in the source'})
    destination = open_store(dest, new.settings())
    assert _tree(destination) == dict(SIDES_ENTRIES, **{
        'c1/instancegroup/more': b'new in the source', 'c1/instancegroup/nodes': b'written at the destination',
        'c1/only-at-the-destination': b'written at the destination'})
    # written by the destination's rules: s3:// (AWS-style) sends AES256 server-side encryption
    head = new.client().head_object(Bucket=destination.location.bucket, Key='team/c1/config')
    assert head['ServerSideEncryption'] == 'AES256'


def test_copy_inside_the_server_only_as_one_identity(run_playbook, two_s3_services):
    """On one service, an entry is copied inside the server (CopyObject, which the destination's identity must
    be able to read the source for) only when both sides use the same identity; with two identities it is read
    as the source's and written as the destination's. Which happened shows at the destination: CopyObject carries
    the source object's user metadata along, a download and upload does not."""
    service = two_s3_services[0]
    other_key, other_secret = service.another_identity()
    bucket = service.bucket('old')
    service.client().put_object(Bucket=bucket, Key='team/c1/config', Body=b'kind: Cluster\n',
                                Metadata={'written-by': 'the source'})

    def sync_to(destination_options):
        dest_bucket = service.bucket('new')
        result = run_playbook('tests/integration/playbooks/sync_sides_once.yml', dict(
            src='s3://%s/team' % bucket, dest='s3://%s/team' % dest_bucket, source_options=service.settings(),
            destination_options=destination_options), env=clean_aws_environment())
        assert result.rc == 0, result
        assert other_secret not in result.output and service.secret_key not in result.output
        copied = service.client().get_object(Bucket=dest_bucket, Key='team/c1/config')
        return copied['Body'].read(), copied['Metadata']

    assert sync_to(service.settings()) == (b'kind: Cluster\n', {'written-by': 'the source'})
    assert sync_to(dict(service.settings(), access_key=other_key, secret_key=other_secret)) == (b'kind: Cluster\n', {})

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation
from ansible_collections.kops.state_store.plugins.module_utils.locations import (
    Location,
    parse_location,
    validate_entry_path,
)


@pytest.mark.parametrize('text, scheme, bucket, key, rendered', [
    ('s3://bucket', 's3', 'bucket', '', 's3://bucket/'),
    ('s3://bucket/', 's3', 'bucket', '', 's3://bucket/'),
    ('s3://bucket/sub/name', 's3', 'bucket', 'sub/name', 's3://bucket/sub/name'),
    ('do://space/name', 'do', 'space', 'name', 'do://space/name'),
    ('gs://bucket/name', 'gs', 'bucket', 'name', 'gs://bucket/name'),
    ('swift://container/a/b', 'swift', 'container', 'a/b', 'swift://container/a/b'),
    ('oss://bucket/x', 'oss', 'bucket', 'x', 'oss://bucket/x'),
    ('memfs://clusters.example.com/x', 'memfs', 'clusters.example.com', 'x', 'memfs://clusters.example.com/x'),
    ('file:///srv/state', 'file', '', '/srv/state', '/srv/state'),
    ('/srv/state/', 'file', '', '/srv/state', '/srv/state'),
    ('relative/dir', 'file', '', 'relative/dir', 'relative/dir'),
    ('S3://Bucket/Key', 's3', 'Bucket', 'Key', 's3://Bucket/Key'),
])
def test_parse_and_render(text, scheme, bucket, key, rendered):
    location = parse_location(text)
    assert (location.scheme, location.bucket, location.key) == (scheme, bucket, key)
    assert location.render() == rendered


def test_vault_forms():
    location = parse_location('vault://vault.example.com:8200/kv/clusters/c1/secrets?tls=false')
    assert (location.bucket, location.port, location.mount, location.key, location.tls) == (
        'vault.example.com', 8200, 'kv', 'clusters/c1/secrets', False)
    assert location.render() == 'vault://vault.example.com:8200/kv/clusters/c1/secrets?tls=false'
    tls = parse_location('vault://vault.example.com/kv/clusters/c1/keys')
    assert tls.tls and tls.port is None
    assert tls.render() == 'vault://vault.example.com/kv/clusters/c1/keys'
    # only exactly "false" turns TLS off, as in kOps
    assert parse_location('vault://h/kv/p?tls=FALSE').tls


@pytest.mark.parametrize('text, message', [
    ('', 'empty'),
    ('   ', 'empty'),
    ('s3://', 'empty bucket'),
    ('s3:///key', 'empty bucket'),
    ('swift:///x', 'empty container'),
    ('ftp://host/x', "unknown state store scheme 'ftp://'"),
    ('vault://host:8200/kv', 'both a KV v2 mount and a path'),
    ('vault://host:8200/', 'both a KV v2 mount and a path'),
    ('vault:///kv/path', 'no host'),
    ('vault://host:notaport/kv/p', 'invalid port'),
    ('vault://host/kv/p?token=x', 'unknown query parameter'),
    # Go keeps the first of repeated values (TLS here); the last would mean plain HTTP
    ('vault://host/kv/p?tls=true&tls=false', 'repeats a query parameter'),
    ('vault://host/kv/p?tls=false&tls=false', 'repeats a query parameter'),
    ('s3://bucket/a/../b', "'..' path segments"),
    ('s3://bucket/%2e%2e/b', "'..' path segments"),
    ('s3://bucket/x?y=1', 'query string'),
    ('file://', 'has no path'),
    ('s3://user@bucket/x', 'invalid bucket name'),
])
def test_malformed_locations(text, message):
    with pytest.raises(BadLocation) as caught:
        parse_location(text)
    assert message in str(caught.value)
    assert '\n' not in str(caught.value)


def test_join_and_split():
    root = parse_location('s3://b/store')
    entry = root.join('c1/config')
    assert entry.render() == 's3://b/store/c1/config'
    parent, name = entry.split()
    assert parent == root.join('c1') and name == 'config'
    assert parse_location('s3://b').join('c1').render() == 's3://b/c1'
    with pytest.raises(BadLocation):
        parse_location('s3://b/').split()
    assert Location('file', key='/x').join('a/b').render() == '/x/a/b'


@pytest.mark.parametrize('path', ['..', '../x', 'a/../../x', 'a/./b', '%2e%2e/x', 'a/%2E%2e', '/etc/passwd',
                                  '\\x', 'a//b', 'a\x00b', 'a%2fb/..'])
def test_entry_path_escapes_refused(path):
    with pytest.raises(BadLocation):
        validate_entry_path(path)


def test_entry_paths_accepted():
    assert validate_entry_path('c1/config') == 'c1/config'
    assert validate_entry_path('c1/instancegroup/', folder=True) == 'c1/instancegroup'
    with pytest.raises(BadLocation, match="ends with '/', which names a folder"):
        validate_entry_path('c1/config/')  # a Swift/S3 folder marker is not the entry without its slash
    assert validate_entry_path('', folder=True) == ''
    with pytest.raises(BadLocation):
        validate_entry_path('')
    with pytest.raises(BadLocation):
        validate_entry_path(5)


@pytest.mark.parametrize('location', ['s3://bucket/c1/config/', 'file:///srv/store/c1/config/',
                                      'vault://vault:8200/kv/c1/secrets/admin/?tls=false'])
def test_a_full_entry_location_ending_with_a_slash_is_a_folder(location):
    from ansible_collections.kops.state_store.plugins.module_utils.registry import open_entry

    with pytest.raises(BadLocation, match="ends with '/', which names a folder"):
        open_entry(location)

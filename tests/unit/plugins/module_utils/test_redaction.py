"""Which entries are secret: kOps's layouts on every scheme (key stores and secret stores wherever a
cluster puts them, etcd backups, Vault), kOps's formats of secret material, and user patterns."""

import base64
import json

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location
from ansible_collections.kops.state_store.plugins.module_utils.redaction import is_secret_location, looks_secret

PEM_KEY = b'-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n'
PEM_CERT = b'-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBATAN\n-----END CERTIFICATE-----\n'


def keyset(private):
    """A Keyset as kOps writes it (material is PEM, base64 as Go encodes []byte)."""
    key = '    publicMaterial: %s\n' % base64.b64encode(PEM_CERT).decode()
    if private:
        key += '    privateMaterial: %s\n' % base64.b64encode(PEM_KEY).decode()
    return ('apiVersion: kops.k8s.io/v1alpha2\nkind: Keyset\nmetadata:\n  name: kubernetes-ca\nspec:\n'
            '  keys:\n  - id: "7324712498473917233"\n%s  primaryId: "7324712498473917233"\n  type: Keypair\n'
            % key).encode()


@pytest.mark.parametrize('entry', [
    # the default stores below configBase
    's3://state/c1.example.com/secrets/admin',
    's3://state/c1.example.com/pki/private/kubernetes-ca/keyset.yaml',
    's3://state/c1.example.com/pki/issued/kubernetes-ca/keyset.yaml',
    's3://state/c1.example.com/pki/ssh/public/admin/5a8b5c2e1b0f',
    # a keyStore in another bucket or prefix: its private keys
    's3://other/c1/private/kubernetes-ca/keyset.yaml',
    'gs://other/keys/c1/private/etcd-clients-ca/keyset.yaml',
    'do://space/c1/private/service-account/keyset.yaml',
    'file:///srv/review/c1/private/kubernetes-ca/keyset.yaml',
    # etcd backups: full snapshots, every Kubernetes Secret of the cluster
    's3://state/c1.example.com/backups/etcd/main/2026-11-30T10:00:00Z-000001/etcd.backup.gz',
    'swift://state/c1/backups/etcd/events/control/etcd-cluster-spec',
    # Vault holds only secrets and keys (the layout docs/vault.md shows)
    'vault://vault:8200/kv/clusters/c/keys/private/kubernetes-ca/keyset.yaml',
    'vault://vault:8200/kv/clusters/c/keys/issued/kubernetes-ca/keyset.yaml',
    'vault://vault:8200/kv/clusters/c/anything?tls=false',
])
def test_secret_by_location(entry):
    assert is_secret_location(parse_location(entry))


@pytest.mark.parametrize('entry', [
    's3://state/c1.example.com/config',
    's3://state/c1.example.com/instancegroup/nodes',
    's3://state/c1.example.com/cluster-completed.spec',
    's3://state/c1.example.com/secrets',  # a file named like the folder is not inside it
    's3://other/c1/issued/kubernetes-ca/keyset.yaml',  # a keyStore's certificates are public
    's3://state/c1.example.com/addons/private-dns/v1.yaml',  # only whole folder names count
])
def test_public_by_location(entry):
    assert not is_secret_location(parse_location(entry))


def test_patterns_match_the_relative_path_or_the_full_location():
    location = parse_location('s3://state/c1/addons/registry/credentials.yaml')
    assert not is_secret_location(location, 'c1/addons/registry/credentials.yaml')
    assert is_secret_location(location, 'c1/addons/registry/credentials.yaml', ['*/credentials.yaml'])
    assert is_secret_location(location, 'credentials.yaml', ['s3://state/*/addons/*'])
    assert not is_secret_location(location, 'c1/addons/registry/credentials.yaml', ['*/Credentials.yaml'])


@pytest.mark.parametrize('data', [
    PEM_KEY,
    b'-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
    b'-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n',
    keyset(private=True),
    b'keys:\n- privateMaterial: LS0tLS1\n',
    json.dumps({'Data': base64.b64encode(b'hunter2').decode()}).encode(),  # the secret store's format
    b'{"Data":"aHVudGVyMg=="}\n',
    # kOps reads field names in any case (Go's encoding/json), and ignores fields it does not know
    b'{"data":"aHVudGVyMg=="}', b'{"DATA": "aHVudGVyMg==", "Other": 1}', b'{"\\u0044ata": "aHVudGVyMg=="}',
    b'{spec: {keys: [{id: "1", privateMaterial: LS0tLS1}]}}', b'{"spec":{"keys":[{"PrivateMaterial":"LS0t"}]}}',
])
def test_secret_material_in_kops_formats(data):
    assert looks_secret(data)


@pytest.mark.parametrize('data', [
    None, b'', keyset(private=False), PEM_CERT, b'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\n',
    b'{"Data": "x", "Other": 1}', b'{"Data": [unclosed', b'\xff\xfe{"Data"', b'1.31.4',
    b'{"Data": null}', b'{"metadata": "aHVudGVyMg=="}', b'[{"data": "aHVudGVyMg=="}]', b'{' * 100000,
])
def test_public_material(data):
    assert not looks_secret(data)

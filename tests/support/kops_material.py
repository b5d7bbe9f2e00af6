"""kOps's key and secret material for tests, made for real with cryptography: CA certificates with their private
keys, keysets serialised as kOps serialises them (Go's YAML of a kops.k8s.io/v1alpha2 Keyset: keys sorted, []byte
as padded base64, ids and timestamps quoted), SSH public keys as ssh-keygen writes them, secrets as kOps's
secret store writes them, and clusters whose key and secret stores are where a test wants them."""

import base64
import datetime
import json
import os
import re
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from support.paths import KOPS_TEST_DATA

UTC = datetime.timezone.utc
NOW = datetime.datetime.now(UTC).replace(microsecond=0)


class CA(object):
    """A self-signed certificate with its key as kOps makes one (RSA 2048, serial = the key's id in the keyset,
    issued at ``not_before``):
    a CA (basic constraints) unless ``is_ca`` is false (the service-account key pair)."""

    def __init__(self, common_name, not_before, not_after, is_ca=True):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # kOps's serials: the issue time in nanoseconds, shifted left 32 bits, with 32 random bits (newer = larger)
        self.serial = int(not_before.timestamp()) * 10 ** 9 << 32 | secrets.randbits(32)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                   .serial_number(self.serial).not_valid_before(not_before).not_valid_after(not_after))
        if is_ca:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        self.certificate = builder.sign(self.key, hashes.SHA256())

    @property
    def id(self):
        return str(self.serial)

    @property
    def certificate_pem(self):
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def private_pem(self):
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption())


def days(count):
    return NOW + datetime.timedelta(days=count)


def ending_in(count):
    """An end of validity ``count`` days and 12 hours from NOW: a test run that starts hours later still sees
    ``count`` whole days left."""
    return days(count) + datetime.timedelta(hours=12)


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode('utf-8')).decode('ascii')


def keyset_yaml(name, keys, primary_id, creation_timestamp_null=False):
    """keyset.yaml of ``keys`` (dicts: id, public (PEM bytes or None), private (PEM bytes or None), distrusted (a
    datetime or None)) as kOps writes it: keys ordered oldest (smallest id) first, fields alphabetical.
    kOps before the metav1 change wrote ``creationTimestamp: null`` in the metadata."""
    lines = ['apiVersion: kops.k8s.io/v1alpha2', 'kind: Keyset', 'metadata:']
    if creation_timestamp_null:
        lines.append('  creationTimestamp: null')
    lines += ['  name: %s' % name, 'spec:', '  keys:']
    for key in sorted(keys, key=lambda key: int(key['id'])):
        fields = []
        if key.get('distrusted'):
            fields.append('distrustTimestamp: "%s"' % key['distrusted'].strftime('%Y-%m-%dT%H:%M:%SZ'))
        fields.append('id: "%s"' % key['id'])
        if key.get('private'):
            fields.append('privateMaterial: %s' % b64(key['private']))
        if key.get('public'):
            fields.append('publicMaterial: %s' % b64(key['public']))
        lines += ['  - ' + fields[0]] + ['    ' + field for field in fields[1:]]
    lines += ['  primaryId: "%s"' % primary_id, '  type: Keypair']
    return ('\n'.join(lines) + '\n').encode('utf-8')


def ca_key(ca, private=True, distrusted=None):
    return dict(id=ca.id, public=ca.certificate_pem, private=ca.private_pem if private else None,
                distrusted=distrusted)


class KeyStoreLayout(object):
    """The keysets of one cluster, as kOps would have left them after a CA rotation:

    - kubernetes-ca: rotated - the old key distrusted, the new one primary, both with private keys;
    - etcd-clients-ca: one key ending in 10 days and a half (flagged by expires_within 30);
    - apiserver-aggregator-ca: two keys, the new one staged (kops create keypair without --primary), so the old
      one, ending in 5 days and a half, is still primary;
    - service-account: a key pair whose certificate is not a CA, valid for 10 years;
    - kubernetes-ca's distrusted old key ended 2 days ago (never flagged: it is not trusted).
    Every private key (PEM) is in ``private_pems``."""

    def __init__(self):
        old = CA('kubernetes-ca', days(-3650), days(-2))
        new = CA('kubernetes-ca', days(-30), ending_in(3620))
        etcd = CA('etcd-clients-ca', days(-3640), ending_in(10))
        staged_old = CA('apiserver-aggregator-ca', days(-3645), ending_in(5))
        staged_new = CA('apiserver-aggregator-ca', days(-1), ending_in(3649))
        account = CA('service-account', days(-10), ending_in(3640), is_ca=False)
        self.cas = dict(old=old, new=new, etcd=etcd, staged_old=staged_old, staged_new=staged_new, account=account)
        self.distrusted_at = days(-20)
        self.keysets = {
            'kubernetes-ca': keyset_yaml('kubernetes-ca', [ca_key(old, distrusted=self.distrusted_at), ca_key(new)],
                                         new.id),
            'etcd-clients-ca': keyset_yaml('etcd-clients-ca', [ca_key(etcd)], etcd.id, creation_timestamp_null=True),
            'apiserver-aggregator-ca': keyset_yaml('apiserver-aggregator-ca',
                                                   [ca_key(staged_old), ca_key(staged_new)], staged_old.id),
            'service-account': keyset_yaml('service-account', [ca_key(account)], account.id),
        }
        self.private_pems = [ca.private_pem for ca in self.cas.values()]

    def entries(self):
        """{path relative to the key store: bytes} of every keyset, plus the files kOps ignores there."""
        found = dict(('private/%s/keyset.yaml' % name, data) for name, data in self.keysets.items())
        # a kOps 1.21 leftover (per-id key file): not a keyset, ignored as kOps ignores it
        found['private/kubernetes-ca/%s.key' % self.cas['old'].id] = self.cas['old'].private_pem
        return found


def leaked_private_material(text, pems):
    """The forms of the private keys ``pems`` found in ``text``: any line of the PEM body, or any 32 characters of
    kOps's base64 of the PEM (every window starting at a multiple of 4, so any 35 characters quoted from it are
    found, wherever the quote starts)."""
    found = []
    for pem in pems:
        body = [line for line in pem.decode('ascii').splitlines() if line and not line.startswith('-----')]
        stored = b64(pem)
        windows = [stored[start:start + 32] for start in range(0, len(stored) - 31, 4)]
        found += [form[:24] + '...' for form in body + windows if form in text]
    return found


def ssh_public_key(kind, comment='admin@example.com'):
    """An SSH public key line as ssh-keygen writes a .pub file (without the newline), of a fresh key."""
    if kind == 'rsa':
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == 'ed25519':
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return '%s %s' % (line.decode('ascii'), comment)


def kops_test_ssh_key():
    """kOps's own test key: the bytes of tests/integration/update_cluster/minimal-aws/id_rsa.pub and the MD5
    fingerprint kOps's golden kubernetes.tf of that test names its AWS key pair after."""
    folder = os.path.join(KOPS_TEST_DATA, 'minimal-aws')
    with open(os.path.join(folder, 'id_rsa.pub'), 'rb') as handle:
        data = handle.read()
    with open(os.path.join(folder, 'kubernetes.tf.aws_key_pair')) as handle:
        fingerprint = re.search(r'key_name += "kubernetes\.minimal-aws\.example\.com-([0-9a-f:]+)"', handle.read()).group(1)
    return data, fingerprint


def secret_entry(value):
    """A secret as kOps's secret store writes it: Go's json.Marshal of {Data []byte}."""
    return json.dumps({'Data': b64(value)}, separators=(',', ':')).encode('utf-8')


def cluster_config(name, config_base, key_store=None, secret_store=None):
    """A Cluster config, with spec.keyStore/secretStore only when given (kOps derives them from configBase)."""
    lines = ['apiVersion: kops.k8s.io/v1alpha2', 'kind: Cluster', 'metadata:',
             '  creationTimestamp: "2026-01-05T10:00:00Z"', '  name: %s' % name, 'spec:', '  cloudProvider: aws',
             '  configBase: %s' % config_base]
    if key_store:
        lines.append('  keyStore: %s' % key_store)
    if secret_store:
        lines.append('  secretStore: %s' % secret_store)
    lines.append('  kubernetesVersion: 1.31.4')
    return ('\n'.join(lines) + '\n').encode('utf-8')

"""Makes CAs for the demo (playbooks/demo.yml) as kOps makes a cluster's CAs on `kops update cluster`, and writes
each as kOps keeps it in the key store: <folder>/<name>/keyset.yaml, a kops.k8s.io/v1alpha2 Keyset (keys
sorted, []byte as padded base64, the id - the certificate's serial - quoted), private key included.

    python demo_ca.py FOLDER NAME=DAYS [NAME=DAYS ...]     # each CA valid DAYS days from now

Only the cryptography library is needed; ansible-core requires it already."""

import base64
import datetime
import os
import secrets
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def make_ca(name, days):
    """(serial, certificate PEM, private key PEM) of a self-signed RSA 2048 CA named ``name``."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # kOps's serials: the issue time in nanoseconds shifted left 32 bits, with 32 random bits
    serial = int(now.timestamp()) * 10 ** 9 << 32 | secrets.randbits(32)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(serial).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return (serial, certificate.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def keyset_yaml(name, serial, certificate, private_key):
    return ''.join([
        'apiVersion: kops.k8s.io/v1alpha2\nkind: Keyset\nmetadata:\n  name: %s\nspec:\n  keys:\n' % name,
        '  - id: "%d"\n' % serial,
        '    privateMaterial: %s\n' % base64.b64encode(private_key).decode('ascii'),
        '    publicMaterial: %s\n' % base64.b64encode(certificate).decode('ascii'),
        '  primaryId: "%d"\n  type: Keypair\n' % serial,
    ])


def main(folder, requests):
    for request in requests:
        name, days = request.split('=')
        path = os.path.join(folder, name, 'keyset.yaml')
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never over an existing key
        with os.fdopen(descriptor, 'w') as handle:
            handle.write(keyset_yaml(name, *make_ca(name, int(days))))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])

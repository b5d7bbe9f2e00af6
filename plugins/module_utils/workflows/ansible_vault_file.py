# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible Vault's file format (1.1, and 1.2 when a vault id labels the file), for a module that got the play's
vault password from its action plugin: content is encrypted in memory, so clear text never reaches a file.

The format, as ansible-vault writes it: a header line ``$ANSIBLE_VAULT;1.1;AES256`` (or ``;1.2;AES256;<label>``),
then, in lines of 80 characters, the hex form of ``hex(salt) \\n hex(HMAC) \\n hex(ciphertext)``. The keys come
from PBKDF2-HMAC-SHA256 of the password and a random 32-byte salt (10000 rounds, 80 bytes: the AES-256 key, the
HMAC-SHA256 key, the 16-byte CTR counter block); the content is PKCS#7-padded, then encrypted with AES-256-CTR,
and the HMAC covers the ciphertext.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from binascii import Error as BinasciiError
from binascii import hexlify, unhexlify

from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.hmac import HMAC
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    HAS_CRYPTOGRAPHY = True
except ImportError:  # reported by the module only when secrets are asked for
    HAS_CRYPTOGRAPHY = False

HEADER = b'$ANSIBLE_VAULT'
CIPHER = b'AES256'
ROUNDS = 10000
KEY_LENGTH = 32
COUNTER_LENGTH = 16
SALT_LENGTH = 32
LINE_LENGTH = 80
DEFAULT_ID = 'default'


class VaultFormatError(StateStoreError):
    """Content that is not Ansible Vault text, or that the password given does not open."""


def is_vault_text(data):
    return data.startswith(HEADER + b';')


def _keys(password, salt):
    derived = PBKDF2HMAC(algorithm=hashes.SHA256(), length=2 * KEY_LENGTH + COUNTER_LENGTH, salt=salt,
                         iterations=ROUNDS).derive(password)
    return derived[:KEY_LENGTH], derived[KEY_LENGTH:2 * KEY_LENGTH], derived[2 * KEY_LENGTH:]


def _mac(key, ciphertext):
    mac = HMAC(key, hashes.SHA256())
    mac.update(ciphertext)
    return mac


def encrypt(data, password, vault_id=None):
    """Vault text (bytes) of ``data`` (bytes) with ``password`` (bytes); a ``vault_id`` other than 'default' labels
    it (format 1.2), as ``ansible-vault encrypt --vault-id <label>@...`` does."""
    salt = os.urandom(SALT_LENGTH)
    key, mac_key, counter = _keys(password, salt)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor()
    ciphertext = encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
    body = hexlify(b'\n'.join([hexlify(salt), hexlify(_mac(mac_key, ciphertext).finalize()), hexlify(ciphertext)]))
    if vault_id and vault_id != DEFAULT_ID:
        header = b';'.join([HEADER, b'1.2', CIPHER, vault_id.encode('utf-8')])
    else:
        header = b';'.join([HEADER, b'1.1', CIPHER])
    lines = [header] + [body[start:start + LINE_LENGTH] for start in range(0, len(body), LINE_LENGTH)]
    return b'\n'.join(lines) + b'\n'


def decrypt(text, password, what):
    """The content of the vault text ``text`` (bytes); ``what`` names it in errors, which never quote it."""
    header, _newline, body = text.partition(b'\n')
    fields = header.strip().split(b';')
    if len(fields) < 3 or fields[0] != HEADER or fields[1] not in (b'1.1', b'1.2') or fields[2] != CIPHER:
        raise VaultFormatError('%s is not Ansible Vault AES256 text' % what)
    try:
        salt_hex, mac_hex, ciphertext_hex = unhexlify(b''.join(body.split())).split(b'\n', 2)
        salt, expected_mac, ciphertext = unhexlify(salt_hex), unhexlify(mac_hex), unhexlify(ciphertext_hex)
    except (BinasciiError, ValueError):
        raise VaultFormatError('%s is damaged Ansible Vault text' % what)
    key, mac_key, counter = _keys(password, salt)
    try:
        _mac(mac_key, ciphertext).verify(expected_mac)
    except InvalidSignature:
        raise VaultFormatError('%s cannot be decrypted with the vault secret given (another password, or the file '
                               'was changed)' % what)
    decryptor = Cipher(algorithms.AES(key), modes.CTR(counter)).decryptor()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        return unpadder.update(decryptor.update(ciphertext) + decryptor.finalize()) + unpadder.finalize()
    except ValueError:
        raise VaultFormatError('%s is damaged Ansible Vault text' % what)

"""The Ansible Vault format of module_utils/ansible_vault_file.py against ansible-core's own vault code: each opens what
the other writes (format 1.1 and, with a vault id, 1.2); a wrong password or damaged text fails without quoting it."""

from binascii import hexlify, unhexlify

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.kops.state_store.plugins.module_utils.workflows import ansible_vault_file

PASSWORD = b'correct horse battery staple'
CONTENT = b'{"Data": "c2VjcmV0LXRva2Vu"}\n\x00\xff binary tail'


def test_ansible_opens_what_the_module_writes():
    text = ansible_vault_file.encrypt(CONTENT, PASSWORD)
    assert text.startswith(b'$ANSIBLE_VAULT;1.1;AES256\n')
    assert all(len(line) <= 80 for line in text.splitlines())
    assert VaultLib([('default', VaultSecret(PASSWORD))]).decrypt(text) == CONTENT


def test_a_vault_id_labels_the_text():
    text = ansible_vault_file.encrypt(CONTENT, PASSWORD, 'prod')
    assert text.startswith(b'$ANSIBLE_VAULT;1.2;AES256;prod\n')
    assert VaultLib([('prod', VaultSecret(PASSWORD))]).decrypt(text) == CONTENT
    assert ansible_vault_file.decrypt(text, PASSWORD, 'x') == CONTENT


@pytest.mark.parametrize('vault_id', [None, 'prod'])
def test_the_module_opens_what_ansible_writes(vault_id):
    text = VaultLib().encrypt(CONTENT, VaultSecret(PASSWORD), vault_id=vault_id)
    assert ansible_vault_file.is_vault_text(text)
    assert ansible_vault_file.decrypt(text, PASSWORD, 'entry') == CONTENT


def test_every_encryption_has_its_own_salt():
    assert ansible_vault_file.encrypt(CONTENT, PASSWORD) != ansible_vault_file.encrypt(CONTENT, PASSWORD)


def test_empty_content():
    assert ansible_vault_file.decrypt(ansible_vault_file.encrypt(b'', PASSWORD), PASSWORD, 'entry') == b''


def test_wrong_password_names_the_entry_only():
    text = ansible_vault_file.encrypt(CONTENT, PASSWORD)
    with pytest.raises(ansible_vault_file.VaultFormatError) as caught:
        ansible_vault_file.decrypt(text, b'Wrong-Pass-77', 'c1/secrets/admin')
    assert 'c1/secrets/admin' in str(caught.value)
    assert 'c2VjcmV0' not in str(caught.value) and 'Wrong-Pass-77' not in str(caught.value)


@pytest.mark.parametrize('damage', [
    lambda text: text.replace(b'AES256', b'AES128'),
    lambda text: b'plain text',
    lambda text: text[:60],
    lambda text: text[:-20] + b'zz' + text[-18:],
])
def test_damaged_text_fails_clearly(damage):
    with pytest.raises(ansible_vault_file.VaultFormatError):
        ansible_vault_file.decrypt(damage(ansible_vault_file.encrypt(CONTENT, PASSWORD)), PASSWORD, 'entry')


def test_a_changed_ciphertext_is_refused_by_its_mac():
    header, body = ansible_vault_file.encrypt(CONTENT, PASSWORD).split(b'\n', 1)
    salt, mac, ciphertext = unhexlify(b''.join(body.split())).split(b'\n')
    ciphertext = ciphertext[:-1] + (b'0' if ciphertext[-1:] != b'0' else b'1')
    text = header + b'\n' + hexlify(b'\n'.join([salt, mac, ciphertext])) + b'\n'
    with pytest.raises(ansible_vault_file.VaultFormatError, match='cannot be decrypted'):
        ansible_vault_file.decrypt(text, PASSWORD, 'entry')

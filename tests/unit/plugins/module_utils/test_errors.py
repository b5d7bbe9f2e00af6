"""How messages show what a store holds (errors.shown) and why a stored document does not parse
(parse_error_message, load_json): a store's writer chooses that text, so it never brings a line break, a terminal
control sequence, a look-alike character, template syntax or megabytes into a message, and a parse error names the
entry, line and column, never the text there."""

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    SHOWN_LIMIT,
    StateStoreError,
    load_json,
    shown,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import load_documents


@pytest.mark.parametrize('plain', ['c1.example.com', 'https://vault.example.com:8200', 'kops.k8s.io/v1alpha2',
                                   's3://b/c1/pki/private/ca/keyset.yaml', 'x' * SHOWN_LIMIT])
def test_plain_names_and_addresses_are_shown_as_they_are(plain):
    assert shown(plain) == plain


@pytest.mark.parametrize('stored, expected', [
    ("{{ lookup('pipe', 'id') }}", "\"\\x7b\\x7b lookup('pipe', 'id') \\x7d\\x7d\""),
    ('{%raw%}x', "'\\x7b%raw%\\x7dx'"),
    ('a\nb', "'a\\nb'"),
    ('a\x1b[2Jb', "'a\\x1b[2Jb'"),  # a terminal control sequence
    ('\u0430dmin.example.com', "'\\u0430dmin.example.com'"),  # a Cyrillic look-alike of 'a'
    ('a\u00a0b', "'a\\xa0b'"),  # a look-alike blank
    ('a b', "'a b'"), ("it's", '"it\'s"'), ('a\\b', "'a\\\\b'"), ('', "''"),
    (None, 'None'), (3, '3'), ({'k': 'v'}, "\\x7b'k': 'v'\\x7d"),
])
def test_anything_else_is_quoted_with_escapes_and_braces_escaped(stored, expected):
    assert shown(stored) == expected


def test_long_values_are_cut():
    assert shown('x' * (SHOWN_LIMIT + 1)) == "'%s... (%d characters)" % ('x' * (SHOWN_LIMIT - 1), SHOWN_LIMIT + 3)
    assert shown('{' * 10000, limit=20) == "'%s... (10002 characters)" % ('\\x7b' * 19)


@pytest.mark.parametrize('text, problem', [
    ('privateMaterial: !!int Stored-Text\n', 'a value cannot be read as its tag says (ValueError)'),
    ('a: 1\nb: !!float Stored-Text\n', 'a value cannot be read as its tag says (ValueError)'),
    ('a: !Stored-Text x\n', "could not determine a constructor for the tag '...'"),
])
def test_a_construction_error_names_the_line_and_column_only(text, problem):
    with pytest.raises(StateStoreError) as raised:
        load_documents(text, 's3://b/c1/pki/private/ca/keyset.yaml')
    line = text.count('\n')
    assert str(raised.value).startswith('s3://b/c1/pki/private/ca/keyset.yaml is not valid YAML at line %d, column ' % line)
    assert str(raised.value).endswith(problem) and 'Stored-Text' not in str(raised.value)


@pytest.mark.parametrize('data, problem', [
    (b'{"Data": Stored-Text}', 'at line 1, column 10: Expecting value'),
    (b'\xffStored-Text', 'not UTF-8 text (byte 0)'),
    (b'[' * 100000, 'it is nested too deeply'),
])
def test_json_errors_name_the_entry_and_position_only(data, problem):
    with pytest.raises(StateStoreError) as raised:
        load_json(data, 's3://b/c1/secrets/admin', StateStoreError)
    assert str(raised.value).startswith('s3://b/c1/secrets/admin is not valid JSON') and problem in str(raised.value)
    assert 'Stored-Text' not in str(raised.value)

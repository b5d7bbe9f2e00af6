# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Which entries are secret, and how their content is shown instead (docs/secrets.md says why). kOps's secret
objects themselves (reading and writing them) are kops/cluster_stores.py's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import fnmatch
import json
import re

# Folders kOps keeps secret material in, wherever a cluster's stores put them: the secret store
# (<configBase>/secrets by default), the key store (<configBase>/pki by default, private keys in
# <keyStore>/private/<id>/keyset.yaml) and the etcd backups (<configBase>/backups/etcd/..., full
# snapshots holding every Kubernetes Secret of the cluster).
SECRET_FOLDERS = ('secrets', 'pki', 'private', 'backups')

# kOps's own formats of secret material, for entries outside those folders (a secretStore or keyStore
# set to any other location): a PEM private key, a Keyset carrying private material, a secret as the
# secret store writes it ({"Data": "<base64>"}). kOps reads keysets (YAML through JSON) and secrets (JSON)
# with Go's encoding/json, which matches field names in any case: "privatematerial" and {"data": ...} count.
_PRIVATE_KEY_PEM = re.compile(br'-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----')
_KEYSET_PRIVATE_MATERIAL = re.compile(br'privatematerial[\'"]?\s*:', re.IGNORECASE)
_JSON_OBJECT_START = re.compile(br'^\s*\{')


def is_secret_location(location, relative_path='', secret_patterns=()):
    """True for an entry at ``location`` (a parsed Location of the entry itself) that is secret by
    where it is: every vault:// entry (Vault holds only secrets and keys), any entry below a
    secrets/, pki/, private/ or backups/ folder of its full path, or one whose path relative to its
    store (``relative_path``) or full location matches a glob of ``secret_patterns`` (``*`` matches ``/``)."""
    if location.scheme == 'vault':
        return True
    folders = location.key.strip('/').split('/')[:-1]
    if any(folder in SECRET_FOLDERS for folder in folders):
        return True
    rendered = location.render()
    return any(fnmatch.fnmatchcase(relative_path, pattern) or fnmatch.fnmatchcase(rendered, pattern)
               for pattern in secret_patterns or ())


def _base64(value):
    """Whether ``value`` is a string kOps's reader decodes as base64 (Go ignores line breaks in it)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        base64.b64decode(value.replace('\r', '').replace('\n', ''), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def secret_data_field(pairs):
    """The value of the Data field kOps's JSON reader takes from the (key, value) pairs of a secret's JSON object
    (None when there is none): every key equal to "Data" in any case names it, and a later one replaces an earlier
    one, as in Go's encoding/json."""
    value = None
    for key, item in pairs:
        if key.lower() == 'data':
            value = item
    return value


class ObjectPairs(list):
    """A JSON object as json.loads's object_pairs_hook gives it: its (key, value) pairs in order, repeated keys kept."""


def looks_like_json_object(data):
    """Whether ``data`` (bytes) could be a JSON object (what is worth parsing to tell)."""
    return bool(_JSON_OBJECT_START.match(data))


def looks_secret(data):
    """True when ``data`` (bytes) is secret material in one of kOps's formats."""
    if not data:
        return False
    if _PRIVATE_KEY_PEM.search(data) or _KEYSET_PRIVATE_MATERIAL.search(data):
        return True
    if not looks_like_json_object(data):
        return False
    try:
        document = json.loads(data.decode('utf-8'), object_pairs_hook=ObjectPairs)
    except (ValueError, RecursionError):  # UnicodeDecodeError included
        return False
    return isinstance(document, ObjectPairs) and _base64(secret_data_field(document))


def is_secret(backend, path, secret_patterns=(), contents=(), marked_secret=False):
    """Secret when the user says so, by where the entry is (is_secret_location) or when one of ``contents`` (the
    entry's bytes before and after a change; None for absent) is secret material."""
    return (marked_secret or is_secret_location(backend.location.join(path), path, secret_patterns)
            or any(looks_secret(data) for data in contents))


def redacted(data):
    return '<secret content not shown: %d bytes; set reveal_secrets to see it>' % len(data)

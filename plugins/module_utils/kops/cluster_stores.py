# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A cluster's key store and secret store, and kOps's own objects in them, laid out and encoded as kOps does:

- keysets, ``<keyStore>/private/<name>/keyset.yaml``: read for their public facts only (a keyset carries the
  private keys of the cluster's CAs; their material is never decoded, returned or quoted in a message);
- the admin SSH public keys, ``<keyStore>/ssh/public/admin/<MD5 of the key's wire form, hex>``;
- secrets, ``<secretStore>/<name>``, JSON ``{"Data":"<base64>"}``.

The stores are where the cluster's config puts them (spec.keyStore, spec.secretStore), by default
``<configBase>/pki`` and ``<configBase>/secrets``, on any backend, Vault included."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import json
import re

from ansible_collections.kops.state_store.plugins.module_utils.entries import read_or_none, write_expectation
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AlreadyExists,
    NotFound,
    StateStoreError,
    parse_error_message,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster import config_base, config_path, read_config
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import (
    ClusterError,
    check_name,
    load_documents,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_stored_location
from ansible_collections.kops.state_store.plugins.module_utils.store import ABSENT

KEYSET_API_VERSIONS = ('kops.k8s.io/v1alpha2', 'kops.k8s.io/v1alpha3')  # kOps reads both, writes v1alpha2
KEYSETS_FOLDER = 'private'
KEYSET_FILE = 'keyset.yaml'
SSH_ADMIN_FOLDER = 'ssh/public/admin'
DEFAULT_EXPIRES_WITHIN = 30  # days

# what Go's big.Int parses in base 10: kOps's key ids are numbers (the newest the largest)
_NUMERIC_ID = re.compile(r'^[+-]?[0-9]+$')
# authorized_keys options before the key type (from="...",no-pty ...): quoted strings may hold blanks
_SSH_OPTIONS = re.compile(r'^(?:[^\s"]|"(?:[^"\\]|\\.)*")+\s+')


class KopsObjectError(StateStoreError):
    """A stored object kOps could not read, or a value kOps would not accept; nothing was written."""


def _cryptography():
    """(x509, serialization, UnsupportedAlgorithm) of the cryptography package, which keysets and SSH keys need."""
    try:
        from cryptography import x509
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise KopsObjectError('the cryptography Python library is required to read certificates and SSH public keys '
                              '(pip install cryptography) on the host the module runs on')
    return x509, serialization, UnsupportedAlgorithm


# -- where a cluster keeps its keys and secrets ---------------------------------------------------

class ClusterStores(object):
    """The key store and the secret store of one cluster, opened as backends."""

    def __init__(self, name, key_store, secret_store):
        self.name = name
        self.key_store = key_store
        self.secret_store = secret_store


def _below(location, folder):
    return '%s/%s' % (location.rstrip('/'), folder)


def open_cluster_stores(state_backend, name, settings=None, vault_addresses=None):
    """The stores of cluster ``name`` of the state store ``state_backend``, as its config names them: spec.keyStore
    and spec.secretStore, else ``<configBase>/pki`` and ``<configBase>/secrets`` (configBase itself defaults to
    ``<state store>/<name>``). ``settings`` are the backend options the stores are opened with. The locations are
    read from the store, so a Vault among them must be one the task names (``vault_addresses`` or VAULT_ADDR), and
    a local path must lie inside a local state store (registry.open_stored_location); anything else is refused
    before a request is made."""
    check_name(name, 'cluster name')
    cluster = read_config(state_backend, name)[0]
    if cluster is None:
        raise KopsObjectError('cluster %s does not exist: there is no %s (its config names its key store and '
                              'secret store)' % (name, state_backend.render(config_path(name))))
    spec = cluster.get('spec') or {}
    base = config_base(spec, state_backend, name)
    locations = dict(
        key_store=('keyStore', str(spec.get('keyStore') or _below(base, 'pki'))),
        secret_store=('secretStore', str(spec.get('secretStore') or _below(base, 'secrets'))))
    stores = {}
    for store, (field, location) in sorted(locations.items()):
        what = 'the %s of cluster %s (spec.%s%s)' % (store.replace('_', ' '), name, field,
                                                     '' if spec.get(field) else ', from spec.configBase')
        stores[store] = open_stored_location(location, settings, state_backend, vault_addresses, what)
    return ClusterStores(name, **stores)


# -- keysets ----------------------------------------------------------------------------------------

def _utc(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def primary_key_id(keys, primary_id):
    """The id of the key kOps signs with: spec.primaryId when that key is trusted and has a numeric id, else the
    trusted key with the largest numeric id (kOps ignores keys whose id is not a number); None when there is none."""
    best = None
    for key in keys:
        key_id = str(key.get('id', ''))
        if key.get('distrustTimestamp') or not _NUMERIC_ID.match(key_id):
            continue
        if key_id == primary_id:
            return key_id
        if best is None or int(key_id) > int(best):
            best = key_id
    return best


def _certificate_facts(x509, key, what, now, horizon):
    """Public facts of a key's certificate (``publicMaterial``: a PEM certificate, base64 as Go writes []byte)."""
    material = key.get('publicMaterial')
    if not material:
        return dict(certificate=False, subject=None, issuer=None, serial=None, not_before=None, not_after=None,
                    days_left=None, is_ca=None, expired=None, ends_soon=False)
    try:
        pem = base64.b64decode(str(material), validate=True)
    except (binascii.Error, ValueError):
        raise KopsObjectError('%s: publicMaterial is not base64' % what)
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise KopsObjectError('%s: publicMaterial is not a PEM certificate' % what)
    not_before, not_after = _validity(certificate)
    try:
        is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return dict(
        certificate=True,
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial=str(certificate.serial_number),
        not_before=_utc(not_before),
        not_after=_utc(not_after),
        # whole days, rounded down: 0 on its last day, negative once ended
        days_left=(not_after - now).days,
        is_ca=is_ca,
        expired=not_after <= now,
        ends_soon=not_after <= horizon,
    )


def _validity(certificate):
    """(not before, not after) as aware UTC datetimes; cryptography before 42 has only the naive properties."""
    if hasattr(certificate, 'not_valid_after_utc'):
        return certificate.not_valid_before_utc, certificate.not_valid_after_utc
    utc = datetime.timezone.utc
    return certificate.not_valid_before.replace(tzinfo=utc), certificate.not_valid_after.replace(tzinfo=utc)


def _keyset_document(data, where):
    documents = load_documents(data, where)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise KopsObjectError('%s is not one Keyset document' % where)
    document = documents[0]
    if document.get('apiVersion', KEYSET_API_VERSIONS[0]) not in KEYSET_API_VERSIONS:
        raise KopsObjectError('%s has apiVersion %r; kOps reads %s' % (where, document.get('apiVersion'),
                                                                       ' or '.join(KEYSET_API_VERSIONS)))
    if document.get('kind', 'Keyset') != 'Keyset':
        raise KopsObjectError('%s has kind %r; expected Keyset' % (where, document.get('kind')))
    spec = document.get('spec') or {}
    keys = (spec.get('keys') or []) if isinstance(spec, dict) else None
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise KopsObjectError('%s: spec.keys is not a list of keys' % where)
    return spec, keys


def keyset_facts(name, data, where, now, expires_within=DEFAULT_EXPIRES_WITHIN):
    """What keyset ``name`` (the bytes of its keyset.yaml, read from ``where``) says publicly: its type, primary
    id and, per key, the certificate's facts, whether it is distrusted, whether a private key is present and
    whether it is ``expiring`` (trusted, and its certificate ends within ``expires_within`` days of ``now``).
    Raises KopsObjectError naming what is wrong, never quoting the content."""
    x509 = _cryptography()[0]
    try:
        spec, keys = _keyset_document(data, where)
    except ClusterError as exc:  # YAML that does not parse: the message has the line and column only
        raise KopsObjectError(str(exc))
    primary = primary_key_id(keys, str(spec.get('primaryId', '')))
    horizon = now + datetime.timedelta(days=expires_within)
    facts = []
    for key in keys:
        key_id = str(key.get('id', ''))
        fields = dict(id=key_id, primary=key_id == primary, distrusted=bool(key.get('distrustTimestamp')),
                      distrust_timestamp=str(key['distrustTimestamp']) if key.get('distrustTimestamp') else None,
                      private_key=bool(key.get('privateMaterial')))
        fields.update(_certificate_facts(x509, key, '%s key %s' % (where, key_id), now, horizon))
        fields['expiring'] = fields.pop('ends_soon') and not fields['distrusted']
        facts.append(fields)
    return dict(name=name, location=where, type=spec.get('type'), primary_id=primary, certificates=facts, error=None)


def read_keysets(key_store, now=None, expires_within=DEFAULT_EXPIRES_WITHIN):
    """Facts of every keyset of ``key_store`` (a backend), sorted by name, as kOps lists them: the files
    ``private/<name>/keyset.yaml``; other files are not keysets. A keyset that cannot be read is returned with
    ``error`` set (and no keys) so the others are still reported."""
    _cryptography()  # a missing library fails the whole task, not each keyset
    now = now or datetime.datetime.now(datetime.timezone.utc)
    keysets = []
    for entry in key_store.list(KEYSETS_FOLDER, recursive=True):
        parts = entry.path.split('/')
        if entry.is_dir or len(parts) != 3 or parts[2] != KEYSET_FILE:
            continue
        try:
            data, _version = key_store.read(entry.path)
        except NotFound:
            continue  # removed since the listing
        where = key_store.render(entry.path)
        try:
            keysets.append(keyset_facts(parts[1], data, where, now, expires_within))
        except KopsObjectError as exc:
            keysets.append(dict(name=parts[1], location=where, type=None, primary_id=None, certificates=[], error=str(exc)))
    return keysets


# -- SSH public keys --------------------------------------------------------------------------------

class SSHPublicKey(object):
    """A public key as given: ``text``, stored as it is (kOps stores the bytes of the file it is given), with
    ``key_type``, ``comment`` and ``id``, the name of its entry: the MD5 of the key's wire form as Go's ssh package
    writes it (kOps's fingerprint without the colons)."""

    def __init__(self, text, key_type, wire, comment):
        self.text = text
        self.key_type = key_type
        self.comment = comment
        self.id = hashlib.md5(wire).hexdigest()

    @property
    def read_back(self):
        """The key as kOps reads its entry back."""
        return ssh_key_line(self.text.encode('utf-8'))

    @property
    def fingerprint(self):
        return ':'.join(self.id[index:index + 2] for index in range(0, len(self.id), 2))

    @property
    def path(self):
        return '%s/%s' % (SSH_ADMIN_FOLDER, self.id)


def parse_ssh_public_key(text):
    """The SSHPublicKey of ``text``: one line of an authorized_keys or .pub file (options before the key type are
    allowed, as kOps allows them); the key is checked with cryptography and against the limits of Go's ssh package,
    which kOps parses it with. Raises KopsObjectError saying what is wrong."""
    _x509, serialization, unsupported = _cryptography()
    text = str(text)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith('#')]
    if len(lines) != 1:
        raise KopsObjectError('the SSH public key must be one line ("<type> <base64> [comment]", as in a .pub file); '
                              'got %d key lines' % len(lines))
    line = lines[0]
    problems = []  # the line as "<type> <base64> [comment]", then without leading options, as kOps tries it
    for candidate in (line, _SSH_OPTIONS.sub('', line, count=1)):
        fields = candidate.split(None, 2)
        if len(fields) < 2:
            problems.append('it has no base64 key after the key type')
            continue
        try:
            blob = base64.b64decode(fields[1], validate=True)
        except (binascii.Error, ValueError):
            problems.append('the key is not valid base64')
            continue
        inner = _wire_key_type(blob)
        if inner is not None and inner != fields[0]:
            problems.append('its type field says %r but the key data is %r' % (fields[0], inner))
            continue
        try:
            public = serialization.load_ssh_public_key(('%s %s' % (fields[0], fields[1])).encode('ascii'))
        except unsupported:
            problems.append('key type %r is not supported' % fields[0])
            continue
        except ValueError as exc:
            problems.append('the key data is damaged or truncated (%s)' % exc)
            continue
        except NotImplementedError as exc:  # a form cryptography does not read, as Go does not
            problems.append('the key data is in a form kOps does not read (%s)' % exc)
            continue
        refused = _go_refuses(public)
        if refused:
            problems.append(refused)
            continue
        return SSHPublicKey(text, fields[0], _go_wire_form(serialization, public, fields[0], blob),
                            fields[2].strip() if len(fields) > 2 else '')
    # the reading that found a key field says more than the one that found none
    problem = problems[1] if problems[0].startswith('it has no base64') else problems[0]
    raise KopsObjectError('not a valid SSH public key: %s' % problem)


def _go_refuses(public):
    """Why Go's ssh package (which kOps parses keys with) refuses a key cryptography read, or None."""
    from cryptography.hazmat.primitives.asymmetric import rsa  # there: _cryptography() found the package

    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        if numbers.e.bit_length() > 24 or numbers.e < 3 or numbers.e % 2 == 0:
            return 'its RSA exponent is not an odd number from 3 to 24 bits'
        if numbers.n.bit_length() > 16384:
            return 'its RSA modulus is longer than 16384 bits'
    return None


def _go_wire_form(serialization, public, key_type, blob):
    """The key's wire form as Go's ssh package writes it again (kOps's fingerprint hashes that): numbers in their
    shortest form, whatever the given data held; a security-key type (which cryptography reads without its
    application) as given - it holds no numbers."""
    if key_type.startswith('sk-'):
        return blob
    written = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(written.split()[1])


def _wire_key_type(blob):
    """The key type a key's wire form starts with (a length-prefixed string), or None when it holds none."""
    length = int.from_bytes(blob[:4], 'big') if len(blob) >= 4 else None
    if length is None or len(blob) < 4 + length:
        return None
    try:
        return blob[4:4 + length].decode('ascii')
    except UnicodeDecodeError:
        return None


def read_ssh_public_keys(key_store):
    """{entry path: (key as kOps reads it, version)} of every admin SSH public key entry of ``key_store``."""
    found = {}
    for entry in key_store.list(SSH_ADMIN_FOLDER):
        if entry.is_dir:
            continue
        data, version = read_or_none(key_store, entry.path)
        if data is not None:
            found[entry.path] = (ssh_key_line(data), version)
    return found


# what Go's strings.TrimSpace removes (unicode.IsSpace); Python's strip() would take \x1c-\x1f too
_GO_SPACE = '\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000'


def ssh_key_line(data):
    """An entry's bytes as kOps reads the key (strings.TrimSpace: surrounding blanks removed)."""
    return data.decode('utf-8', 'replace').strip(_GO_SPACE)


class SSHKeysChange(object):
    """What a change of the admin SSH keys did: ``before`` and ``after`` map entry paths to the keys as kOps reads
    them."""

    def __init__(self, before, after):
        self.before = before
        self.after = after

    @property
    def changed(self):
        return self.before != self.after


def set_ssh_public_key(key_store, key, exclusive=False, check_mode=False):
    """Add ``key`` (an SSHPublicKey) as kOps's ``create sshpublickey`` does: its text, as given, written to its
    entry, unless the entry already reads as the same key; with ``exclusive``, remove every other admin key
    afterwards, so the cluster is never left without one."""
    stored = read_ssh_public_keys(key_store)
    before = dict((path, line) for path, (line, _version) in stored.items())
    after = dict(before)
    if before.get(key.path) != key.read_back:
        after[key.path] = key.read_back
        if not check_mode:
            key_store.write(key.path, key.text.encode('utf-8'),
                            expect=write_expectation(key_store, stored.get(key.path, (None, ABSENT))[1]))
    if exclusive:
        for path in sorted(set(before) - {key.path}):
            del after[path]
            if not check_mode:
                _remove_if_present(key_store, path, stored[path][1])
    return SSHKeysChange(before, after)


def remove_ssh_public_keys(key_store, key=None, check_mode=False):
    """Remove ``key`` (an SSHPublicKey), or with None every admin key as ``kops delete sshpublickey`` does."""
    stored = read_ssh_public_keys(key_store)
    doomed = [path for path in stored if key is None or path == key.path]
    if not check_mode:
        for path in doomed:
            _remove_if_present(key_store, path, stored[path][1])
    before = dict((path, line) for path, (line, _version) in stored.items())
    return SSHKeysChange(before, dict((path, line) for path, line in before.items() if path not in doomed))


def _remove_if_present(backend, path, version):
    """Delete an entry as it was read (a concurrent change fails the task); one already gone is what was asked."""
    try:
        backend.delete(path, expect=write_expectation(backend, version))
    except NotFound:
        pass


# -- secrets ----------------------------------------------------------------------------------------

def encode_secret(value):
    """A secret's entry as kOps writes it: Go's json.Marshal of {Data []byte}, compact, no newline."""
    return json.dumps({'Data': base64.b64encode(value).decode('ascii')}, separators=(',', ':')).encode('utf-8')


def decode_secret(data, where):
    """The value (bytes) of a secret entry, read as kOps reads it: Go's json.Unmarshal into ``fi.Secret{Data
    []byte}``. Every key equal to ``Data`` but for case sets the field, the last one winning; a string is
    base64 (padded, line breaks ignored), an array holds the bytes as numbers, null leaves no value, and
    anything else fails the whole read - as does a top-level value other than an object or null. Errors name
    the entry and the position or the problem, never the content."""
    try:
        document = json.loads(data.decode('utf-8', 'replace'), object_pairs_hook=_Object, parse_constant=_no_constant,
                              parse_int=_as_byte)
    except ValueError as exc:  # JSONDecodeError, and the constants Go does not know
        raise KopsObjectError(parse_error_message(where, 'JSON', exc))
    except RecursionError:
        raise KopsObjectError('%s is nested too deeply to be read as JSON' % where)
    if document is None:
        return b''
    if not isinstance(document, _Object):
        raise KopsObjectError('%s is not a kOps secret (a JSON object with a Data field)' % where)
    value, problem = _GoBytes(), None
    for key, field in document:
        if key.lower() != 'data':
            continue
        try:
            value.set(field)
        except ValueError as exc:
            problem = problem or str(exc)  # Go reports the first, after reading every field
    if problem:
        raise KopsObjectError('%s: the Data field of the secret %s' % (where, problem))
    return value.as_bytes()


class _Object(list):
    """A JSON object as its (key, value) pairs in order: Go sees every repeated key."""


# the padded base64 Go's StdEncoding decodes, once its line breaks are left out
_GO_BASE64 = re.compile(r'(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z')


def _no_constant(name):
    raise ValueError('%s is not JSON' % name)


def _as_byte(text):
    """A JSON integer as far as a byte goes (Go's ParseUint: a sign, even -0, makes it none); -1 for no byte."""
    return int(text) if len(text) <= 3 and not text.startswith('-') else -1


class _GoBytes(object):
    """A Go []byte field as json.Unmarshal sets it, value after value: a string is decoded into a new array
    (of base64's decoded length), null drops it, an array's numbers are written over the bytes already there
    (Go reuses the array, so a null element keeps the byte it had), growing it as Go does."""

    def __init__(self):
        self.array = bytearray()  # the backing array, its whole capacity
        self.length = 0

    def set(self, field):
        """Take the JSON value ``field``; ValueError saying what is wrong with it (the value is then kept)."""
        if field is None:
            self.array, self.length = bytearray(), 0
        elif isinstance(field, str):
            compact = field.replace('\r', '').replace('\n', '')
            if not _GO_BASE64.match(compact):
                raise ValueError('is not base64')
            decoded = base64.b64decode(compact)
            self.array = bytearray(decoded) + bytearray(max(0, len(field) // 4 * 3 - len(decoded)))
            self.length = len(decoded)
        elif isinstance(field, list) and not isinstance(field, _Object):
            self._set_items(field)
        else:
            kind = 'a boolean' if isinstance(field, bool) else 'a number' if isinstance(field, (int, float)) else 'an object'
            raise ValueError('is %s, not base64 text' % kind)

    def _set_items(self, items):
        wrong = False
        for index, item in enumerate(items):
            if index >= len(self.array):
                self.array = self.array[:self.length] + bytearray(max(4, len(self.array) * 3 // 2) - self.length)
            self.length = max(self.length, index + 1)
            if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 255:
                self.array[index] = item
            elif item is not None:
                wrong = True
        self.length = min(self.length, len(items))
        if not items:
            self.array = bytearray()  # Go makes an empty array anew
        if wrong:
            raise ValueError('is an array holding something other than bytes (0 to 255)')

    def as_bytes(self):
        return bytes(self.array[:self.length])


class SecretChange(object):
    """Outcome of a secret task: ``existed`` before, ``exists`` after, ``created`` by this task."""

    def __init__(self, changed, existed, exists, created=False):
        self.changed = changed
        self.existed = existed
        self.exists = exists
        self.created = created


def put_secret(secret_store, name, value, create_only=False, check_mode=False):
    """Write secret ``name`` with ``value`` (bytes). A stored secret holding the same value is left alone.
    ``create_only`` is kOps's get-or-create: an existing secret is kept, whatever it holds (one that kOps could
    not read fails the task instead, as it fails kOps), and two runs at once cannot both create it."""
    check_name(name, 'secret name')
    current, version = read_or_none(secret_store, name)
    where = secret_store.render(name)
    if current is not None:
        if create_only:
            decode_secret(current, where)
            return SecretChange(False, True, True)
        try:
            if decode_secret(current, where) == value:
                return SecretChange(False, True, True)
        except KopsObjectError:
            pass  # replaced, as kops create secret --force replaces it
    if check_mode:
        return SecretChange(True, current is not None, True, created=current is None)
    try:
        secret_store.write(name, encode_secret(value), expect=write_expectation(secret_store, version))
    except AlreadyExists:
        if version is not ABSENT or not create_only:
            raise
        return SecretChange(False, True, True)  # created meanwhile by another run: get-or-create gets it
    return SecretChange(True, current is not None, True, created=current is None)


def remove_secret(secret_store, name, check_mode=False):
    check_name(name, 'secret name')
    current, version = read_or_none(secret_store, name)
    if current is None:
        return SecretChange(False, False, False)
    if not check_mode:
        try:
            secret_store.delete(name, expect=write_expectation(secret_store, version))
        except NotFound:
            pass
    return SecretChange(True, True, False)

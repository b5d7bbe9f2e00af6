# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""vault:// stores: entries in a KV v2 secrets engine, laid out as kOps writes them.

Each entry is one secret whose data has a single key ``file``: the bytes in standard padded base64.
The version of an entry is its KV version number. The connection code (TLS settings, token or AWS
IAM login, error mapping) is shared with the Vault administration modules through vault_admin.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import os
import posixpath
import re
import time
from contextlib import contextmanager

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for the compile sanity test
    from urlparse import urlsplit  # type: ignore

from ansible_collections.kops.state_store.plugins.module_utils.backends.sdk import require_minimum_versions
from ansible_collections.kops.state_store.plugins.module_utils.backends.transport import warn_if_plaintext
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    BackendFailure,
    BadLocation,
    MissingLibrary,
    NotFound,
    PreconditionFailed,
    shown,
)
from ansible_collections.kops.state_store.plugins.module_utils.store import ABSENT, Backend, Entry

# kOps signs the GetCallerIdentity request for the global STS endpoint (us-east-1), as hvac's login does.
STS_REGION = 'us-east-1'
AWS_AUTH_MOUNT = 'aws'  # kOps expects the aws auth method at auth/aws
# Requests are retried with backoff (0.3 s, 0.6 s, 1.2 s) on connection errors and on the statuses Vault
# documents as passing: 412 (Enterprise, data not replicated yet), 500, 502, 503 (sealed, standby, restarting).
RETRIES = 3
RETRY_BACKOFF = 0.3
RETRY_STATUSES = (412, 500, 502, 503)


def _hvac():
    try:
        import hvac
        import hvac.exceptions
    except ImportError as exc:
        raise MissingLibrary('hvac', 'vault', exc)
    require_minimum_versions('vault', 'hvac')
    return hvac


def _vault_message(exc):
    """One line from an hvac error: Vault's own error strings, without the request URL."""
    errors = getattr(exc, 'errors', None)
    if errors:
        return '; '.join(' '.join(str(error).split()) for error in errors)
    return ' '.join(str(exc).split()) or type(exc).__name__


@contextmanager
def vault_errors(address, action):
    """Turn hvac and requests failures into the collection's errors, each one line naming ``action``."""
    hvac = _hvac()
    import requests

    try:
        yield
    except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized) as exc:
        raise AccessDenied('Vault at %s denied %s: %s (check the token and its policies)'
                           % (address, action, _vault_message(exc)))
    except requests.exceptions.SSLError as exc:
        reason = re.search(r'\[SSL[^\]]*\] ([^(\'"]+)', str(exc))  # the OpenSSL reason, not the urllib3 wrapping
        raise BackendFailure('TLS error talking to Vault at %s: %s (set vault_ca_cert or VAULT_CACERT, or use '
                             '?tls=false for a plain HTTP server)'
                             % (address, reason.group(1).strip() if reason else 'handshake failed'))
    except requests.exceptions.ConnectionError:
        raise BackendFailure('cannot connect to Vault at %s (connection refused or host unreachable)' % address)
    except requests.exceptions.Timeout:
        raise BackendFailure('Vault at %s did not answer in time while trying to %s' % (address, action))
    except hvac.exceptions.VaultError as exc:
        raise BackendFailure('Vault at %s failed to %s: %s' % (address, action, _vault_message(exc)))


def tls_verify(settings):
    """requests' ``verify``: the CA bundle (option, then VAULT_CACERT), else whether to check certificates."""
    ca_cert = settings.get('vault_ca_cert') or os.environ.get('VAULT_CACERT')
    if ca_cert:
        return ca_cert
    return settings.get('vault_validate_certs') is not False


def aws_credentials():
    """Frozen credentials of the default AWS chain, for the IAM login."""
    try:
        import botocore.session
    except ImportError as exc:
        raise MissingLibrary('botocore', 'vault', exc)
    require_minimum_versions('vault', 'botocore')
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise AccessDenied('no Vault token (vault_token option or VAULT_TOKEN) and no AWS credentials '
                           'for a Vault AWS IAM login')
    return credentials.get_frozen_credentials()


def retrying_session(verify):
    """A requests session checking certificates as ``verify`` says and retrying every Vault request
    (writes too: a cas write that did land answers a retry with a check-and-set failure, so nothing is
    applied twice)."""
    import requests
    from urllib3.util.retry import Retry

    retry = Retry(total=RETRIES, backoff_factor=RETRY_BACKOFF, status_forcelist=RETRY_STATUSES,
                  allowed_methods=None, raise_on_status=False)
    session = requests.Session()
    session.verify = verify  # hvac prefers a given session's CA bundle to its own argument
    adapter = requests.adapters.HTTPAdapter(max_retries=retry)
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    return session


def vault_client(address, server_id, settings):
    """An authenticated hvac client: the vault_token option or VAULT_TOKEN, else an AWS IAM login
    whose X-Vault-AWS-IAM-Server-ID header is ``server_id`` (kOps: the URL's host name)."""
    hvac = _hvac()
    warn_if_plaintext(address, 'the Vault token (or AWS IAM login) and every secret read or written')
    # token='' keeps hvac from reading VAULT_TOKEN or ~/.vault-token on its own.
    verify = tls_verify(settings)
    client = hvac.Client(url=address, token='', verify=verify, timeout=30, session=retrying_session(verify))
    token = settings.get('vault_token') or os.environ.get('VAULT_TOKEN')
    if token:
        client.token = token
        return client
    credentials = aws_credentials()
    with vault_errors(address, 'the AWS IAM login at auth/%s/login' % AWS_AUTH_MOUNT):
        try:
            client.auth.aws.iam_login(
                credentials.access_key, credentials.secret_key, credentials.token, header_value=server_id,
                role=settings.get('vault_aws_iam_role') or '',  # empty: Vault takes the IAM principal's name
                region=STS_REGION, mount_point=AWS_AUTH_MOUNT)
        except hvac.exceptions.InvalidRequest as exc:  # Vault answers most refused logins with 400
            raise AccessDenied('Vault at %s refused the AWS IAM login: %s' % (address, _vault_message(exc)))
    return client


def vault_address(location):
    scheme = 'https' if location.tls else 'http'
    host = location.bucket if location.port is None else '%s:%d' % (location.bucket, location.port)
    return '%s://%s' % (scheme, host)


# -- which Vaults a location read from a store may name -----------------------------------------------

_DEFAULT_PORTS = {'https': 443, 'http': 80}


def _server(scheme, host, port):
    """A Vault server as a connection reaches it: (scheme, lower-case host, port with the default filled in)."""
    return scheme, host.lower(), port if port is not None else _DEFAULT_PORTS[scheme]


def location_server(location):
    """The server a vault:// Location connects to."""
    return _server('https' if location.tls else 'http', location.bucket, location.port)


def address_server(address, named_by):
    """The server of a Vault address the operator gave (``http[s]://host[:port]``, as VAULT_ADDR), named by
    ``named_by`` (the option or variable) in the error when it is no such address."""
    try:
        parts = urlsplit(address.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise BadLocation('%s holds %r, which is not a Vault address (https://host[:port] or http://host[:port])'
                          % (named_by, address))
    return _server(parts.scheme.lower(), parts.hostname, port)


def server_text(server):
    """A server for a message (its host may come from a store: shown safely)."""
    return shown('%s://%s:%d' % server)


def check_named_vault(location, vault_addresses, what):
    """Refuse ``location``, a vault:// Location read from a store (``what`` says which: "the key store of cluster
    c1 (spec.keyStore)"), unless its server is one the operator named: an entry of ``vault_addresses`` (the task's
    option) or VAULT_ADDR. The store's text is data from whoever can write the store; a Vault it alone names would
    get the token or the AWS IAM login, so it is refused before any connection. Scheme, host and port must all
    match: an https Vault named by the operator does not admit a plain-HTTP one at the same host."""
    named = [(address, 'vault_addresses') for address in vault_addresses or []]
    if os.environ.get('VAULT_ADDR'):
        named.append((os.environ['VAULT_ADDR'], 'VAULT_ADDR'))
    server = location_server(location)
    if any(address_server(address, named_by) == server for address, named_by in named):
        return
    raise BadLocation(
        '%s is on the Vault at %s, which only the stored cluster config names, not the task; nothing was sent '
        'there. Vault tokens and AWS IAM logins go only to a Vault the task names: if %s is yours, add it to '
        'vault_addresses or set VAULT_ADDR to it (named now: %s)'
        % (what, server_text(server), server_text(server), ', '.join(shown(given) for given, _by in named) or 'none'))


def _is_deleted(version_metadata):
    """A KV version is gone once destroyed or once its deletion time has passed (a mount's
    delete_version_after sets a future one)."""
    if version_metadata.get('destroyed'):
        return True
    deletion_time = version_metadata.get('deletion_time') or ''
    return bool(deletion_time) and deletion_time[:19] <= time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())


class VaultBackend(Backend):
    """Entries are KV v2 secrets below ``<mount>/<key>``.

    Create-if-absent writes with ``cas=0`` (or, once an entry was soft-deleted, with ``cas`` set to
    its deleted latest version), compare-and-swap with ``cas=<version>``: Vault checks both
    atomically. A delete soft-deletes the latest version, as kOps does; with an expected version it
    deletes exactly that version and fails when a newer one appeared meanwhile (the newer content
    stays readable). One window remains: a soft delete landing between the metadata check and a
    compare-and-swap write of the same version is undone by that write.
    """

    hash_algorithm = None  # Vault keeps no content hash; callers compare content

    def __init__(self, location, settings=None):
        super(VaultBackend, self).__init__(location, settings)
        self.address = vault_address(location)
        self.mount = location.mount
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = vault_client(self.address, self.location.bucket, self.settings)
        return self._client

    @property
    def kv(self):
        return self.client.secrets.kv.v2

    def _secret_path(self, path):
        return posixpath.join(self.location.key, path) if self.location.key else path

    def _errors(self, action, path):
        return vault_errors(self.address, "%s '%s' in %s" % (action, path, self.render()))

    # -- reading ------------------------------------------------------------------------------
    def _read(self, path):
        hvac = _hvac()
        with self._errors('read', path):
            try:
                response = self.kv.read_secret_version(
                    self._secret_path(path), mount_point=self.mount, raise_on_deleted_version=True)
            except hvac.exceptions.InvalidPath:
                raise NotFound("entry '%s' does not exist in %s" % (path, self.render()))
        secret = response.get('data') or {}
        data = secret.get('data')
        if not data:
            raise NotFound("entry '%s' does not exist in %s" % (path, self.render()))
        if 'file' not in data:
            raise BackendFailure("Vault secret '%s' in %s has no 'file' key; it was not written by kOps"
                                 % (path, self.render()))
        try:
            content = base64.b64decode(data['file'], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise BackendFailure("Vault secret '%s' in %s has a 'file' key that is not base64" % (path, self.render()))
        return content, secret['metadata']['version']

    def _live_version(self, path):
        """(current version number or 0 when the secret never existed, whether it is readable)."""
        hvac = _hvac()
        try:
            metadata = self.kv.read_secret_metadata(self._secret_path(path), mount_point=self.mount)['data']
        except hvac.exceptions.InvalidPath:
            return 0, False
        current = metadata.get('current_version') or 0
        versions = metadata.get('versions') or {}
        return current, current > 0 and not _is_deleted(versions.get(str(current), {}))

    def _list(self, prefix, recursive, hash_algorithm=None):
        hvac = _hvac()
        folder = self._secret_path(prefix)
        with self._errors('list', prefix or '/'):
            try:
                keys = self.kv.list_secrets(folder, mount_point=self.mount)['data']['keys']
            except hvac.exceptions.InvalidPath:
                return []
        entries = []
        for key in keys:
            path = posixpath.join(prefix, key.rstrip('/')) if prefix else key.rstrip('/')
            if key.endswith('/'):
                if recursive:
                    entries.extend(self._list(path, True))
                else:
                    entries.append(Entry(path, is_dir=True))
                continue
            try:  # the listing has no sizes, and still names soft-deleted secrets
                data, version = self._read(path)
            except NotFound:
                continue
            entries.append(Entry(path, size=len(data), version=version))
        return entries

    # -- old versions -------------------------------------------------------------------------
    def _secret_paths(self, folder):
        """Every secret below a folder (its path relative to the store), soft-deleted ones included."""
        hvac = _hvac()
        try:
            keys = self.kv.list_secrets(self._secret_path(folder), mount_point=self.mount)['data']['keys']
        except hvac.exceptions.InvalidPath:
            return []
        paths = []
        for key in keys:
            path = posixpath.join(folder, key.rstrip('/'))
            paths.extend(self._secret_paths(path) if key.endswith('/') else [path])
        return paths

    def _old_versions(self, path):
        """(old version numbers whose content still exists, whether the secret has no live version, its current
        version number) of one secret; None when it has no metadata."""
        hvac = _hvac()
        try:
            metadata = self.kv.read_secret_metadata(self._secret_path(path), mount_point=self.mount)['data']
        except hvac.exceptions.InvalidPath:
            return None
        current = metadata.get('current_version') or 0
        versions = metadata.get('versions') or {}
        dead = current == 0 or _is_deleted(versions.get(str(current), {}))
        old = sorted(int(number) for number, version in versions.items()
                     if (dead or int(number) != current) and not version.get('destroyed'))
        return old, dead, current

    def _purge_versions(self, prefix, check_mode):
        """KV v2 keeps every version: older versions of a live secret are destroyed (their content removed);
        a secret without a live version (soft-deleted, as a delete leaves it) has its versions destroyed and
        then its metadata deleted, which removes it completely, as kOps's RemoveAllVersions does. Returns the
        number of versions whose content was removed, plus one per deleted metadata of a secret whose versions
        were all destroyed already."""
        removed = 0
        with self._errors('remove the old versions of', prefix):
            for path in self._secret_paths(prefix):
                found = self._old_versions(path)
                if found is None:
                    continue  # removed meanwhile
                old, dead, current = found
                removed += len(old) or (1 if dead else 0)
                if check_mode:
                    continue
                secret = self._secret_path(path)
                if old:
                    # numbered versions only: a version written meanwhile is never destroyed
                    self.kv.destroy_secret_versions(secret, old, mount_point=self.mount)
                if dead:
                    again = self._old_versions(path)
                    if again is not None and again[1] and again[2] == current:  # still no newer version
                        self.kv.delete_metadata_and_all_versions(secret, mount_point=self.mount)
        return removed

    def _keeps_versions(self, prefix):
        return True  # a KV v2 delete is a soft delete, and every write keeps the previous version

    # -- writing ------------------------------------------------------------------------------
    def _write(self, path, data, expect, acl):
        hvac = _hvac()
        secret = {'file': base64.b64encode(data).decode('ascii')}
        with self._errors('write', path):
            cas = None
            if expect is not None:
                current, live = self._live_version(path)
                if expect is ABSENT:
                    if live:
                        raise AlreadyExists("entry '%s' already exists in %s" % (path, self.render()))
                    cas = current
                elif not live or current != expect:
                    raise PreconditionFailed("entry '%s' in %s was changed by someone else since it was read"
                                             % (path, self.render()))
                else:
                    cas = expect
            try:
                response = self.kv.create_or_update_secret(
                    self._secret_path(path), secret, cas=cas, mount_point=self.mount)
            except hvac.exceptions.InvalidRequest as exc:
                if 'check-and-set' not in _vault_message(exc):
                    raise
                if expect is ABSENT:
                    raise AlreadyExists("entry '%s' already exists in %s" % (path, self.render()))
                raise PreconditionFailed("entry '%s' in %s was changed by someone else since it was read"
                                         % (path, self.render()))
        return response['data']['version']

    def _delete(self, path, expect):
        with self._errors('delete', path):
            current, live = self._live_version(path)
            if not live:
                raise NotFound("entry '%s' does not exist in %s" % (path, self.render()))
            if expect is not None and current != expect:
                raise PreconditionFailed("entry '%s' in %s was changed by someone else since it was read"
                                         % (path, self.render()))
            self.kv.delete_secret_versions(self._secret_path(path), [current], mount_point=self.mount)
            if expect is not None and self._live_version(path)[0] != current:
                raise PreconditionFailed("entry '%s' in %s was rewritten while it was being deleted; the newer "
                                         "content stays" % (path, self.render()))


SCHEMES = ('vault',)
BACKEND = VaultBackend
#: the option of the modules that open the stores a cluster's config names (kops.state_store.store.VAULT_ADDRESSES)
VAULT_ADDRESSES_OPTION = dict(vault_addresses=dict(type='list', elements='str', no_log=False))
OPTIONS = dict(
    vault_token=dict(type='str', no_log=True),
    vault_aws_iam_role=dict(type='str', no_log=False),
    vault_ca_cert=dict(type='path'),
    vault_validate_certs=dict(type='bool'),
)

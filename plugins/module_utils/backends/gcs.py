# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""gs:// stores on Google Cloud Storage (google-cloud-storage).

Credentials: a service-account key given by option or environment, else Application Default
Credentials (GOOGLE_APPLICATION_CREDENTIALS, the gcloud ADC file, the metadata server), with the
read/write scope kOps uses. With STORAGE_EMULATOR_HOST set the SDK talks to that emulator,
anonymously unless a service-account key is given.

Versions are object generations: create-if-absent sends ifGenerationMatch=0, compare-and-swap
and guarded deletes send the generation read, so GCS itself refuses a lost update (412).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json
import os

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
    first_line,
)
from ansible_collections.kops.state_store.plugins.module_utils.store import (
    ABSENT,
    Backend,
    Check,
    Entry,
    check_size,
    read_setting,
)

SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write'
TIMEOUT = 60  # seconds per HTTP request
RETRY_TIMEOUT = 60  # seconds all attempts of one call may take
# A read can race with a writer between fetching metadata and content; give up after this many tries.
READ_ATTEMPTS = 5


def _sdk():
    """The google-cloud-storage pieces this backend uses, imported on first use."""
    try:
        from google.api_core import exceptions
        from google.auth import exceptions as auth_exceptions
        from google.cloud import storage
        from google.cloud.storage.retry import DEFAULT_RETRY
        from requests.exceptions import RequestException  # the SDK's HTTP library, raised when not retried
    except ImportError as exc:
        raise MissingLibrary('google-cloud-storage', 'gs', exc)
    require_minimum_versions('gs', 'google-cloud-storage', 'google-api-core')
    # kOps's backoff: 1 s initial delay growing by 1.5 (the SDK adds jitter); retried on
    # 429/5xx/connection errors only, never on a refused precondition.
    retry = DEFAULT_RETRY.with_delay(initial=1.0, multiplier=1.5, maximum=10.0).with_timeout(RETRY_TIMEOUT)
    return storage, exceptions, (exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError, RequestException), auth_exceptions, retry


class GCSBackend(Backend):
    """Objects under gs://bucket/key; version = generation, hash = MD5 from object metadata."""

    hash_algorithm = 'md5'

    def __init__(self, location, settings=None):
        super(GCSBackend, self).__init__(location, settings)
        self._storage, self._errors, self._sdk_errors, self._auth_errors, self._retry = _sdk()
        credentials = self._credentials()
        if credentials is not None:  # the emulator is asked anonymously unless a key is given
            warn_if_plaintext(os.environ.get('STORAGE_EMULATOR_HOST'), 'Google access tokens')
        self._bucket = self._storage.Client(project=None, credentials=credentials).bucket(location.bucket)

    # -- credentials --------------------------------------------------------------------------
    def _credentials(self):
        contents = self.settings.get('gcp_service_account_contents') or os.environ.get('GCP_SERVICE_ACCOUNT_CONTENTS')
        path = self.settings.get('gcp_service_account_file') or os.environ.get('GCP_SERVICE_ACCOUNT_FILE')
        from google.auth import default  # google-auth comes with google-cloud-storage (checked by _sdk)
        from google.oauth2 import service_account

        try:
            if contents:
                info = contents if isinstance(contents, dict) else json.loads(contents)
                return service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
            if path:
                return service_account.Credentials.from_service_account_file(path, scopes=[SCOPE])
            if os.environ.get('STORAGE_EMULATOR_HOST'):
                return None  # the SDK uses anonymous credentials with an emulator
            return default(scopes=[SCOPE])[0]
        except (IOError, OSError) as exc:
            raise AccessDenied('cannot read the Google service account file %s: %s' % (path, exc.strerror))
        except (ValueError, KeyError, TypeError, self._auth_errors.GoogleAuthError) as exc:
            # Never echo key material: say which source was unusable, and for a key given inline only the
            # error type (a parser's message could quote part of the key).
            source = ('gcp_service_account_contents' if contents else 'gcp_service_account_file %s' % path
                      if path else 'Application Default Credentials')
            reason = type(exc).__name__ if contents else first_line(exc)
            raise AccessDenied('no usable Google credentials from %s: %s' % (source, reason))

    # -- helpers ------------------------------------------------------------------------------
    def _key(self, path):
        return '/'.join(part for part in (self.location.key, path) if part)

    def _where(self, path):
        return "entry '%s' in %s" % (path, self.location.render())

    def _failure(self, exc, path):
        """Map an SDK error to one of ours; a 404 is resolved by the caller."""
        errors = self._errors
        if isinstance(exc, (errors.Unauthorized, errors.Forbidden)):
            return AccessDenied('access denied to %s: %s' % (self._where(path), _message(exc)))
        if isinstance(exc, self._auth_errors.RefreshError):
            return AccessDenied('Google refused the credentials for %s: %s' % (self.location.render(), first_line(exc)))
        if isinstance(exc, errors.RetryError):
            return BackendFailure('Google Cloud Storage did not answer for %s: %s' % (self._where(path), first_line(exc.cause or exc)))
        return BackendFailure('Google Cloud Storage failed on %s: %s' % (self._where(path), _message(exc)))

    def _missing(self, path):
        """NotFound for a missing entry, BadLocation when the bucket itself is missing."""
        try:
            next(iter(self._bucket.list_blobs(max_results=1, prefix=self._key(path), retry=self._retry, timeout=TIMEOUT)), None)
        except self._errors.NotFound:
            return BadLocation("the Google Cloud Storage bucket '%s' does not exist" % self.location.bucket)
        except self._sdk_errors as exc:
            return self._failure(exc, path)
        return NotFound('%s does not exist' % self._where(path))

    # -- reading ------------------------------------------------------------------------------
    def _read(self, path, limit):
        errors = self._errors
        for _attempt in range(READ_ATTEMPTS):
            try:
                blob = self._bucket.get_blob(self._key(path), retry=self._retry, timeout=TIMEOUT)
                if blob is None:
                    raise self._missing(path)
                # Fetch exactly the generation whose metadata was read, so the version is the content's (and its
                # size, refused before the download when it is past the limit).
                generation = blob.generation
                check_size(blob.size, self.render(path), limit)
                data = blob.download_as_bytes(if_generation_match=generation, retry=self._retry, timeout=TIMEOUT)
                return data, generation
            except (errors.PreconditionFailed, errors.NotFound):
                continue  # replaced or deleted between the two requests: read again
            except self._sdk_errors as exc:
                raise self._failure(exc, path)
        raise BackendFailure('%s kept changing while being read' % self._where(path))

    def _stored_hash(self, path):
        try:
            blob = self._bucket.get_blob(self._key(path), retry=self._retry, timeout=TIMEOUT)
        except self._sdk_errors as exc:
            raise self._failure(exc, path)
        if blob is None:
            raise self._missing(path)
        return _md5_hex(blob.md5_hash)

    def _list(self, prefix, recursive, hash_algorithm=None):
        base = self._key(prefix)
        start = base + '/' if base else ''
        root = self._key('')
        root_length = len(root) + 1 if root else 0
        try:
            blobs = self._bucket.list_blobs(
                prefix=start or None, delimiter=None if recursive else '/', retry=self._retry, timeout=TIMEOUT,
            )
            entries = [
                Entry(blob.name[root_length:], size=blob.size, hash=_md5_hex(blob.md5_hash),
                      hash_algorithm='md5', version=blob.generation)
                for blob in blobs if not blob.name.endswith('/')  # skip console "folder" placeholders
            ]
            entries.extend(Entry(folder.rstrip('/')[root_length:], is_dir=True) for folder in blobs.prefixes)
        except self._errors.NotFound:
            raise BadLocation("the Google Cloud Storage bucket '%s' does not exist" % self.location.bucket)
        except self._sdk_errors as exc:
            raise self._failure(exc, prefix)
        return entries

    # -- old versions -------------------------------------------------------------------------
    def _noncurrent(self, prefix):
        """Noncurrent generations below the folder (listed with versions=true; they carry a deletion time)."""
        try:
            blobs = self._bucket.list_blobs(prefix=self._key(prefix) + '/', versions=True, retry=self._retry,
                                            timeout=TIMEOUT)
            return [blob for blob in blobs if blob.time_deleted is not None]
        except self._errors.NotFound:
            raise BadLocation("the Google Cloud Storage bucket '%s' does not exist" % self.location.bucket)
        except self._sdk_errors as exc:
            raise self._failure(exc, prefix)

    def _purge_versions(self, prefix, check_mode):
        """With object versioning a delete or overwrite keeps the old generation as noncurrent; each one is
        deleted by its generation number (which removes it for good). Objects the bucket's soft-delete policy
        keeps are out of reach of this API until their retention ends."""
        noncurrent = self._noncurrent(prefix)
        if check_mode:
            return len(noncurrent)
        root_length = len(self._key('')) + 1 if self._key('') else 0
        for blob in noncurrent:
            try:
                self._bucket.delete_blob(blob.name, generation=blob.generation, retry=self._retry, timeout=TIMEOUT)
            except self._errors.NotFound:
                pass  # removed meanwhile
            except self._sdk_errors as exc:
                raise self._failure(exc, blob.name[root_length:])
        return len(noncurrent)

    def _keeps_versions(self, prefix):
        """Noncurrent generations exist below the folder, or the bucket has object versioning on (reading that
        needs storage.buckets.get; without it, only the generations tell)."""
        if self._noncurrent(prefix):
            return True
        try:
            bucket = self._bucket.client.get_bucket(self.location.bucket, retry=self._retry, timeout=TIMEOUT)
        except (self._errors.Forbidden, self._errors.Unauthorized):
            return False
        except self._sdk_errors as exc:
            raise self._failure(exc, prefix)
        return bool(bucket.versioning_enabled)

    # -- the bucket itself ---------------------------------------------------------------------
    def _bucket_resource(self):
        try:
            return self._bucket.client.get_bucket(self.location.bucket, retry=self._retry, timeout=TIMEOUT)
        except self._errors.NotFound:
            raise BadLocation("the Google Cloud Storage bucket '%s' does not exist" % self.location.bucket)
        except self._sdk_errors as exc:
            raise self._failure(exc, '')

    def _store_checks(self, environ):
        """Object versioning, uniform bucket-level access and public access prevention, as Google recommends for a
        bucket holding secrets, and the location; all from the bucket's metadata (storage.buckets.get)."""
        bucket, check = read_setting('bucket settings', 'storage.buckets.get', self._bucket_resource)
        if check:
            return [check]
        gcloud = 'gcloud storage buckets update gs://%s ' % self.location.bucket
        checks = [Check.ok('versioning', 'Enabled') if bucket.versioning_enabled else Check.finding(
            'versioning', 'high',
            'object versioning is off: an overwritten or deleted entry (a config, a keyset, a secret) cannot be '
            'recovered; kOps\'s documentation strongly recommends a versioned state store', gcloud + '--versioning')]
        iam = bucket.iam_configuration
        if iam.uniform_bucket_level_access_enabled:
            checks.append(Check.ok('uniform bucket-level access', True))
        else:
            checks.append(Check.finding(
                'uniform bucket-level access', 'medium',
                'uniform bucket-level access is off: object ACLs decide who reads each entry (kOps adds one for the '
                'nodes\' service account), so one entry can be shared apart from the bucket\'s IAM policy; Google '
                'recommends uniform bucket-level access',
                'grant the nodes\' service account roles/storage.objectViewer on the bucket (object ACLs stop '
                'counting), then ' + gcloud + '--uniform-bucket-level-access', False))
        prevention = iam.public_access_prevention
        if prevention == 'enforced':
            checks.append(Check.ok('public access prevention', prevention))
        else:
            checks.append(Check.finding(
                'public access prevention', 'high',
                'public access prevention is %s: an IAM binding or ACL for allUsers would expose every cluster\'s CA '
                'keys and secrets (an organization policy, which this check does not read, may still enforce it)'
                % (prevention or 'not set'), gcloud + '--public-access-prevention', prevention))
        checks.append(Check.ok('location', bucket.location))
        return checks

    # -- writing ------------------------------------------------------------------------------
    def _write(self, path, data, expect, acl):
        blob = self._bucket.blob(self._key(path))
        generation = None if expect is None else 0 if expect is ABSENT else int(expect)
        try:
            # checksum='md5' sends the MD5 with the upload, so GCS rejects a corrupted body.
            blob.upload_from_string(
                data, content_type='application/octet-stream', predefined_acl=acl,
                if_generation_match=generation, checksum='md5', retry=self._retry, timeout=TIMEOUT,
            )
        except self._errors.PreconditionFailed:
            if expect is ABSENT:
                raise AlreadyExists('%s already exists' % self._where(path))
            raise PreconditionFailed('%s was changed by someone else since it was read' % self._where(path))
        except self._errors.NotFound:
            raise BadLocation("the Google Cloud Storage bucket '%s' does not exist" % self.location.bucket)
        except self._errors.BadRequest as exc:
            raise BackendFailure('Google Cloud Storage refused the upload of %s: %s' % (self._where(path), _message(exc)))
        except self._sdk_errors as exc:
            raise self._failure(exc, path)
        return blob.generation

    def _delete(self, path, expect):
        blob = self._bucket.blob(self._key(path))
        try:
            blob.delete(if_generation_match=None if expect is None else int(expect), retry=self._retry, timeout=TIMEOUT)
        except self._errors.PreconditionFailed:
            raise PreconditionFailed('%s was changed by someone else since it was read' % self._where(path))
        except self._errors.NotFound:
            raise self._missing(path)
        except self._sdk_errors as exc:
            raise self._failure(exc, path)


def _md5_hex(md5_base64):
    """GCS gives MD5 base64-encoded; composite objects have none."""
    if not md5_base64:
        return None
    try:
        return binascii.hexlify(base64.b64decode(md5_base64)).decode('ascii')
    except (ValueError, TypeError):
        return None


def _message(exc):
    return getattr(exc, 'message', None) or first_line(exc)


SCHEMES = ('gs',)
BACKEND = GCSBackend
OPTIONS = dict(
    gcp_service_account_file=dict(type='path'),
    gcp_service_account_contents=dict(type='raw', no_log=True),  # str or dict; the lookup has no jsonarg type
)

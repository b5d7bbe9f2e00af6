# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""s3:// stores on AWS or on an S3-compatible server (S3_ENDPOINT), and do:// (DigitalOcean Spaces), on boto3:
entries, listings, versions and conditional writes. Connections, regions and error translation are s3_client.py's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import io
import os
import threading
import uuid
from contextlib import contextmanager
from http.client import IncompleteRead

from ansible_collections.kops.state_store.plugins.module_utils.backends.s3_client import (
    S3Settings,
    bucket_checks,
    bucket_default_encryption,
    bucket_encryption,
    bucket_region,
    client_for_region,
    env_value,
    error_code,
    error_status,
    import_boto3,
    md5_from_etag,
    s3_errors,
)
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    BackendFailure,
    NotFound,
    NotSupported,
    PreconditionFailed,
)
from ansible_collections.kops.state_store.plugins.module_utils.store import (
    ABSENT,
    Backend,
    Entry,
    bounded_read,
    http_date_seconds,
)

#: unconditional writes above this size go up in parts; conditional writes are single PutObjects
MULTIPART_THRESHOLD = 16 * 1024 * 1024
MAX_SINGLE_PUT = 5 * 1024 ** 3  # S3's limit for one PutObject
KMS_ALGORITHMS = ('aws:kms', 'aws:kms:dsse')  # their ETags are not content MD5s
PROBE_PREFIX = '.kops-state-store-probe-'
DELETE_BATCH = 1000  # keys one DeleteObjects request may carry

_LOCK = threading.Lock()
# Process-wide caches, as kOps keeps them: per bucket which conditional requests the server honours.
_CONDITIONAL_WRITES = {}
_CONDITIONAL_COPIES = {}
_PROBE_LOCKS = {}

#: the conditional requests writes rely on: (operation, header)
CREATE_IF_ABSENT = ('PutObject', 'If-None-Match')
COMPARE_AND_SWAP = ('PutObject', 'If-Match')
GUARDED_DELETE = ('DeleteObject', 'If-Match')
CONDITIONAL_WRITES = (CREATE_IF_ABSENT, COMPARE_AND_SWAP, GUARDED_DELETE)
_WHAT_NEEDS = {CREATE_IF_ABSENT: 'create-if-absent', COMPARE_AND_SWAP: 'compare-and-swap',
               GUARDED_DELETE: 'a guarded delete'}
HONOURED, IGNORED = 'honoured', 'ignored'  # else the error code of a server that rejects the header
NO_ETAG = '"%s"' % ('0' * 32)  # an If-Match value no object has


class S3Backend(Backend):
    """Entries are objects under the location's key prefix. The version of an entry is its ETag;
    create-if-absent and compare-and-swap are conditional PutObject/DeleteObject requests
    (If-None-Match: * / If-Match: ETag), which the server evaluates atomically, once a probe in the
    folder written has shown that it does (_require_condition).

    Hashes are MD5s from ETags where an ETag is one: ``hash`` asks HeadObject, which tells the object's
    encryption; a listing trusts ETags only as far as the bucket's default encryption allows
    (_listed_etags_are_md5s), so an object written with its own SSE-KMS or SSE-C header into a bucket
    without KMS default is the one case a listing reports a hash that is not the content's."""

    hash_algorithm = 'md5'
    supports_compare_and_swap = True
    listed_hashes_presumed = True  # see _listed_etags_are_md5s
    probe_prefix = PROBE_PREFIX

    def __init__(self, location, settings=None):
        super(S3Backend, self).__init__(location, settings)
        import_boto3(location.scheme)
        self.config = S3Settings(self.settings, location.scheme)
        self.bucket = location.bucket
        self._client = None
        self._client_lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def client(self):
        # one thread makes the client (and asks the bucket's region) while the others of a pool wait for it:
        # each making its own costs a tenth of a second of CPU
        with self._client_lock:
            if self._client is None:
                with s3_errors(self.render(), self.bucket):
                    self._client = client_for_region(self.config, bucket_region(self.config, self.bucket))
        return self._client

    def _endpoint(self):
        """The URL the client talks to, once there is a client."""
        return self._client.meta.endpoint_url if self._client is not None else None

    def _key(self, path):
        return '/'.join(part for part in (self.location.key, path) if part)

    def _target(self, path):
        """How messages name an entry, or the store itself for ''."""
        return "entry '%s' in %s" % (path, self.render()) if path else self.render()

    def _errors(self, path):
        return s3_errors(self._target(path), self.bucket, endpoint=self._endpoint())

    def _default_encryption(self):
        """The bucket's default SSE algorithm (s3:// only; kOps never asks for do://)."""
        if self.location.scheme != 's3':
            return None
        return bucket_default_encryption(self.client, self.config, self.bucket)

    def _write_arguments(self, acl):
        arguments = {}
        # kOps: KOPS_STATE_S3_ACL is put on every write and overrides the caller's ACL.
        acl = env_value(os.environ, 'KOPS_STATE_S3_ACL') or acl
        if acl:
            arguments['ACL'] = acl
        if self.location.scheme == 's3' and self._default_encryption() is None:
            arguments['ServerSideEncryption'] = 'AES256'
        return arguments

    def _probe_key(self, path):
        """A fresh key for a probe object in the folder of the entry ``path``, where a principal allowed only
        some folders (a prefix-scoped policy) may write as it may write the entry."""
        folder = self._key(path).rpartition('/')[0]
        return '/'.join(part for part in (folder, PROBE_PREFIX + uuid.uuid4().hex) if part)

    def _probed(self, cache, probe):
        """``cache``'s answer for this server and bucket, found by ``probe()`` (returning the answer and whether
        to keep it) in one thread at a time; the answer is the server's, the same for every folder."""
        cache_key = (self.config.endpoint_url, self.bucket)
        with _LOCK:
            if cache_key in cache:
                return cache[cache_key]
            lock = _PROBE_LOCKS.setdefault((id(cache),) + cache_key, threading.Lock())
        with lock:
            with _LOCK:
                if cache_key in cache:
                    return cache[cache_key]
            answer, keep = probe()
            if keep:
                with _LOCK:
                    cache[cache_key] = answer
            return answer

    def _require_condition(self, path, acl, condition):
        """Refuse a conditional request the server would not evaluate. Before the first conditional request to
        a bucket, each of CONDITIONAL_WRITES is tried on a probe object in the folder of ``path``; a server
        that honours some of them and not others never gets to turn one into an unconditional write."""
        state = self._probed(_CONDITIONAL_WRITES, lambda: (self._probe_conditional_writes(path, acl), True))[condition]
        if state == HONOURED:
            return
        header = '%s on %s' % (condition[1], condition[0])
        if state == IGNORED:
            raise NotSupported('the S3 server of %s ignores conditional writes (%s), so %s cannot be done safely '
                               'there' % (self.render(), header, _WHAT_NEEDS[condition]))
        raise NotSupported('the S3 server of %s rejects conditional writes (%s: %s), so %s cannot be done there'
                           % (self.render(), header, state, _WHAT_NEEDS[condition]))

    def _probe_conditional_writes(self, path, acl):
        """{condition: HONOURED, IGNORED or the error code of a rejection} for CONDITIONAL_WRITES, from requests
        S3 answers with 412 on a probe object: If-None-Match: * on PutObject once it exists, If-Match with an
        ETag it does not have on PutObject and on DeleteObject. The probe carries the headers of a real write,
        so bucket policies demanding encryption or an ACL judge it like one; it is removed again."""
        from botocore.exceptions import ClientError

        probe = self._probe_key(path)
        write = dict(Bucket=self.bucket, Key=probe, Body=b'', **self._write_arguments(acl))
        steps = ((CREATE_IF_ABSENT, self.client.put_object, dict(write, IfNoneMatch='*')),
                 (COMPARE_AND_SWAP, self.client.put_object, dict(write, IfMatch=NO_ETAG)),
                 (GUARDED_DELETE, self.client.delete_object, dict(Bucket=self.bucket, Key=probe, IfMatch=NO_ETAG)))
        states = {}
        with self._probe_errors(path, probe):
            try:
                try:
                    self.client.put_object(IfNoneMatch='*', **write)  # creates the probe where S3 honours it
                except ClientError as exc:
                    if error_status(exc) not in (400, 501):
                        raise
                    self.client.put_object(**write)
                for condition, call, arguments in steps:
                    try:
                        call(**arguments)
                        states[condition] = IGNORED
                    except ClientError as exc:
                        if error_status(exc) in (400, 501):
                            states[condition] = error_code(exc)
                        elif error_status(exc) == 412:
                            states[condition] = HONOURED
                        else:
                            raise
            finally:
                self._remove_probe(probe)
        return states

    def _remove_probe(self, probe):
        """Delete a probe object and, where the bucket keeps versions, its versions and delete markers too, so
        probing leaves nothing behind in a cluster's folder; a principal that may not list or remove versions
        (s3:ListBucketVersions, s3:DeleteObjectVersion) leaves them, as noncurrent versions of an empty object."""
        from botocore.exceptions import ClientError

        self.client.delete_object(Bucket=self.bucket, Key=probe)
        try:
            listed = self.client.list_object_versions(Bucket=self.bucket, Prefix=probe)
            versions = [dict(Key=probe, VersionId=item['VersionId'])
                        for item in listed.get('Versions', []) + listed.get('DeleteMarkers', []) if item['Key'] == probe]
            if versions:
                self.client.delete_objects(Bucket=self.bucket, Delete=dict(Objects=versions, Quiet=True))
        except ClientError as exc:
            if error_status(exc) not in (403, 405, 501):
                raise

    @contextmanager
    def _probe_errors(self, path, probe):
        """Errors of a probe named as such: the write of ``path`` was not tried."""
        try:
            with self._errors(path):
                yield
        except AccessDenied as exc:
            raise AccessDenied("%s (before the first conditional request to this bucket the backend writes and deletes "
                               "a probe object next to the entry, '%s', which needs s3:PutObject and s3:DeleteObject "
                               "there as a write of the entry does)" % (exc, probe))

    # -- reading ------------------------------------------------------------------------------
    def _get(self, path, limit):
        """(bytes of at most ``limit``, ETag, response headers) of one entry."""
        with self._errors(path):
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(path))
            with response['Body'] as body:  # closed early past the limit: the rest is never downloaded
                declared = response.get('ContentLength')
                data = bounded_read(body.read, self.render(path), limit, declared)
                if declared is not None and len(data) != declared:
                    # a body read a piece at a time can end early without a word from botocore
                    raise IncompleteRead(data, declared - len(data))
                return data, response['ETag'], response['ResponseMetadata']['HTTPHeaders']

    def _read(self, path, limit):
        return self._get(path, limit)[:2]

    def _read_with_age(self, path, limit):
        data, etag, headers = self._get(path, limit)
        age = http_date_seconds(headers.get('date'), 'Date') - http_date_seconds(headers.get('last-modified'),
                                                                                 'Last-Modified')
        return data, etag, max(0.0, age)

    def _stored_hash(self, path):
        """The MD5 HeadObject's ETag carries, unless HeadObject says the object is SSE-KMS or SSE-C encrypted.
        S3 answers a bare 400 to HeadObject on an SSE-C object without its key: None then, and the caller's
        read gets S3's explanation."""
        from botocore.exceptions import ClientError

        with self._errors(path):
            try:
                response = self.client.head_object(Bucket=self.bucket, Key=self._key(path))
            except ClientError as exc:
                if error_status(exc) == 400:
                    return None
                raise
        if response.get('ServerSideEncryption') in KMS_ALGORITHMS or response.get('SSECustomerAlgorithm'):
            return None
        return md5_from_etag(response.get('ETag'))

    def _listed_etags_are_md5s(self):
        """Whether a listing may take single-part ETags for content MD5s. A listing does not say how each
        object is encrypted, and the ETag of an SSE-KMS or SSE-C object looks like an MD5 without being one;
        what a listing can rely on is the bucket's default: not when it is KMS (every object written without
        an encryption header is KMS then), nor when the bucket does not tell it (GetBucketEncryption refused).
        An object written with its own SSE-KMS or SSE-C header into a bucket without KMS default still lists
        its ETag: only a HeadObject per object would tell (``hash`` asks one), which a listing does not pay."""
        if self.location.scheme != 's3':
            return True  # kOps never asks for do://; Spaces has no KMS
        algorithm, told = bucket_encryption(self.client, self.config, self.bucket)
        return told and algorithm not in KMS_ALGORITHMS

    def _list(self, prefix, recursive, hash_algorithm=None):
        base = self._key(prefix)
        root_length = len(self._key('')) + 1 if self._key('') else 0
        arguments = dict(Bucket=self.bucket, Prefix=base + '/' if base else '')
        if not recursive:
            arguments['Delimiter'] = '/'
        trust_etags = self._listed_etags_are_md5s()
        entries = []
        with s3_errors(self.render(prefix), self.bucket, endpoint=self._endpoint()):
            for page in self.client.get_paginator('list_objects_v2').paginate(**arguments):
                for folder in page.get('CommonPrefixes', []):
                    entries.append(Entry(folder['Prefix'][root_length:].rstrip('/'), is_dir=True))
                for item in page.get('Contents', []):
                    if item['Key'].endswith('/'):
                        continue  # a folder marker, not an entry
                    entries.append(Entry(
                        item['Key'][root_length:], size=item['Size'], version=item['ETag'],
                        hash=md5_from_etag(item['ETag']) if trust_etags else None, hash_algorithm='md5'))
        return entries

    def _store_checks(self, environ):
        return bucket_checks(self.settings, self.bucket, self.location.scheme, environ)

    # -- old versions -------------------------------------------------------------------------
    def _versions(self, prefix):
        """Every version and delete marker of the objects below the folder ``prefix``, as ListObjectVersions
        gives them: (list of version dicts, list of delete-marker dicts). Also on unversioned buckets, where
        each object has one current version whose id is 'null'."""
        from botocore.exceptions import ClientError

        folder = self._key(prefix) + '/'
        versions, markers = [], []
        with s3_errors("the versions below '%s' in %s" % (prefix, self.render()), self.bucket, endpoint=self._endpoint()):
            try:
                for page in self.client.get_paginator('list_object_versions').paginate(Bucket=self.bucket, Prefix=folder):
                    versions.extend(item for item in page.get('Versions', []) if item['Key'].startswith(folder))
                    markers.extend(item for item in page.get('DeleteMarkers', []) if item['Key'].startswith(folder))
            except ClientError as exc:
                if error_code(exc) != 'AccessDenied':
                    raise
                raise AccessDenied("access denied to the versions below '%s' in %s: ListObjectVersions needs "
                                   "s3:ListBucketVersions on the bucket" % (prefix, self.render()))
        return versions, markers

    def _purge_versions(self, prefix, check_mode):
        """ListObjectVersions below the folder, then DeleteObjects with version ids, 1000 at a time: every
        noncurrent version first, the delete markers after them (so no old content becomes current on the
        way), as kOps's RemoveAllVersions removes an entry's versions. Per-object errors are failures."""
        versions, markers = self._versions(prefix)
        doomed = [dict(Key=item['Key'], VersionId=item['VersionId']) for item in versions if not item.get('IsLatest')]
        doomed += [dict(Key=item['Key'], VersionId=item['VersionId']) for item in markers]
        if check_mode or not doomed:
            return len(doomed)
        from botocore.exceptions import ClientError

        failed, removed = [], 0
        with s3_errors("the old versions below '%s' in %s" % (prefix, self.render()), self.bucket,
                       endpoint=self._endpoint()):
            for start in range(0, len(doomed), DELETE_BATCH):
                batch = doomed[start:start + DELETE_BATCH]
                try:
                    errors = self.client.delete_objects(
                        Bucket=self.bucket, Delete=dict(Objects=batch, Quiet=True)).get('Errors', [])
                except ClientError as exc:
                    if error_code(exc) != 'AccessDenied':
                        raise
                    errors = [dict(Key=item['Key'], VersionId=item['VersionId'], Code='AccessDenied',
                                   Message='DeleteObjects was denied') for item in batch]
                failed.extend(errors)
                removed += len(batch) - len(errors)
        if failed:
            root_length = len(self._key('')) + 1 if self._key('') else 0
            reasons = '; '.join('%s (version %s): %s %s' % (
                item.get('Key', '?')[root_length:], item.get('VersionId'), item.get('Code'), item.get('Message', ''))
                for item in failed[:3])
            error = AccessDenied if all(item.get('Code') == 'AccessDenied' for item in failed) else BackendFailure
            raise error("could not permanently remove %d of the %d old versions and delete markers below '%s' in %s, "
                        "%d remain: %s%s (removing a version needs s3:DeleteObjectVersion; Object Lock and MFA "
                        "delete prevent it)" % (len(failed), len(doomed), prefix, self.render(), len(doomed) - removed,
                                                reasons, '; ...' if len(failed) > 3 else ''))
        return removed

    def _keeps_versions(self, prefix):
        """Seen in the folder's version listing (no s3:GetBucketVersioning needed): old versions or delete
        markers exist, or a current version has a real version id (written while versioning was on). A
        bucket whose versioning was switched on after every entry below was written cannot be told apart
        from an unversioned one this way."""
        versions, markers = self._versions(prefix)
        return bool(markers) or any(
            not item.get('IsLatest') or item.get('VersionId') not in (None, 'null') for item in versions)

    # -- writing ------------------------------------------------------------------------------
    def _write(self, path, data, expect, acl):
        arguments = dict(Bucket=self.bucket, Key=self._key(path), **self._write_arguments(acl))
        if expect is None and len(data) > MULTIPART_THRESHOLD:
            return self._upload(path, data, arguments)
        if expect is not None:
            if len(data) > MAX_SINGLE_PUT:
                raise NotSupported('%s: conditional writes are limited to %d bytes on S3' % (self._target(path), MAX_SINGLE_PUT))
            self._require_condition(path, acl, CREATE_IF_ABSENT if expect is ABSENT else COMPARE_AND_SWAP)
            if expect is ABSENT:
                arguments['IfNoneMatch'] = '*'
            else:
                arguments['IfMatch'] = expect
        from botocore.exceptions import ClientError

        with self._errors(path):
            try:
                response = self.client.put_object(
                    Body=data, ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode('ascii'), **arguments)
            except ClientError as exc:
                raise self._condition_failure(exc, path, expect) or exc
        return response['ETag']

    def _upload(self, path, data, arguments):
        """Multipart upload (parts sent in parallel by boto3) for large unconditional writes."""
        from boto3.s3.transfer import TransferConfig

        bucket, key = arguments.pop('Bucket'), arguments.pop('Key')
        with self._errors(path):
            self.client.upload_fileobj(io.BytesIO(data), bucket, key, ExtraArgs=arguments, Config=TransferConfig(
                multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD))
            return self.client.head_object(Bucket=bucket, Key=key)['ETag']

    def _copy_from(self, source, path, expect, acl):
        """CopyObject (one request, no content through this process) from an S3 store on the same
        service reached as the same principal, with the headers of a write here; conditional copies only
        where the server is known to honour If-Match and If-None-Match on CopyObject, as S3 does."""
        if not isinstance(source, S3Backend) or not self.config.same_server_and_identity(source.config):
            return None
        copy_source = dict(Bucket=source.bucket, Key=source._key(path))
        if expect is not None:
            self._require_condition(path, acl, CREATE_IF_ABSENT if expect is ABSENT else COMPARE_AND_SWAP)
            if not self._probed(_CONDITIONAL_COPIES, lambda: self._probe_conditional_copies(path, copy_source, acl)):
                return None
        arguments = dict(Bucket=self.bucket, Key=self._key(path), CopySource=copy_source, MetadataDirective='COPY',
                         **self._write_arguments(acl))
        if expect is ABSENT:
            arguments['IfNoneMatch'] = '*'
        elif expect is not None:
            arguments['IfMatch'] = expect
        from botocore.exceptions import ClientError

        with self._errors(path):
            try:
                return self.client.copy_object(**arguments)['CopyObjectResult']['ETag']
            except ClientError as exc:
                raise self._condition_failure(exc, path, expect) or exc

    def _probe_conditional_copies(self, path, copy_source, acl):
        """(whether CopyObject here honours If-None-Match and If-Match for the destination, whether that answer
        is the server's): ``copy_source`` is copied onto a probe object in the folder of ``path`` with
        If-None-Match: * and with an If-Match it cannot meet; S3 answers 412 to both and leaves the probe.
        moto, for one, ignores both. Anything but 412 or a plain success leaves the question open (not kept),
        and the caller reads and writes instead. The probe is removed again."""
        from botocore.exceptions import ClientError

        probe = self._probe_key(path)
        copy = dict(Bucket=self.bucket, Key=probe, CopySource=copy_source, **self._write_arguments(acl))
        with self._probe_errors(path, probe):
            self.client.put_object(Bucket=self.bucket, Key=probe, Body=b'', **self._write_arguments(acl))
            try:
                for condition in (dict(IfNoneMatch='*'), dict(IfMatch=NO_ETAG)):
                    try:
                        self.client.copy_object(**dict(copy, **condition))
                        return False, True
                    except ClientError as exc:
                        if error_status(exc) != 412:
                            return False, False
                return True, True
            finally:
                self._remove_probe(probe)

    def _delete(self, path, expect):
        key = self._key(path)
        from botocore.exceptions import ClientError

        with self._errors(path):
            if expect is None:
                # DeleteObject answers the same for a missing key: ask first to report NotFound.
                self.client.head_object(Bucket=self.bucket, Key=key)
                self.client.delete_object(Bucket=self.bucket, Key=key)
                return
            self._require_condition(path, None, GUARDED_DELETE)
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=expect)
            except ClientError as exc:
                if error_status(exc) == 404:
                    raise NotFound('%s does not exist' % self._target(path))
                raise self._condition_failure(exc, path, expect) or exc

    def _condition_failure(self, exc, path, expect):
        """The error of a conditional request the server refused, or None for other failures."""
        status = error_status(exc)
        if expect is ABSENT and status == 412:
            return AlreadyExists('%s already exists' % self._target(path))
        if expect is not None and expect is not ABSENT and status in (404, 412):
            return PreconditionFailed('%s was changed or removed by someone else since it was read' % self._target(path))
        if expect is not None and error_code(exc) == 'ConditionalRequestConflict':  # 409: a concurrent write won
            return PreconditionFailed('%s is being written by someone else at the same time' % self._target(path))
        return None


SCHEMES = ('s3', 'do')
BACKEND = S3Backend
OPTIONS = dict(
    access_key=dict(type='str', aliases=['aws_access_key_id', 'aws_access_key'], no_log=True),
    secret_key=dict(type='str', aliases=['aws_secret_access_key', 'aws_secret_key'], no_log=True),
    session_token=dict(type='str', aliases=['aws_session_token', 'security_token'], no_log=True),
    profile=dict(type='str', aliases=['aws_profile']),
    region=dict(type='str', aliases=['aws_region']),
    endpoint_url=dict(type='str', aliases=['aws_endpoint_url', 's3_url']),
)

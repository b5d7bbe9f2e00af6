# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""oss:// stores on Aliyun Object Storage Service (oss2), configured as kOps 1.23 did.

Endpoint ``https://<OSS_REGION>[-internal].aliyuncs.com`` (any non-empty ALIYUN_OSS_INTERNAL selects
the internal one) unless an endpoint is given; access key from ALIYUN_ACCESS_KEY_ID/_SECRET.

OSS has no conditional overwrite: create-if-absent uses ``x-oss-forbid-overwrite`` (atomic on the
server), but compare-and-swap is not supported. The version of an entry is its ETag, which for the
simple uploads this backend makes is the MD5 of the content (used as the entry's hash).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os
import random
import re
import time

from ansible_collections.kops.state_store.plugins.module_utils.backends.sdk import require_minimum_versions
from ansible_collections.kops.state_store.plugins.module_utils.backends.transport import warn_if_plaintext
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    BackendFailure,
    BadLocation,
    MissingLibrary,
    NotFound,
    NotSupported,
    first_line,
)
from ansible_collections.kops.state_store.plugins.module_utils.store import (
    ABSENT,
    Backend,
    Check,
    Entry,
    bounded_read,
    http_date_seconds,
    read_setting,
)

ACLS = ('private', 'public-read', 'public-read-write', 'default')
PUBLIC_ACLS = ('public-read', 'public-read-write')
PAGE_SIZE = 1000  # kOps's listing page size
TIMEOUT = 60
# kOps's backoff for OSS (as for GCS): 1 s, factor 1.5, jitter 0.1; 4 attempts to read, 5 to change.
READ_ATTEMPTS = 4
WRITE_ATTEMPTS = 5
_MD5_ETAG = re.compile(r'^[0-9a-fA-F]{32}$')


def _sdk():
    try:
        import oss2
        import requests  # oss2's HTTP library: reading a response body can fail with its errors
    except ImportError as exc:
        raise MissingLibrary('oss2', 'oss', exc)
    require_minimum_versions('oss', 'oss2')
    return oss2, requests.exceptions.RequestException


class OSSBackend(Backend):
    """Objects under oss://bucket/key; version = ETag; no compare-and-swap."""

    hash_algorithm = 'md5'
    supports_compare_and_swap = False

    def __init__(self, location, settings=None):
        super(OSSBackend, self).__init__(location, settings)
        self._oss, self._transport_error = _sdk()
        key_id = self.settings.get('oss_access_key_id') or os.environ.get('ALIYUN_ACCESS_KEY_ID')
        secret = self.settings.get('oss_access_key_secret') or os.environ.get('ALIYUN_ACCESS_KEY_SECRET')
        if not key_id:
            # kOps could also take an ECS RAM role from the instance metadata; this collection cannot.
            raise AccessDenied('no Aliyun credentials for %s: set ALIYUN_ACCESS_KEY_ID and ALIYUN_ACCESS_KEY_SECRET '
                               '(or the oss_access_key_id and oss_access_key_secret options)' % location.render())
        if not secret:
            raise AccessDenied('ALIYUN_ACCESS_KEY_SECRET (or oss_access_key_secret) is required when the access key id is set')
        self.endpoint = self._endpoint()
        try:
            self._bucket = self._oss.Bucket(self._oss.Auth(key_id, secret), self.endpoint, location.bucket,
                                            connect_timeout=TIMEOUT)
        except self._oss.exceptions.ClientError:
            raise BadLocation("'%s' is not a valid OSS bucket name (%s)" % (location.bucket, location.render()))

    def _endpoint(self):
        endpoint = self.settings.get('oss_endpoint') or os.environ.get('OSS_ENDPOINT')
        if endpoint:
            if '://' not in endpoint:
                endpoint = 'https://' + endpoint  # oss2 would make it plain HTTP; kOps always used HTTPS
            warn_if_plaintext(endpoint, 'OSS requests signed with your access key')
            return endpoint
        region = self.settings.get('oss_region') or os.environ.get('OSS_REGION')
        if not region:
            # kOps asked the ECS metadata service for the region; outside ECS it failed the same way.
            raise BadLocation('cannot tell the OSS region of %s: set OSS_REGION (for example oss-cn-hangzhou), '
                              'the oss_region option, or oss_endpoint' % self.location.render())
        internal = '-internal' if os.environ.get('ALIYUN_OSS_INTERNAL') else ''
        return 'https://%s%s.aliyuncs.com' % (region, internal)

    # -- helpers ------------------------------------------------------------------------------
    def _key(self, path):
        return '/'.join(part for part in (self.location.key, path) if part)

    def _where(self, path):
        return "entry '%s' in %s" % (path, self.location.render())

    def _call(self, path, attempts, call, *args, **kwargs):
        """Run one SDK call with kOps's backoff on connection errors and 5xx; map its errors."""
        errors = self._oss.exceptions
        delay = 1.0
        for attempt in range(attempts):
            try:
                return call(*args, **kwargs)
            except (errors.RequestError, self._transport_error) as exc:
                cause = getattr(exc, 'exception', exc)
                failure = BackendFailure('cannot reach OSS at %s for %s: %s' % (self.endpoint, self._where(path), first_line(cause)))
            except errors.ServerError as exc:
                if exc.status < 500:
                    raise self._translate(exc, path)
                failure = self._translate(exc, path)
            except errors.OssError as exc:  # raised by the SDK itself (for example a CRC mismatch)
                raise BackendFailure('OSS client error on %s: %s' % (self._where(path), exc.message or type(exc).__name__))
            if attempt + 1 < attempts:
                time.sleep(delay + random.uniform(0, 0.1 * delay))
                delay *= 1.5
        raise failure

    def _translate(self, exc, path):
        code = exc.code or ''
        if code == 'NoSuchBucket':
            return BadLocation("the OSS bucket '%s' does not exist (endpoint %s)" % (self.location.bucket, self.endpoint))
        if exc.status == 404:
            return NotFound('%s does not exist' % self._where(path))
        if code == 'FileAlreadyExists':
            return AlreadyExists('%s already exists' % self._where(path))
        if exc.status == 403:
            return AccessDenied(('OSS refused access to %s: %s %s' % (self._where(path), code, exc.message)).rstrip())
        return BackendFailure('OSS failed on %s: %s %s %s' % (self._where(path), exc.status, code, exc.message))

    def _missing(self, path):
        """NotFound for a missing entry, BadLocation for a missing bucket (a HEAD's 404 tells neither)."""
        self._call(path, READ_ATTEMPTS, self._bucket.list_objects, prefix=self._key(path), max_keys=1)
        return NotFound('%s does not exist' % self._where(path))

    # -- reading ------------------------------------------------------------------------------
    def _get(self, path, limit):
        """(bytes, ETag, response headers) of one entry of at most ``limit`` bytes."""
        def fetch():
            with self._bucket.get_object(self._key(path)) as answer:  # closed early past the limit
                return bounded_read(answer.read, self.render(path), limit, answer.content_length), answer.etag, answer.headers

        return self._call(path, READ_ATTEMPTS, fetch)

    def _read(self, path, limit):
        data, etag, _headers = self._get(path, limit)
        return data, _version(etag)

    def _read_with_age(self, path, limit):
        data, etag, headers = self._get(path, limit)
        age = http_date_seconds(headers.get('Date'), 'Date') - http_date_seconds(headers.get('Last-Modified'), 'Last-Modified')
        return data, _version(etag), max(0.0, age)

    def _head(self, path):
        try:
            return self._call(path, READ_ATTEMPTS, self._bucket.head_object, self._key(path))
        except NotFound:
            raise self._missing(path)

    def _stored_hash(self, path):
        head = self._head(path)
        return _md5_of(head.etag, head.object_type)

    def _list(self, prefix, recursive, hash_algorithm=None):
        base = self._key(prefix)
        start = base + '/' if base else ''
        root = self._key('')
        root_length = len(root) + 1 if root else 0

        def listing():  # a fresh iterator per attempt, so a retry lists from the start
            return list(self._oss.ObjectIterator(self._bucket, prefix=start, delimiter='' if recursive else '/',
                                                 max_keys=PAGE_SIZE))

        entries = []
        for item in self._call(prefix, READ_ATTEMPTS, listing):
            if item.is_prefix():
                entries.append(Entry(item.key.rstrip('/')[root_length:], is_dir=True))
            elif not item.key.endswith('/'):  # skip console "folder" placeholders
                entries.append(Entry(item.key[root_length:], size=item.size, hash=_md5_of(item.etag, item.type),
                                     hash_algorithm='md5', version=_version(item.etag)))
        return entries

    # -- the bucket itself ---------------------------------------------------------------------
    def _store_checks(self, environ):
        """The bucket's ACL, versioning and server-side encryption, from one GetBucketInfo, and its location."""
        info, check = read_setting('bucket settings', 'oss:GetBucketInfo',
                                   lambda: self._call('', READ_ATTEMPTS, self._bucket.get_bucket_info))
        if check:
            return [check]
        bucket = 'oss://%s' % self.location.bucket
        checks = []
        acl = info.acl.grant if info.acl is not None else None
        checks.append(Check.finding(
            'public read', 'high', 'the bucket\'s ACL is %s: anyone can read every entry, CA keys and secrets '
            'included' % acl, 'ossutil set-acl %s private -b' % bucket, acl) if acl in PUBLIC_ACLS
            else Check.ok('public read', acl))
        checks.append(Check.ok('versioning', info.versioning_status) if info.versioning_status == 'Enabled'
                      else Check.finding(
                          'versioning', 'high',
                          'versioning is %s: an overwritten or deleted entry (a config, a keyset, a secret) cannot be '
                          'recovered; kOps\'s documentation strongly recommends a versioned state store'
                          % (info.versioning_status or 'not enabled').lower(),
                          'ossutil bucket-versioning --method put %s enabled' % bucket, info.versioning_status))
        rule = info.bucket_encryption_rule
        algorithm = rule.sse_algorithm if rule is not None else None
        checks.append(Check.ok('default encryption', algorithm) if algorithm else Check.finding(
            'default encryption', 'medium',
            'the bucket has no server-side encryption: entries are stored unencrypted at rest',
            'ossutil bucket-encryption --method put %s --sse-algorithm AES256' % bucket))
        checks.append(Check.ok('location', info.location))
        return checks

    # -- writing ------------------------------------------------------------------------------
    def _refuse_compare_and_swap(self, expect):
        if expect is not None and expect is not ABSENT:
            raise NotSupported('OSS cannot compare-and-swap: it has no conditional overwrite or delete '
                               '(%s); only create-if-absent is atomic' % self.location.render())

    def _write(self, path, data, expect, acl):
        self._refuse_compare_and_swap(expect)
        acl = acl or 'private'
        if acl not in ACLS:
            raise NotSupported("'%s' is not an OSS ACL; use one of %s" % (acl, ', '.join(ACLS)))
        headers = {
            'Content-Type': 'application/octet-stream',
            # OSS checks the body against this and refuses a corrupted upload.
            'Content-MD5': base64.b64encode(hashlib.md5(data).digest()).decode('ascii'),
            'x-oss-object-acl': acl,
        }
        if expect is ABSENT:
            headers['x-oss-forbid-overwrite'] = 'true'
        result = self._call(path, WRITE_ATTEMPTS, self._bucket.put_object, self._key(path), data, headers=headers)
        return _version(result.etag)

    def _delete(self, path, expect):
        self._refuse_compare_and_swap(expect)
        self._head(path)  # OSS deletes a missing object "successfully"; say it was missing
        self._call(path, WRITE_ATTEMPTS, self._bucket.delete_object, self._key(path))


def _version(etag):
    return etag.strip('"').lower() if etag else None


def _md5_of(etag, object_type):
    """The ETag of a Normal (simple upload) object is its MD5; multipart and appendable ones are not."""
    etag = _version(etag)
    if etag and object_type in (None, 'Normal') and _MD5_ETAG.match(etag):
        return etag
    return None


SCHEMES = ('oss',)
BACKEND = OSSBackend
OPTIONS = dict(
    oss_region=dict(type='str'),
    oss_endpoint=dict(type='str'),
    oss_access_key_id=dict(type='str', no_log=False),
    oss_access_key_secret=dict(type='str', no_log=True),
)

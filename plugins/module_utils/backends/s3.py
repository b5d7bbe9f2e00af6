# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""s3:// stores on AWS or on an S3-compatible server (S3_ENDPOINT), and do:// (DigitalOcean Spaces), on boto3.

Other S3 features of the collection reuse the connection rules here instead of repeating them:
``client_for_bucket(settings, bucket, scheme)`` gives a cached boto3 client for a bucket (kOps's
endpoint, credential and region rules), ``s3_errors(target, bucket)`` turns boto3 exceptions into
the collection's error types, and ``BucketSettings`` reads and changes a bucket's policy (guarded
against concurrent writers) and object ownership with them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import io
import os
import re
import threading
import uuid
from contextlib import contextmanager

try:
    from http.client import HTTPException
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for the compile sanity test
    from httplib import HTTPException  # type: ignore

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    BackendFailure,
    BadLocation,
    MissingLibrary,
    NotFound,
    NotSupported,
    PreconditionFailed,
    first_line,
)
from ansible_collections.kops.state_store.plugins.module_utils.policy import dump_policy, parse_policy, policies_equal
from ansible_collections.kops.state_store.plugins.module_utils.sdk import require_minimum_versions
from ansible_collections.kops.state_store.plugins.module_utils.store import ABSENT, Backend, Entry
from ansible_collections.kops.state_store.plugins.module_utils.transport import warn_if_plaintext

DEFAULT_REGION = 'us-east-1'
EC2_UUID_FILE = '/sys/devices/virtual/dmi/id/product_uuid'
IMDS_TIMEOUT = 0.5  # seconds; IMDS is only asked on EC2, where it answers in milliseconds
MAX_ATTEMPTS = 5  # botocore "standard" retries: throttling, 5xx and connection errors, with backoff
#: unconditional writes above this size go up in parts; conditional writes are single PutObjects
MULTIPART_THRESHOLD = 16 * 1024 * 1024
MAX_SINGLE_PUT = 5 * 1024 ** 3  # S3's limit for one PutObject
KMS_ALGORITHMS = ('aws:kms', 'aws:kms:dsse')  # their ETags are not content MD5s
PROBE_PREFIX = '.kops-state-store-probe-'
#: connections each client keeps open: above sync's default parallelism, so no worker waits for one
MAX_POOL_CONNECTIONS = 32
DELETE_BATCH = 1000  # keys one DeleteObjects request may carry
#: rounds of read, merge and write of a bucket policy that other writers keep changing, before giving up
POLICY_ATTEMPTS = 5

_MD5_ETAG = re.compile(r'^"?([0-9a-fA-F]{32})"?$')
_LOCK = threading.Lock()
# Process-wide caches, as kOps keeps them: clients per connection and region, and per bucket its
# region, its default encryption and which conditional requests the server honours.
_CLIENTS = {}
_BUCKET_REGIONS = {}
_BUCKET_ENCRYPTION = {}
_CONDITIONAL_WRITES = {}
_CONDITIONAL_COPIES = {}
_PROBE_LOCKS = {}
_IMDS_REGION = {}

#: the conditional requests writes rely on: (operation, header)
CREATE_IF_ABSENT = ('PutObject', 'If-None-Match')
COMPARE_AND_SWAP = ('PutObject', 'If-Match')
GUARDED_DELETE = ('DeleteObject', 'If-Match')
CONDITIONAL_WRITES = (CREATE_IF_ABSENT, COMPARE_AND_SWAP, GUARDED_DELETE)
_WHAT_NEEDS = {CREATE_IF_ABSENT: 'create-if-absent', COMPARE_AND_SWAP: 'compare-and-swap',
               GUARDED_DELETE: 'a guarded delete'}
HONOURED, IGNORED = 'honoured', 'ignored'  # else the error code of a server that rejects the header
NO_ETAG = '"%s"' % ('0' * 32)  # an If-Match value no object has


def _env(environ, *names):
    """First non-empty (trimmed) value of the environment variables ``names``."""
    for name in names:
        value = (environ.get(name) or '').strip()
        if value:
            return value
    return None


def import_boto3(scheme='s3'):
    try:
        import boto3  # noqa: F401 pylint: disable=unused-import
        import botocore  # noqa: F401 pylint: disable=unused-import
    except ImportError as exc:
        raise MissingLibrary('boto3', scheme, exc)
    require_minimum_versions(scheme, 'boto3', 'botocore')


class S3Settings(object):
    """Where and as whom to talk S3, from the module/lookup options and the environment.

    With ``S3_ENDPOINT`` set (or for do://) every client goes to that endpoint, path-style, with the
    ``S3_ACCESS_KEY_ID``/``S3_SECRET_ACCESS_KEY`` keys (both required) in ``S3_REGION``, as in kOps.
    Otherwise it is AWS: the options, then the usual AWS variables, then the standard credential chain.
    Explicit options always win over the environment.
    """

    def __init__(self, settings=None, scheme='s3', environ=None):
        settings = settings or {}
        environ = os.environ if environ is None else environ
        s3_endpoint = _env(environ, 'S3_ENDPOINT')
        self.compatible = bool(s3_endpoint) or scheme != 's3'
        if self.compatible:
            endpoint = settings.get('endpoint_url') or s3_endpoint
            if not endpoint:
                raise BadLocation(
                    '%s:// state stores need S3_ENDPOINT (for example S3_ENDPOINT=nyc3.digitaloceanspaces.com) '
                    'or the endpoint_url option' % scheme)
            self.access_key = settings.get('access_key') or _env(environ, 'S3_ACCESS_KEY_ID')
            self.secret_key = settings.get('secret_key') or _env(environ, 'S3_SECRET_ACCESS_KEY')
            for value, variable in ((self.access_key, 'S3_ACCESS_KEY_ID'), (self.secret_key, 'S3_SECRET_ACCESS_KEY')):
                if not value:  # kOps's words
                    raise AccessDenied('%s cannot be empty when S3_ENDPOINT is set' % variable)
            self.session_token = settings.get('session_token')
            self.profile = None
            self.region = settings.get('region') or _env(environ, 'S3_REGION') or DEFAULT_REGION
        else:
            endpoint = settings.get('endpoint_url') or _env(environ, 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_URL')
            self.profile = settings.get('profile')
            keys_given = bool(settings.get('access_key') or settings.get('secret_key'))
            if self.profile and keys_given:
                raise AccessDenied('give either profile or access_key/secret_key for %s:// stores, not both: they name '
                                   'two different identities' % scheme)
            # A profile or keys given as options are the whole identity: nothing of it comes from the key
            # variables then (a session token of the environment would otherwise join another identity's keys).
            from_env = not (self.profile or keys_given)
            self.access_key = settings.get('access_key') or (
                _env(environ, 'AWS_ACCESS_KEY_ID', 'AWS_ACCESS_KEY') if from_env else None)
            self.secret_key = settings.get('secret_key') or (
                _env(environ, 'AWS_SECRET_ACCESS_KEY', 'AWS_SECRET_KEY') if from_env else None)
            self.session_token = settings.get('session_token') or (
                _env(environ, 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN') if from_env else None)
            if bool(self.access_key) != bool(self.secret_key):
                raise AccessDenied('an AWS access key and secret key must be given together (both as options, '
                                   'access_key and secret_key, or both as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)')
            # kOps probes with AWS_REGION only (not AWS_DEFAULT_REGION), then IMDS on EC2, then us-east-1.
            self.region = settings.get('region') or _env(environ, 'AWS_REGION')
        if endpoint and '://' not in endpoint:
            endpoint = 'https://' + endpoint  # kOps's documented S3_ENDPOINT values have no scheme
        warn_if_plaintext(endpoint, 'S3 requests signed with your access key (and any session token)')
        self.endpoint_url = endpoint
        # AWS_MAX_ATTEMPTS / AWS_RETRY_MODE, when set, are left to botocore.
        self.retries = None if _env(environ, 'AWS_MAX_ATTEMPTS', 'AWS_RETRY_MODE') else dict(
            mode='standard', max_attempts=MAX_ATTEMPTS)

    def probe_region(self):
        """Region of the first call (GetBucketLocation): the configured one, IMDS on EC2, else us-east-1."""
        return self.region or imds_region() or DEFAULT_REGION

    def cache_key(self, region):
        return (self.endpoint_url, region, self.compatible, self.access_key, self.secret_key, self.session_token,
                self.profile, repr(self.retries))

    def same_server_and_identity(self, other):
        """True when ``other`` reaches the same S3 service as the same principal (regions may differ)."""
        return self.cache_key(None) == other.cache_key(None)


def on_ec2(uuid_file=EC2_UUID_FILE):
    """kOps's test: Linux with a DMI product UUID starting with "ec2"; an unreadable file means no."""
    try:
        with open(uuid_file) as handle:
            return handle.read().strip().lower().startswith('ec2')
    except (IOError, OSError):
        return False


def imds_region():
    """The instance's region from the metadata service, only on EC2; asked once per process."""
    with _LOCK:
        if 'region' in _IMDS_REGION:
            return _IMDS_REGION['region']
    region = None
    if on_ec2():
        from botocore.utils import InstanceMetadataRegionFetcher

        region = InstanceMetadataRegionFetcher(timeout=IMDS_TIMEOUT, num_attempts=1).retrieve_region()
    with _LOCK:
        _IMDS_REGION['region'] = region
    return region


def client_for_region(config, region):
    """The boto3 S3 client of an S3Settings for one region, created once per process."""
    key = config.cache_key(region)
    with _LOCK:
        client = _CLIENTS.get(key)
    if client is not None:
        return client
    import boto3
    import botocore.session
    from botocore.config import Config

    core = botocore.session.get_session()
    # Responses' dates are never used here; parsing the LastModified of every listed object is a
    # large part of a listing's cost on the client (the AWS CLI turns it off the same way).
    core.get_component('response_parser_factory').set_parser_defaults(timestamp_parser=str)
    session = boto3.session.Session(
        aws_access_key_id=config.access_key, aws_secret_access_key=config.secret_key,
        aws_session_token=config.session_token, profile_name=config.profile, region_name=region,
        botocore_session=core)
    client = session.client('s3', endpoint_url=config.endpoint_url, config=Config(
        retries=dict(config.retries) if config.retries else None,  # a copy: botocore rewrites it, the cache key uses it
        # S3 clones reject the newer default request checksums; PutObject carries Content-MD5 instead.
        request_checksum_calculation='when_required',
        response_checksum_validation='when_required',
        s3=dict(addressing_style='path' if config.compatible else 'auto'),
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=MAX_POOL_CONNECTIONS,
    ))
    with _LOCK:
        return _CLIENTS.setdefault(key, client)


def location_region(constraint):
    """Region of a GetBucketLocation answer: empty means us-east-1, the legacy "EU" eu-west-1."""
    if not constraint:
        return DEFAULT_REGION
    return 'eu-west-1' if constraint == 'EU' else constraint


def _response_headers(response):
    return (response or {}).get('ResponseMetadata', {}).get('HTTPHeaders', {})


def _status(exc):
    return exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')


def _code(exc):
    return exc.response.get('Error', {}).get('Code') or str(_status(exc))


def _missing_bucket(bucket):
    return BadLocation("the bucket '%s' does not exist" % bucket)


def bucket_region(config, bucket):
    """Region of a bucket, kOps's way, cached per bucket: GetBucketLocation from the probe region, else
    the region HeadBucket reports. With S3_ENDPOINT (or do://) it is simply the configured region."""
    if config.compatible:
        return config.region
    cache_key = (config.endpoint_url, bucket)
    with _LOCK:
        if cache_key in _BUCKET_REGIONS:
            return _BUCKET_REGIONS[cache_key]
    from botocore.exceptions import ClientError

    client = client_for_region(config, config.probe_region())
    try:
        region = location_region(client.get_bucket_location(Bucket=bucket).get('LocationConstraint'))
    except ClientError as exc:
        if _code(exc) == 'NoSuchBucket':
            raise _missing_bucket(bucket)
        # Typical for a bucket of another account: HeadBucket still tells the region.
        region = _head_bucket_region(client, bucket)
        if not region:
            raise
    with _LOCK:
        _BUCKET_REGIONS[cache_key] = region
    return region


def _head_bucket_region(client, bucket):
    from botocore.exceptions import ClientError

    try:
        response = client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if _status(exc) == 404:
            raise _missing_bucket(bucket)
        return _response_headers(exc.response).get('x-amz-bucket-region')
    return response.get('BucketRegion') or _response_headers(response).get('x-amz-bucket-region')


def client_for_bucket(settings, bucket, scheme='s3'):
    """A boto3 S3 client for ``bucket``, configured from module/lookup ``settings`` and the environment
    as kOps does (see S3Settings and bucket_region); raises only the collection's error types."""
    import_boto3(scheme)
    with s3_errors("%s://%s" % (scheme, bucket), bucket):
        config = S3Settings(settings, scheme)
        return client_for_region(config, bucket_region(config, bucket))


#: answers of GetBucketEncryption that mean "no default encryption" (none set, or a server without the feature)
NO_DEFAULT_ENCRYPTION = ('ServerSideEncryptionConfigurationNotFoundError', 'NotImplemented', 'MethodNotAllowed')


def bucket_encryption(client, config, bucket):
    """(the bucket's default SSE algorithm or None, whether the bucket told): asked once per bucket and
    principal per process. A refused or failed GetBucketEncryption tells nothing; S3's "not found" tells
    there is none."""
    from botocore.exceptions import BotoCoreError, ClientError

    cache_key = (config.cache_key(None), bucket)
    with _LOCK:
        if cache_key in _BUCKET_ENCRYPTION:
            return _BUCKET_ENCRYPTION[cache_key]
    algorithm, told = None, True
    try:
        rules = client.get_bucket_encryption(Bucket=bucket)['ServerSideEncryptionConfiguration'].get('Rules', [])
        for rule in rules:
            default = rule.get('ApplyServerSideEncryptionByDefault')
            if default:
                algorithm = default.get('SSEAlgorithm') or 'AES256'
                break
    except ClientError as exc:
        told = _code(exc) in NO_DEFAULT_ENCRYPTION or _status(exc) in (405, 501)
    except BotoCoreError:
        told = False
    with _LOCK:
        _BUCKET_ENCRYPTION[cache_key] = (algorithm, told)
    return algorithm, told


def bucket_default_encryption(client, config, bucket):
    """The bucket's default SSE algorithm, or None, also when the bucket does not tell (kOps's rule for
    writes: any error means none, and writes then carry AES256)."""
    return bucket_encryption(client, config, bucket)[0]


def md5_from_etag(etag):
    """The content MD5 an ETag carries when it looks like one (not a multipart ``...-N`` ETag), else None.
    Callers must not use it for SSE-KMS or SSE-C objects, whose ETags look the same but are not content MD5s."""
    match = _MD5_ETAG.match(etag or '')
    return match.group(1).lower() if match else None


@contextmanager
def s3_errors(target, bucket, objects=True, endpoint=None):
    """Translate boto3 exceptions raised inside into the collection's error types. ``target`` names what
    was accessed in messages (an entry location), ``bucket`` the bucket; ``objects`` is False for
    requests on the bucket itself (policy, ownership), where a missing object is no explanation;
    ``endpoint``, the URL the client talks to, names the server when a connection breaks mid-answer."""
    from boto3.exceptions import Boto3Error
    from botocore import exceptions
    from urllib3.exceptions import HTTPError

    try:
        yield
    except exceptions.ClientError as exc:
        raise client_error(exc, target, bucket, objects)
    except exceptions.NoCredentialsError:
        raise AccessDenied(
            'no AWS credentials found for %s: set access_key and secret_key, a profile, AWS_ACCESS_KEY_ID and '
            'AWS_SECRET_ACCESS_KEY, or run where the AWS credential chain finds credentials' % target)
    except (exceptions.PartialCredentialsError, exceptions.ProfileNotFound, exceptions.NoRegionError) as exc:
        raise AccessDenied('cannot use the AWS credentials for %s: %s' % (target, exc))
    except (exceptions.ConnectionError, exceptions.HTTPClientError) as exc:
        raise BackendFailure('cannot reach the S3 endpoint for %s: %s' % (target, exc))
    except (exceptions.BotoCoreError, Boto3Error) as exc:
        raise BackendFailure('S3 request for %s failed: %s' % (target, exc))
    except (HTTPError, HTTPException) as exc:  # a response body cut off while it is read
        raise BackendFailure('the connection to the S3 endpoint%s broke while reading %s: %s'
                             % (' %s' % endpoint if endpoint else '', target, first_line(exc)))


def client_error(exc, target, bucket, objects=True):
    """The collection's error for one botocore ClientError (``objects`` as for s3_errors)."""
    code = _code(exc)
    status = _status(exc)
    message = exc.response.get('Error', {}).get('Message') or code
    if code in ('NoSuchKey', 'NotFound') or (status == 404 and code == '404'):
        return NotFound('%s does not exist' % target)
    if code == 'NoSuchBucket':
        return _missing_bucket(bucket)
    if code == 'InvalidAccessKeyId':
        return AccessDenied(
            'the S3 server does not know the access key used for %s (InvalidAccessKeyId): check access_key, '
            'AWS_ACCESS_KEY_ID, or S3_ACCESS_KEY_ID when S3_ENDPOINT is set' % target)
    if code == 'SignatureDoesNotMatch':
        return AccessDenied(
            'the S3 server rejected the signature for %s (SignatureDoesNotMatch): the secret key does not match '
            'the access key (secret_key, AWS_SECRET_ACCESS_KEY, or S3_SECRET_ACCESS_KEY when S3_ENDPOINT is set)'
            % target)
    if code in ('ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'ExpiredTokenException'):
        return AccessDenied('the AWS session token used for %s is invalid or expired (%s)' % (target, code))
    if code in ('AccessDenied', 'AllAccessDisabled', 'Forbidden') or status == 403:
        return AccessDenied('access denied to %s: %s%s' % (target, message, (
            ' (S3 also answers AccessDenied for a missing entry when s3:ListBucket is not granted)' if objects else '')))
    if code in ('PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException') \
            or status == 301:
        region = _response_headers(exc.response).get('x-amz-bucket-region') or exc.response.get('Error', {}).get('Region')
        return BackendFailure('the bucket of %s is in another region than the one used%s (%s)' % (
            target, ' (it is in %s)' % region if region else '', code))
    if code == 'PreconditionFailed' or status == 412:
        return PreconditionFailed('%s was changed by someone else since it was read' % target)
    if code == 'NotImplemented' or status == 501:
        return NotSupported('the S3 server does not implement this request for %s: %s' % (target, message))
    return BackendFailure('S3 request for %s failed: %s (%s)' % (target, message, code))


class BucketSettings(object):
    """The policy and object ownership of one bucket, through the client (credentials, endpoint, region)
    and error mapping of the S3 backend."""

    def __init__(self, settings, bucket, scheme='s3'):
        self.bucket = bucket
        self.client = client_for_bucket(settings, bucket, scheme)

    def _errors(self, what):
        return s3_errors('the %s of bucket %s' % (what, self.bucket), self.bucket, objects=False,
                         endpoint=self.client.meta.endpoint_url)

    def _get(self, call, missing_code, what):
        """The answer of a Get call, or None when S3 answers ``missing_code`` (nothing set)."""
        from botocore.exceptions import ClientError

        with self._errors(what):
            try:
                return call(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) == missing_code:
                    return None
                raise

    def policy(self):
        """The bucket policy as a dict (statements always a list), or None when the bucket has none."""
        answer = self._get(self.client.get_bucket_policy, 'NoSuchBucketPolicy', 'policy')
        return parse_policy(answer['Policy']) if answer else None

    def _store_policy(self, policy):
        with self._errors('policy'):
            if policy is None:
                self.client.delete_bucket_policy(Bucket=self.bucket)
            else:
                self.client.put_bucket_policy(Bucket=self.bucket, Policy=dump_policy(policy))

    def update_policy(self, change, check_mode=False):
        """Apply ``change``, a function from the current policy (dict or None) to a policy.Merge, and return
        (the policy replaced, that Merge, changed).

        S3 has no conditional PutBucketPolicy, so the write is guarded by reading: right before the write
        the policy is read again, and when another writer changed it since the read ``change`` was computed
        from, ``change`` is applied again to what is there now; after the write it is read back, and when a
        write of someone else replaced it, ``change`` is applied again too. Statements ``change`` leaves
        alone are never dropped that way. What no reader can see is a write landing between the last read
        and the write itself (one round trip). After POLICY_ATTEMPTS rounds it gives up."""
        written = None  # (policy replaced, Merge) of this call's last write
        for _attempt in range(POLICY_ATTEMPTS):
            current = self.policy()
            merge = change(current)
            if policies_equal(current, merge.after):
                return (written + (True,)) if written else (current, merge, False)
            if check_mode:
                return current, merge, True
            if not policies_equal(self.policy(), current):
                continue  # written by someone else meanwhile
            self._store_policy(merge.after)
            written = (current, merge)
            if policies_equal(self.policy(), merge.after):
                return current, merge, True
        raise BackendFailure(
            'the policy of bucket %s was changed by someone else in each of %d rounds of reading and merging; %s'
            'run the task again when the other writer is done' % (
                self.bucket, POLICY_ATTEMPTS, 'the last write of this task was replaced; ' if written else
                'nothing was written; '))

    def object_ownership(self):
        """The bucket's object ownership setting, or None when none is set."""
        answer = self._get(self.client.get_bucket_ownership_controls, 'OwnershipControlsNotFoundError',
                           'object ownership')
        rules = answer['OwnershipControls']['Rules'] if answer else []
        return rules[0]['ObjectOwnership'] if rules else None

    def set_object_ownership(self, ownership):
        with self._errors('object ownership'):
            self.client.put_bucket_ownership_controls(
                Bucket=self.bucket, OwnershipControls=dict(Rules=[dict(ObjectOwnership=ownership)]))


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
        acl = _env(os.environ, 'KOPS_STATE_S3_ACL') or acl
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
                    if _status(exc) not in (400, 501):
                        raise
                    self.client.put_object(**write)
                for condition, call, arguments in steps:
                    try:
                        call(**arguments)
                        states[condition] = IGNORED
                    except ClientError as exc:
                        if _status(exc) in (400, 501):
                            states[condition] = _code(exc)
                        elif _status(exc) == 412:
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
            if _status(exc) not in (403, 405, 501):
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
    def _read(self, path):
        with self._errors(path):
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(path))
            with response['Body'] as body:
                return body.read(), response['ETag']

    def _stored_hash(self, path):
        """The MD5 HeadObject's ETag carries, unless HeadObject says the object is SSE-KMS or SSE-C encrypted.
        S3 answers a bare 400 to HeadObject on an SSE-C object without its key: None then, and the caller's
        read gets S3's explanation."""
        from botocore.exceptions import ClientError

        with self._errors(path):
            try:
                response = self.client.head_object(Bucket=self.bucket, Key=self._key(path))
            except ClientError as exc:
                if _status(exc) == 400:
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
                if _code(exc) != 'AccessDenied':
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
                    if _code(exc) != 'AccessDenied':
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
                        if _status(exc) != 412:
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
                if _status(exc) == 404:
                    raise NotFound('%s does not exist' % self._target(path))
                raise self._condition_failure(exc, path, expect) or exc

    def _condition_failure(self, exc, path, expect):
        """The error of a conditional request the server refused, or None for other failures."""
        status = _status(exc)
        if expect is ABSENT and status == 412:
            return AlreadyExists('%s already exists' % self._target(path))
        if expect is not None and expect is not ABSENT and status in (404, 412):
            return PreconditionFailed('%s was changed or removed by someone else since it was read' % self._target(path))
        if expect is not None and _code(exc) == 'ConditionalRequestConflict':  # 409: a concurrent write won
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

# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Talking S3 as kOps does, for the s3:// and do:// backend (s3.py) and the collection's other S3 features.

Everything S3 reuses the connection rules here instead of repeating them:
``client_for_bucket(settings, bucket, scheme)`` gives a cached boto3 client for a bucket (kOps's
endpoint, credential and region rules), ``s3_errors(target, bucket)`` turns boto3 exceptions into
the collection's error types, ``BucketSettings`` reads and changes a bucket's policy (guarded
against concurrent writers) and object ownership with them, and reads its other settings, which
``bucket_checks`` compares with what kOps and AWS recommend for a state store.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import threading
from contextlib import contextmanager

try:
    from http.client import HTTPException
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for the compile sanity test
    from httplib import HTTPException  # type: ignore

from ansible_collections.kops.state_store.plugins.module_utils.backends.sdk import require_minimum_versions
from ansible_collections.kops.state_store.plugins.module_utils.backends.transport import warn_if_plaintext
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    BackendFailure,
    BadLocation,
    MissingLibrary,
    NotFound,
    NotSupported,
    PreconditionFailed,
    first_line,
)
from ansible_collections.kops.state_store.plugins.module_utils.policy import dump_policy, parse_policy, policies_equal
from ansible_collections.kops.state_store.plugins.module_utils.store import Check, read_setting

DEFAULT_REGION = 'us-east-1'
EC2_UUID_FILE = '/sys/devices/virtual/dmi/id/product_uuid'
IMDS_TIMEOUT = 0.5  # seconds; IMDS is only asked on EC2, where it answers in milliseconds
MAX_ATTEMPTS = 5  # botocore "standard" retries: throttling, 5xx and connection errors, with backoff
#: connections each client keeps open: above sync's default parallelism, so no worker waits for one
MAX_POOL_CONNECTIONS = 32
#: rounds of read, merge and write of a bucket policy that other writers keep changing, before giving up
POLICY_ATTEMPTS = 5

_MD5_ETAG = re.compile(r'^"?([0-9a-fA-F]{32})"?$')
_CACHE_LOCK = threading.Lock()
# Process-wide caches, as kOps keeps them: clients per connection and region, and per bucket its
# region and its default encryption.
_CLIENTS = {}
_BUCKET_REGIONS = {}
_BUCKET_ENCRYPTION = {}
_IMDS_REGION = {}


def env_value(environ, *names):
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
        s3_endpoint = env_value(environ, 'S3_ENDPOINT')
        self.compatible = bool(s3_endpoint) or scheme != 's3'
        if self.compatible:
            endpoint = settings.get('endpoint_url') or s3_endpoint
            if not endpoint:
                raise BadLocation(
                    '%s:// state stores need S3_ENDPOINT (for example S3_ENDPOINT=nyc3.digitaloceanspaces.com) '
                    'or the endpoint_url option' % scheme)
            self.access_key = settings.get('access_key') or env_value(environ, 'S3_ACCESS_KEY_ID')
            self.secret_key = settings.get('secret_key') or env_value(environ, 'S3_SECRET_ACCESS_KEY')
            for value, variable in ((self.access_key, 'S3_ACCESS_KEY_ID'), (self.secret_key, 'S3_SECRET_ACCESS_KEY')):
                if not value:  # kOps's words
                    raise AccessDenied('%s cannot be empty when S3_ENDPOINT is set' % variable)
            self.session_token = settings.get('session_token')
            self.profile = None
            self.region = settings.get('region') or env_value(environ, 'S3_REGION') or DEFAULT_REGION
        else:
            endpoint = settings.get('endpoint_url') or env_value(environ, 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_URL')
            self.profile = settings.get('profile')
            keys_given = bool(settings.get('access_key') or settings.get('secret_key'))
            if self.profile and keys_given:
                raise AccessDenied('give either profile or access_key/secret_key for %s:// stores, not both: they name '
                                   'two different identities' % scheme)
            # A profile or keys given as options are the whole identity: nothing of it comes from the key
            # variables then (a session token of the environment would otherwise join another identity's keys).
            from_env = not (self.profile or keys_given)
            self.access_key = settings.get('access_key') or (
                env_value(environ, 'AWS_ACCESS_KEY_ID', 'AWS_ACCESS_KEY') if from_env else None)
            self.secret_key = settings.get('secret_key') or (
                env_value(environ, 'AWS_SECRET_ACCESS_KEY', 'AWS_SECRET_KEY') if from_env else None)
            self.session_token = settings.get('session_token') or (
                env_value(environ, 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN') if from_env else None)
            if bool(self.access_key) != bool(self.secret_key):
                raise AccessDenied('an AWS access key and secret key must be given together (both as options, '
                                   'access_key and secret_key, or both as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)')
            # kOps probes with AWS_REGION only (not AWS_DEFAULT_REGION), then IMDS on EC2, then us-east-1.
            self.region = settings.get('region') or env_value(environ, 'AWS_REGION')
        if endpoint and '://' not in endpoint:
            endpoint = 'https://' + endpoint  # kOps's documented S3_ENDPOINT values have no scheme
        warn_if_plaintext(endpoint, 'S3 requests signed with your access key (and any session token)')
        self.endpoint_url = endpoint
        # AWS_MAX_ATTEMPTS / AWS_RETRY_MODE, when set, are left to botocore.
        self.retries = None if env_value(environ, 'AWS_MAX_ATTEMPTS', 'AWS_RETRY_MODE') else dict(
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
    with _CACHE_LOCK:
        if 'region' in _IMDS_REGION:
            return _IMDS_REGION['region']
    region = None
    if on_ec2():
        from botocore.utils import InstanceMetadataRegionFetcher

        region = InstanceMetadataRegionFetcher(timeout=IMDS_TIMEOUT, num_attempts=1).retrieve_region()
    with _CACHE_LOCK:
        _IMDS_REGION['region'] = region
    return region


def client_for_region(config, region):
    """The boto3 S3 client of an S3Settings for one region, created once per process."""
    key = config.cache_key(region)
    with _CACHE_LOCK:
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
    with _CACHE_LOCK:
        return _CLIENTS.setdefault(key, client)


def location_region(constraint):
    """Region of a GetBucketLocation answer: empty means us-east-1, the legacy "EU" eu-west-1."""
    if not constraint:
        return DEFAULT_REGION
    return 'eu-west-1' if constraint == 'EU' else constraint


def _response_headers(response):
    return (response or {}).get('ResponseMetadata', {}).get('HTTPHeaders', {})


def error_status(exc):
    return exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')


def error_code(exc):
    return exc.response.get('Error', {}).get('Code') or str(error_status(exc))


def _missing_bucket(bucket):
    return BadLocation("the bucket '%s' does not exist" % bucket)


def bucket_region(config, bucket):
    """Region of a bucket, kOps's way, cached per bucket: GetBucketLocation from the probe region, else
    the region HeadBucket reports. With S3_ENDPOINT (or do://) it is simply the configured region."""
    if config.compatible:
        return config.region
    cache_key = (config.endpoint_url, bucket)
    with _CACHE_LOCK:
        if cache_key in _BUCKET_REGIONS:
            return _BUCKET_REGIONS[cache_key]
    from botocore.exceptions import ClientError

    client = client_for_region(config, config.probe_region())
    try:
        region = location_region(client.get_bucket_location(Bucket=bucket).get('LocationConstraint'))
    except ClientError as exc:
        if error_code(exc) == 'NoSuchBucket':
            raise _missing_bucket(bucket)
        # Typical for a bucket of another account: HeadBucket still tells the region.
        region = _head_bucket_region(client, bucket)
        if not region:
            raise
    with _CACHE_LOCK:
        _BUCKET_REGIONS[cache_key] = region
    return region


def _head_bucket_region(client, bucket):
    from botocore.exceptions import ClientError

    try:
        response = client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_status(exc) == 404:
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
    with _CACHE_LOCK:
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
        told = error_code(exc) in NO_DEFAULT_ENCRYPTION or error_status(exc) in (405, 501)
    except BotoCoreError:
        told = False
    with _CACHE_LOCK:
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
    code = error_code(exc)
    status = error_status(exc)
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
        self.config = S3Settings(settings, scheme)

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
                if error_code(exc) == missing_code:
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

    def region(self):
        """The bucket's region, found as kOps finds it (the configured one with S3_ENDPOINT)."""
        with self._errors('region'):
            return bucket_region(self.config, self.bucket)

    def versioning(self):
        """'Enabled', 'Suspended', or None when versioning was never switched on."""
        with self._errors('versioning'):
            return self.client.get_bucket_versioning(Bucket=self.bucket).get('Status')

    def default_encryption(self):
        """The default SSE algorithm of the bucket, or None when it has none."""
        answer = self._get(self.client.get_bucket_encryption, 'ServerSideEncryptionConfigurationNotFoundError',
                           'default encryption')
        rules = answer['ServerSideEncryptionConfiguration'].get('Rules', []) if answer else []
        defaults = [rule['ApplyServerSideEncryptionByDefault'] for rule in rules
                    if rule.get('ApplyServerSideEncryptionByDefault')]
        return (defaults[0].get('SSEAlgorithm') or 'AES256') if defaults else None

    def public_access_block(self):
        """The bucket's Block Public Access settings ({BlockPublicAcls: bool, ...}), or None when it has none."""
        answer = self._get(self.client.get_public_access_block, 'NoSuchPublicAccessBlockConfiguration',
                           'Block Public Access settings')
        return answer['PublicAccessBlockConfiguration'] if answer else None


PUBLIC_ACCESS_BLOCKS = ('BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets')
PUBLIC_CANNED_ACLS = ('public-read', 'public-read-write', 'authenticated-read')
ENFORCED_OWNERSHIP = 'BucketOwnerEnforced'
# what S3 accepts on a write to a bucket whose ACLs are disabled (BucketOwnerEnforced)
ACL_WITH_ENFORCED_OWNERSHIP = 'bucket-owner-full-control'


def bucket_checks(settings, bucket, scheme='s3', environ=None):
    """The state store bucket against kOps's documentation and AWS's recommendations: versioning, default encryption,
    Block Public Access, object ownership against KOPS_STATE_S3_ACL (in ``environ``) and the region. Reads only."""
    environ = os.environ if environ is None else environ
    bucket_settings = BucketSettings(settings, bucket, scheme)
    endpoint = bucket_settings.config.endpoint_url
    aws = 'aws s3api %%s --bucket %s%s' % (bucket, ' --endpoint-url %s' % endpoint if endpoint else '')
    checks = [_versioning_check(bucket_settings, aws), _encryption_check(bucket_settings, scheme, aws),
              _public_access_check(bucket_settings, aws),
              _ownership_check(bucket_settings, env_value(environ, 'KOPS_STATE_S3_ACL'), aws)]
    region, check = read_setting('region', 's3:GetBucketLocation', bucket_settings.region)
    checks.append(check or Check.ok('region', region))
    return checks


def _versioning_check(bucket_settings, aws):
    status, check = read_setting('versioning', 's3:GetBucketVersioning', bucket_settings.versioning)
    if check or status == 'Enabled':
        return check or Check.ok('versioning', status)
    return Check.finding(
        'versioning', 'high',
        'versioning is %s: an overwritten or deleted entry (a config, a keyset, a secret) cannot be recovered; kOps\'s '
        'documentation STRONGLY recommends versioning the state store bucket' % (status or 'not enabled').lower(),
        aws % 'put-bucket-versioning' + ' --versioning-configuration Status=Enabled', status)


def _encryption_check(bucket_settings, scheme, aws):
    if scheme != 's3':
        return Check.not_checked('default encryption', 'kOps neither reads nor sends server-side encryption settings '
                                                       'for %s:// stores' % scheme)
    algorithm, check = read_setting('default encryption', 's3:GetEncryptionConfiguration',
                                    bucket_settings.default_encryption)
    if check or algorithm:
        return check or Check.ok('default encryption', algorithm)
    return Check.finding(
        'default encryption', 'medium',
        'the bucket has no default encryption: kOps asks for AES256 on its own writes, but whatever other tools write '
        '(a copy, a sync, a restore) is stored unencrypted; kOps\'s documentation recommends S3 default bucket '
        'encryption', aws % 'put-bucket-encryption' + ' --server-side-encryption-configuration '
        '\'{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}\'')


def _public_access_check(bucket_settings, aws):
    blocks, check = read_setting('block public access', 's3:GetBucketPublicAccessBlock',
                                 bucket_settings.public_access_block)
    if check:
        return check
    off = [name for name in PUBLIC_ACCESS_BLOCKS if not (blocks or {}).get(name)]
    if not off:
        return Check.ok('block public access', blocks)
    reason = ('the bucket has no Block Public Access settings' if blocks is None
              else 'Block Public Access is off for %s' % ', '.join(off))
    return Check.finding(
        'block public access', 'high',
        '%s: a public ACL or bucket policy would expose every cluster\'s CA keys and secrets (an account-level Block '
        'Public Access, which this check does not read, may still apply)' % reason,
        aws % 'put-public-access-block' + ' --public-access-block-configuration '
        + ','.join('%s=true' % name for name in PUBLIC_ACCESS_BLOCKS), blocks)


def _ownership_check(bucket_settings, acl, aws):
    ownership, check = read_setting('object ownership', 's3:GetBucketOwnershipControls',
                                    bucket_settings.object_ownership)
    if check:
        return check
    value = dict(object_ownership=ownership, kops_state_s3_acl=acl)
    enforce = aws % 'put-bucket-ownership-controls' + ' --ownership-controls Rules=[{ObjectOwnership=%s}]' % ENFORCED_OWNERSHIP
    if acl in PUBLIC_CANNED_ACLS:
        return Check.finding(
            'object ownership', 'high',
            'KOPS_STATE_S3_ACL=%s: every entry kOps writes gets an ACL that lets others read it, CA keys and secrets '
            'included' % acl, 'unset KOPS_STATE_S3_ACL wherever kOps runs (or set it to %s), then %s'
            % (ACL_WITH_ENFORCED_OWNERSHIP, enforce), value)
    if ownership == ENFORCED_OWNERSHIP:
        if acl and acl != ACL_WITH_ENFORCED_OWNERSHIP:
            return Check.finding(
                'object ownership', 'high',
                'KOPS_STATE_S3_ACL=%s, but the bucket\'s object ownership is %s (ACLs disabled): S3 refuses every '
                'write carrying that ACL (AccessControlListNotSupported), so kOps cannot write the store'
                % (acl, ownership), 'unset KOPS_STATE_S3_ACL wherever kOps runs (the bucket owner owns every object '
                'already), or set it to %s' % ACL_WITH_ENFORCED_OWNERSHIP, value)
        return Check.ok('object ownership', value)
    if acl:
        return Check.ok('object ownership', value)  # every write carries the ACL the operator chose
    return Check.finding(
        'object ownership', 'medium',
        'object ownership is %s and KOPS_STATE_S3_ACL is not set: an object another account writes (a cross-account '
        'state store) stays owned by that account, which the bucket owner may then not read; AWS recommends %s (ACLs '
        'disabled)' % (ownership or 'not set (ObjectWriter)', ENFORCED_OWNERSHIP), enforce, value)

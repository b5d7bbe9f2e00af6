# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""swift:// stores: OpenStack Swift through openstacksdk, with kOps's credential rules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import configparser
import hashlib
import os
import threading
import time
import uuid

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for the compile sanity test
    from urllib import quote  # type: ignore

from ansible_collections.kops.state_store.plugins.module_utils.backends.sdk import require_minimum_versions
from ansible_collections.kops.state_store.plugins.module_utils.backends.transport import warn_if_plaintext
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    BackendFailure,
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

# Retries for 5xx answers and failed connections, with keystoneauth's doubling delay from 0.5 s (bounded).
RETRIES = 4
RETRIABLE_STATUS_CODES = [500, 502, 503, 504]
LISTING_PAGE = 10000  # Swift's default and largest listing page
TIMEOUT = 60
APP_NAME = 'kops-state-store'

# Swift checks If-None-Match before it receives the body, so two creates overlapping in time can both
# succeed. Creates of one process are serialised here (kOps itself relies on such a process-wide mutex);
# across processes each create tags its object with a unique marker, waits CREATE_SETTLE_SECONDS for any
# overlapping PUT to land, and reads the marker back: only the creator whose object stayed wins, the
# others report "already exists". Overlapping creates slower than the settle time can still both win.
_CREATE_LOCK = threading.Lock()
CREATE_MARKER = 'X-Object-Meta-Kops-Create'
CREATE_SETTLE_SECONDS = 1.0

NO_COMPARE_AND_SWAP = (
    'swift:// stores have no compare-and-swap (Swift ignores If-Match on PUT), so a write or delete cannot '
    'be made conditional on the version read; guard read-modify-write with a create-if-absent lock entry '
    '(create_only) instead'
)


class _Incomplete(Exception):
    """A credential source lacks something; the message says what."""


def credentials_from_environment(environ):
    """(auth_type, auth, who) from the OS_* variables, with gophercloud's completeness rules (kOps's
    first source); raises _Incomplete."""
    def get(name):
        return environ.get(name) or None

    auth_url = get('OS_AUTH_URL')
    username, user_id, password = get('OS_USERNAME'), get('OS_USERID'), get('OS_PASSWORD')
    project_id = get('OS_PROJECT_ID') or get('OS_TENANT_ID')
    project_name = get('OS_PROJECT_NAME') or get('OS_TENANT_NAME')
    domain_id, domain_name = get('OS_DOMAIN_ID'), get('OS_DOMAIN_NAME')
    credential_id = get('OS_APPLICATION_CREDENTIAL_ID')
    credential_name = get('OS_APPLICATION_CREDENTIAL_NAME')
    credential_secret = get('OS_APPLICATION_CREDENTIAL_SECRET')
    # The user and project domain variables openrc files set count as the domain too.
    user_domain_id = get('OS_USER_DOMAIN_ID') or domain_id
    user_domain_name = get('OS_USER_DOMAIN_NAME') or domain_name
    project_domain_id = get('OS_PROJECT_DOMAIN_ID') or domain_id
    project_domain_name = get('OS_PROJECT_DOMAIN_NAME') or domain_name
    application_credential = credential_id or credential_name

    if not auth_url:
        raise _Incomplete('OS_AUTH_URL is not set')
    if not (username or user_id) and not application_credential:
        raise _Incomplete('neither OS_USERNAME nor OS_USERID is set')
    if not password and not application_credential:
        raise _Incomplete('OS_PASSWORD is not set')
    if application_credential and not credential_secret:
        raise _Incomplete('OS_APPLICATION_CREDENTIAL_SECRET is not set')
    if project_name and not project_id and not (project_domain_id or project_domain_name):
        raise _Incomplete('OS_PROJECT_NAME needs OS_PROJECT_ID, OS_DOMAIN_NAME or OS_PROJECT_DOMAIN_NAME')
    if credential_name and not credential_id:
        if not (username or user_id):
            raise _Incomplete('OS_APPLICATION_CREDENTIAL_NAME needs OS_USERNAME or OS_USERID')
        if username and not (user_domain_id or user_domain_name):
            raise _Incomplete('OS_APPLICATION_CREDENTIAL_NAME with OS_USERNAME needs OS_DOMAIN_NAME or OS_DOMAIN_ID')

    user = dict(username=username, user_id=user_id, user_domain_id=user_domain_id, user_domain_name=user_domain_name)
    if application_credential:
        # An application credential carries its own scope.
        auth = dict(auth_url=auth_url, application_credential_id=credential_id,
                    application_credential_secret=credential_secret)
        if not credential_id:
            auth.update(user, application_credential_name=credential_name)
        return 'v3applicationcredential', _compact(auth), 'application credential %s' % application_credential
    auth = dict(user, auth_url=auth_url, password=password)
    if project_id or project_name:
        auth.update(project_id=project_id, project_name=project_name, project_domain_id=project_domain_id,
                    project_domain_name=project_domain_name)
    else:
        auth.update(domain_id=domain_id, domain_name=domain_name)  # a domain-scoped token, as gophercloud asks
    return 'password', _compact(auth), "user '%s'" % (username or user_id)


def _compact(mapping):
    return dict((key, value) for key, value in mapping.items() if value)


def credential_file(environ):
    """The INI file kOps reads when the environment is incomplete."""
    return environ.get('OPENSTACK_CREDENTIAL_FILE') or os.path.join(os.path.expanduser('~'), '.openstack', 'config')


def read_credential_file(path):
    """{lower-case section: {key: value}} of kOps's INI file; None when it does not exist."""
    parser = configparser.ConfigParser(default_section='kops-state-store-none', interpolation=None)
    try:
        with open(path) as handle:
            parser.read_file(handle)
    except (IOError, OSError):
        return None
    except configparser.Error as exc:
        raise AccessDenied('cannot parse the OpenStack credential file %s: %s' % (path, str(exc).splitlines()[0]))
    return dict((name.lower(), dict(parser.items(name))) for name in parser.sections())


def credentials_from_file(path, sections):
    """(auth_type, auth, who) from the [Default] section, with the keys kOps requires."""
    section = sections.get('default', {})

    def one_of(*keys):
        for key in keys:
            if section.get(key):
                return key, section[key]
        raise AccessDenied('the OpenStack credential file %s must set %s in [Default]'
                           % (path, ' or '.join("'%s'" % key for key in keys)))

    one_of('identity')
    one_of('password')
    user_key, user = one_of('user', 'user_id')
    domain_key, domain = one_of('domain_name', 'domain_id')
    tenant_key, tenant = one_of('tenant_name', 'tenant_id')
    domain_field = 'domain_name' if domain_key == 'domain_name' else 'domain_id'
    auth = {
        'auth_url': section['identity'],
        'password': section['password'],
        'username' if user_key == 'user' else 'user_id': user,
        'project_name' if tenant_key == 'tenant_name' else 'project_id': tenant,
        'user_' + domain_field: domain,
        'project_' + domain_field: domain,
    }
    return 'password', auth, "user '%s'" % user


def region_from_kops(environ, sections, path):
    """OS_REGION_NAME (single quotes stripped), else [Global] region, else [Swift] region of the file."""
    region = (environ.get('OS_REGION_NAME') or '').strip("'")
    for section in ('global', 'swift'):
        region = region or (sections or {}).get(section, {}).get('region')
    if not region:
        raise AccessDenied('no OpenStack region for swift://: set OS_REGION_NAME, the openstack_region_name option or '
                           'region in [Global] of %s' % path)
    return region


def _auth_type(auth):
    return 'v3applicationcredential' if auth.get('application_credential_secret') else 'password'


def connection_settings(settings, environ):
    """(client settings for _object_store_client, who authenticates, auth URL) in this order: the
    ``openstack_cloud`` option (clouds.yaml), the ``openstack_auth`` option, the OS_* variables, OS_CLOUD,
    then kOps's INI file."""
    region = settings.get('openstack_region_name')
    auth = settings.get('openstack_auth')
    cloud = settings.get('openstack_cloud')
    if cloud:
        kwargs = dict(cloud=cloud, auth=auth) if auth else dict(cloud=cloud)
        return _with_region(kwargs, region), "cloud '%s'" % cloud, (auth or {}).get('auth_url', 'clouds.yaml')
    if auth:
        who = "user '%s'" % (auth.get('username') or auth.get('user_id') or auth.get('application_credential_id'))
        return _with_region(dict(auth_type=_auth_type(auth), auth=auth), region), who, auth.get('auth_url')

    path = credential_file(environ)
    try:
        auth_type, auth, who = credentials_from_environment(environ)
        sections = None
    except _Incomplete as incomplete:
        if environ.get('OS_CLOUD'):
            return _with_region(dict(cloud=environ['OS_CLOUD']), region), "cloud '%s'" % environ['OS_CLOUD'], 'clouds.yaml'
        sections = read_credential_file(path)
        if sections is None:
            raise AccessDenied('no OpenStack credentials for swift://: %s in the environment, and there is no '
                               'credential file %s (OPENSTACK_CREDENTIAL_FILE)' % (incomplete, path))
        auth_type, auth, who = credentials_from_file(path, sections)
    if not region:
        # kOps reads the file for the region even when the credentials come from the environment.
        region = region_from_kops(environ, sections if sections is not None else read_credential_file(path), path)
    kwargs = dict(auth_type=auth_type, auth=auth, region_name=region)
    if environ.get('OS_CACERT'):
        kwargs['cacert'] = environ['OS_CACERT']
    return kwargs, who, auth['auth_url']


def _with_region(kwargs, region):
    if region:
        kwargs['region_name'] = region
    return kwargs


def _insecure(environ):
    # kOps ≥ 1.35 skips certificate checks only when this is exactly true or 1.
    return environ.get('KOPS_OS_TLS_INSECURE_SKIP_VERIFY') in ('true', '1')


class SwiftBackend(Backend):
    """Entries are objects of one container. Versions are ETags (the MD5 of the content).

    Create-if-absent is a PUT with ``If-None-Match: *``; Swift has no conditional overwrite or delete,
    so any other expectation raises NotSupported.
    """

    hash_algorithm = 'md5'
    supports_compare_and_swap = False

    def __init__(self, location, settings=None):
        super(SwiftBackend, self).__init__(location, settings)
        self._store = None
        self._who = self._auth_url = None

    # -- connection -----------------------------------------------------------------------------
    def _object_store(self):
        """The object-store client of an authenticated session (authenticates on first use)."""
        if self._store is None:
            environ = os.environ
            kwargs, self._who, self._auth_url = connection_settings(self.settings, environ)
            if _insecure(environ):
                kwargs['verify'] = False
            warn_if_plaintext(self._auth_url, 'OpenStack credentials')
            self._store = self._guard(lambda: _object_store_client(kwargs))
            warn_if_plaintext(self._guard(self._store.get_endpoint), 'OpenStack tokens')
        return self._store

    def _guard(self, call):
        """Run ``call``, turning keystoneauth errors into our one-line errors."""
        try:
            from keystoneauth1 import exceptions as ksa
        except ImportError as exc:
            raise MissingLibrary('openstacksdk', 'swift', exc)
        try:
            return call()
        except ksa.Unauthorized:
            raise AccessDenied('OpenStack authentication failed for %s at %s: check the password or credential'
                               % (self._who, self._auth_url))
        except ksa.EndpointNotFound:
            raise BackendFailure('the service catalog at %s has no object-store (Swift) endpoint for the region '
                                 'in use: check OS_REGION_NAME or openstack_region_name' % self._auth_url)
        except ksa.ConnectFailure as exc:
            raise BackendFailure('cannot connect to OpenStack for %s: %s' % (self.location.render(), first_line(exc)))
        except ksa.ClientException as exc:
            raise BackendFailure('OpenStack request for %s failed: %s' % (self.location.render(), first_line(exc)))

    def _request(self, method, url, **kwargs):
        object_store = self._object_store()
        kwargs.update(connect_retries=RETRIES, status_code_retries=RETRIES,
                      retriable_status_codes=RETRIABLE_STATUS_CODES, raise_exc=False)
        response = self._guard(lambda: object_store.request(url, method, **kwargs))
        if response.status_code == 403:
            raise AccessDenied('access denied to %s for %s (does it have a role Swift accepts in its project?)'
                               % (self.location.render(), self._who))
        if response.status_code >= 500:
            raise BackendFailure('Swift answered %d to %s in %s after %d retries'
                                 % (response.status_code, method, self.location.render(), RETRIES))
        return response

    # -- names --------------------------------------------------------------------------------
    def _name(self, path):
        return '/'.join(part for part in (self.location.key, path) if part)

    def _container_url(self):
        return quote(self.location.bucket, safe='')

    def _object_url(self, path):
        return '%s/%s' % (self._container_url(), quote(self._name(path), safe='/'))

    def _missing(self, path):
        """NotFound for a 404: says whether the container or the entry is missing (one HEAD)."""
        if self._request('HEAD', self._container_url()).status_code == 404:
            return self._missing_container()
        return NotFound("entry '%s' does not exist in %s" % (path, self.location.render()))

    def _missing_container(self):
        return NotFound("Swift container '%s' does not exist (%s)" % (self.location.bucket, self.location.render()))

    # -- the container itself ------------------------------------------------------------------
    def _container_headers(self):
        response = self._request('HEAD', self._container_url())
        if response.status_code == 404:
            raise self._missing_container()
        if response.status_code not in (200, 204):
            raise BackendFailure('Swift answered %d to HEAD of the container of %s'
                                 % (response.status_code, self.location.render()))
        return response.headers

    def _store_checks(self, environ):
        """What a container's metadata tells: its read ACL (public or not) and its object versioning. Encryption at
        rest is a setting of the whole Swift cluster (its encryption middleware), which no container tells."""
        headers, check = read_setting('container settings', 'a role that may read the container', self._container_headers)
        if check:
            return [check]
        swift = 'swift post %s ' % self.location.bucket
        read_acl = headers.get('X-Container-Read') or ''
        public = [grant.strip() for grant in read_acl.split(',') if grant.strip().startswith('.r:')]
        checks = [Check.finding(
            'public read', 'high',
            'the container\'s read ACL (X-Container-Read: %s) lets anyone read every entry, CA keys and secrets '
            'included' % ','.join(public), "%s--read-acl ''" % swift, read_acl) if public
            else Check.ok('public read', read_acl or None)]
        versioned = (headers.get('X-Versions-Enabled', '').lower() == 'true' or headers.get('X-Versions-Location')
                     or headers.get('X-History-Location'))
        checks.append(Check.ok('versioning', True) if versioned else Check.finding(
            'versioning', 'high',
            'object versioning is off: an overwritten or deleted entry (a config, a keyset, a secret) cannot be '
            'recovered; kOps\'s documentation strongly recommends a versioned state store',
            "%s--header 'X-Versions-Enabled: true' (Swift 2.24 or later; on older clusters "
            "--header 'X-History-Location: <archive container>')" % swift, False))
        checks.append(Check.not_checked('encryption at rest', 'Swift encrypts at rest for the whole cluster, which no '
                                                              'container setting tells'))
        return checks

    # -- operations -----------------------------------------------------------------------------
    def _get(self, path, limit):
        """(response, content of at most ``limit`` bytes): the body is streamed, so a larger one stops the read."""
        with self._request('GET', self._object_url(path), stream=True) as response:
            if response.status_code == 404:
                raise self._missing(path)
            _expect_status(response, (200,), 'read', path)
            declared = response.headers.get('Content-Length')
            content = bounded_read(lambda *amount: response.raw.read(*amount, decode_content=True), self.render(path),
                                   limit, int(declared) if declared and declared.isdigit() else None)
        return response, content

    def _read(self, path, limit):
        response, content = self._get(path, limit)
        return content, _etag(response)

    def _read_with_age(self, path, limit):
        # X-Timestamp is the proxy's own record of the write, to the microsecond (Last-Modified rounds it up).
        response, content = self._get(path, limit)
        try:
            written = float(response.headers['X-Timestamp'])
        except (KeyError, ValueError):
            raise BackendFailure("Swift answered for entry '%s' of %s without a valid X-Timestamp header, so its age "
                                 'cannot be told by the server\'s clock' % (path, self.location.render()))
        age = http_date_seconds(response.headers.get('Date'), 'Date') - written
        return content, _etag(response), max(0.0, age)

    def _stored_hash(self, path):
        response = self._request('HEAD', self._object_url(path))
        if response.status_code == 404:
            raise self._missing(path)
        _expect_status(response, (200,), 'read', path)
        return _etag(response)

    def _write(self, path, data, expect, acl):
        # acl: Swift has container ACLs only; kOps passes none for Swift objects either.
        if expect is not None and expect is not ABSENT:
            raise NotSupported(NO_COMPARE_AND_SWAP)
        headers = {'Content-Type': 'application/octet-stream', 'ETag': hashlib.md5(data).hexdigest()}
        if expect is ABSENT:
            headers['If-None-Match'] = '*'
            headers[CREATE_MARKER] = uuid.uuid4().hex
            with _CREATE_LOCK:
                version = self._put_checked(path, data, headers, expect)
            self._confirm_create(path, headers[CREATE_MARKER])
            return version
        return self._put_checked(path, data, headers, expect)

    def _confirm_create(self, path, marker):
        """Raise AlreadyExists when an overlapping create from another process replaced ours."""
        time.sleep(CREATE_SETTLE_SECONDS)
        response = self._request('HEAD', self._object_url(path))
        if response.status_code == 404 or response.headers.get(CREATE_MARKER) != marker:
            raise AlreadyExists("entry '%s' already exists in %s (created at the same time by another writer)"
                                % (path, self.location.render()))

    def _put_checked(self, path, data, headers, expect):
        response = self._put(path, data, headers)
        if response.status_code == 404:
            if expect is not ABSENT:
                # As kOps's WriteFile: only a create makes the container.
                raise NotFound("Swift container '%s' does not exist (%s); a create_only write creates it"
                               % (self.location.bucket, self.location.render()))
            created = self._request('PUT', self._container_url())
            _expect_status(created, (201, 202), 'create the container for', path)
            response = self._put(path, data, headers)
        if response.status_code in (412, 409) and expect is ABSENT:
            raise AlreadyExists("entry '%s' already exists in %s" % (path, self.location.render()))
        if response.status_code == 422:
            raise BackendFailure("Swift rejected entry '%s' of %s as corrupted in transfer (MD5 mismatch)"
                                 % (path, self.location.render()))
        _expect_status(response, (201,), 'write', path)
        return _etag(response) or headers['ETag']

    def _put(self, path, data, headers):
        return self._request('PUT', self._object_url(path), data=data, headers=headers)

    def _delete(self, path, expect):
        if expect is not None:
            raise NotSupported(NO_COMPARE_AND_SWAP)
        response = self._request('DELETE', self._object_url(path))
        if response.status_code == 404:
            raise self._missing(path)
        _expect_status(response, (204, 200), 'delete', path)

    def _list(self, prefix, recursive, hash_algorithm=None):
        root = self._name('')
        start = self._name(prefix)
        start = start + '/' if start else ''
        params = dict(format='json', prefix=start, limit=LISTING_PAGE)
        if not recursive:
            params['delimiter'] = '/'
        entries = []
        while True:
            response = self._request('GET', self._container_url(), params=params)
            if response.status_code == 404:
                raise self._missing_container()
            _expect_status(response, (200, 204), 'list', prefix)
            page = response.json() if response.status_code == 200 else []
            for item in page:
                # A name ending in '/' is a folder marker (made by consoles and tools), not an entry: read or
                # deleted as an entry it would be taken for the object without the slash.
                if not item.get('name', '').endswith('/'):
                    entries.append(_listed_entry(item, len(root) + 1 if root else 0))
            if len(page) < LISTING_PAGE:
                return entries
            last = page[-1]
            params['marker'] = last.get('subdir') or last['name']


def _object_store_client(settings):
    """A keystoneauth adapter on the object-store endpoint. A clouds.yaml cloud needs openstacksdk's
    loader; explicit credentials need only keystoneauth1, which openstacksdk brings and which imports
    several times faster (it counts: every module run imports it)."""
    try:
        from keystoneauth1 import adapter, loading, session
    except ImportError as exc:
        raise MissingLibrary('openstacksdk', 'swift', exc)
    require_minimum_versions('swift', 'keystoneauth1')
    if 'cloud' in settings:
        return _cloud_client(settings)
    loader = loading.get_plugin_loader(settings['auth_type'])
    known = set(option.dest for option in loader.get_options())
    unknown = sorted(set(settings['auth']) - known)
    if unknown:
        raise AccessDenied('unknown OpenStack %s credential key(s): %s' % (settings['auth_type'], ', '.join(unknown)))
    verify = settings.get('verify', settings.get('cacert', True))
    http = session.Session(auth=loader.load_from_options(**settings['auth']), verify=verify, timeout=TIMEOUT,
                           app_name=APP_NAME)
    return adapter.Adapter(http, service_type='object-store', interface='public',
                           region_name=settings.get('region_name'))


def _cloud_client(settings):
    try:
        import openstack
        from openstack import exceptions
    except ImportError as exc:
        raise MissingLibrary('openstacksdk', 'swift', exc)
    require_minimum_versions('swift', 'openstacksdk')
    try:
        return openstack.connect(app_name=APP_NAME, api_timeout=TIMEOUT, **settings).object_store
    except exceptions.SDKException as exc:
        raise AccessDenied('cannot use OpenStack cloud %s: %s' % (settings['cloud'], first_line(exc)))


def _listed_entry(item, cut):
    if 'subdir' in item:
        return Entry(item['subdir'][cut:].rstrip('/'), is_dir=True)
    return Entry(item['name'][cut:], size=item['bytes'], hash=item['hash'], hash_algorithm='md5', version=item['hash'])


def _etag(response):
    return (response.headers.get('ETag') or '').strip('"') or None


def _expect_status(response, accepted, action, path):
    if response.status_code not in accepted:
        raise BackendFailure("Swift could not %s entry '%s': HTTP %d %s"
                             % (action, path, response.status_code, first_line(response.text)[:200]))


SCHEMES = ('swift',)
BACKEND = SwiftBackend
# Named as the openstack.cloud collection names them (aliases), prefixed here to stay apart from other backends.
# The short aliases were easy to mistake for another backend's settings beside them; they still work, with a warning.
OPTIONS = dict(
    openstack_cloud=dict(type='str', aliases=['cloud'], deprecated_aliases=[
        dict(name='cloud', version='1.0.0', collection_name='kops.state_store')]),
    openstack_auth=dict(type='dict', no_log=True, aliases=['auth'], deprecated_aliases=[
        dict(name='auth', version='1.0.0', collection_name='kops.state_store')]),
    openstack_region_name=dict(type='str', aliases=['region_name'], deprecated_aliases=[
        dict(name='region_name', version='1.0.0', collection_name='kops.state_store')]),
)

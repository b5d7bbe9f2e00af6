"""OpenStack Swift with Keystone (Debian packages, system python3) on 127.0.0.1, started once per test session.

Fixtures:
- ``swift_server``: memcached, Keystone (sqlite) and account/container/object servers behind a proxy that
  authenticates with ``authtoken keystoneauth``. It carries the Keystone URL, the region, and a user
  ``tester`` (role ``member``) in project ``kops`` of domain ``Default``; ``swift_server.start_seconds`` is
  how long the start took.
- ``swift_server.put_object(container, name, data)``: one object PUT as ``tester`` past the backend, for
  names the backend never writes (folder markers ending in ``/``); ``swift_server.post_container(container,
  headers)``: container metadata (an ACL) set as ``tester``.
- ``swift_environment``: an environment dict for clients of ``swift_server`` (the ``OS_*`` variables an
  openrc file sets for ``tester``), without any OpenStack or kOps setting of the machine.
- ``os_environment``: this test process's environment made that one (only tester's ``OS_*`` variables, no
  ``~/.openstack`` or ``clouds.yaml`` of the machine), for backends opened in the test itself.

The packages come from tests/servers/swift.install.sh (``make setup``). When they are missing the
fixture fails: it never skips, so a machine without them cannot pass the suite silently.
"""

import os
import pwd
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from ._process import free_port

SYSTEM_PYTHON = '/usr/bin/python3'  # the Debian swift and keystone packages live there, not in the venv
REQUIRED = ('memcached', 'keystone-manage', 'swift-proxy-server', 'swift-account-server',
            'swift-container-server', 'swift-object-server')
REGION = 'RegionOne'
ADMIN_PASSWORD = 'admin-secret'
TESTER_PASSWORD = 'tester-secret'
PROJECT = 'kops'


def clean_openstack_environment(**extra):
    """The process environment without any OpenStack, kOps or proxy setting of the machine, plus ``extra``."""
    environment = dict(
        (key, value) for key, value in os.environ.items()
        if not key.startswith(('OS_', 'KOPS_', 'OPENSTACK_'))
        and key.lower() not in ('http_proxy', 'https_proxy', 'no_proxy')
    )
    environment.update(extra)
    return environment


# Ring, server and proxy settings; swift_dir everywhere keeps /etc/swift out of the way.
SWIFT_CONF = '''[swift-hash]
swift_hash_path_suffix = kops-state-store-tests
swift_hash_path_prefix = kops
[storage-policy:0]
name = Policy-0
default = yes
'''

SERVER_CONF = '''[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {user}
swift_dir = {swift_dir}
devices = {devices}
mount_check = false
disable_fallocate = true
log_level = WARNING
[pipeline:main]
pipeline = {kind}-server
[app:{kind}-server]
use = egg:swift#{kind}
'''

PROXY_CONF = '''[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {user}
swift_dir = {swift_dir}
log_level = WARNING
[pipeline:main]
pipeline = catch_errors proxy-logging cache authtoken keystoneauth proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached_port}
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = {keystone}/v3
auth_url = {keystone}
auth_type = password
user_domain_id = default
project_domain_id = default
project_name = admin
username = admin
password = {admin_password}
delay_auth_decision = true
cache = swift.cache
include_service_catalog = false
interface = public
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
'''

KEYSTONE_CONF = '''[DEFAULT]
log_dir = {root}
log_file = keystone.log
[database]
connection = sqlite:///{root}/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = {root}/fernet-keys
[fernet_receipts]
key_repository = {root}/fernet-keys
[credential]
key_repository = {root}/credential-keys
[identity]
# fast password hashing: every test authenticates anew
password_hash_rounds = 4
'''

# Rings of one device each, built in one system-python process (faster than nine swift-ring-builder runs).
RING_SCRIPT = '''
import sys
from swift.common.ring import RingBuilder
swift_dir = sys.argv[1]
for kind, port in zip(('account', 'container', 'object'), sys.argv[2:]):
    builder = RingBuilder(6, 1, 1)
    builder.add_dev(dict(region=1, zone=1, ip='127.0.0.1', port=int(port), device='d1', weight=1))
    builder.rebalance()
    builder.save('%s/%s.builder' % (swift_dir, kind))
    builder.get_ring().save('%s/%s.ring.gz' % (swift_dir, kind))
'''


class SwiftServer(object):
    def __init__(self, root):
        missing = [name for name in REQUIRED if shutil.which(name) is None]
        if missing or not os.path.exists(SYSTEM_PYTHON):
            raise RuntimeError('Swift/Keystone test servers need Debian packages (missing: %s): run '
                               'tests/servers/swift.install.sh or make setup' % ', '.join(missing or [SYSTEM_PYTHON]))
        started = time.time()
        self.root = str(root)
        self.processes = []
        self.environment = clean_openstack_environment()
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.keystone = 'http://127.0.0.1:%d' % free_port()
        self.auth_url = self.keystone + '/v3'
        try:
            # Keystone takes longest (imports): start it first and the rest while it sets itself up.
            self._start_keystone()
            self._start_memcached()
            self._start_swift()
            self._wait_http(self.auth_url, 'keystone', timeout=300)
            self._register_object_store()
            self._wait_http(self.proxy + '/info', 'swift proxy')
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.time() - started

    # -- helpers ------------------------------------------------------------------------------
    def _path(self, *parts):
        return os.path.join(self.root, *parts)

    def _write(self, name, text):
        with open(self._path(name), 'w') as handle:
            handle.write(text)
        return self._path(name)

    def _run(self, command):
        completed = subprocess.run(command, env=self.environment, capture_output=True, text=True, cwd=self.root,
                                   check=False)
        if completed.returncode:
            raise RuntimeError('%s failed (%d): %s' % (' '.join(command[:3]), completed.returncode,
                                                       (completed.stderr or completed.stdout)[-2000:]))

    def _spawn(self, name, command):
        log = open(self._path(name + '.log'), 'ab')
        process = subprocess.Popen(command, env=self.environment, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=self.root)
        log.close()
        self.processes.append((name, process))
        return process

    def _wait_http(self, url, name, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for spawned_name, spawned in self.processes:
                if spawned.poll() is not None:
                    raise RuntimeError('%s exited with %s; see %s' % (
                        spawned_name, spawned.returncode, self._path(spawned_name + '.log')))
            try:
                urllib.request.urlopen(url, timeout=2).read()
                return
            except urllib.error.HTTPError:
                return  # answering at all is enough
            except Exception:
                time.sleep(0.2)
        raise RuntimeError('%s did not answer on %s within %d s; see the logs in %s' % (name, url, timeout, self.root))

    # -- servers ------------------------------------------------------------------------------
    def _start_memcached(self):
        self.memcached_port = free_port()
        self._spawn('memcached', ['memcached', '-l', '127.0.0.1', '-p', str(self.memcached_port), '-U', '0',
                                  '-u', self.user, '-m', '32'])

    def _start_keystone(self):
        self._write('keystone.conf', KEYSTONE_CONF.format(root=self.root))
        database = sqlite3.connect(self._path('keystone.db'))
        database.execute('PRAGMA journal_mode=WAL')  # else concurrent writes fail with "database is locked"
        database.close()
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_swift_keystone.py')
        port = self.keystone.rsplit(':', 1)[1]
        self._spawn('keystone', [SYSTEM_PYTHON, '-I', script, self.root, port, ADMIN_PASSWORD, REGION])

    def _start_swift(self):
        swift_dir = self._path('swift')
        devices = self._path('devices')
        os.makedirs(swift_dir)
        os.makedirs(os.path.join(devices, 'd1'))
        with open(os.path.join(swift_dir, 'swift.conf'), 'w') as handle:
            handle.write(SWIFT_CONF)
        ports = dict((kind, free_port()) for kind in ('account', 'container', 'object', 'proxy'))
        self._run([SYSTEM_PYTHON, '-I', '-c', RING_SCRIPT, swift_dir] +
                  [str(ports[kind]) for kind in ('account', 'container', 'object')])
        for kind in ('account', 'container', 'object'):
            config = self._write('%s-server.conf' % kind, SERVER_CONF.format(
                port=ports[kind], user=self.user, swift_dir=swift_dir, devices=devices, kind=kind))
            self._spawn(kind, ['swift-%s-server' % kind, config, '-v'])
        self.proxy = 'http://127.0.0.1:%d' % ports['proxy']
        config = self._write('proxy-server.conf', PROXY_CONF.format(
            port=ports['proxy'], user=self.user, swift_dir=swift_dir, memcached_port=self.memcached_port,
            keystone=self.keystone, admin_password=ADMIN_PASSWORD))
        self._spawn('proxy', ['swift-proxy-server', config, '-v'])

    def _register_object_store(self):
        """The object-store endpoint and the test user, through the Keystone API (openstacksdk of the venv)."""
        import openstack

        admin = openstack.connect(
            load_yaml_config=False, load_envvars=False, auth_type='password', region_name=REGION,
            auth=dict(auth_url=self.auth_url, username='admin', password=ADMIN_PASSWORD, project_name='admin',
                      user_domain_name='Default', project_domain_name='Default'))
        identity = admin.identity
        service = identity.create_service(type='object-store', name='swift')
        identity.create_endpoint(service_id=service.id, interface='public', region_id=REGION,
                                 url=self.proxy + '/v1/AUTH_$(project_id)s')
        project = identity.create_project(name=PROJECT, domain_id='default')
        self.project_id = project.id
        user = identity.create_user(name='tester', password=TESTER_PASSWORD, domain_id='default',
                                    default_project_id=project.id)
        member = identity.find_role('member', ignore_missing=False)
        identity.assign_project_role_to_user(project, user, member)
        admin.close()

    def stop(self):
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _name, process in reversed(self.processes):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []

    def _as_tester(self, method, path, **options):
        """One request as ``tester`` past the backend; returns the response."""
        import openstack

        connection = openstack.connect(
            load_yaml_config=False, load_envvars=False, auth_type='password', region_name=REGION,
            auth=dict(auth_url=self.auth_url, username='tester', password=TESTER_PASSWORD, project_name=PROJECT,
                      user_domain_name='Default', project_domain_name='Default'))
        try:
            return getattr(connection.object_store, method)(path, **options)
        finally:
            connection.close()

    def put_object(self, container, name, data=b''):
        """PUT one object as ``tester``, past the backend: for names it never writes (folder markers, 'x/')."""
        response = self._as_tester('put', '/%s/%s' % (quote(container, safe=''), quote(name)), data=data)
        if response.status_code != 201:
            raise RuntimeError('PUT of %r answered %d: %s' % (name, response.status_code, response.text[:200]))

    def post_container(self, container, headers):
        """POST container metadata (an ACL, versioning) as ``tester``, the container's owner."""
        response = self._as_tester('post', '/%s' % quote(container, safe=''), headers=headers)
        if response.status_code not in (202, 204):
            raise RuntimeError('POST of %r answered %d: %s' % (container, response.status_code, response.text[:200]))

    def client_environment(self, **extra):
        """OS_* variables as an openrc file sets them for ``tester``, plus ``extra``."""
        environment = clean_openstack_environment(
            OS_AUTH_URL=self.auth_url, OS_USERNAME='tester', OS_PASSWORD=TESTER_PASSWORD, OS_PROJECT_NAME=PROJECT,
            OS_USER_DOMAIN_NAME='Default', OS_PROJECT_DOMAIN_NAME='Default', OS_REGION_NAME=REGION,
        )
        environment.update(extra)
        return environment


@pytest.fixture(scope='session')
def swift_server(tmp_path_factory):
    server = SwiftServer(tmp_path_factory.mktemp('swift'))
    yield server
    server.stop()


@pytest.fixture
def swift_environment(swift_server):
    return swift_server.client_environment()


@pytest.fixture
def os_environment(swift_environment, monkeypatch):
    for name in list(os.environ):
        if name not in swift_environment:
            monkeypatch.delenv(name)
    for name, value in swift_environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv('HOME', '/nonexistent')  # no ~/.openstack/config or clouds.yaml of the machine
    return swift_environment

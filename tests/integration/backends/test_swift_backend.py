"""swift:// on a real Swift behind Keystone (tests/servers/swift.py), authenticating as users do."""

import itertools
import os

import pytest

from ansible_collections.kops.state_store.plugins.module_utils import backends
from ansible_collections.kops.state_store.plugins.module_utils.backends.swift import connection_settings
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AccessDenied,
    AlreadyExists,
    NotFound,
    NotSupported,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.backend_contract import BackendContract

_names = itertools.count()


def unique(prefix):
    return '%s-%d-%d' % (prefix, os.getpid(), next(_names))


@pytest.fixture(scope='session')
def contract_container(swift_server):
    return unique('contract')


class TestSwiftBackend(BackendContract):
    @pytest.fixture
    def store(self, os_environment, contract_container):
        store = open_store('swift://%s/%s' % (contract_container, unique('run')))
        store.create('.keep', b'')  # creates the container on the first run, as kOps's CreateFile does
        store.delete('.keep')
        return store

    def test_compare_and_swap_refused_with_advice(self, store):
        version = store.write('c1/config', b'one')
        with pytest.raises(NotSupported, match='create-if-absent lock entry'):
            store.write('c1/config', b'two', expect=version)
        with pytest.raises(NotSupported):
            store.delete('c1/config', expect=version)
        assert store.read('c1/config')[0] == b'one'

    def test_versions_and_hashes_are_md5(self, store):
        import hashlib

        version = store.write('c1/config', b'spec')
        assert version == hashlib.md5(b'spec').hexdigest()
        assert store.hash('c1/config') == ('md5', version)

    def test_folders_listed_as_dirs(self, store):
        store.write('c1/instancegroup/nodes', b'x')
        listed = [(entry.path, entry.is_dir) for entry in store.list('c1')]
        assert listed == [('c1/instancegroup', True)]

    def test_folder_markers_are_not_entries(self, store, swift_server):
        """Objects named with a trailing '/' (folder markers of consoles and tools) are not listed: as entries they
        read and deleted the object without the slash."""
        store.write('c1/config', b'spec')
        store.write('c1/pki/ca', b'ca')
        for marker in ('c1/', 'c1/config/', 'c1/pki/', 'c1/empty/'):
            swift_server.put_object(store.location.bucket, '%s/%s' % (store.location.key, marker))
        assert [(e.path, e.is_dir) for e in store.list('', recursive=True)] == [('c1/config', False), ('c1/pki/ca', False)]
        assert [(e.path, e.is_dir) for e in store.list('c1')] == [
            ('c1/config', False), ('c1/config', True), ('c1/empty', True), ('c1/pki', True)]
        assert [e.path for e in store.list('c1/pki')] == ['c1/pki/ca']

    def test_age_is_told_by_the_servers_clock(self, store, monkeypatch):
        """The age of an entry comes from Swift's own times: this host's clock, an hour off, changes nothing."""
        import time

        real_time = time.time
        monkeypatch.setattr(time, 'time', lambda: real_time() + 3600)
        store.write('c1/lock', b'x')
        assert store.read_with_age('c1/lock')[2] < 5


def test_create_makes_the_container_plain_write_does_not(os_environment):
    container = unique('fresh')
    with pytest.raises(NotFound, match="container '%s' does not exist" % container):
        open_store('swift://%s/c1' % container).write('config', b'x')
    with pytest.raises(NotFound, match="container '%s' does not exist" % container):
        open_store('swift://%s/c1' % container).read('config')
    with pytest.raises(NotFound, match='container'):
        open_store('swift://%s' % container).list('')
    store = open_store('swift://%s/c1' % container)
    store.create('config', b'first')
    with pytest.raises(AlreadyExists):
        store.create('config', b'second')
    with pytest.raises(NotFound, match="entry 'other' does not exist"):
        store.read('other')
    assert [entry.path for entry in open_store('swift://%s' % container).list('', recursive=True)] == ['c1/config']


def test_wrong_password_is_a_clear_error(os_environment, monkeypatch, swift_server):
    monkeypatch.setenv('OS_PASSWORD', 'wrong')
    with pytest.raises(AccessDenied) as raised:
        open_store('swift://%s/c1' % unique('denied')).create('config', b'x')
    assert str(raised.value) == "OpenStack authentication failed for user 'tester' at %s: check the password or " \
        'credential' % swift_server.auth_url


def test_credential_file(os_environment, monkeypatch, tmp_path, swift_server):
    """kOps's INI file when the environment is incomplete; its [Global] region."""
    path = tmp_path / 'openstack.ini'
    path.write_text('[Default]\nidentity = %s\nuser = tester\npassword = %s\ndomain_name = Default\n'
                    'tenant_name = kops\n[Global]\nregion = %s\n'
                    % (swift_server.auth_url, os_environment['OS_PASSWORD'], os_environment['OS_REGION_NAME']))
    for name in list(os_environment):
        if name.startswith('OS_'):
            monkeypatch.delenv(name)
    monkeypatch.setenv('OPENSTACK_CREDENTIAL_FILE', str(path))
    store = open_store('swift://%s/c1' % unique('file'))
    store.create('config', b'from the file')
    assert store.read('config')[0] == b'from the file'


def test_credential_file_missing_keys(tmp_path):
    path = tmp_path / 'openstack.ini'
    path.write_text('[Default]\nidentity = http://127.0.0.1:1/v3\npassword = x\nuser = u\ntenant_id = p\n')
    environ = dict(OPENSTACK_CREDENTIAL_FILE=str(path))
    with pytest.raises(AccessDenied, match="must set 'domain_name' or 'domain_id' in \\[Default\\]"):
        connection_settings({}, environ)


def test_no_credentials_at_all(tmp_path):
    environ = dict(OPENSTACK_CREDENTIAL_FILE=str(tmp_path / 'none'), OS_USERNAME='u')
    with pytest.raises(AccessDenied, match='OS_AUTH_URL is not set in the environment, and there is no credential'):
        connection_settings({}, environ)


def test_environment_mapping_follows_kops():
    environ = dict(OS_AUTH_URL='http://k/v3', OS_USERNAME='u', OS_PASSWORD='p', OS_TENANT_NAME='old',
                   OS_PROJECT_NAME='new', OS_DOMAIN_NAME='D', OS_REGION_NAME="'R1'")
    kwargs, who, url = connection_settings({}, environ)
    assert (who, url, kwargs['region_name'], kwargs['auth_type']) == ("user 'u'", 'http://k/v3', 'R1', 'password')
    assert kwargs['auth'] == dict(auth_url='http://k/v3', username='u', password='p', project_name='new',
                                  user_domain_name='D', project_domain_name='D')
    environ = dict(OS_AUTH_URL='http://k/v3', OS_APPLICATION_CREDENTIAL_ID='id', OS_APPLICATION_CREDENTIAL_SECRET='s',
                   OS_REGION_NAME='R1')
    kwargs, who, _url = connection_settings({}, environ)
    assert kwargs['auth_type'] == 'v3applicationcredential'
    assert kwargs['auth'] == dict(auth_url='http://k/v3', application_credential_id='id',
                                  application_credential_secret='s')
    with pytest.raises(AccessDenied, match='OS_PROJECT_NAME needs'):
        connection_settings({}, dict(OS_AUTH_URL='u', OS_USERNAME='u', OS_PASSWORD='p', OS_PROJECT_NAME='p',
                                     OPENSTACK_CREDENTIAL_FILE='/nonexistent'))


def test_auth_option_takes_precedence(os_environment, swift_server):
    auth = dict(auth_url=swift_server.auth_url, username='tester', password=os_environment['OS_PASSWORD'],
                project_name='kops', user_domain_name='Default', project_domain_name='Default')
    settings = dict(openstack_auth=auth, openstack_region_name=os_environment['OS_REGION_NAME'])
    store = open_store('swift://%s/c1' % unique('option'), dict(settings))
    store.create('config', b'x')
    settings['openstack_auth'] = dict(auth, password='wrong')
    with pytest.raises(AccessDenied):
        open_store(store.location.render(), settings).read('config')


def test_sdk_is_imported_lazily():
    assert 'openstack' not in dir(backends.swift)


def test_clouds_yaml(os_environment, monkeypatch, tmp_path, swift_server):
    """OS_CLOUD names a cloud of clouds.yaml when the OS_* credentials are incomplete."""
    path = tmp_path / 'clouds.yaml'
    path.write_text(
        'clouds:\n  test:\n    region_name: %s\n    auth:\n      auth_url: %s\n      username: tester\n'
        '      password: %s\n      project_name: kops\n      user_domain_name: Default\n'
        '      project_domain_name: Default\n'
        % (os_environment['OS_REGION_NAME'], swift_server.auth_url, os_environment['OS_PASSWORD']))
    for name in list(os_environment):
        if name.startswith('OS_'):
            monkeypatch.delenv(name)
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(path))
    monkeypatch.setenv('OS_CLOUD', 'test')
    store = open_store('swift://%s/c1' % unique('clouds'))
    store.create('config', b'from clouds.yaml')
    assert open_store(store.location.render(), dict(openstack_cloud='test')).read('config')[0] == b'from clouds.yaml'


def test_unknown_auth_key_is_refused():
    settings = dict(openstack_auth=dict(auth_url='http://127.0.0.1:1/v3', username='u', password='p', bogus='x'),
                    openstack_region_name='R')
    with pytest.raises(AccessDenied, match='unknown OpenStack password credential key'):
        open_store('swift://c/p', settings).read('config')


def _create_at(arguments):
    """One process's create-if-absent, started at a shared instant."""
    import time

    location, start_at, number = arguments
    time.sleep(max(0.0, start_at - time.time()))
    try:
        open_store(location).create('lock', str(number).encode())
        return number
    except AlreadyExists:
        return None


def test_create_race_across_processes_has_one_winner(os_environment, contract_container):
    """Swift lets overlapping If-None-Match PUTs all succeed; the create marker read back after the settle
    time must leave exactly one winner, whose content is the entry's."""
    import multiprocessing
    import time

    with multiprocessing.get_context('fork').Pool(8) as pool:
        for _round in range(3):
            location = 'swift://%s/%s' % (contract_container, unique('race'))
            start_at = time.time() + 2.0  # after every worker has started and authenticated
            winners = [n for n in pool.map(_create_at, [(location, start_at, n) for n in range(8)]) if n is not None]
            assert len(winners) == 1, winners
            assert open_store(location).read('lock')[0] == str(winners[0]).encode()

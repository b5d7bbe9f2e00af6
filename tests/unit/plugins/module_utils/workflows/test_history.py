"""module_utils/workflows/history.py on real file:// stores holding kOps's fixtures as kOps lays them out, with the real git:
what a snapshot records and when it commits, that secrets never reach the repository in clear, what a drift report
finds and that it writes nothing, and what a restore writes, refuses, plans and guards."""

import os
import subprocess

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation, PreconditionFailed
from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.workflows import ansible_vault_file
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history import History, Opener
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history_repository import (
    Git,
    HistoryError,
    checked_folder,
    read_snapshots,
    store_folder,
)
from support.paths import KOPS_CLUSTERS

FIXTURE = os.path.join(KOPS_CLUSTERS, 'minimal-aws.yaml')
FIXTURE_NAME = 'minimal-aws.example.com'
PASSWORD = b'history-test-password'
SECRET = 'Secret-Token-4f1c9a'  # the clear text every scan looks for
SECRETS = {
    'secrets/admin': '{"Data": "%s"}' % SECRET,
    'pki/private/kubernetes-ca/keyset.yaml': 'spec:\n  keys:\n  - privateMaterial: %s\n' % SECRET,
    'backups/etcd/main/snapshot': 'etcd %s' % SECRET,
}
PUBLIC = {
    'kops-version.txt': '1.30.4',
    'addons/bootstrap-channel.yaml': 'kind: Addons\nspec:\n  addons:\n  - name: kops-controller\n',
}
GIT_ENVIRONMENT = dict(os.environ, LC_ALL='C', GIT_TERMINAL_PROMPT='0', GIT_LITERAL_PATHSPECS='1',
                       GIT_CONFIG_NOSYSTEM='1', GIT_CONFIG_GLOBAL=os.devnull,
                       GIT_AUTHOR_NAME='Tester', GIT_AUTHOR_EMAIL='tester@example.com',
                       GIT_COMMITTER_NAME='Robot', GIT_COMMITTER_EMAIL='robot@example.com')


def run_git(arguments, data=None):
    completed = subprocess.run(['git'] + arguments, input=data, capture_output=True, env=GIT_ENVIRONMENT, check=False)
    return completed.returncode, completed.stdout, completed.stderr


def git(repository, *arguments):
    return run_git(['-C', str(repository)] + list(arguments))[1].decode('utf-8', 'replace')


def put_cluster(store, name):
    """Cluster ``name`` from the fixture with keys, secrets and a backup; returns {path relative to it: bytes}."""
    with open(FIXTURE) as handle:
        documents = list(yaml.safe_load_all(handle.read().replace(FIXTURE_NAME, name)))
    written = {}
    for document in documents:
        path = 'config' if document['kind'] == 'Cluster' else 'instancegroup/' + document['metadata']['name']
        written[path] = yaml.safe_dump(document).encode()
    for path, text in list(SECRETS.items()) + list(PUBLIC.items()):
        written[path] = text.encode()
    for path, data in written.items():
        store.write('%s/%s' % (name, path), data)
    return written


@pytest.fixture
def store(tmp_path):
    return open_store('file://%s' % (tmp_path / 'store'))


@pytest.fixture
def repository(tmp_path):
    return str(tmp_path / 'history')


def history(store, repository, password=None, **options):
    return History(store, Git(run_git, repository), store_folder(store.location), password=password, **options)


def every_object(repository):
    """Every object git keeps (loose and packed), uncompressed, and every other file of .git as it is."""
    objects = run_git(['-C', repository, 'cat-file', '--batch-all-objects', '--batch'])[1]
    raw = b''
    for folder, _folders, names in os.walk(os.path.join(repository, '.git')):
        for name in names:
            with open(os.path.join(folder, name), 'rb') as handle:
                raw += handle.read()
    return objects + raw


def working_tree(root):
    files = {}
    for folder, _folders, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), 'rb') as handle:
                files[os.path.relpath(os.path.join(folder, name), root)] = handle.read()
    return files


def tree(store, prefix=''):
    return dict((entry.path, store.read(entry.path)[0]) for entry in store.list(prefix, recursive=True))


# -- where things are --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('location, folder', [
    ('s3://bucket', 's3/bucket'),
    ('s3://bucket/team/prod', 's3/bucket/team/prod'),
    ('gs://bucket/kops', 'gs/bucket/kops'),
    ('file:///srv/kops-state', 'file/srv/kops-state'),
    ('memfs://demo', 'memfs/demo'),
])
def test_store_folders(location, folder):
    assert store_folder(parse_location(location)) == folder


@pytest.mark.parametrize('folder', ['.git', 'a/.git/b', '../up', '/', '', 'a/.kops-history'])
def test_folders_that_are_refused(folder):
    with pytest.raises(BadLocation):
        checked_folder(folder)


# -- snapshot ----------------------------------------------------------------------------------------------------

def test_snapshot_records_public_entries_and_commits_only_on_change(store, repository):
    written = put_cluster(store, 'a.example.com')
    first = history(store, repository).snapshot()
    assert first['changed'] and first['initialised'] and first['previous'] is None
    report = first['clusters']['a.example.com']
    public = sorted(path for path in written if path not in SECRETS)
    assert report['added'] == public and report['changed'] == report['removed'] == []
    assert report['secrets_left_out'] == 3 and report['secrets_encrypted'] == 0
    folder = os.path.join(repository, store_folder(store.location), 'a.example.com')
    assert working_tree(folder) == dict((path, written[path]) for path in public)
    log = git(repository, 'log', '--format=%an|%cn|%B')
    assert log.startswith('Tester|Robot|Snapshot of %s: a.example.com: %d added, 0 changed, 0 removed'
                          % (store.render(), len(public)))
    assert 'a.example.com: %d added, 0 changed, 0 removed; 3 secret entries left out' % len(public) in log
    assert SECRET.encode() not in every_object(repository)

    again = history(store, repository).snapshot()
    assert not again['changed'] and again['commit'] == first['commit'] and again['message'] is None
    assert git(repository, 'rev-list', '--count', 'HEAD').strip() == '1'

    store.write('a.example.com/kops-version.txt', b'1.31.0')
    store.write('a.example.com/addons/new.yaml', b'kind: Addons\n')
    store.delete('a.example.com/addons/bootstrap-channel.yaml')
    third = history(store, repository).snapshot()
    assert third['changed'] and third['previous'] == first['commit'] != third['commit']
    assert third['clusters']['a.example.com']['added'] == ['addons/new.yaml']
    assert third['clusters']['a.example.com']['changed'] == ['kops-version.txt']
    assert third['clusters']['a.example.com']['removed'] == ['addons/bootstrap-channel.yaml']
    assert 'a.example.com: 1 added, 1 changed, 1 removed' in third['message']
    assert git(repository, 'status', '--porcelain') == ''


def test_secrets_are_encrypted_before_they_reach_the_repository(store, repository):
    written = put_cluster(store, 'a.example.com')
    first = history(store, repository, PASSWORD).snapshot(secrets=True, diff=True)
    assert first['clusters']['a.example.com']['secrets_encrypted'] == 3
    folder = os.path.join(repository, store_folder(store.location), 'a.example.com')
    files = working_tree(folder)
    assert sorted(files) == sorted(written)
    for path in SECRETS:
        assert ansible_vault_file.is_vault_text(files[path])
        assert ansible_vault_file.decrypt(files[path], PASSWORD, path) == written[path]
    assert SECRET.encode() not in every_object(repository)
    assert b'name: kops-controller' in every_object(repository)  # the scan finds what is there
    assert SECRET not in repr(first)  # the result and its diff

    again = history(store, repository, PASSWORD).snapshot(secrets=True)
    assert not again['changed']  # new ciphertext of the same content would be a change on every run
    assert working_tree(folder) == files

    store.write('a.example.com/secrets/admin', b'{"Data": "cm90YXRlZA=="}')
    rotated = history(store, repository, PASSWORD).snapshot(secrets=True, diff=True)
    assert rotated['clusters']['a.example.com']['changed'] == ['secrets/admin']
    assert rotated['diff'] == []  # a secret's change is named, never shown

    without = history(store, repository).snapshot()
    assert without['clusters']['a.example.com']['removed'] == sorted(SECRETS)
    assert SECRET.encode() not in every_object(repository)


def test_check_mode_writes_nothing_not_even_the_repository(store, repository):
    put_cluster(store, 'a.example.com')
    plan = history(store, repository).snapshot(check_mode=True, diff=True)
    assert plan['changed'] and plan['initialised'] and plan['commit'] is None
    assert 'config' in plan['clusters']['a.example.com']['added']
    assert any(item['after_header'].endswith('a.example.com/config') and item['before'] == '' for item in plan['diff'])
    assert not os.path.exists(repository)


def test_clusters_gone_from_the_store_are_recorded_as_removed(store, repository):
    put_cluster(store, 'a.example.com')
    put_cluster(store, 'b.example.com')
    history(store, repository).snapshot()
    for entry in store.list('b.example.com', recursive=True):
        store.delete(entry.path)
    result = history(store, repository).snapshot()
    assert result['clusters']['b.example.com']['gone'] and result['clusters']['b.example.com']['differs']
    assert not result['clusters']['a.example.com']['differs']
    assert 'b.example.com: gone from the store' in result['message']
    assert not os.path.exists(os.path.join(repository, store_folder(store.location), 'b.example.com'))
    assert sorted(read_snapshots(Git(run_git, repository), 'HEAD', store_folder(store.location))) == ['a.example.com']


def test_named_clusters_must_exist_and_others_are_left_alone(store, repository):
    put_cluster(store, 'a.example.com')
    put_cluster(store, 'b.example.com')
    with pytest.raises(HistoryError, match='no cluster typo.example.com'):
        history(store, repository).snapshot(['typo.example.com'])
    history(store, repository).snapshot(['a.example.com'])
    assert sorted(read_snapshots(Git(run_git, repository), 'HEAD', store_folder(store.location))) == ['a.example.com']


def test_someone_elses_edit_in_the_folder_is_put_back(store, repository):
    put_cluster(store, 'a.example.com')
    history(store, repository).snapshot()
    edited = os.path.join(repository, store_folder(store.location), 'a.example.com', 'kops-version.txt')
    with open(edited, 'w') as handle:
        handle.write('edited by hand')
    with open(edited + '.extra', 'w') as handle:
        handle.write('stray')
    assert not history(store, repository).snapshot()['changed']
    assert git(repository, 'status', '--porcelain') == ''


def test_a_file_committed_by_hand_is_compared_by_content_not_trusted(store, repository):
    """Entries the listing shows unchanged come from git only when the committed file hashes as the listing says:
    a file someone committed over the snapshot (same size) is found changed and the store's content recorded."""
    put_cluster(store, 'a.example.com')
    history(store, repository).snapshot()
    edited = os.path.join(repository, store_folder(store.location), 'a.example.com', 'kops-version.txt')
    with open(edited, 'w') as handle:
        handle.write('9.99.9')
    git(repository, 'commit', '-q', '-am', 'edited by hand')
    again = history(store, repository).snapshot()
    assert again['changed'] and again['clusters']['a.example.com']['changed'] == ['kops-version.txt']
    assert history(store, repository).drift()['drifted'] == []
    with open(edited, 'rb') as handle:
        assert handle.read() == b'1.30.4'


def test_entries_that_are_also_folders_are_refused(repository):
    store = open_store('memfs://history-clash')  # like S3, it can hold an entry and a folder of the same name
    put_cluster(store, 'a.example.com')
    store.write('a.example.com/addons', b'an object named like the folder')
    store.write('a.example.com/addons/bootstrap-channel.yaml', b'kind: Addons\n')
    with pytest.raises(HistoryError, match=r'\(addons\)'):
        history(store, repository).snapshot()
    assert not os.path.exists(repository + '/memfs')
    assert 'addons/bootstrap-channel.yaml' in history(store, repository, exclude=['addons']).snapshot()['clusters'][
        'a.example.com']['added']


def test_excluded_entries_are_not_recorded(store, repository):
    put_cluster(store, 'a.example.com')
    result = history(store, repository, PASSWORD, exclude=['backups/*']).snapshot(secrets=True)
    assert result['clusters']['a.example.com']['secrets_encrypted'] == 2


def test_a_wrong_vault_password_stops_the_snapshot_without_a_change(store, repository):
    put_cluster(store, 'a.example.com')
    history(store, repository, PASSWORD).snapshot(secrets=True)
    head = git(repository, 'rev-parse', 'HEAD')
    store.write('a.example.com/kops-version.txt', b'1.31.0')
    with pytest.raises(ansible_vault_file.VaultFormatError, match='cannot be decrypted'):
        history(store, repository, b'another password').snapshot(secrets=True)
    assert git(repository, 'rev-parse', 'HEAD') == head and git(repository, 'status', '--porcelain') == ''


# -- drift -------------------------------------------------------------------------------------------------------

def test_drift_names_what_differs_and_writes_nothing(store, repository):
    put_cluster(store, 'a.example.com')
    history(store, repository, PASSWORD).snapshot(secrets=True)
    assert history(store, repository, PASSWORD).drift(secrets=True)['drifted'] == []
    store.write('a.example.com/kops-version.txt', b'1.31.0')
    store.write('a.example.com/secrets/admin', b'{"Data": "cm90YXRlZA=="}')
    store.write('a.example.com/addons/new.yaml', b'kind: Addons\n')
    store.delete('a.example.com/addons/bootstrap-channel.yaml')
    before = (git(repository, 'rev-parse', 'HEAD'), working_tree(repository))

    public = history(store, repository).drift(diff=True)
    report = public['clusters']['a.example.com']
    assert public['drifted'] == ['a.example.com'] and not public['changed']
    assert (report['added'], report['changed'], report['removed']) == (
        ['addons/new.yaml'], ['kops-version.txt'], ['addons/bootstrap-channel.yaml'])
    assert report['secrets_not_compared'] == 6  # three left out in the store, three encrypted in the snapshot
    versions = [item for item in public['diff'] if item['after_header'].endswith('kops-version.txt')]
    assert versions[0]['before'] == '1.30.4' and versions[0]['after'] == '1.31.0'

    with_secrets = history(store, repository, PASSWORD).drift(secrets=True, diff=True)
    assert with_secrets['clusters']['a.example.com']['changed'] == ['kops-version.txt', 'secrets/admin']
    assert not any('secrets/admin' in item['after_header'] for item in with_secrets['diff'])
    assert SECRET not in repr(with_secrets)
    assert (git(repository, 'rev-parse', 'HEAD'), working_tree(repository)) == before


def test_drift_against_an_older_commit_and_of_clusters_on_one_side_only(store, repository):
    put_cluster(store, 'a.example.com')
    first = history(store, repository).snapshot()['commit']
    store.write('a.example.com/kops-version.txt', b'1.31.0')
    history(store, repository).snapshot()
    put_cluster(store, 'new.example.com')
    assert history(store, repository).drift()['drifted'] == ['new.example.com']
    older = history(store, repository).drift(first[:10])
    assert older['commit'] == first and older['drifted'] == ['a.example.com', 'new.example.com']
    assert not older['clusters']['new.example.com']['in_snapshot']
    with pytest.raises(HistoryError, match='names no commit'):
        history(store, repository).drift('no-such-tag')


# -- restore -----------------------------------------------------------------------------------------------------

def snapshot_then_change(store, repository, password=None):
    """Snapshot 1, a change recorded by snapshot 2; returns (commit 1, the entries at commit 1)."""
    written = put_cluster(store, 'a.example.com')
    first = history(store, repository, password).snapshot(secrets=bool(password))['commit']
    store.write('a.example.com/kops-version.txt', b'1.31.0')
    store.write('a.example.com/addons/new.yaml', b'kind: Addons\n')
    history(store, repository, password).snapshot(secrets=bool(password))
    return first, written


def test_restore_of_a_recorded_change(store, repository):
    first, written = snapshot_then_change(store, repository)
    result = history(store, repository).restore(['a.example.com'], first, diff=True)
    assert result['changed'] and not result['forced']
    assert result['clusters']['a.example.com']['plan'] == [
        dict(action='update', path='kops-version.txt', secret=False)]
    assert store.read('a.example.com/kops-version.txt')[0] == written['kops-version.txt']
    assert store.read('a.example.com/addons/new.yaml')[0] == b'kind: Addons\n'  # never deleted unless asked
    assert result['diff'][0]['before'] == '1.31.0' and result['diff'][0]['after'] == '1.30.4'

    deleted = history(store, repository).restore(['a.example.com'], first, delete=True)
    assert deleted['clusters']['a.example.com']['plan'] == [dict(action='delete', path='addons/new.yaml', secret=False)]
    assert 'a.example.com/addons/new.yaml' not in tree(store)
    assert SECRETS['secrets/admin'].encode() == store.read('a.example.com/secrets/admin')[0]  # left alone
    assert not history(store, repository).restore(['a.example.com'], first, delete=True)['changed']


def test_restore_over_unrecorded_changes_is_refused_naming_them(store, repository):
    first, _written = snapshot_then_change(store, repository)
    store.write('a.example.com/kops-version.txt', b'1.32.0')  # not in any snapshot
    store.write('a.example.com/addons/new.yaml', b'kind: Addons\nchanged: true\n')
    before = tree(store)
    with pytest.raises(HistoryError) as caught:
        history(store, repository).restore(['a.example.com'], first, delete=True)
    assert 'a.example.com: addons/new.yaml, kops-version.txt' in str(caught.value)
    assert 'nothing was written' in str(caught.value)
    assert tree(store) == before

    plan = history(store, repository).restore(['a.example.com'], first, delete=True, force=True, check_mode=True)
    assert plan['forced'] and plan['clusters']['a.example.com']['conflicts'] == ['addons/new.yaml', 'kops-version.txt']
    assert [(step['action'], step['path']) for step in plan['clusters']['a.example.com']['plan']] == [
        ('update', 'kops-version.txt'), ('delete', 'addons/new.yaml')]  # writes first, deletes last
    assert tree(store) == before

    forced = history(store, repository).restore(['a.example.com'], first, delete=True, force=True)
    assert forced['changed'] and store.read('a.example.com/kops-version.txt')[0] == b'1.30.4'


def test_restore_of_a_cluster_with_an_entry_created_since_is_not_a_conflict(store, repository):
    first, _written = snapshot_then_change(store, repository)
    store.delete('a.example.com/kops-version.txt')  # gone since: writing it back loses nothing
    result = history(store, repository).restore(['a.example.com'], first)
    assert result['clusters']['a.example.com']['plan'] == [dict(action='create', path='kops-version.txt', secret=False)]


def test_secrets_are_restored_only_when_asked(store, repository):
    first, written = snapshot_then_change(store, repository, PASSWORD)
    store.write('a.example.com/secrets/admin', b'{"Data": "cm90YXRlZA=="}')
    history(store, repository, PASSWORD).snapshot(secrets=True)

    public = history(store, repository).restore(['a.example.com'], first, delete=True)
    assert public['clusters']['a.example.com']['secrets_not_restored'] == 3
    assert store.read('a.example.com/secrets/admin')[0] == b'{"Data": "cm90YXRlZA=="}'

    restored = history(store, repository, PASSWORD).restore(['a.example.com'], first, secrets=True, diff=True)
    assert restored['clusters']['a.example.com']['plan'] == [dict(action='update', path='secrets/admin', secret=True)]
    assert restored['diff'] == []
    assert store.read('a.example.com/secrets/admin')[0] == written['secrets/admin']
    assert SECRET not in repr(restored) and SECRET not in repr(public)


def test_a_restore_write_expects_the_version_it_read(store, repository):
    first, _written = snapshot_then_change(store, repository)
    restorer = history(store, repository)
    source = read_snapshots(restorer.git, first, restorer.folder)['a.example.com']
    latest = read_snapshots(restorer.git, 'HEAD', restorer.folder)['a.example.com']
    plan = restorer._plan('a.example.com', source, latest, False, False, Opener(restorer.git, None, first))
    store.write('a.example.com/kops-version.txt', b'written by someone else meanwhile')
    with pytest.raises(PreconditionFailed):
        plan.apply(store, 'a.example.com', None)
    assert store.read('a.example.com/kops-version.txt')[0] == b'written by someone else meanwhile'


def test_restore_into_another_store(store, repository, tmp_path):
    _first, written = snapshot_then_change(store, repository, PASSWORD)
    other = open_store('file://%s' % (tmp_path / 'other'))
    result = History(other, Git(run_git, repository), store_folder(other.location), password=PASSWORD).restore(
        ['a.example.com'], source_folder=store_folder(store.location), secrets=True)
    assert result['source_folder'] == store_folder(store.location)
    assert tree(other) == tree(store)
    assert not History(other, Git(run_git, repository), store_folder(other.location), password=PASSWORD).restore(
        ['a.example.com'], source_folder=store_folder(store.location), secrets=True)['changed']


def test_restore_of_a_cluster_the_commit_lacks(store, repository):
    put_cluster(store, 'a.example.com')
    history(store, repository).snapshot()
    with pytest.raises(HistoryError, match='no snapshot of b.example.com'):
        history(store, repository).restore(['b.example.com'])
    with pytest.raises(HistoryError, match='not a git repository'):
        history(store, repository + '-missing').restore(['a.example.com'])


# -- links committed into the working tree -------------------------------------------------------------------------

def commit_link(repository, path, target):
    """What a collaborator of a shared repository can do: commit a symbolic link at ``path`` of the working tree."""
    full = os.path.join(repository, path)
    if os.path.lexists(full):
        subprocess.run(['rm', '-rf', full], check=True)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)
    git(repository, 'add', '-A', '--', path)
    git(repository, 'commit', '-q', '-m', 'a link', '--', path)
    return git(repository, 'rev-parse', 'HEAD').strip()


@pytest.fixture
def outside(tmp_path):
    """A folder outside the repository, with a file the links point at."""
    folder = tmp_path / 'outside'
    folder.mkdir()
    (folder / 'victim').write_bytes(b'not yours\n')
    (folder / 'bootstrap-channel.yaml').write_bytes(b'not yours either\n')
    return folder


def outside_files(folder):
    return working_tree(str(folder))


@pytest.mark.parametrize('link, target, entry', [
    ('kops-version.txt', 'victim', 'kops-version.txt'),  # a file, linked to one outside
    ('addons', '', 'addons/bootstrap-channel.yaml'),  # a folder, linked to one outside
    ('kops-version.txt', '1.31.0', 'kops-version.txt'),  # a link whose target reads as the entry's new content
])
def test_a_link_in_the_working_tree_is_replaced_never_followed(store, repository, outside, link, target, entry):
    """A link committed where the snapshot writes (a file, or a folder on its way): the next snapshot writes a real
    file there, the file outside stays as it was, and the run reports the change it commits."""
    put_cluster(store, 'a.example.com')
    history(store, repository).snapshot()
    folder = '%s/a.example.com' % store_folder(store.location)
    linked = commit_link(repository, '%s/%s' % (folder, link), str(outside / target) if target != '1.31.0' else target)
    before = outside_files(outside)
    store.write('a.example.com/kops-version.txt', b'1.31.0')

    def reported(result):
        """The entry as the report names it: changed, or (below a linked folder, which goes) added."""
        report = result['clusters']['a.example.com']
        return entry in report['changed'] or (entry in report['added'] and report['removed'] == [link])

    plan = history(store, repository).snapshot(check_mode=True)
    assert plan['changed'] and reported(plan) and outside_files(outside) == before
    result = history(store, repository).snapshot()
    assert outside_files(outside) == before
    assert result['changed'] and result['previous'] == linked != result['commit'] and reported(result)
    path = os.path.join(repository, folder, entry)
    assert not os.path.islink(path) and not os.path.islink(os.path.dirname(path))
    with open(path, 'rb') as handle:
        assert handle.read() == store.read('a.example.com/' + entry)[0]
    assert git(repository, 'ls-tree', '-r', 'HEAD', '--', '%s/%s' % (folder, entry)).startswith('100644 blob ')
    assert git(repository, 'status', '--porcelain') == ''
    assert not history(store, repository).snapshot()['changed']


def test_a_link_where_the_store_has_no_entry_is_removed(store, repository, outside):
    put_cluster(store, 'a.example.com')
    history(store, repository).snapshot()
    folder = '%s/a.example.com' % store_folder(store.location)
    commit_link(repository, folder + '/extra', str(outside / 'victim'))
    before = outside_files(outside)
    result = history(store, repository).snapshot()
    assert result['changed'] and result['clusters']['a.example.com']['removed'] == ['extra']
    assert not os.path.lexists(os.path.join(repository, folder, 'extra')) and outside_files(outside) == before
    assert git(repository, 'status', '--porcelain') == ''


def test_a_linked_store_folder_is_replaced(store, repository, outside):
    """The store's whole folder in the repository committed as a link to a folder outside: the snapshot does not
    write into it, and the clusters are recorded again below a real folder."""
    put_cluster(store, 'a.example.com')
    history(store, repository).snapshot()
    commit_link(repository, store_folder(store.location), str(outside))
    before = outside_files(outside)
    result = history(store, repository).snapshot()
    assert outside_files(outside) == before
    assert result['changed'] and 'config' in result['clusters']['a.example.com']['added']
    assert not os.path.islink(os.path.join(repository, store_folder(store.location)))
    assert git(repository, 'status', '--porcelain') == ''

"""Many clusters moved in one run (module_utils/workflows/migration.py, the migrate_state_store role's engine), on real
file:// stores holding kOps's fixtures as kOps lays them out: what moves, what each refusal leaves untouched,
what a second run may and may not write, what check mode writes (nothing), and when the source is removed."""

import os

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.workflows.migration import Migration
from support.paths import KOPS_CLUSTERS

FIXTURE = os.path.join(KOPS_CLUSTERS, 'minimal-aws.yaml')
FIXTURE_NAME = 'minimal-aws.example.com'
# a cluster folder as kOps leaves it: SSH keys under pki/ssh, etcd backups, update output
EXTRA = ('pki/private/kubernetes-ca/keyset.yaml', 'pki/issued/kubernetes-ca/keyset.yaml', 'secrets/admin',
         'pki/ssh/public/admin/3f2a', 'backups/etcd/main/2026-11-30T00:00:00Z-000001/etcd.backup.gz',
         'cluster-completed.spec', 'kops-version.txt', 'igconfig/node/nodes/nodeupconfig.yaml')


def put_cluster(store, name, config_base=None, **spec):
    """Write cluster ``name`` from the fixture into ``store`` as kOps lays it out; returns {path: bytes}."""
    with open(FIXTURE) as handle:
        documents = list(yaml.safe_load_all(handle.read().replace(FIXTURE_NAME, name)))
    written = {}
    for document in documents:
        if document['kind'] == 'Cluster':
            document['spec']['configBase'] = config_base or store.render(name)
            document['spec'].update(spec)
            path = cl.config_path(name)
        else:
            path = cl.group_path(name, document['metadata']['name'])
        written[path] = yaml.safe_dump(document).encode('utf-8')
    for extra in EXTRA:
        written['%s/%s' % (name, extra)] = ('%s of %s\n' % (extra, name)).encode('utf-8')
    for path, data in written.items():
        store.write(path, data)
    return written


def tree(store):
    return dict((entry.path, store.read(entry.path)[0]) for entry in store.list('', recursive=True) if not entry.is_dir)


def spec_of(store, name):
    return yaml.safe_load(store.read(cl.config_path(name))[0])['spec']


@pytest.fixture
def stores(tmp_path):
    return open_store('file://%s' % (tmp_path / 'old')), open_store('file://%s' % (tmp_path / 'new'))


def move(source, destination, names=(), **options):
    migration = Migration(source, destination, list(names), parallel=4, **options)
    return migration


def test_every_cluster_moves_in_one_run_and_the_source_is_only_read(stores):
    old, new = stores
    written = {}
    for number in range(3):
        written.update(put_cluster(old, 'c%d.example.com' % number,
                                   keyStore=old.render('c%d.example.com/pki' % number)))
    before = tree(old)
    migration = move(old, new)
    migration.copy()
    assert tree(old) == before
    moved = tree(new)
    assert sorted(moved) == sorted(written)
    for path, data in written.items():
        if not path.endswith('/config'):
            assert moved[path] == data, path
    for number in range(3):
        name = 'c%d.example.com' % number
        spec = spec_of(new, name)
        assert spec['configBase'] == new.render(name)
        assert spec['keyStore'] == new.render(name + '/pki')
        assert migration.results()[name]['refused'] is None
    assert migration.copied == len(written)


def test_each_refusal_leaves_its_cluster_alone_and_the_others_move(stores):
    old, new = stores
    put_cluster(old, 'good.example.com')
    put_cluster(old, 'taken.example.com')
    theirs = put_cluster(new, 'taken.example.com', config_base='s3://someone-else/taken.example.com')
    put_cluster(old, 'keys-elsewhere.example.com', keyStore=old.render('shared-pki'))
    migration = move(old, new, ['good.example.com', 'taken.example.com', 'keys-elsewhere.example.com',
                                'nowhere.example.com'])
    migration.copy()
    refusals = migration.refusals
    assert sorted(refusals) == ['keys-elsewhere.example.com', 'nowhere.example.com', 'taken.example.com']
    assert 'is not a copy of' in refusals['taken.example.com'] and 's3://someone-else' in refusals['taken.example.com']
    assert 'keyStore of keys-elsewhere.example.com point into' in refusals['keys-elsewhere.example.com']
    assert 'in neither' in refusals['nowhere.example.com']
    after = tree(new)
    assert not [path for path in after if path.startswith('keys-elsewhere.example.com/')]
    assert dict((path, data) for path, data in after.items() if path.startswith('taken.example.com/')) == theirs
    assert spec_of(new, 'good.example.com')['configBase'] == new.render('good.example.com')


def test_a_moved_cluster_only_gains_what_is_missing(stores):
    old, new = stores
    put_cluster(old, 'a.example.com')
    move(old, new).copy()
    # kops update rewrote an entry at the destination; etcd-manager on an old node added a backup in the source
    new.write('a.example.com/kops-version.txt', b'1.31.0\n')
    old.write('a.example.com/backups/etcd/main/2026-12-01T00:00:00Z-000002/etcd.backup.gz', b'newer backup')
    old.write('a.example.com/secrets/admin', b'changed in the old store')
    migration = move(old, new)
    migration.copy()
    assert migration.results()['a.example.com']['moved_before'] is True
    assert migration.results()['a.example.com']['copied'] == 1
    assert migration.listed_copies(10) == ['a.example.com/backups/etcd/main/2026-12-01T00:00:00Z-000002/etcd.backup.gz']
    assert new.read('a.example.com/kops-version.txt')[0] == b'1.31.0\n'
    assert new.read('a.example.com/secrets/admin')[0] == b'secrets/admin of a.example.com\n'


def test_check_mode_writes_nothing_and_tells_the_plan(stores):
    old, new = stores
    written = put_cluster(old, 'a.example.com', secretStore=old.render('a.example.com/secrets'))
    before = tree(old)
    migration = move(old, new, check_mode=True)
    migration.copy()
    migration.remove_source()
    assert tree(new) == {} and tree(old) == before
    result = migration.results()['a.example.com']
    assert result['copied'] == len(written) and migration.listed_copies(len(written)) == sorted(written)
    assert result['spec'] == dict(configBase=new.render('a.example.com'),
                                  secretStore=new.render('a.example.com/secrets'))
    # what the copy would bring counts as present: the plan removes the source
    assert result['source_removed'] is True and migration.refusals == {}


def test_the_source_goes_only_when_every_other_entry_is_equal(stores):
    old, new = stores
    put_cluster(old, 'a.example.com')
    put_cluster(old, 'b.example.com')
    move(old, new).copy()
    # what kops update writes may differ; anything else keeps the source
    new.write('a.example.com/igconfig/node/nodes/nodeupconfig.yaml', b'configBase: new\n')
    group = yaml.safe_load(new.read('b.example.com/instancegroup/nodes')[0])
    group['spec']['maxSize'] = 7
    new.write('b.example.com/instancegroup/nodes', yaml.safe_dump(group).encode('utf-8'))
    migration = move(old, new)
    kept = migration.remove_source()
    assert list(kept) == ['b.example.com'] and kept['b.example.com'] == ['b.example.com/instancegroup/nodes']
    message = migration.refusals['b.example.com']
    assert 'missing or different' in message and 'instancegroup/nodes' in message
    assert 'The source was not removed' in message
    remaining = tree(old)
    assert not [path for path in remaining if path.startswith('a.example.com/')]
    assert 'b.example.com/config' in remaining


def test_a_store_moves_into_a_folder_of_itself(tmp_path):
    root = open_store('file://%s' % (tmp_path / 'store'))
    put_cluster(root, 'a.example.com')
    inside = open_store('file://%s' % (tmp_path / 'store' / 'kops'))
    put_cluster(root, 'kops')  # a cluster whose new folder would lie inside its old one
    migration = move(root, inside, ['a.example.com', 'kops'])
    migration.copy()
    assert 'overlap' in migration.refusals['kops']
    assert spec_of(inside, 'a.example.com')['configBase'] == inside.render('a.example.com')
    assert not [path for path in tree(inside) if path.startswith('kops/')]


def test_a_rewrite_kops_would_refuse_is_not_written(stores):
    old, new = stores
    put_cluster(old, 'a.example.com')
    config = yaml.safe_load(old.read('a.example.com/config')[0])
    config['spec']['kubernetesVerison'] = '1.31.4'  # stored with a typo: kept (with a warning), not introduced
    old.write('a.example.com/config', yaml.safe_dump(config).encode('utf-8'))
    migration = move(old, new)
    migration.copy()
    assert spec_of(new, 'a.example.com')['configBase'] == new.render('a.example.com')
    assert any('kubernetesVerison' in warning for warning in migration.warnings)


def test_a_cluster_that_cannot_be_read_is_refused_alone(stores):
    old, new = stores
    put_cluster(old, 'a.example.com')
    put_cluster(old, 'b.example.com')
    new.write('b.example.com/config', b'spec: [not, a, cluster\n')
    migration = move(old, new)
    migration.copy()
    assert list(migration.refusals) == ['b.example.com']
    assert new.read('b.example.com/config')[0] == b'spec: [not, a, cluster\n'
    assert spec_of(new, 'a.example.com')['configBase'] == new.render('a.example.com')


# -- the config is compared too, as the move leaves it ---------------------------------------------------------------

def edit_config(store, name, **spec):
    """What kops edit cluster does to a config: the spec changed, metadata.generation counted up."""
    config = yaml.safe_load(store.read(cl.config_path(name))[0])
    config['spec'].update(spec)
    config['metadata']['generation'] = int(config['metadata'].get('generation') or 0) + 1
    store.write(cl.config_path(name), yaml.safe_dump(config).encode('utf-8'))


@pytest.mark.parametrize('check_mode', [False, True])
def test_an_edit_of_the_source_config_after_the_copy_keeps_the_source(stores, check_mode):
    """Copied, then kops edit cluster against the old store: the removal compares the config as the move leaves it
    (the source's with the configBase rewrite applied), names the cluster and the field, and removes nothing - even
    with update_rewrites covering every entry; once the edit is made alike at the destination, the source goes."""
    old, new = stores
    put_cluster(old, 'a.example.com')
    move(old, new).copy()
    edit_config(old, 'a.example.com', kubernetesVersion='1.31.9')
    before, after_copy = tree(old), tree(new)
    migration = move(old, new, ['a.example.com'], update_rewrites=['*'], check_mode=check_mode)
    kept = migration.remove_source()
    assert kept == {'a.example.com': ['a.example.com/config']}
    message = migration.refusals['a.example.com']
    assert 'config (spec.kubernetesVersion)' in message and 'The source was not removed' in message
    assert tree(old) == before and tree(new) == after_copy
    assert 'source_removed' not in migration.results()['a.example.com']

    edit_config(new, 'a.example.com', kubernetesVersion='1.31.9')
    migration = move(old, new, ['a.example.com'], check_mode=check_mode)
    assert migration.remove_source() == {} and migration.results()['a.example.com']['source_removed'] is True
    assert (tree(old) == before) is check_mode


def test_a_config_edited_at_the_destination_or_never_rewritten_keeps_the_source(stores):
    """The destination's config must be the source's with the move's rewrite: an edit there, or a plain copy whose
    configBase still names the source (removing the source would leave it pointing at nothing), keeps the source."""
    old, new = stores
    put_cluster(old, 'edited.example.com')
    put_cluster(old, 'plain.example.com', keyStore=old.render('plain.example.com/pki'))
    move(old, new, ['edited.example.com']).copy()
    edit_config(new, 'edited.example.com', networkCIDR='172.21.0.0/16')
    for path, data in tree(old).items():  # copied by hand, nothing rewritten
        if path.startswith('plain.example.com/'):
            new.write(path, data)
    before = tree(old)
    migration = move(old, new, ['edited.example.com', 'plain.example.com'])
    assert sorted(migration.remove_source()) == ['edited.example.com', 'plain.example.com']
    assert 'config (spec.networkCIDR)' in migration.refusals['edited.example.com']
    assert 'config (spec.configBase, spec.keyStore)' in migration.refusals['plain.example.com']
    assert tree(old) == before


def test_kops_bookkeeping_is_no_difference(stores):
    """The rewrite counts metadata.generation up and sets a creationTimestamp the source lacked, as kOps does:
    neither keeps the source."""
    old, new = stores
    put_cluster(old, 'a.example.com')
    config = yaml.safe_load(old.read('a.example.com/config')[0])
    del config['metadata']['creationTimestamp']
    old.write('a.example.com/config', yaml.safe_dump(config).encode('utf-8'))
    move(old, new).copy()
    moved = yaml.safe_load(new.read('a.example.com/config')[0])['metadata']
    assert moved['generation'] == 1 and moved['creationTimestamp']
    migration = move(old, new)
    assert migration.remove_source() == {} and tree(old) == {}


# -- key and secret stores, however kOps's config spells them --------------------------------------------------------

def test_stores_inside_the_folder_move_in_every_spelling_kops_reads(stores):
    """keyStore and secretStore as file:// URLs, with a trailing '/', or as bare paths: each is the cluster's folder
    to kOps, so each is repointed, and after the removal no config names the deleted source; a file:// store
    outside the folder is refused as the plain path is."""
    old, new = stores
    folder = old.render('a.example.com')
    spellings = [('file://%s/pki' % folder, 'file://%s/secrets/' % folder), ('%s/pki/' % folder, '%s/secrets' % folder)]
    for number, (key_store, secret_store) in enumerate(spellings):
        name = 'c%d.example.com' % number
        put_cluster(old, name, keyStore=key_store.replace('a.example.com', name),
                    secretStore=secret_store.replace('a.example.com', name))
    put_cluster(old, 'shared.example.com', keyStore='file://%s' % old.render('shared-pki'))
    migration = move(old, new)
    migration.copy()
    assert 'keyStore of shared.example.com point into' in migration.refusals['shared.example.com']
    kept = migration.remove_source()
    assert kept == {}
    for number in range(len(spellings)):
        name = 'c%d.example.com' % number
        spec = spec_of(new, name)
        assert (spec['keyStore'], spec['secretStore']) == (new.render(name + '/pki'), new.render(name + '/secrets'))
    assert sorted(set(path.split('/')[0] for path in tree(old))) == ['shared.example.com']
    assert old.render('') not in new.read('c0.example.com/config')[0].decode()


def test_the_etcd_cluster_spec_kops_update_writes_may_differ(stores):
    """kops update cluster writes <configBase>/backups/etcd/<name>/control/etcd-cluster-spec from the completed spec
    (kOps's etcdmanager model.go), a newer kOps with another etcd version: it does not keep the source."""
    old, new = stores
    put_cluster(old, 'a.example.com')
    spec = 'a.example.com/backups/etcd/main/control/etcd-cluster-spec'
    old.write(spec, b'{\n  "memberCount": 1,\n  "etcdVersion": "3.5.21"\n}')
    move(old, new).copy()
    new.write(spec, b'{\n  "memberCount": 1,\n  "etcdVersion": "3.5.31"\n}')
    assert move(old, new).remove_source() == {} and tree(old) == {}

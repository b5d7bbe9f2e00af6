"""A store written by someone hostile (issue 25, points 3 to 6): whoever can write the bucket decides nothing but data.

- Folder names: only names kOps accepts as cluster names (DNS-1123 subdomains) become inventory hosts, listed clusters
  or history folders; the others are left out with one warning that shows them escaped. ansible-core 2.17 templates
  an inventory host's name where a task uses it (a folder named ``{{ lookup('pipe', 'id') }}`` ran ``id`` on the
  controller), so the inventory and a playbook run on every supported core (2.17, 2.19 and the newest).
- Size: a 508-byte config of nested YAML aliases ran ansible-inventory out of memory; every YAML parse now bounds what
  aliases repeat, and every entry read into memory is bounded by max_entry_size (a 64 GiB file is refused before it is
  read). Those runs happen in a child process bounded in memory and time, so the old code fails instead of hanging.
- Error text: a constructor's own error (int() of a !!int) quoted the stored text; now only entry, line and column.
  ``{"data": ...}`` (kOps reads field names in any case) is a secret by content.
- AWX: ``ansible-inventory --list --export`` prints plain values as plain strings on every core, and a stored template
  still never templates when AWX hands the variables it imported back to a job.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
from support.child_process import run_in_child
from support.kops_fleet import lay_out
from support.kops_material import KeyStoreLayout, b64, cluster_config

from ansible_collections.kops.state_store.plugins.module_utils.errors import EntryTooLarge, StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster_stores import decode_secret, read_keysets
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import load_documents
from ansible_collections.kops.state_store.plugins.module_utils.redaction import looks_secret
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history import History
from ansible_collections.kops.state_store.plugins.module_utils.workflows.history_repository import MANIFEST_FOLDER, Git
from ansible_collections.kops.state_store.plugins.module_utils.workflows.migration import Migration
from reliability.summary import FIGURES

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, 'build', 'collections')
CORE_VENV = os.path.join(REPO, 'tests', 'versions', 'core_venv.sh')
PLAYBOOKS = os.path.join(REPO, 'tests', 'reliability', 'playbooks')
SECTION = 'Hostile store data'
HEADER = ['case', 'tried', 'outcome']
MEMORY_LIMIT = 1024 * 1024 * 1024  # address space of a child: ansible-inventory itself needs about 300 MB of it
TIME_LIMIT = 240  # seconds; a run on a loaded 2-core machine takes under 30

# the supported cores (meta/runtime.yml requires_ansible: >=2.17): the release line of tests/versions/core_venv.sh,
# or None for this venv's own
CORES = {'2.17': 'oldest', '2.19': None, '2.21': 'newest'}
TEMPLATE = "{{ lookup('pipe', 'id') }}"
RAN = 'uid='  # what the output holds when the template above was run
# folder names kOps would not accept as cluster names, each one given a config naming it
REFUSED = [TEMPLATE, '{%raw%}x{%endraw%}.example.com', 'Upper.example.com', 'under_score.example.com',
           '-lead.example.com', '.git', 'new\nline.example.com', 'dot.example.com.', 'a' * 254]
GOOD = 'good.example.com'


def _alias_bomb(name, levels=8, width=8):
    """A config of ``levels`` nested lists of ``width`` aliases each (``width ** levels`` values written out): 508
    bytes, the size of the issue's."""
    lines = ['apiVersion: kops.k8s.io/v1alpha2', 'kind: Cluster', 'metadata: {name: %s}' % name, 'spec:',
             '  kubernetesVersion: 1.31.0', '  l0: &l0 [%s]' % ', '.join(['x'] * width)]
    lines += ['  l%d: &l%d [%s]' % (level, level, ', '.join(['*l%d' % (level - 1)] * width)) for level in range(1, levels)]
    return ('\n'.join(lines) + '\n').encode()


ALIAS_BOMB = _alias_bomb('bomb.example.com')


class Core(object):
    def __init__(self, version, bin_dir):
        self.version = version
        self.bin_dir = bin_dir

    def run(self, tool, arguments, cwd, environment=None, timeout=TIME_LIMIT):
        """(rc, stdout, stderr, seconds, peak kB) of one ansible tool of this core, in its own process group
        bounded in memory and time (a run past the time is killed, group and all, and fails the test)."""
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                   ANSIBLE_LOCAL_TEMP=os.path.join(cwd, 'ansible-local'), ANSIBLE_RETRY_FILES_ENABLED='0', HOME=cwd)
        env.update(environment or {})
        started = time.monotonic()
        child = subprocess.Popen([os.path.join(self.bin_dir, tool)] + list(arguments), cwd=cwd, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT)))
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            pytest.fail('%s %s did not finish within %d s (killed)' % (tool, ' '.join(arguments), timeout))
        seconds = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far, in kB
        return child.returncode, stdout, stderr, seconds, peak


@pytest.fixture(scope='module', params=sorted(CORES))
def core(request):
    """Each supported ansible-core: its venv made by tests/versions/core_venv.sh (the first time, a few minutes)."""
    line = CORES[request.param]
    if line is None:
        bin_dir = os.path.dirname(sys.executable)
    else:
        made = subprocess.run([CORE_VENV, line], capture_output=True, text=True, check=False)
        assert made.returncode == 0, made.stderr[-3000:]
        bin_dir = os.path.join(made.stdout.strip().splitlines()[-1], 'bin')
    version = subprocess.run([os.path.join(bin_dir, 'python'), '-c', 'import ansible; print(ansible.__version__)'],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith(request.param + '.'), version
    return Core(request.param, bin_dir)


def _inventory_file(folder, store, *extra):
    path = os.path.join(folder, 'clusters.kops.yml')
    with open(path, 'w') as handle:
        handle.write('\n'.join(['plugin: kops.state_store.clusters', 'state_stores: [%s]' % store] + list(extra)) + '\n')
    return path


def _words(text):
    """``text`` with every run of blanks one space (ansible-core 2.17 wraps warnings at 80 columns)."""
    return ' '.join(text.split())


def _hostvars(stdout):
    return json.loads(stdout[stdout.index('{'):])['_meta']['hostvars']


def _strings(value, path=''):
    """(path, string) of every string of a JSON value, dictionary keys included; an {"__ansible_unsafe": ...}
    object is not a string."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + '/<key>', key
            yield from _strings(item, '%s/%s' % (path, key))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _strings(item, '%s/%d' % (path, number))
    elif isinstance(value, str):
        yield path, value


# -- 3. host names from folder names ---------------------------------------------------------------------------

@pytest.fixture(scope='module')
def named_store(tmp_path_factory):
    """A store of one good cluster and a config in every folder REFUSED names, each naming itself."""
    folder = tmp_path_factory.mktemp('named')
    store = open_store('file://%s' % (folder / 'store'))
    for name in [GOOD] + REFUSED:
        lay_out(store, 'minimal-aws.yaml', name)
    return store


def test_only_names_kops_accepts_become_hosts(core, named_store, tmp_path):
    """ansible-inventory lists the good cluster only and warns once, escaped; a playbook using inventory_hostname
    runs on it only, and nothing ran ``id`` (on 2.17 the template folder became a host that did)."""
    inventory = _inventory_file(str(tmp_path), named_store.render())
    rc, stdout, stderr, _seconds, _peak = core.run('ansible-inventory', ['-i', inventory, '--list', '--export'], str(tmp_path))
    assert rc == 0, stderr
    assert sorted(_hostvars(stdout)) == [GOOD], stderr
    warning = _words(stderr)
    assert '%d folders of %s were left out' % (len(REFUSED), named_store.render()) in warning, stderr
    assert "\\x7b\\x7b lookup('pipe', 'id') \\x7d\\x7d" in warning and '{{' not in stderr and '{%' not in stderr
    assert "'new\\nline.example.com'" in warning  # escaped; the long one cut (2.17 wraps it anywhere)
    assert "'%s...(256characters)" % ('a' * 79) in ''.join(warning.split())

    results = tmp_path / 'results'
    results.mkdir()
    rc, stdout, stderr, _seconds, _peak = core.run(
        'ansible-playbook', ['-i', inventory, os.path.join(PLAYBOOKS, 'hostile_hosts.yml'), '-e', 'result_dir=%s' % results],
        str(tmp_path))
    assert rc == 0, stdout[-3000:] + stderr[-3000:]
    assert sorted(os.listdir(str(results))) == [GOOD + '.json']
    assert RAN not in stdout + stderr
    FIGURES.add(operations=2, inputs_tried=len(REFUSED))
    FIGURES.row(SECTION, HEADER, [
        'top-level folders named as kOps names no cluster (%s ...), ansible-inventory --list --export and a playbook '
        'using inventory_hostname, ansible-core %s' % (', '.join(repr(name) for name in REFUSED[:3]), core.version),
        len(REFUSED), 'only %s a host; one warning, names escaped; no template run' % GOOD])


def test_stored_folder_names_become_no_list_item_or_history_folder(named_store, tmp_path):
    """cluster_info's list, move_clusters's clusters and the history's folders take the same names only."""
    names, refused = cl.list_clusters(named_store)
    assert names == [GOOD] and sorted(refused) == sorted(REFUSED)
    destination = open_store('file://%s' % (tmp_path / 'destination'))
    migration = Migration(named_store, destination, [])
    assert [cluster.name for cluster in migration.clusters] == [GOOD]
    assert len(migration.warnings) == 1 and '{{' not in migration.warnings[0]

    def git(arguments, data=None):
        completed = subprocess.run(['git'] + arguments, input=data, capture_output=True, check=False,
                                   env=dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t',
                                            GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@t'))
        return completed.returncode, completed.stdout, completed.stderr

    history = History(named_store, Git(git, str(tmp_path / 'repository')), 'store')
    result = history.snapshot()
    assert sorted(result['clusters']) == [GOOD]
    assert sorted(os.listdir(str(tmp_path / 'repository' / 'store'))) == sorted([GOOD, MANIFEST_FOLDER])
    assert len(history.warnings) == 1 and '{{' not in history.warnings[0]
    FIGURES.add(operations=3, inputs_tried=len(REFUSED))
    FIGURES.row(SECTION, HEADER, ['the same folders listed by cluster_info, moved by move_clusters, recorded by history',
                                  len(REFUSED), 'left out with one warning each; only %s listed, moved, recorded' % GOOD])


# -- 4. alias bombs and size ----------------------------------------------------------------------------------

def test_a_508_byte_alias_bomb_is_one_inventory_warning(tmp_path):
    """The issue's config: ansible-inventory ran 88 s and exhausted 2 GB. In a child bounded to 1 GiB and 240 s it
    must finish with the other cluster listed and one warning naming the entry, line and column."""
    assert len(ALIAS_BOMB) == 508
    store = open_store('file://%s' % (tmp_path / 'store'))
    lay_out(store, 'minimal-aws.yaml', GOOD)
    store.write('bomb.example.com/config', ALIAS_BOMB)
    inventory = _inventory_file(str(tmp_path), store.render())
    here = Core('2.19', os.path.dirname(sys.executable))
    rc, stdout, stderr, seconds, peak = here.run('ansible-inventory', ['-i', inventory, '--list'], str(tmp_path))
    assert rc == 0, stderr[-3000:]
    assert sorted(_hostvars(stdout)) == [GOOD]
    assert ('cluster %s left out: %s is not valid YAML at line 1, column 1: its aliases repeat more than 100000 nodes'
            % (store.render('bomb.example.com'), store.render('bomb.example.com/config'))) in _words(stderr)
    FIGURES.add(operations=1, inputs_tried=1)
    FIGURES.row(SECTION, HEADER, ['508-byte config of nested aliases (8 ** 8 values written out), ansible-inventory in a '
                                  'child bounded to 1 GiB', 1, 'one warning naming entry, line, column; %.0f s' % seconds])


def test_alias_bombs_oversized_entries_and_constructor_errors_in_modules_and_the_lookup(tmp_path):
    """cluster_info and the lookup on the alias bomb, keyset_info on a bomb keyset and on a keyset whose
    privateMaterial is a !!int that is no number, the lookup on an entry past max_entry_size, and a lowercase
    {"data": ...} secret outside every secret folder: each fails or is redacted, named, quoting no stored text,
    within the child's bounds."""
    secret = 'Stored-Secret-Text-0123456789'
    store = open_store('file://%s' % (tmp_path / 'store'))
    store.write('bomb.example.com/config', ALIAS_BOMB)
    store.write('keys.example.com/config', cluster_config('keys.example.com', store.render('keys.example.com')))
    layout = KeyStoreLayout()
    for path, data in layout.entries().items():
        store.write('keys.example.com/pki/' + path, data)
    bomb_keyset = b'apiVersion: kops.k8s.io/v1alpha2\nkind: Keyset\nspec:\n  keys: &k0 [{id: "1"}, {id: "2"}]\n' + b''.join(
        b'  k%d: &k%d [%s]\n' % (level, level, b', '.join([b'*k%d' % (level - 1)] * 8)) for level in range(1, 9))
    store.write('keys.example.com/pki/private/bomb/keyset.yaml', bomb_keyset)
    store.write('keys.example.com/pki/private/integer/keyset.yaml', (
        'apiVersion: kops.k8s.io/v1alpha2\nkind: Keyset\nspec:\n  keys:\n  - id: "1"\n    privateMaterial: !!int %s\n'
        % secret).encode())
    store.write('keys.example.com/addons/large.yaml', b'x' * (4 * 1024 * 1024 + 1))
    store.write('keys.example.com/addons/token', json.dumps({'data': b64(secret)}).encode())
    store.write('%s/config' % TEMPLATE, b'kind: Cluster\n')
    result_file = tmp_path / 'result.json'
    here = Core('2.19', os.path.dirname(sys.executable))
    rc, stdout, stderr, seconds, _peak = here.run(
        'ansible-playbook', ['-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable,
                             '-e', 'store=%s' % store.render(), '-e', 'result_file=%s' % result_file,
                             os.path.join(PLAYBOOKS, 'hostile_store_data.yml')], str(tmp_path))
    assert rc == 0, stdout[-4000:] + stderr[-2000:]
    results = json.loads(result_file.read_text())
    output = stdout + stderr + json.dumps(results)
    assert secret not in output and b64(secret) not in output and RAN not in output

    bomb = 'is not valid YAML at line 1, column 1: its aliases repeat more than 100000 nodes'
    config = store.render('bomb.example.com/config')
    assert results['bomb_info']['failed'] and results['bomb_info']['msg'] == '%s %s (kOps writes no aliases)' % (config, bomb)
    assert [item['failed'] for item in results['bomb_lookups']] == [True, True]
    assert all('%s %s' % (config, bomb) in item['msg'] for item in results['bomb_lookups'])
    keysets = dict((keyset['name'], keyset) for keyset in results['keysets']['keysets'])
    assert keysets['bomb']['error'].startswith(store.render('keys.example.com/pki/private/bomb/keyset.yaml') + ' is not valid YAML')
    assert 'its aliases repeat more than 100000 nodes' in keysets['bomb']['error']
    assert keysets['integer']['error'] == ('%s is not valid YAML at line 6, column 22: a value cannot be read as its '
                                           'tag says (ValueError)' % store.render('keys.example.com/pki/private/integer/keyset.yaml'))
    assert keysets['kubernetes-ca']['error'] is None and len(keysets['kubernetes-ca']['certificates']) == 2

    large = store.render('keys.example.com/addons/large.yaml')
    assert results['too_large']['failed'] and ('%s is 4194305 bytes, more than max_entry_size allows (4194304 bytes); '
                                               'it was not read' % large) in results['too_large']['msg']
    assert results['large_length'] == str(4 * 1024 * 1024 + 1) or results['large_length'] == 4 * 1024 * 1024 + 1

    assert results['lowercase_info']['redacted'] and results['lowercase_info']['content'] is None
    assert results['lowercase_lookup']['failed'] and 'is a secret entry' in results['lowercase_lookup']['msg']

    assert results['listed']['clusters'] == ['bomb.example.com', 'keys.example.com']
    assert any("\\x7b\\x7b lookup('pipe', 'id') \\x7d\\x7d" in warning for warning in results['listed']['warnings'])
    FIGURES.add(operations=8, inputs_tried=7, leaks_found=sum(output.count(form) for form in (secret, b64(secret))))
    FIGURES.row(SECTION, HEADER, [
        'cluster_info, the lookup (yaml, yaml_all) and keyset_info on alias bombs; keyset_info on privateMaterial: '
        '!!int <text>; the lookup past max_entry_size; a {"data": ...} secret outside secret folders; a template '
        'folder in cluster_info\'s list', 7,
        'each task failed or redacted naming the entry (line, column), quoting no stored text; %.0f s in all' % seconds])


def _read_sparse(path):
    """(the refusal of the config, seconds it took, the sizes the store's root lists)."""
    store = open_store('file://%s' % path)
    started = time.monotonic()
    try:
        cl.read_config(store, 'huge.example.com')
        refusal = None
    except EntryTooLarge as exc:
        refusal = str(exc)
    seconds = time.monotonic() - started
    return refusal, seconds, dict((entry.path, entry.size) for entry in store.list(''))


def test_an_entry_of_64_gib_is_refused_before_it_is_read(tmp_path):
    """A sparse 64 GiB config in a file:// store, read in a child bounded to 1 GiB: refused at once by its size. A
    sparse 4 GiB file at the store's root is listed (its hash computed a piece at a time), not held in memory."""
    folder = tmp_path / 'store' / 'huge.example.com'
    folder.mkdir(parents=True)
    for path, size in ((folder / 'config', 64 * 1024 ** 3), (tmp_path / 'store' / 'stray', 4 * 1024 ** 3)):
        with open(str(path), 'wb') as handle:
            handle.truncate(size)
    refusal, seconds, listed = run_in_child(_read_sparse, str(tmp_path / 'store'), timeout=TIME_LIMIT)
    assert refusal == ('%s is %d bytes, more than max_entry_size allows (4194304 bytes); it was not read. Raise '
                       'max_entry_size to read it' % (folder / 'config', 64 * 1024 ** 3))
    assert listed == {'huge.example.com': None, 'stray': 4 * 1024 ** 3}
    FIGURES.add(operations=2, inputs_tried=2)
    FIGURES.row(SECTION, HEADER, ['sparse 64 GiB config in a file:// store read, and a sparse 4 GiB file at its root '
                                  'listed, in a child bounded to 1 GiB', 2,
                                  'the config refused by its size before any byte was read (%.2f s); the file listed '
                                  'with its size' % seconds])


# every YAML construction a stored document can ask for, and JSON beyond a parser's depth: the error names the entry,
# line and column, never the text (each value below holds MARK)
MARK = 'Quoted-Stored-Text'
CONSTRUCTIONS = [
    ('k: !!int %s\n' % MARK, 'ValueError'), ('k: !!float %s\n' % MARK, 'ValueError'),
    ('k: !!bool %s\n' % MARK, 'KeyError'), ('k: !!timestamp %s\n' % MARK, 'AttributeError'),
    ('k: !!int 0x%s\n' % MARK, 'ValueError'), ('k: !!binary %sx\n' % MARK, 'failed to decode base64'),
    ('k: !%s value\n' % MARK, "could not determine a constructor for the tag '...'"),
    ('k: !!int %s\n' % ('9' * 5000), 'ValueError'), ('k: ' + '[' * 5000 + MARK, 'nested too deeply'),
]


@pytest.mark.parametrize('text, problem', CONSTRUCTIONS, ids=[problem for _text, problem in CONSTRUCTIONS])
def test_construction_errors_name_entry_line_and_column_only(text, problem):
    with pytest.raises(StateStoreError) as raised:
        load_documents(text.encode(), 's3://b/c/pki/private/ca/keyset.yaml')
    message = str(raised.value)
    assert message.startswith('s3://b/c/pki/private/ca/keyset.yaml is not valid YAML') and problem in message
    assert MARK not in message and '9' * 50 not in message and len(message) < 300
    FIGURES.add(inputs_tried=1)


def test_secrets_in_kops_json_form_are_known_in_any_case():
    """kOps reads {"Data": ...} with Go's encoding/json: a field name matches in any case and the last one wins."""
    value = b64('hunter2')
    for document in ({'data': value}, {'DATA': value}, {'dAtA': value, 'other': 1}):
        assert looks_secret(json.dumps(document).encode())
    assert looks_secret(('{"\\u0064ata": "%s"}' % value).encode())
    assert decode_secret(('{"Data": "%s", "data": "%s"}' % (b64('first'), value)).encode(), 'x') == b'hunter2'
    assert not looks_secret(b'{"metadata": "x", "database": "y"}')
    FIGURES.add(inputs_tried=6)
    FIGURES.row(SECTION, HEADER, ['secret entries written {"data": ...}, {"DATA": ...}, with other fields or an escaped '
                                  'key, outside every secret folder', 4, 'secret by content, as kOps reads them'])


def test_keysets_past_the_limit_are_each_an_error(tmp_path):
    """A keyset past max_entry_size is that keyset's error; the others are read."""
    store = open_store('file://%s' % (tmp_path / 'keys'), dict(max_entry_size=64 * 1024))
    layout = KeyStoreLayout()
    for path, data in layout.entries().items():
        store.write(path, data)
    store.write('private/padded/keyset.yaml', b'# ' + b'x' * (64 * 1024) + b'\n')
    keysets = dict((keyset['name'], keyset) for keyset in read_keysets(store))
    assert keysets['padded']['error'].startswith('%s is %d bytes, more than max_entry_size allows (65536 bytes)'
                                                 % (store.render('private/padded/keyset.yaml'), 64 * 1024 + 3))
    assert keysets['kubernetes-ca']['error'] is None


# -- 6. AWX imports the inventory as data -------------------------------------------------------------------------

def test_awx_imports_plain_strings_and_a_stored_template_never_runs(core, tmp_path):
    """ansible-inventory --list --export (what AWX's inventory update runs), read back as AWX reads it (json, the
    variables stored as printed), then handed to a job as AWX does (an inventory script printing what it stored):
    every value is a plain string but the stored templates, which the job sees as the text they are."""
    store = open_store('file://%s' % (tmp_path / 'store'))

    def hostile(cluster, _groups):
        cluster['spec']['cloudLabels'] = {'team': TEMPLATE, TEMPLATE: 'key', 'owner': 'platform'}

    lay_out(store, 'minimal-aws.yaml', 'awx.example.com', hostile)
    inventory = _inventory_file(str(tmp_path), store.render(), 'spec_fields: [kubernetesVersion, cloudLabels]')
    rc, stdout, stderr, _seconds, _peak = core.run('ansible-inventory', ['-i', inventory, '--list', '--export'], str(tmp_path))
    assert rc == 0, stderr
    imported = json.loads(stdout)  # AWX: json.loads, every host variable stored as it is
    variables = imported['_meta']['hostvars']['awx.example.com']
    wrapped = [path for path, value in _strings(variables) if value == '__ansible_unsafe']
    assert wrapped == ['/kops_spec/cloudLabels/team/<key>'], wrapped  # the stored template only
    assert variables['kops_spec']['cloudLabels']['team'] == {'__ansible_unsafe': TEMPLATE}
    assert variables['kops_cluster_name'] == 'awx.example.com' and variables['kops_kubernetes_minor'] == '1.34'
    assert variables['kops_instance_groups'][0]['machine_type'] == 'm3.medium'

    # the job: AWX writes what it stored as a script printing it (awx/main/tasks/jobs.py, build_inventory)
    script = tmp_path / 'hosts'
    script_data = dict(all=dict(children=['ungrouped']), ungrouped=dict(hosts=['awx.example.com']),
                       _meta=dict(hostvars=imported['_meta']['hostvars']))
    script.write_text('#! %s\nprint(%r)\n' % (os.path.join(core.bin_dir, 'python'), json.dumps(script_data)))
    script.chmod(0o700)
    results = tmp_path / 'results'
    results.mkdir()
    rc, stdout, stderr, _seconds, _peak = core.run(
        'ansible-playbook', ['-i', str(script), os.path.join(PLAYBOOKS, 'hostile_hosts.yml'), '-e', 'result_dir=%s' % results],
        str(tmp_path))
    assert rc == 0, stdout[-3000:] + stderr[-3000:]
    seen = json.loads((results / 'awx.example.com.json').read_text())
    assert seen['cluster'] == 'awx.example.com' and seen['minor'] == '1.34'
    assert seen['spec']['cloudLabels'] == {'team': TEMPLATE, TEMPLATE: 'key', 'owner': 'platform'}
    assert RAN not in stdout + stderr
    FIGURES.add(operations=2, inputs_tried=2)
    FIGURES.row(SECTION, HEADER, [
        'AWX import: ansible-inventory --list --export, stored as printed, handed to a job as AWX does, with a stored '
        'template as a value and as a key, ansible-core %s' % core.version, 2,
        'plain strings but the template value (__ansible_unsafe); the job saw the template as text'])

"""The import rule of docs/architecture.md, read from its own layer table: every module_utils file imports only
from its own layer or below, nothing in module_utils imports a plugin, and there are no import cycles."""

import ast
import os
import re

from support.paths import REPO

PACKAGE = 'ansible_collections.kops.state_store.plugins.'
MODULE_UTILS = os.path.join(REPO, 'plugins', 'module_utils')


def layer_table():
    """{file or folder ('backends/'): layer} from docs/architecture.md's table."""
    with open(os.path.join(REPO, 'docs', 'architecture.md')) as handle:
        text = handle.read()
    table = text.split('<!-- layers:', 1)[1].split('\n\n', 1)[0]
    layers = {}
    for number, cells in re.findall(r'^\| (\d+) \| (.+) \|$', table, re.MULTILINE):
        for name in re.findall(r'`([^`]+)`', cells):
            layers[name] = int(number)
    return layers


def layer_of(relative, layers):
    """The layer of a module_utils file: its own entry, else its folder's."""
    if relative in layers:
        return layers[relative]
    folder = relative.split('/')[0] + '/'
    assert folder in layers, '%s is in no layer of docs/architecture.md' % relative
    return layers[folder]


def imports(path, root=MODULE_UTILS):
    """module_utils files (relative paths, as found below ``root``) and plugin packages a file imports."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE)):
            continue
        target = node.module[len(PACKAGE):].split('.')
        if target[0] != 'module_utils':
            found.add('plugin:' + target[0])
            continue
        for alias in node.names:
            parts = target[1:] + [alias.name]
            for depth in (len(parts), len(parts) - 1):  # "from x import module" or "from x.module import name"
                candidate = '/'.join(parts[:depth]) + '.py'
                if os.path.isfile(os.path.join(root, candidate)):
                    found.add(candidate)
                    break
    return found


def module_utils_files(root=MODULE_UTILS):
    for folder, _folders, names in os.walk(root):
        for name in names:
            if name.endswith('.py') and name != '__init__.py':
                yield os.path.relpath(os.path.join(folder, name), root).replace(os.sep, '/')


def violations(layers, root=MODULE_UTILS):
    broken = []
    for relative in sorted(module_utils_files(root)):
        own = layer_of(relative, layers)
        for target in sorted(imports(os.path.join(root, relative), root)):
            if target.startswith('plugin:'):
                broken.append('%s imports the plugins package %s' % (relative, target[len('plugin:'):]))
            elif layer_of(target, layers) > own:
                broken.append('%s (layer %d) imports %s (layer %d)' % (relative, own, target, layer_of(target, layers)))
    return broken


def test_imports_point_down_the_layers():
    assert violations(layer_table()) == []


def test_no_import_cycles():
    graph = dict((relative, imports(os.path.join(MODULE_UTILS, relative))) for relative in module_utils_files())
    state = {}

    def visit(node, trail):
        state[node] = 'open'
        for target in graph.get(node, ()):
            assert state.get(target) != 'open', 'import cycle: %s' % ' -> '.join(trail + [node, target])
            if target not in state:
                visit(target, trail + [node])
        state[node] = 'done'

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_rule_catches_upward_imports(tmp_path):
    """The checker itself, on a small tree: a backend importing kops/, the core importing a workflow and a module
    util importing a module are reported; a downward import is not."""
    files = {
        'backends/s3.py': 'from %smodule_utils.kops.cluster import read_cluster\n' % PACKAGE,
        'kops/cluster.py': 'from %smodule_utils.store import ABSENT\n' % PACKAGE,
        'store.py': 'from %smodule_utils.workflows import sync\n' % PACKAGE,
        'workflows/sync.py': 'from %smodules.entry import main\n' % PACKAGE,
    }
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    assert violations(layer_table(), str(tmp_path)) == [
        'backends/s3.py (layer 2) imports kops/cluster.py (layer 4)',
        'store.py (layer 1) imports workflows/sync.py (layer 5)',
        'workflows/sync.py imports the plugins package modules',
    ]

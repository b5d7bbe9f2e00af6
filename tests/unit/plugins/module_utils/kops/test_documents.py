"""Stored YAML reads the same with PyYAML's libyaml parser and with its Python one: kOps's documents, timestamps kept
as text, and every hostile or broken form (aliases past their bound, an alias inside itself, nesting past the
parser's depth, a constructor's error, a document that is no UTF-8, a syntax error) refused with the same message
naming entry, line and column - the Python parser's wording, which the collection showed before it used libyaml.
The Python parser is the one of a PyYAML without libyaml, as a child process that cannot import it runs it."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.kops import documents

from support.kops_fixtures import FIXTURES
from support.paths import REPO

COLLECTIONS = os.path.join(REPO, 'build', 'collections')

# each text read as the entry 'stored': what it gives, or its error message
HOSTILE = {
    'aliases past their bound': 'a: &a [%s]\nb: &b [%s]\nc: [%s]\n' % (
        ', '.join(['x'] * 50), ', '.join(['*a'] * 50), ', '.join(['*b'] * 40)),
    'aliases within their bound': 'l: &l {team: a}\nspec: {one: *l, two: *l}\n',
    'an alias inside itself': 'a: &a [*a]\n',
    'a constructor error': 'k: !!int Quoted-Stored-Text\n',
    'an unsafe tag': 'a: !!python/object/apply:os.system ["true"]\n',
    'a timestamp': 'metadata: {creationTimestamp: 2026-01-02T03:04:05Z}\n',
    'two documents and an empty one': '--- {a: 1}\n---\n--- [b]\n',
    'not UTF-8': b'a: \xff\xfe\n',
    'a syntax error': 'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata: [\n',
}

_READ = '''
import json, sys
%s
from ansible_collections.kops.state_store.plugins.module_utils.kops import documents
texts = json.load(sys.stdin)
found = {}
for name, text in texts.items():
    data = text.encode('latin-1') if name.startswith('bytes:') else text
    try:
        found[name] = dict(documents=documents.load_documents(data, 'stored'))
    except documents.ClusterError as exc:
        found[name] = dict(error=str(exc))
print(json.dumps(dict(found=found, loader=[base.__name__ for base in documents._loader().__mro__])))
'''
WITHOUT_LIBYAML = "sys.modules['yaml._yaml'] = None  # as in a PyYAML built without libyaml"


def read_in_child(texts, libyaml):
    """{name: documents or error} of ``texts`` read in a child Python, and its loader's classes."""
    script = _READ % ('' if libyaml else WITHOUT_LIBYAML)
    environment = dict(os.environ, PYTHONPATH=COLLECTIONS)
    completed = subprocess.run([sys.executable, '-c', script], input=json.dumps(texts), env=environment,
                               capture_output=True, text=True, check=True)
    answer = json.loads(completed.stdout)
    return answer['found'], answer['loader']


def all_texts():
    texts = dict((name, text) for name, text in HOSTILE.items() if isinstance(text, str))
    texts.update(('bytes:' + name, text.decode('latin-1')) for name, text in HOSTILE.items() if isinstance(text, bytes))
    for fixture in FIXTURES:
        with open(fixture) as handle:
            texts[os.path.basename(fixture)] = handle.read()
    return texts


@pytest.mark.skipif(not yaml.__with_libyaml__, reason='PyYAML without libyaml: only the Python parser to compare')
def test_libyaml_and_the_python_parser_read_stored_yaml_alike():
    texts = all_texts()
    fast, fast_loader = read_in_child(texts, libyaml=True)
    python, python_loader = read_in_child(texts, libyaml=False)
    assert 'CSafeLoader' in fast_loader and 'CSafeLoader' not in python_loader
    assert fast == python
    assert fast['aliases past their bound'] == dict(error='stored is not valid YAML at line 1, column 1: its aliases '
                                                          'repeat more than 100000 nodes (kOps writes no aliases)')
    assert fast['an alias inside itself']['error'].startswith('stored is not valid YAML at line 1, column 4: an alias')
    assert 'Quoted-Stored-Text' not in fast['a constructor error']['error']
    assert fast['a timestamp'] == dict(documents=[{'metadata': {'creationTimestamp': '2026-01-02T03:04:05Z'}}])
    assert fast['two documents and an empty one'] == dict(documents=[{'a': 1}, ['b']])
    assert fast['minimal-aws.yaml']['documents'][0]['metadata']['name'] == 'minimal-aws.example.com'


@pytest.mark.parametrize('text', ['k: ' + '[' * 5000 + 'x', '- ' * 5000 + 'x\n', 'k:\n' + ''.join(
    ' ' * level + 'k:\n' for level in range(1, 3000))], ids=['flow', 'block sequence', 'block mapping'])
def test_nesting_past_the_parsers_depth_is_refused_by_both(text):
    """libyaml refuses more than 1000 levels itself (at a line and column), the Python parser stops at Python's
    recursion limit: the same problem either way, and the other entries are read."""
    for libyaml in (True, False) if yaml.__with_libyaml__ else (False,):
        found, _loader = read_in_child(dict(deep=text, plain='a: 1\n'), libyaml)
        assert found['plain'] == dict(documents=[{'a': 1}])
        assert found['deep']['error'].startswith('stored is not valid YAML'), found
        assert found['deep']['error'].endswith(': it is nested too deeply'), found


def test_libyaml_is_used_when_it_bounds_nesting():
    """The loader of this process: libyaml's when PyYAML has it and it refuses NESTING_PROBE levels."""
    bounded = yaml.__with_libyaml__
    if bounded:
        with pytest.raises(yaml.YAMLError):
            yaml.load('[' * documents.NESTING_PROBE + ']' * documents.NESTING_PROBE, Loader=yaml.CSafeLoader)
    assert issubclass(documents._loader(), yaml.CSafeLoader if bounded else yaml.SafeLoader)
    assert documents._loader() is documents._loader()  # made once

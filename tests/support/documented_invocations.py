"""Every way the documentation tells a user to run a playbook of this collection, read from the pages as a user
reads them: the `ansible-playbook` commands (in code blocks, inline code and the playbooks' header comments,
continuation lines joined, `[--check]` both with and without) and the blocks of variables (a YAML mapping a user
pastes into a job template's variables or a role's `vars:`).

Sources: README.md, docs/*.md (not the generated reference), roles/*/README.md and the header comments of
playbooks/*.yml. tests/integration/test_documented_invocations.py runs each of them."""

import glob
import os
import re
import subprocess
import sys

import yaml

from support.paths import REPO

FENCE = re.compile(r'^```([\w-]*)\n(.*?)^```', re.M | re.S)
INLINE = re.compile(r'`([^`]+)`')
OPTIONAL = re.compile(r'\s\[(--[\w-]+)\]')
# a YAML mapping that is not variables: an inventory source (the clusters plugin's file or a part of it), or a piece
# of a kOps document
INVENTORY_KEYS = {'plugin', 'state_stores', 'spec_fields', 'connection', 'readers', 'strict_clusters', 'compose',
                  'groups', 'keyed_groups', 'leading_separator', 'use_extra_vars', 'strict', 'cache', 'cache_plugin',
                  'cache_connection', 'cache_prefix', 'cache_timeout'}
KOPS_DOCUMENT_KEYS = {'apiVersion', 'kind', 'metadata', 'spec'}


class Invocation(object):
    """One documented invocation: ``kind`` is ``command`` (``text``: the command line, one line, continuations
    joined) or ``variables`` (``text``: the YAML block, dedented); ``where`` is ``path:line``; ``before`` the
    text of the code block (or, in a playbook header, nothing) that comes before it on its page."""

    def __init__(self, kind, text, where, before=None):
        self.kind, self.text, self.where, self.before = kind, text, where, before

    def __repr__(self):
        return '%s at %s: %s' % (self.kind, self.where, self.text)


def pages():
    found = [os.path.join(REPO, 'README.md')] + sorted(glob.glob(os.path.join(REPO, 'docs', '*.md')))
    return found + sorted(glob.glob(os.path.join(REPO, 'roles', '*', 'README.md')))


def joined_lines(text):
    """The lines of a shell snippet, backslash continuations joined, prompts (``$ ``) and comments removed, runs
    of spaces made one."""
    lines, current = [], ''
    for line in text.splitlines():
        line = re.sub(r'^\s*\$ ', '', line) if not current else line
        if line.rstrip().endswith('\\'):
            current += line.rstrip()[:-1] + ' '
            continue
        lines.append(' '.join(without_comment(current + line).split()))
        current = ''
    return lines


def without_comment(line):
    """The line up to a shell comment: a # that starts a word outside quotes."""
    quote = None
    for position, character in enumerate(line):
        if quote:
            quote = None if character == quote else quote
        elif character in '\'"':
            quote = character
        elif character == '#' and (position == 0 or line[position - 1].isspace()):
            return line[:position]
    return line


def commands(text):
    """The ansible-playbook commands in a shell snippet: the playbook's path is one of the words."""
    found = []
    for line in joined_lines(text):
        words = line.split()
        if 'ansible-playbook' not in words or not any(word.endswith(('.yml', '.yaml')) for word in words):
            continue
        start = words.index('ansible-playbook')
        while start and re.match(r'^[A-Z_][A-Z0-9_]*=', words[start - 1]):  # its environment, as the shell takes it
            start -= 1
        line = ' '.join(words[start:])
        if OPTIONAL.search(line):  # [--check]: the command with and without it
            found.extend([OPTIONAL.sub('', line), OPTIONAL.sub(r' \1', line)])
        else:
            found.append(line)
    return found


def is_variables(block):
    """A YAML block of variables: a mapping that is neither an inventory source nor a piece of a kOps document."""
    try:
        loaded = yaml.safe_load(block)
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and bool(loaded) and not (set(loaded) <= INVENTORY_KEYS
                                                              or set(loaded) <= KOPS_DOCUMENT_KEYS)


def dedent(block):
    lines = [line for line in block.splitlines() if line.strip()]
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    return '\n'.join(line[indent:] for line in block.splitlines()).strip() + '\n'


def from_page(path):
    with open(path) as handle:
        return from_page_text(handle.read(), os.path.relpath(path, REPO))


def from_page_text(text, relative):
    """The invocations of a Markdown page: commands in code blocks and inline code, blocks of variables."""
    def line(position):
        return '%s:%d' % (relative, text.count('\n', 0, position) + 1)

    def inline(start, end, before):
        return [Invocation('command', command, line(start + match.start()), before)
                for match in INLINE.finditer(text, start, end)
                for command in commands(match.group(1).replace('\n', ' '))]

    found, before, prose = [], None, 0
    for match in FENCE.finditer(text):
        found.extend(inline(prose, match.start(), before))
        language, body = match.group(1), match.group(2)
        if language in ('yaml', 'yml'):
            if is_variables(dedent(body)):
                found.append(Invocation('variables', dedent(body), line(match.start()), before))
        else:
            found.extend(Invocation('command', command, line(match.start()), before) for command in commands(body))
        before, prose = body, match.end()
    return found + inline(prose, len(text), before)


def from_playbook_header(path):
    with open(path) as handle:
        return from_playbook_text(handle.read(), os.path.relpath(path, REPO))


def from_playbook_text(text, relative):
    """The commands of the comment lines a playbook starts with."""
    header = []
    for line in text.splitlines():
        if line.startswith('---'):
            continue
        if not line.startswith('#'):
            break
        header.append(line[1:])
    return [Invocation('command', command, relative) for command in commands('\n'.join(header))]


def documented_invocations():
    found = []
    for path in pages():
        found.extend(from_page(path))
    for path in sorted(glob.glob(os.path.join(REPO, 'playbooks', '*.yml'))):
        found.extend(from_playbook_header(path))
    return found


DOCUMENTED = frozenset(invocation.text for invocation in documented_invocations())


class World(object):
    """Where a documented invocation runs as a user runs it: bash, in a folder of its own holding ``playbooks`` and
    ``awx`` (this collection's; what a playbook writes next to them stays in the folder) and the files the page
    names (``clusters.kops.yml``, ``change.yml``, ...), with ``HOME`` of its own and ``environment``. What the page
    leaves to the reader - a bucket name, a path, a token, a server - is replaced by the test's own (``replace``)
    before the command runs; nothing else is changed."""

    def __init__(self, folder, environment):
        self.work = folder / 'work'
        self.home = folder / 'home'
        self.work.mkdir()
        self.home.mkdir()
        for folder_name in ('playbooks', 'awx'):  # a checkout, as far as the playbooks look (playbook_dir/..)
            os.symlink(os.path.join(REPO, folder_name), str(self.work / folder_name))
        bin_folder = os.path.dirname(sys.executable)
        self.environment = dict(
            environment, HOME=str(self.home), PATH=bin_folder + os.pathsep + os.environ.get('PATH', ''),
            ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
            ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCAL_TEMP=str(folder / 'ansible-local'))
        self.replacements = {}

    def replace(self, documented, actual):
        self.replacements[documented] = str(actual)
        return str(actual)

    def write(self, name, text):
        path = self.work / name
        path.write_text(text)
        return path

    def substitute(self, text):
        """``text`` with the page's placeholders replaced by the test's values."""
        for placeholder in sorted(self.replacements, key=len, reverse=True):
            text = re.sub(r'(?<![\w./-])%s(?![\w.-])' % re.escape(placeholder),
                          lambda _match, placeholder=placeholder: self.replacements[placeholder], text)
        return text

    def command(self, documented):
        """What a documented invocation becomes here."""
        assert documented in DOCUMENTED, 'not (or no longer) documented: %s' % documented
        return self.substitute(documented)

    def run(self, documented, rc=0, environment=None):
        """Run a documented command; fails the test unless it exits with ``rc``. Returns its output."""
        command = self.command(documented)
        completed = subprocess.run(['bash', '-c', command], cwd=str(self.work), capture_output=True, text=True,
                                   env=dict(self.environment, **(environment or {})), check=False)
        output = completed.stdout + completed.stderr
        assert completed.returncode == rc, 'rc=%d, not %d: %s\n%s' % (completed.returncode, rc, command, output[-6000:])
        return output

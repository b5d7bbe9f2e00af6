"""Test setup shared by every suite: the collection importable as ansible_collections.kops.state_store,
and a helper that runs ansible-playbook against it."""

import os
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, 'build', 'collections')


def _link_collection():
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'kops', 'state_store')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)


_link_collection()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

# Every module in tests/servers/ is a pytest plugin providing session fixtures for one real server.
_SERVERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'servers')
pytest_plugins = sorted(
    'servers.' + name[:-3] for name in os.listdir(_SERVERS) if name.endswith('.py') and not name.startswith('_')
)


class PlaybookRun(object):
    def __init__(self, completed):
        self.rc = completed.returncode
        self.output = completed.stdout + completed.stderr

    def __repr__(self):
        return 'PlaybookRun(rc=%d)\n%s' % (self.rc, self.output[-6000:])


@pytest.fixture
def run_playbook(tmp_path):
    """Run a playbook (path relative to the repository) with extra vars; returns rc and output."""

    def run(playbook, extra_vars=None, args=(), env=None):
        import json

        environment = dict(os.environ)
        environment.update(
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
            ANSIBLE_NOCOLOR='1',
            ANSIBLE_FORCE_COLOR='0',
            ANSIBLE_RETRY_FILES_ENABLED='0',
            ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'),
            HOME=environment.get('HOME', str(tmp_path)),
        )
        environment.update(env or {})
        # extra vars go through a file: ansible-playbook -vvvv echoes command-line values
        # (a file of its own per run, so runs started from several threads at once never share one)
        descriptor, vars_file = tempfile.mkstemp(prefix='extra-vars-', suffix='.json', dir=str(tmp_path))
        with os.fdopen(descriptor, 'w') as handle:
            handle.write(json.dumps(extra_vars or {}))
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                   '-i', 'localhost,', '-c', 'local',
                   '-e', 'ansible_python_interpreter=%s' % sys.executable,
                   '-e', '@%s' % vars_file]
        command += list(args) + [os.path.join(REPO, playbook)]
        # no check: tests assert on failing runs too
        completed = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=str(tmp_path),
                                   check=False)
        return PlaybookRun(completed)

    return run


@pytest.fixture
def molecule_test(tmp_path):
    """Run a role's default molecule scenario in ``environment`` (plus the collection, a scratch folder and
    this venv's tools); fails the test unless it passed with its idempotence and verify steps."""

    def run(role, environment):
        environment = dict(
            environment, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
            MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / 'molecule'), HOME=os.environ.get('HOME', str(tmp_path)),
            PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''),
        )
        completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'molecule'), 'test'],
                                   cwd=os.path.join(REPO, 'roles', role), env=environment,
                                   capture_output=True, text=True, check=False)
        output = completed.stdout + completed.stderr
        if completed.returncode != 0 or 'idempotence' not in output or 'verify' not in output:
            pytest.fail('molecule test of %s failed:\n%s' % (role, output[-6000:]), pytrace=False)

    return run

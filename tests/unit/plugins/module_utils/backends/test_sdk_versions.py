"""The backends' minimum SDK versions (plugins/module_utils/backends/sdk.py): the files that repeat them agree with them, and a
backend given a real older release of its SDK (installed from PyPI with ``pip install --target``, put first on
PYTHONPATH of a separate process) fails naming the package, the version found and the minimum."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ansible_collections.kops.state_store.plugins.module_utils.backends.sdk import (
    MINIMUM_VERSIONS,
    installed_version,
    release_numbers,
)
from support.paths import REPO

COLLECTIONS = os.path.join(REPO, 'build', 'collections')
OLD_RELEASES = os.path.join(REPO, 'build', 'old-sdk-releases')  # kept between runs: each is downloaded once


def declared_requirements(path):
    """{canonical name: specifier} of a pip requirements file."""
    requirements = {}
    with open(os.path.join(REPO, path)) as handle:
        for line in handle:
            line = line.split('#', 1)[0].strip()
            if line:
                requirement = Requirement(line)
                requirements[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return requirements


@pytest.mark.parametrize('path', ['requirements.txt', 'meta/ee-requirements.txt'])
def test_requirement_files_ask_for_the_minimum_versions(path):
    declared = declared_requirements(path)
    wanted = dict((canonicalize_name(name), '>=' + minimum) for name, minimum in MINIMUM_VERSIONS.items())
    assert dict((name, declared.get(name)) for name in wanted) == wanted


def test_the_first_steps_table_names_the_minimum_versions():
    with open(os.path.join(REPO, 'docs', 'first-steps.md')) as handle:
        table = [line for line in handle if line.startswith('| ') and '://' in line]
    named = set(re.findall(r'([a-z][a-z0-9-]*) (\d+(?:\.\d+)+)', ''.join(table)))
    assert named == set(MINIMUM_VERSIONS.items())


def test_release_numbers_compare_as_releases():
    assert release_numbers('2.0') == release_numbers('2.0.0') == (2,)
    assert release_numbers('1.40.60') < release_numbers('1.40.61') < release_numbers('1.100.0')
    assert release_numbers('2.16.0rc1') == release_numbers('2.16.0')


def old_release(requirement):
    """A folder holding a real release from PyPI (installed without its dependencies), to put on PYTHONPATH."""
    folder = os.path.join(OLD_RELEASES, requirement)
    if not os.path.isdir(folder):
        os.makedirs(OLD_RELEASES, exist_ok=True)
        scratch = tempfile.mkdtemp(dir=OLD_RELEASES)
        installed = subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--target', scratch,
                                    requirement], capture_output=True, text=True, check=False)
        assert installed.returncode == 0, 'pip could not install %s:\n%s' % (requirement, installed.stderr)
        try:
            os.rename(scratch, folder)
        except OSError:  # make test's versions run installed it meanwhile, in another venv
            shutil.rmtree(scratch)
            if not os.path.isdir(folder):
                raise
    return folder


READ_AND_REPORT = '''
import json, sys
from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import error_message
from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

location, settings = json.loads(sys.argv[1])
try:
    open_store(location, settings).read('config')
except StateStoreError as exc:
    print(type(exc).__name__, error_message(exc))
'''


def read_with(folder, location, settings=None, **environment):
    """What reading ``config`` from ``location`` raises in a process that imports ``folder`` first."""
    env = dict((name, value) for name, value in os.environ.items()
               if not name.startswith(('AWS_', 'OS_', 'VAULT_', 'GOOGLE_', 'STORAGE_EMULATOR', 'ALIYUN_', 'OSS_')))
    env.update(environment, PYTHONPATH=os.pathsep.join([folder, COLLECTIONS]))
    completed = subprocess.run([sys.executable, '-c', READ_AND_REPORT, json.dumps([location, settings or {}])],
                               env=env, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


OPENSTACK_AUTH = dict(auth_url='http://127.0.0.1:1/v3', username='kops', password='secret', project_name='kops',
                      user_domain_name='Default', project_domain_name='Default')

# the release installed, the location read with its settings and environment, and the scheme the message names
OLDER_THAN_SUPPORTED = [
    pytest.param('botocore==1.40.60', 's3://bucket/cluster', {},
                 {'AWS_ACCESS_KEY_ID': 'a', 'AWS_SECRET_ACCESS_KEY': 's'}, 's3', id='s3'),
    pytest.param('google-api-core==2.10.0', 'gs://bucket/cluster', {}, {}, 'gs', id='gs'),
    pytest.param('oss2==2.17.0', 'oss://bucket/cluster', {},
                 {'ALIYUN_ACCESS_KEY_ID': 'a', 'ALIYUN_ACCESS_KEY_SECRET': 's'}, 'oss', id='oss'),
    pytest.param('keystoneauth1==3.17.4', 'swift://container/cluster', {'openstack_auth': OPENSTACK_AUTH}, {},
                 'swift', id='swift-credentials'),
    pytest.param('hvac==1.2.1', 'vault://127.0.0.1:1/secret/cluster?tls=false', {}, {'VAULT_TOKEN': 'root'},
                 'vault', id='vault'),
    # no token: the AWS IAM login takes its credentials from botocore
    pytest.param('botocore==1.40.60', 'vault://127.0.0.1:1/secret/cluster?tls=false', {},
                 {'AWS_ACCESS_KEY_ID': 'a', 'AWS_SECRET_ACCESS_KEY': 's'}, 'vault', id='vault-aws-iam-login'),
]


@pytest.mark.parametrize('release, location, settings, environment, scheme', OLDER_THAN_SUPPORTED)
def test_an_older_sdk_fails_naming_the_package_the_version_found_and_the_minimum(
        release, location, settings, environment, scheme):
    distribution, found = release.split('==')
    message = read_with(old_release(release), location, settings, **environment)
    minimum = MINIMUM_VERSIONS[distribution]
    assert message.startswith(
        "OutdatedLibrary the %s Python library is version %s, but %s:// state stores need %s or later (pip install "
        "--upgrade '%s>=%s'): found on " % (distribution, found, scheme, minimum, distribution, minimum)), message
    assert 'by the Python %s ' % sys.executable in message


def test_a_module_with_an_older_sdk_fails_with_that_message(run_playbook, tmp_path):
    playbook = tmp_path / 'read.yml'
    playbook.write_text('''
- hosts: localhost
  gather_facts: false
  tasks:
    - kops.state_store.entry_info:
        path: gs://bucket/cluster/config
''')
    run = run_playbook(str(playbook), env=dict(PYTHONPATH=old_release('google-api-core==2.10.0')))
    assert run.rc == 2, run
    assert ("the google-api-core Python library is version 2.10.0, but gs:// state stores need %s or later"
            % MINIMUM_VERSIONS['google-api-core']) in run.output, run


def test_an_sdk_without_metadata_has_no_version_to_check():
    # a package copied or vendored without its metadata: importable, but its version cannot be told
    assert installed_version('kops-state-store-no-such-sdk') is None

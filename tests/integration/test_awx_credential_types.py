"""playbooks/awx_credential_types.yml, run with ansible-playbook as an operator runs it: every credential type
of awx/credential_types/ reaches AWX with its injectors as the templates written in the file (AWX renders them
when a job runs; Ansible must not render them first). AWX's API cannot run here, so a test-only awx.awx
collection (tests/fixtures/awx_collection) records what its credential_type module receives."""

import glob
import json
import os
import re

import pytest
from ansible.parsing.dataloader import DataLoader

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = 'playbooks/awx_credential_types.yml'
DEFINITIONS = sorted(glob.glob(os.path.join(REPO, 'awx', 'credential_types', '*.yml')))
STAND_IN = os.path.join(REPO, 'tests', 'fixtures', 'awx_collection')
COLLECTIONS = os.path.join(REPO, 'build', 'collections')  # this collection (tests/conftest.py links it there)


def plain(data):
    """``data`` as JSON has it (what a module receives), without the loader's string subclasses."""
    return json.loads(json.dumps(data))


@pytest.fixture
def register(run_playbook, tmp_path):
    """Run the playbook against the stand-in; returns (run, [recorded calls of this run])."""
    record = tmp_path / 'awx-calls.jsonl'

    def run(*args):
        seen = len(record.read_text().splitlines()) if record.exists() else 0
        result = run_playbook(PLAYBOOK, args=list(args), env=dict(
            ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([STAND_IN, COLLECTIONS]), AWX_STAND_IN_RECORD=str(record)))
        calls = [json.loads(line) for line in record.read_text().splitlines()[seen:]] if record.exists() else []
        return result, calls
    return run


def test_every_injector_reaches_awx_as_its_template(register):
    result, calls = register()
    assert result.rc == 0, result
    assert 'changed=%d ' % len(DEFINITIONS) in result.output, result
    received = dict((call['name'], call) for call in calls)
    assert len(calls) == len(received) == len(DEFINITIONS)
    for path in DEFINITIONS:
        expected = plain(DataLoader().load_from_file(path))
        call = received.pop(expected['name'])
        assert call['injectors'] == expected['injectors'], os.path.basename(path)
        for variable, template in call['injectors']['env'].items():
            assert re.search(r'\{\{.+\}\}', template), '%s of %s reached AWX rendered: %r' % (
                variable, os.path.basename(path), template)
        assert (call['description'], call['kind'], call['inputs'], call['state'], call['check_mode']) == (
            expected['description'], expected['kind'], expected['inputs'], 'present', False)
    assert received == {}


def test_second_run_changes_nothing_and_check_mode_sends_the_same(register):
    first, _calls = register()
    assert first.rc == 0, first
    again, calls = register()
    assert again.rc == 0 and 'changed=0 ' in again.output, again
    checked, checked_calls = register('--check')
    assert checked.rc == 0 and 'changed=0 ' in checked.output, checked
    assert [dict(call, check_mode=True) for call in calls] == checked_calls

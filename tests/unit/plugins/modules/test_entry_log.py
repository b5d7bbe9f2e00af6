"""What the entry module writes to the target's system log (AnsibleModule logs "Invoked with ..." while it
is being constructed) and returns when it fails early: never the content, secret or not."""

import io
import json
import sys
import uuid

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.parameters import PASS_VARS

from ansible_collections.kops.state_store.plugins.modules import entry

SECRET = 'EntryContentSecret-%s' % uuid.uuid4().hex


def module_args(args):
    """A context in which AnsibleModule reads ``args`` (ansible-core's own helper where it has one), with the
    invocation in the result as the controller asks for it (ansible-core 2.21 returns it only when asked)."""
    if 'inject_invocation' in PASS_VARS:
        args = dict(args, _ansible_inject_invocation=True)
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core before 2.19
        from unittest import mock

        return mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps(dict(ANSIBLE_MODULE_ARGS=args)).encode())
    return patch_module_args(args)


@pytest.fixture
def system_log(monkeypatch):
    """The messages the module sends to syslog (the journal path is switched off so syslog gets them)."""
    messages = []
    monkeypatch.setattr(basic, 'has_journal', False)
    monkeypatch.setattr(basic.syslog, 'openlog', lambda *args: None)
    monkeypatch.setattr(basic.syslog, 'syslog', lambda priority, message: messages.append(message))
    return messages


def run_entry(args, monkeypatch):
    """Run the module's main() in this process; returns its JSON result."""
    out = io.StringIO()
    monkeypatch.setattr(sys, 'stdout', out)
    with module_args(args), pytest.raises(SystemExit):
        entry.main()
    return json.loads(out.getvalue())


@pytest.mark.parametrize('path', ['c1/secrets/admin', 'c1/config'])
def test_content_never_reaches_the_log(system_log, monkeypatch, tmp_path, path):
    result = run_entry(dict(state_store='file://%s' % tmp_path, path=path, content=SECRET), monkeypatch)
    assert result['changed'], result
    invoked = [message for message in system_log if 'Invoked with' in message]
    assert len(invoked) == 1 and 'content=NOT_LOGGING_PARAMETER' in invoked[0]
    assert not any(SECRET in message for message in system_log)
    assert result['invocation']['module_args']['content'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert (tmp_path / path).read_text() == SECRET


@pytest.mark.parametrize('args, message', [
    (dict(state='bogus'), 'value of state must be one of'),
    (dict(state_store='s3:///no-bucket'), 'empty bucket name'),
    (dict(state_store='s3://bucket', endpoint_url='http://127.0.0.1:9'), 'S3_ACCESS_KEY_ID cannot be empty'),
    (dict(state_store='file:///dev/null/x'), '/dev/null/x'),
])
def test_early_failures_mask_the_content(system_log, monkeypatch, args, message):
    monkeypatch.setenv('S3_ENDPOINT', 'http://127.0.0.1:9')
    for variable in ('S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'):
        monkeypatch.delenv(variable, raising=False)
    result = run_entry(dict(dict(path='c1/secrets/admin', content=SECRET), **args), monkeypatch)
    assert result.get('failed'), result
    assert message in result['msg']
    assert SECRET not in json.dumps(result)
    assert not any(SECRET in line for line in system_log)

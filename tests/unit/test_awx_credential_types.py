"""The AWX credential types: well-formed, secrets marked secret, and injecting the variables the backends read.

Structure only (read with a YAML loader). What reaches AWX through playbooks/awx_credential_types.yml and its
include_vars - every injector still a template - is tested in tests/integration/test_awx_credential_types.py."""

import glob
import os
import re

import pytest
from ansible.parsing.dataloader import DataLoader

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFINITIONS = sorted(glob.glob(os.path.join(REPO, 'awx', 'credential_types', '*.yml')))
BACKENDS = os.path.join(REPO, 'plugins', 'module_utils', 'backends')


def backend_sources():
    text = ''
    for path in glob.glob(os.path.join(BACKENDS, '*.py')):
        with open(path) as handle:
            text += handle.read()
    return text


@pytest.mark.parametrize('path', DEFINITIONS, ids=os.path.basename)
def test_definition(path):
    definition = DataLoader().load_from_file(path)
    assert definition['kind'] == 'cloud'
    fields = dict((field['id'], field) for field in definition['inputs']['fields'])
    assert set(definition['inputs'].get('required', [])) <= set(fields)
    for field_id, field in fields.items():
        looks_secret = re.search(r'password|secret|token', field_id)
        assert bool(field.get('secret')) == bool(looks_secret), field_id
    sources = backend_sources()
    for variable, template in definition['injectors']['env'].items():
        # written as templates (that include_vars leaves them so: tests/integration/test_awx_credential_types.py)
        assert template.startswith('{{') and template.endswith('}}'), variable
        referenced = set(re.findall(r'\b([a-z0-9_]+)\b', template)) & set(fields)
        assert referenced, '%s uses no input field' % variable
        if variable not in ('KOPS_STATE_STORE', 'VAULT_ADDR'):
            assert variable in sources, '%s is injected but no backend reads it' % variable


def test_every_backend_family_has_a_credential_type():
    names = [os.path.basename(path) for path in DEFINITIONS]
    assert names == ['alicloud_oss.yml', 'kops_state_store_s3_compatible.yml', 'openstack_swift.yml', 'vault_token.yml']

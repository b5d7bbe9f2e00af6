# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Find the state store location in kOps's order; one implementation for modules and the lookup."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation

CONFIG_FILES = ('~/.kops.yaml', '~/.kops/config')
CONFIG_KEY = 'kops_state_store'
ENV_VAR = 'KOPS_STATE_STORE'

NO_STORE_MESSAGE = (
    'no state store given: set the state_store option, the KOPS_STATE_STORE environment variable, '
    'or kops_state_store in ~/.kops.yaml or ~/.kops/config'
)


def _config_file_value(path):
    """kOps reads only the first config file that exists; the key matches case-insensitively."""
    import yaml  # PyYAML ships with ansible-core

    try:
        with open(path) as handle:
            document = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise BadLocation('cannot parse %s: %s' % (path, str(exc).splitlines()[0]))
    except (IOError, OSError) as exc:
        raise BadLocation('cannot read %s: %s' % (path, exc.strerror))
    if not isinstance(document, dict):
        return None
    for key, value in document.items():
        if str(key).lower() == CONFIG_KEY and value:
            return str(value)
    return None


def resolve_state_store(option_value=None, environ=None):
    """Return (location string, where it came from)."""
    environ = os.environ if environ is None else environ
    value, source = option_value, 'the state_store option'
    if not value:
        value, source = environ.get(ENV_VAR), 'the %s environment variable' % ENV_VAR
    if not value:
        for candidate in CONFIG_FILES:
            path = os.path.expanduser(candidate)
            if os.path.isfile(path):
                value, source = _config_file_value(path), path
                break
    if not value:
        raise BadLocation(NO_STORE_MESSAGE)
    value = value.strip()
    if value.endswith('/') and not value.endswith('://'):
        value = value[:-1]  # kOps trims exactly one trailing slash
    if value.lower().startswith('vault://'):
        raise BadLocation(
            'a vault:// location (from %s) can only hold a cluster\'s secrets and keys, not the state store' % source
        )
    return value, source

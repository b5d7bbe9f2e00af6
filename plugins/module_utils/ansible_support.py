# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The one option model modules and the lookup share, and the mapping of errors to messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import platform
import sys
from contextlib import contextmanager

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kops.state_store.plugins.module_utils.backends.transport import take_warnings
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    MissingLibrary,
    OutdatedLibrary,
    StateStoreError,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import (
    ENTRY_BACKENDS,
    backend_options,
    open_entry,
    open_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.resolve import resolve_state_store
from ansible_collections.kops.state_store.plugins.module_utils.store import MAX_ENTRY_SIZE

# The bound of every entry read into memory (Backend.read), an option of every module, the lookup and the inventory.
READ_OPTIONS = dict(max_entry_size=dict(type='int', default=MAX_ENTRY_SIZE))


def store_argument_spec(backend_modules=ENTRY_BACKENDS):
    """The store location, the read bound and the settings of the backends a module or the lookup can use
    (documented in the kops.state_store.store doc fragment and its per-backend parts: S3, GCS, SWIFT, OSS, VAULT)."""
    return dict(state_store=dict(type='str'), **dict(READ_OPTIONS, **backend_options(backend_modules)))


# Options of the modules that show or select entries (kops.state_store.store.SECRET_PATTERNS and .SECRETS).
SECRET_PATTERNS_ARGUMENT_SPEC = dict(secret_patterns=dict(type='list', elements='str', default=[], no_log=False))
SECRETS_ARGUMENT_SPEC = dict(reveal_secrets=dict(type='bool', default=False), **SECRET_PATTERNS_ARGUMENT_SPEC)


def side_settings_spec(backend_modules=ENTRY_BACKENDS):
    """The settings of one side of a copy (source_options, destination_options): the settings of the backends the
    module serves, validated (unknown keys refused, credentials no_log) as the top-level options are
    (kops.state_store.store.SIDES, or .STATE_STORE_SIDES without Vault)."""
    return dict(type='dict', options=backend_options(backend_modules))


def store_settings(get_option, spec):
    """Settings dict for the backends from an option getter (module.params.get or plugin.get_option) and the
    store options of ``spec``."""
    return dict((name, get_option(name)) for name in spec)


def side_settings(settings, side_options):
    """The settings of one side of a copy: ``settings`` (the task's store options, shared by both sides) with
    every value the side's own options give in their place; a side option left out (None) keeps the shared one."""
    own = dict((name, value) for name, value in (side_options or {}).items()
               if name in settings and value is not None)  # alias keys ansible keeps beside the names are left out
    return dict(settings, **own)


def open_configured_store(settings):
    """The store named by the options, KOPS_STATE_STORE or the kOps config files."""
    location, _source = resolve_state_store(settings.get('state_store'))
    return open_store(location, settings)


def open_entry_target(settings, path):
    """(backend, entry path) for ``path``: a full location (``s3://b/c/config``) or a path relative
    to the configured store."""
    if path and '://' in path:
        return open_entry(path, settings)
    return open_configured_store(settings), path


def open_folder_target(settings, path):
    """(backend, folder path) for listing: a full location is itself the store root."""
    if path and '://' in path:
        return open_store(path, settings), ''
    return open_configured_store(settings), path


def error_message(exc):
    if isinstance(exc, MissingLibrary):
        return missing_required_lib(exc.library, reason='the %s:// state store backend' % exc.scheme)
    if isinstance(exc, OutdatedLibrary):
        # where, as missing_required_lib tells it: the task's Python may not be the one the user upgraded
        return ("%s: found on %s by the Python %s (if a newer one is installed for another Python, set "
                "ansible_python_interpreter to that one)" % (exc, platform.node(), sys.executable))
    return str(exc)


class TransportWarningsModule(AnsibleModule):
    """AnsibleModule whose results (failed or not) carry the warnings of plain-HTTP connections."""

    def _warn_transport(self):
        for warning in take_warnings():
            self.warn(warning)

    def exit_json(self, **kwargs):
        self._warn_transport()
        super(TransportWarningsModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        self._warn_transport()
        super(TransportWarningsModule, self).fail_json(msg, **kwargs)


class StateStoreModule(TransportWarningsModule):
    """AnsibleModule with the options of the store location and of ``backend_modules`` (the backends the module
    can use) added, and store errors turned into fail_json."""

    def __init__(self, argument_spec, backend_modules=ENTRY_BACKENDS, **kwargs):
        store_spec = store_argument_spec(backend_modules)
        spec = dict(store_spec)
        spec.update(argument_spec)
        kwargs.setdefault('supports_check_mode', True)
        super(StateStoreModule, self).__init__(argument_spec=spec, **kwargs)
        self.settings = store_settings(self.params.get, store_spec)

    @contextmanager
    def store_errors(self, partial=None):
        """Fail the task on a store error, with ``partial`` (a dict the caller fills while working: what was done
        before the error) in the result."""
        try:
            yield
        except StateStoreError as exc:
            self.fail_json(msg=error_message(exc), **(partial or {}))

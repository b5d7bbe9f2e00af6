# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Controller-side counterpart of StateStoreModule: the same options and error messages for the lookup and the
inventory plugin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from contextlib import contextmanager

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    error_message,
    store_argument_spec,
    store_settings,
)
from ansible_collections.kops.state_store.plugins.module_utils.backends.transport import take_warnings
from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError

display = Display()


class StoreLookupBase(LookupBase):
    def store_settings(self, variables, **kwargs):
        """The store options: the lookup's arguments, else play variables (templated here: Ansible hands a lookup
        its variables as written), else ansible.cfg."""
        self.set_options(var_options=variables, direct=kwargs)
        settings = store_settings(self.get_option, store_argument_spec())
        return dict((name, value if name in kwargs else self._templar.template(value))
                    for name, value in settings.items())

    def store_errors(self):
        return store_errors(AnsibleLookupError)


@contextmanager
def store_errors(error_type):
    """Store errors raised as ``error_type`` (the plugin type's Ansible error) with the modules' messages; the
    warnings of plain-HTTP connections shown on the controller."""
    try:
        yield
    except StateStoreError as exc:
        raise error_type(error_message(exc))
    finally:
        show_transport_warnings()


def show_transport_warnings():
    for warning in take_warnings():
        display.warning(warning)

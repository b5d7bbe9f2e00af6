# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Open the backend that serves a location's scheme.

Every backend module is imported here by name, so AnsiballZ ships it with each module; a backend
imports its SDK only when a store of its scheme is opened. Each backend module defines
``SCHEMES`` (the schemes it serves), ``BACKEND`` (its Backend class) and ``OPTIONS`` (the module
argument spec of its settings, documented in the kops.state_store.store doc fragment).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kops.state_store.plugins.module_utils.backends import gcs, local, memfs, oss, s3, swift, vault_kv
from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation, NotSupported
from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location

BACKEND_MODULES = (local, memfs, vault_kv, gcs, s3, oss, swift)
# The backends a state store can be on (with settings of their own): Vault holds only a cluster's secrets and keys.
STATE_STORE_BACKENDS = (s3, gcs, swift, oss)
# The backends an entry can be on: every one with settings of its own.
ENTRY_BACKENDS = STATE_STORE_BACKENDS + (vault_kv,)


def backend_options(backend_modules=BACKEND_MODULES):
    """Argument spec of the settings of ``backend_modules``."""
    options = {}
    for backend_module in backend_modules:
        options.update(backend_module.OPTIONS)
    return options


def open_store(location, settings=None):
    """Open the backend for a location string (or a parsed Location)."""
    if isinstance(location, str):
        location = parse_location(location)
    for backend_module in BACKEND_MODULES:
        if location.scheme in backend_module.SCHEMES:
            return backend_module.BACKEND(location, settings)
    raise NotSupported(
        'the %s:// backend is not available yet in this version of kops.state_store' % location.scheme
    )


def open_entry(location, settings=None):
    """Split a full entry location into (store backend rooted at its parent, entry path)."""
    if isinstance(location, str) and location.split('?', 1)[0].endswith('/'):
        raise BadLocation("location '%s' ends with '/', which names a folder, not an entry" % location)
    parent, name = (parse_location(location) if isinstance(location, str) else location).split()
    return open_store(parent, settings), name

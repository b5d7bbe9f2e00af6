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

import os

from ansible_collections.kops.state_store.plugins.module_utils.backends import gcs, local, memfs, oss, s3, swift, vault_kv
from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation, NotSupported, shown
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


def open_stored_location(location, settings, state_store, vault_addresses, what):
    """Open a store whose location was read from a store (``what`` says where: "the key store of cluster c1
    (spec.keyStore)"), with the task's ``settings``. The text is data from whoever can write ``state_store`` (the
    backend it was read from), so it does not decide where credentials go or which local files change: a vault://
    location must be on a Vault the task names (``vault_addresses`` or VAULT_ADDR), and a local path must lie inside
    a local ``state_store``. Bucket schemes are opened as given: their requests go to the endpoint the task and its
    environment configure, signed there, and the text picks only the bucket and key, as it does for kOps."""
    parsed = parse_location(location)
    if parsed.scheme == 'vault':
        vault_kv.check_named_vault(parsed, vault_addresses, what)
    elif parsed.scheme == 'file' and not _inside_local_store(parsed, state_store.location):
        raise BadLocation('%s is the local path %s, outside the state store %s: a local path read from a store is '
                          'used only inside a local state store, so that the store does not choose which files of '
                          'this host are read or written' % (what, shown(parsed.render()), state_store.render()))
    return open_store(parsed, settings)


def _inside_local_store(location, state_location):
    if state_location.scheme != 'file':
        return False
    root = os.path.realpath(state_location.key)
    return os.path.commonpath([root, os.path.realpath(location.key)]) == root


def open_entry(location, settings=None):
    """Split a full entry location into (store backend rooted at its parent, entry path)."""
    if isinstance(location, str) and location.split('?', 1)[0].endswith('/'):
        raise BadLocation("location '%s' ends with '/', which names a folder, not an entry" % location)
    parent, name = (parse_location(location) if isinstance(location, str) else location).split()
    return open_store(parent, settings), name

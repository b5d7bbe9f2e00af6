# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Error types every backend raises; the Ansible layer turns each into one clear message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def first_line(value):
    """The first line of an SDK error (or any text), for one-line messages; the type name when it has none."""
    lines = str(value).strip().splitlines()
    return lines[0] if lines else type(value).__name__


class StateStoreError(Exception):
    """Base of every error this collection raises on purpose. str() is the user-facing message."""


class NotFound(StateStoreError):
    pass


class AlreadyExists(StateStoreError):
    pass


class PreconditionFailed(StateStoreError):
    """The entry changed since it was read (a concurrent writer won)."""


class NotSupported(StateStoreError):
    pass


class BadLocation(StateStoreError):
    pass


class AccessDenied(StateStoreError):
    pass


class BackendFailure(StateStoreError):
    """The server or SDK failed in a way none of the other types describes."""


class MissingLibrary(StateStoreError):
    """A backend's SDK is not installed; modules report it with missing_required_lib()."""

    def __init__(self, library, scheme, exception=None):
        self.library = library
        self.scheme = scheme
        self.exception = exception
        super(MissingLibrary, self).__init__(
            "the %s Python library is required for %s:// state stores (pip install %s)"
            % (library, scheme, library)
        )

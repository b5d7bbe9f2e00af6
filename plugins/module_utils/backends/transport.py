# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Warnings for credentials that travel without TLS. Backends report a plain-HTTP endpoint while they
connect; the Ansible layer (modules and the lookup) shows each warning once in the task's result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for the compile sanity test
    from urlparse import urlsplit  # type: ignore

_PENDING = []


def warn_if_plaintext(url, credentials):
    """Remember a warning when ``url`` is plain HTTP; ``credentials`` says what travels in clear there.
    The warning names the host and port only (a URL may carry a user and password)."""
    parts = urlsplit(url or '')
    if parts.scheme.lower() != 'http':
        return
    host = parts.hostname or ''
    if parts.port:
        host = '%s:%d' % (host, parts.port)
    message = ('%s go to http://%s over plain HTTP, without TLS: anyone on the network path can read them and the '
               'entries; use https' % (credentials, host))
    if message not in _PENDING:
        _PENDING.append(message)


def take_warnings():
    """The warnings remembered since the last call, each once."""
    pending = list(_PENDING)
    del _PENDING[:]
    return pending

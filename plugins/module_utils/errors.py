# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Error types every backend raises; the Ansible layer turns each into one clear message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# A quoted fragment of a parser's message that holds letters or digits quotes the document (a tag, an
# escape); grammar tokens such as ',' or '<stream end>' carry none.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _without_quoted_text(problem):
    def keep_grammar(match):
        quoted = match.group(0)
        return quoted if quoted[1:2] == '<' or not re.search('[A-Za-z0-9]', quoted) else "'...'"

    return _QUOTED.sub(keep_grammar, problem)


def first_line(value):
    """The first line of an SDK error (or any text), for one-line messages; the type name when it has none."""
    lines = str(value).strip().splitlines()
    return lines[0] if lines else type(value).__name__


def shown(text):
    """Text read from a store, fit to quote in a one-line message: as it is when it is printable and has no blank,
    else Python's quoted form with escapes (no line break, terminal control sequence or look-alike blank gets in)."""
    return text if text.isprintable() and ' ' not in text else repr(text)


def parse_error_message(what, language, exc):
    """Why ``what`` (an entry or an option) is not valid ``language``, with the line and column, never
    the text there: stored documents may hold secrets, and PyYAML quotes the offending line."""
    mark = getattr(exc, 'problem_mark', None) or getattr(exc, 'context_mark', None)
    if mark is not None:  # PyYAML, 0-based
        line, column = mark.line + 1, mark.column + 1
    else:  # json.JSONDecodeError, 1-based
        line, column = getattr(exc, 'lineno', None), getattr(exc, 'colno', None)
    if isinstance(exc, UnicodeDecodeError):
        problem = 'not UTF-8 text (byte %d)' % exc.start
    else:
        problem = getattr(exc, 'problem', None) or getattr(exc, 'msg', None) or type(exc).__name__
    position = ' at line %d, column %d' % (line, column) if line is not None else ''
    return '%s is not valid %s%s: %s' % (what, language, position, _without_quoted_text(str(problem)))


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


class OutdatedLibrary(StateStoreError):
    """A backend's SDK is older than the oldest release the collection supports (module_utils/backends/sdk.py)."""

    def __init__(self, library, scheme, found, minimum):
        super(OutdatedLibrary, self).__init__(
            "the %s Python library is version %s, but %s:// state stores need %s or later (pip install --upgrade "
            "'%s>=%s')" % (library, found, scheme, minimum, library, minimum)
        )

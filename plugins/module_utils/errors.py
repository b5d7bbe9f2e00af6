# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Error types every backend raises; the Ansible layer turns each into one clear message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# A quoted fragment of a parser's message that holds letters or digits quotes the document (a tag, an
# escape); grammar tokens such as ',' or '<stream end>' carry none.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# what shown() leaves as it is: printable ASCII but blanks, quotes, backslashes and braces
_PLAIN = re.compile(r'[!#-&(-\[\]-z|~]+')
#: how many characters of a stored name or value a message shows: a DNS name (253) or a location whole
SHOWN_LIMIT = 300


def _without_quoted_text(problem):
    def keep_grammar(match):
        quoted = match.group(0)
        return quoted if quoted[1:2] == '<' or not re.search('[A-Za-z0-9]', quoted) else "'...'"

    return _QUOTED.sub(keep_grammar, problem)


def first_line(value):
    """The first line of an SDK error (or any text), for one-line messages; the type name when it has none."""
    lines = str(value).strip().splitlines()
    return lines[0] if lines else type(value).__name__


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
    elif isinstance(exc, RecursionError):
        problem = 'it is nested too deeply'
    elif getattr(exc, 'problem', None) or getattr(exc, 'msg', None):  # PyYAML's marked errors, JSONDecodeError
        problem = getattr(exc, 'problem', None) or exc.msg
    else:  # another parser error, or a converter's own (int() of a stored value) that quotes the text
        problem = 'a value cannot be read (%s)' % type(exc).__name__
    position = ' at line %d, column %d' % (line, column) if line is not None else ''
    return '%s is not valid %s%s: %s' % (what, language, position, _without_quoted_text(str(problem)))


def load_json(data, what, error_type, **options):
    """The JSON document of ``data`` (bytes), or ``error_type`` with parse_error_message's message (the entry or
    option, line and column; never the text). ``options`` go to json.loads (object_pairs_hook)."""
    try:
        return json.loads(data.decode('utf-8'), **options)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise error_type(parse_error_message(what, 'JSON', exc))


def shown(value, limit=SHOWN_LIMIT):
    """A name or value read from a store, fit to quote in a one-line message: as it is when it is a string of at most
    ``limit`` printable ASCII characters without blanks, quotes, backslashes or braces (a host name, an address);
    else Python's ascii() of it (a string quoted, control and non-ASCII characters escaped, so no line break,
    terminal control sequence or look-alike character gets in), braces escaped too (no message ever holds template
    syntax), cut after ``limit`` characters. Never for secret material: that is not quoted at all."""
    if isinstance(value, str) and len(value) <= limit and _PLAIN.fullmatch(value):
        return value
    text = ascii(value)
    if len(text) > limit:
        text = '%s... (%d characters)' % (text[:limit], len(text))
    return text.replace('{', '\\x7b').replace('}', '\\x7d')


class StateStoreError(Exception):
    """Base of every error this collection raises on purpose. str() is the user-facing message."""


class NotFound(StateStoreError):
    pass


class EntryTooLarge(StateStoreError):
    """An entry holds more bytes than may be read into memory (the max_entry_size option)."""

    def __init__(self, where, limit, size=None):
        held = 'is %d bytes' % size if size is not None else 'holds more than %d bytes' % limit
        super(EntryTooLarge, self).__init__(
            '%s %s, more than max_entry_size allows (%d bytes); it was not read. Raise max_entry_size to read it'
            % (where, held, limit))


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

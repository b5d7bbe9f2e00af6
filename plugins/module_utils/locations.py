# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Parse every state-store location form kOps accepts into one typed Location."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath

try:
    from urllib.parse import unquote, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for the compile sanity test
    from urlparse import urlsplit  # type: ignore
    from urllib import unquote  # type: ignore

from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation

# Schemes whose URL host is a bucket or container name.
BUCKET_SCHEMES = ('s3', 'do', 'gs', 'swift', 'oss')
SCHEMES = BUCKET_SCHEMES + ('vault', 'file', 'memfs')


class Location(object):
    """A parsed store location.

    ``bucket`` is the bucket/container (bucket schemes), the memfs name, or the Vault host.
    ``key`` is the object key prefix (no leading or trailing ``/``), the local path for ``file``,
    or the path under the KV v2 mount for ``vault``.
    """

    __slots__ = ('scheme', 'bucket', 'key', 'port', 'mount', 'tls')

    def __init__(self, scheme, bucket='', key='', port=None, mount='', tls=True):
        self.scheme = scheme
        self.bucket = bucket
        self.key = key
        self.port = port
        self.mount = mount
        self.tls = tls

    def _fields(self):
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other):
        return isinstance(other, Location) and self._fields() == other._fields()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._fields())

    def __repr__(self):
        return 'Location(%r)' % self.render()

    def render(self):
        """The canonical string kOps would print for this location (used for configBase)."""
        if self.scheme == 'file':
            return self.key
        if self.scheme == 'vault':
            host = self.bucket if self.port is None else '%s:%d' % (self.bucket, self.port)
            path = posixpath.join(self.mount, self.key) if self.key else self.mount
            return 'vault://%s/%s%s' % (host, path, '' if self.tls else '?tls=false')
        return '%s://%s/%s' % (self.scheme, self.bucket, self.key)

    def join(self, relative):
        """Location of ``relative`` (an already validated entry path) below this one."""
        relative = relative.strip('/')
        if not relative:
            return self
        key = posixpath.join(self.key, relative) if self.key else relative
        return Location(self.scheme, self.bucket, key, self.port, self.mount, self.tls)

    def split(self):
        """(parent location, last path component): how a full entry location becomes store + entry."""
        key = self.key.rstrip('/') if self.scheme != 'file' else self.key
        parent, name = posixpath.split(key)
        if not name:
            raise BadLocation("location '%s' names a store root, not an entry" % self.render())
        return Location(self.scheme, self.bucket, parent, self.port, self.mount, self.tls), name


def _clean_key(raw_key, location):
    key = raw_key.strip('/')
    if key and any(part in ('.', '..') for part in unquote(key).split('/')):
        raise BadLocation("location '%s' must not contain '.' or '..' path segments" % location)
    return key


def parse_location(location):
    """Parse a location string; raise BadLocation with a one-line reason when it is malformed."""
    if not isinstance(location, str) or not location.strip():
        raise BadLocation('the state store location is empty')
    location = location.strip()
    if '\x00' in location:
        raise BadLocation('the state store location contains a NUL character')

    if '://' not in location:
        return Location('file', key=os.path.normpath(location))

    scheme, rest = location.split('://', 1)
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise BadLocation(
            "unknown state store scheme '%s://' in '%s'; supported: %s"
            % (scheme, location, ', '.join(s + '://' for s in SCHEMES))
        )

    if scheme == 'file':
        if not rest:
            raise BadLocation("file location '%s' has no path" % location)
        return Location('file', key=os.path.normpath(rest))

    try:
        parts = urlsplit(location)
    except ValueError as exc:  # e.g. an unbalanced '[' in the host part
        raise BadLocation("location '%s' is not a valid URL: %s" % (location, exc))
    if scheme != 'vault' and (parts.query or parts.fragment):
        raise BadLocation("location '%s' must not have a query string or fragment" % location)

    if scheme == 'vault':
        return _parse_vault(location, parts)

    # urlsplit lower-cases nothing in netloc, so bucket names keep their case as kOps does.
    bucket = parts.netloc
    if not bucket:
        raise BadLocation("location '%s' has an empty %s name" % (
            location, 'container' if scheme == 'swift' else 'bucket' if scheme != 'memfs' else 'memfs store'))
    if '@' in bucket or (scheme != 'memfs' and ':' in bucket):
        raise BadLocation("location '%s' has an invalid bucket name '%s'" % (location, bucket))
    return Location(scheme, bucket, _clean_key(parts.path, location))


def _parse_vault(location, parts):
    if not parts.hostname:
        raise BadLocation("vault location '%s' has no host" % location)
    try:
        port = parts.port
    except ValueError:
        raise BadLocation("vault location '%s' has an invalid port" % location)
    path = _clean_key(parts.path, location)
    mount, _sep, key = path.partition('/')
    if not mount or not key:
        raise BadLocation(
            "vault location '%s' must have both a KV v2 mount and a path "
            "(vault://host[:port]/<mount>/<path>)" % location
        )
    pairs = [pair.partition('=')[::2] for pair in parts.query.split('&') if pair]
    query = dict(pairs)
    if len(query) != len(pairs):
        # Go's url.Query().Get, which kOps uses, takes the first value: refuse rather than guess which one counts
        raise BadLocation("vault location '%s' repeats a query parameter; give tls at most once" % location)
    unknown = set(query) - {'tls'}
    if unknown:
        raise BadLocation("vault location '%s' has unknown query parameter(s): %s" % (location, ', '.join(sorted(unknown))))
    # kOps: plain HTTP only when tls is exactly "false".
    return Location('vault', parts.hostname, key, port=port, mount=mount, tls=query.get('tls') != 'false')


def validate_entry_path(path, folder=False):
    """Return ``path`` normalised; refuse anything that could leave the store root. A ``folder`` path may be
    empty (the root) and end with '/'; an entry's may not: a name ending in '/' is a folder marker, never the
    entry without the slash."""
    if path is None:
        path = ''
    if not isinstance(path, str):
        raise BadLocation('entry path must be a string, got %s' % type(path).__name__)
    if '\x00' in path:
        raise BadLocation('entry path contains a NUL character')
    if path.startswith('/') or path.startswith('\\'):
        raise BadLocation("entry path '%s' is absolute; give a path relative to the state store" % path)
    stripped = path.rstrip('/')
    if not stripped:
        if folder:
            return ''
        raise BadLocation('entry path is empty')
    if stripped != path and not folder:
        raise BadLocation("entry path '%s' ends with '/', which names a folder, not an entry" % path)
    for segment in stripped.split('/'):
        decoded = unquote(segment)
        if decoded in ('.', '..') or '/' in decoded or '\\' in segment:
            raise BadLocation("entry path '%s' escapes the state store root or has a '.'/'..' segment" % path)
        if not segment:
            raise BadLocation("entry path '%s' has an empty segment ('//')" % path)
    return stripped

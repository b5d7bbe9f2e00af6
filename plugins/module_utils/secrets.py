# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Which entries are secret, and how their content is shown instead."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

# kOps keeps secret material in <cluster>/secrets/* and private keys in <cluster>/pki/*.
SECRET_FOLDERS = ('secrets', 'pki')


def is_secret_path(path, extra_patterns=()):
    """True for entries under a secrets/ or pki/ folder, or matching a user-given glob."""
    segments = path.strip('/').split('/')
    if any(segment in SECRET_FOLDERS for segment in segments[:-1]):
        return True
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in extra_patterns or ())


def redacted(data):
    return '<secret content not shown: %d bytes; set reveal_secrets to see it>' % len(data)

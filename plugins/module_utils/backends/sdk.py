# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The backends' Python SDKs: the oldest release of each the collection supports, and the run-time check.

MINIMUM_VERSIONS is the one place these numbers are kept. The backends check the installed SDKs against it when
they first use them (here, on the host a module runs on); requirements.txt, meta/ee-requirements.txt and the table
of docs/first-steps.md are checked against it by tests/unit/plugins/module_utils/backends/test_sdk_versions.py, and
tests/versions/run.sh installs exactly these releases to run the server-backed backend suites on them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kops.state_store.plugins.module_utils.errors import OutdatedLibrary

#: distribution name -> oldest supported release (what the code needs, proven by tests/versions/run.sh)
MINIMUM_VERSIONS = {
    # s3:// and do:// (and the Vault AWS IAM login's credentials): CopyObject's If-Match and If-None-Match, which
    # server-side copies send, are in botocore from 1.40.61; conditional PutObject/DeleteObject and the
    # request_checksum_calculation setting came earlier (1.36)
    'boto3': '1.40.61',
    'botocore': '1.40.61',
    # gs://
    'google-cloud-storage': '2.14.0',
    'google-api-core': '2.11.0',  # Retry.with_timeout, used for every call's retry settings
    # oss://
    'oss2': '2.18.0',
    # swift://: keystoneauth1 for explicit credentials, openstacksdk for clouds.yaml clouds
    'keystoneauth1': '3.18.0',
    'openstacksdk': '1.0.0',
    # vault://: read_secret_version's raise_on_deleted_version, iam_login's region
    'hvac': '2.0.0',
}

_LEADING_RELEASE = re.compile(r'\d+(?:\.\d+)*')
_INSTALLED = {}  # distribution -> installed version (None: cannot be read), looked up once per process


def release_numbers(version):
    """The release part of a version as comparable numbers: '1.40.61' -> (1, 40, 61), '2.0' and '2.0.0' -> (2,),
    '2.16.0rc1' -> (2, 16)."""
    numbers = [int(number) for number in _LEADING_RELEASE.match(version).group(0).split('.')]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def installed_version(distribution):
    """The version of ``distribution`` that imports find first on sys.path, or None when it cannot be read: a
    package copied or vendored without its metadata, or Python 3.7, which has no importlib.metadata."""
    if distribution not in _INSTALLED:
        try:
            from importlib.metadata import PackageNotFoundError, version
        except ImportError:
            _INSTALLED[distribution] = None
        else:
            try:
                _INSTALLED[distribution] = version(distribution)
            except PackageNotFoundError:
                _INSTALLED[distribution] = None
    return _INSTALLED[distribution]


def require_minimum_versions(scheme, *distributions):
    """Raise OutdatedLibrary naming the first of ``distributions`` (already imported by the ``scheme://``
    backend) whose installed release is older than MINIMUM_VERSIONS says."""
    for distribution in distributions:
        found, minimum = installed_version(distribution), MINIMUM_VERSIONS[distribution]
        if found is not None and release_numbers(found) < release_numbers(minimum):
            raise OutdatedLibrary(distribution, scheme, found, minimum)

# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE)
"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test runs it as ``get_pip_<version>.py <pip options> pip==<version> --no-setuptools --no-wheel``
inside each new sanity virtual environment.  The download host is unreachable here, so this script
installs the bundled pip with ``ensurepip`` and lets that pip install the pinned packages from the
configured package index.
"""
import subprocess
import sys

IGNORED = ('--no-setuptools', '--no-wheel')  # get-pip.py options that plain ``pip install`` lacks

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + [arg for arg in sys.argv[1:] if arg not in IGNORED])

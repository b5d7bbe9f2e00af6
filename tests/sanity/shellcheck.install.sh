#!/usr/bin/env bash
# Debian package for the `shellcheck` sanity test (ansible-test only warns and skips it when the
# program is missing). Idempotent: refreshes the package index and installs only when missing.
set -euo pipefail
command -v shellcheck >/dev/null && exit 0
SUDO=''
[ "$(id -u)" -eq 0 ] || SUDO='sudo'
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends shellcheck >/dev/null

#!/usr/bin/env bash
# Debian package for the history module and its tests (git runs there as on a user's machine).
# Idempotent: refreshes the package index and installs only when git is missing.
set -euo pipefail
command -v git >/dev/null && exit 0
SUDO=''
[ "$(id -u)" -eq 0 ] || SUDO='sudo'
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends git >/dev/null

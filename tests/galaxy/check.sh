#!/usr/bin/env bash
# Build the collection with ansible-galaxy, check what the tarball holds, install it into an empty
# collections path and run tests/galaxy/installed.yml against that install only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$ROOT/.venv/bin"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$BIN/ansible-galaxy" collection build "$ROOT" --output-path "$WORK/dist" >/dev/null
TARBALL="$(echo "$WORK"/dist/kops-state_store-*.tar.gz)"
SIZE="$(du -k "$TARBALL" | cut -f1)"

# Files that must never ship: the venv, build and test output, the demo's store, benchmarks, caches,
# and anything else git ignores.
tar -tzf "$TARBALL" > "$WORK/files.txt"
{
  grep -E '(^|/)(\.venv|build|demo|tests/output|benchmarks|__pycache__|\.pytest_cache|\.hypothesis|\.git)(/|$)|\.pyc$' \
    "$WORK/files.txt" || true
  git -C "$ROOT" check-ignore --no-index --stdin < "$WORK/files.txt" || true
} > "$WORK/unwanted.txt"
if [ -s "$WORK/unwanted.txt" ]; then
  sort -u "$WORK/unwanted.txt"
  echo "galaxy: FAILED, the tarball holds the files listed above" >&2
  exit 1
fi

ANSIBLE_COLLECTIONS_PATH="$WORK/collections" \
  "$BIN/ansible-galaxy" collection install "$TARBALL" -p "$WORK/collections" >/dev/null

# Only the installed copy is visible: no repository symlink, no user collections.
ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
  "$BIN/ansible-playbook" -i localhost, -c local -e "ansible_python_interpreter=$BIN/python" \
  -e "galaxy_store=file://$WORK/store" "$ROOT/tests/galaxy/installed.yml" > "$WORK/playbook.log" 2>&1 \
  || { cat "$WORK/playbook.log"; echo "galaxy: FAILED, the playbook on the installed collection failed" >&2; exit 1; }

echo "galaxy: OK, $(basename "$TARBALL") ${SIZE} KiB, $(wc -l < "$WORK/files.txt") paths, installed and ran $(grep -c '^TASK' "$WORK/playbook.log") tasks by FQCN"

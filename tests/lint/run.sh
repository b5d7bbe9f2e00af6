#!/usr/bin/env bash
# ansible-lint (production profile, .ansible-lint) and galaxy-importer on the built tarball, as Galaxy and
# Automation Hub check a collection. Installs them into build/venv-lint on first use.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VENV="$ROOT/build/venv-lint"
PYTHON="${PYTHON:-python3}"
if [ ! -e "$VENV/.installed" ] || ! cmp -s tests/lint/requirements.txt "$VENV/.installed"; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r tests/lint/requirements.txt
  cp tests/lint/requirements.txt "$VENV/.installed"
fi
export PATH="$VENV/bin:$PATH"

echo "== ansible-lint --profile production"
ansible-lint --nocolor

echo "== galaxy-importer"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ansible-galaxy collection build "$ROOT" --output-path "$WORK" >/dev/null
(cd "$WORK" && GALAXY_IMPORTER_CONFIG="$ROOT/tests/lint/galaxy-importer.cfg" \
  python -m galaxy_importer.main "$WORK"/kops-state_store-*.tar.gz) > "$WORK/importer.log" 2>&1 || {
  cat "$WORK/importer.log"; exit 1; }
# The one warning left: the sanity ignore files, whose entries are the Apache-2.0 license (validate-modules wants
# GPLv3 headers) and kOps's multi-document fixtures (see tests/sanity/ignore-*.txt); anything else fails.
unexpected="$(grep WARNING "$WORK/importer.log" | grep -v 'Ignore files skip ansible-test sanity tests' || true)"
if [ -n "$unexpected" ] || ! grep -q 'Importer processing completed successfully' "$WORK/importer.log"; then
  cat "$WORK/importer.log"; exit 1
fi
echo "galaxy-importer: OK ($(grep -c WARNING "$WORK/importer.log") known warnings: the sanity ignore files)"

#!/usr/bin/env bash
# Execution environment check (no container runtime needed): the built collection declares every backend SDK
# to ansible-builder (introspect --sanitize), and `ansible-builder create` makes a build context from the example
# awx/execution-environment.yml that carries the collection and, with it, every SDK requirement.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin="$repo/.venv/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# every backend SDK the collection keeps a minimum version of (plugins/module_utils/backends/sdk.py)
sdk_pins=$(PYTHONPATH="$repo/build/collections" "$bin/python" "$repo/tests/versions/oldest_sdks.py")
mapfile -t sdks < <(printf '%s\n' "$sdk_pins" | cut -d= -f1)

cp -r "$repo/awx" "$work/awx"
"$bin/ansible-galaxy" collection build "$repo" --output-path "$work/awx" >/dev/null
ANSIBLE_COLLECTIONS_PATH="$work/collections" "$bin/ansible-galaxy" collection install "$work"/awx/kops-state_store-*.tar.gz -p "$work/collections" >/dev/null

"$bin/ansible-builder" introspect --sanitize "$work/collections" > "$work/introspect.txt"
for sdk in "${sdks[@]}"; do
  grep -q "^- '$sdk" "$work/introspect.txt" || { echo "introspect does not list $sdk:"; cat "$work/introspect.txt"; exit 1; }
done

"$bin/ansible-builder" create -f "$work/awx/execution-environment.yml" --context "$work/context" --output-filename Containerfile >/dev/null
tarball=$(ls "$work"/context/_build/collections/kops-state_store-*.tar.gz)
tar -xzf "$tarball" -C "$work" meta/ee-requirements.txt meta/execution-environment.yml
for sdk in "${sdks[@]}"; do
  grep -q "^$sdk" "$work/meta/ee-requirements.txt" || { echo "the EE context's collection does not require $sdk"; exit 1; }
done
grep -q 'requirements.yml' "$work/context/Containerfile"
echo "execution environment: introspect and create OK, context names ${sdks[*]}"

#!/usr/bin/env bash
# Create the test virtualenv from the pinned requirements. It lives in the
# cache, keyed by the requirements' hash, and .venv links to it, so a fresh
# clone reuses it and a changed pin builds a new one.
. "$(dirname "$0")/lib.sh"

req="$REPO_ROOT/requirements-test.txt"
key="$(sha256sum < "$req" | cut -c1-12)"
venv="$CACHE_DIR/venv-$key"
if [ ! -f "$venv/.complete" ]; then
  log "creating virtualenv $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$req"
  touch "$venv/.complete"
else
  log "cached: $venv"
fi
ln -sfn "$venv" "$REPO_ROOT/.venv"

# Make the checkout importable as the collection tailnet.headscale.
mkdir -p "$REPO_ROOT/.collections/ansible_collections/tailnet"
ln -sfn ../../.. "$REPO_ROOT/.collections/ansible_collections/tailnet/headscale"

#!/usr/bin/env bash
# Create the test virtualenv from the pinned requirements. It lives in the
# cache, keyed by the requirements' hash, and .venv links to it, so a fresh
# clone reuses it and a changed pin builds a new one.
. "$(dirname "$0")/lib.sh"

req="$REPO_ROOT/requirements-test.txt"
venv="$CACHE_DIR/venv-$(requirements_key "$req")"
make_venv "$venv" -r "$req"
ln -sfn "$venv" "$REPO_ROOT/.venv"

# Make the checkout importable as the collection tailnet.headscale.
mkdir -p "$REPO_ROOT/.collections/ansible_collections/tailnet"
ln -sfn ../../.. "$REPO_ROOT/.collections/ansible_collections/tailnet/headscale"

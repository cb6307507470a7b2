#!/usr/bin/env bash
# Print the environment of the tools: the test virtualenv and the collection
# path. Enough for lint, docs, sanity and unit tests; no binary, image or
# Docker needed (eval "$(scripts/tools-env.sh)"). Fails, printing nothing,
# when scripts/venv.sh has not run.
. "$(dirname "$0")/lib.sh"

[ -x "$REPO_ROOT/.venv/bin/python3" ] || die "$REPO_ROOT/.venv is missing: run scripts/venv.sh"
[ -e "$REPO_ROOT/.collections/ansible_collections/tailnet/headscale/galaxy.yml" ] \
  || die "$REPO_ROOT/.collections does not hold the collection: run scripts/venv.sh"

cat <<ENV
export ANSIBLE_COLLECTIONS_PATH=$REPO_ROOT/.collections
export PATH=$REPO_ROOT/.venv/bin:\$PATH
ENV

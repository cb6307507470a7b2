#!/usr/bin/env bash
# The benchmarks' own virtualenv (matplotlib for the plot), apart from the test
# tools' one. It lives in the cache, keyed by bench/requirements.txt's hash, so
# a rerun or a fresh clone reuses it. Prints its path.
. "$(dirname "$0")/../scripts/lib.sh"

req="$REPO_ROOT/bench/requirements.txt"
key="$(sha256sum < "$req" | cut -c1-12)"
venv="$CACHE_DIR/bench-venv-$key"
if [ ! -f "$venv/.complete" ]; then
  log "creating virtualenv $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q -r "$req" >&2
  touch "$venv/.complete"
else
  log "cached: $venv"
fi
echo "$venv"

#!/usr/bin/env bash
# The benchmarks' own virtualenv (matplotlib for the plot), apart from the test
# tools' one. It lives in the cache, keyed by bench/requirements.txt's hash, so
# a rerun or a fresh clone reuses it. Prints its path.
. "$(dirname "$0")/../scripts/lib.sh"

req="$REPO_ROOT/bench/requirements.txt"
venv="$CACHE_DIR/bench-venv-$(requirements_key "$req")"
make_venv "$venv" -r "$req"
echo "$venv"

#!/usr/bin/env bash
# Unit tests of the collection's Python code (modules, module_utils), run by
# ansible-test in the same collection tree the sanity tests use.
. "$(dirname "$0")/lib.sh"

if ! find "$REPO_ROOT/tests/unit" -name 'test_*.py' -print -quit 2>/dev/null | grep -q .; then
  log "no unit tests under tests/unit yet: nothing to run"
  exit 0
fi
"$REPO_ROOT/scripts/sanity.sh" --list-tests >/dev/null  # lays out the collection tree
tree="$(sanity_tree)"
cd "$tree" || exit 1
ansible-test units --venv --python "$(python_version)" --color no "$@"

#!/usr/bin/env bash
# Unit tests of the collection's Python code: module_utils, filters, and every
# module run on recorded headscale CLI output (tests/unit/plugins/modules).
# pytest from the tools' virtualenv, in seconds: no headscale binary, no
# Docker, no network. Extra arguments go to pytest (scripts/units.sh -k node).
. "$(dirname "$0")/lib.sh"

cd "$REPO_ROOT" || exit 1
if ! find tests/unit -name 'test_*.py' -print -quit 2>/dev/null | grep -q .; then
  die "no unit tests under tests/unit: a unit run that tests nothing is a failure"
fi
[ -e .collections/ansible_collections/tailnet/headscale/galaxy.yml ] || die ".collections is missing: run scripts/venv.sh"
# The tests import the collection as ansible_collections.tailnet.headscale.
# pytest exits 5 when it collects no test: that fails this script too.
PYTHONPATH="$REPO_ROOT/.collections${PYTHONPATH:+:$PYTHONPATH}" \
  python3 -m pytest -q -p no:cacheprovider tests/unit "$@"

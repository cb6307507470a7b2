#!/usr/bin/env bash
# Unit tests of the collection's Python code: module_utils, filters, and every
# module run on recorded headscale CLI output (tests/unit/plugins/modules).
# pytest from the tools' virtualenv, in seconds: no headscale binary, no
# Docker, no network. Test files or directories given run alone
# (scripts/units.sh tests/unit/plugins/modules/test_node.py); other arguments go to pytest.
. "$(dirname "$0")/lib.sh"

cd "$REPO_ROOT" || exit 1
if ! find tests/unit -name 'test_*.py' -print -quit 2>/dev/null | grep -q .; then
  die "no unit tests under tests/unit: a unit run that tests nothing is a failure"
fi
[ -e .collections/ansible_collections/tailnet/headscale/galaxy.yml ] || die ".collections is missing: run scripts/venv.sh"
# The tests import the collection as ansible_collections.tailnet.headscale.
# pytest exits 5 when it collects no test: that fails this script too.
targets=()
options=()
for arg in "$@"; do
  if [ -e "$arg" ]; then targets+=("$arg"); else options+=("$arg"); fi
done
[ "${#targets[@]}" -gt 0 ] || targets=(tests/unit)
PYTHONPATH="$REPO_ROOT/.collections${PYTHONPATH:+:$PYTHONPATH}" \
  python3 -m pytest -q -p no:cacheprovider "${options[@]}" "${targets[@]}"

#!/usr/bin/env bash
# ansible-test sanity needs the collection at .../ansible_collections/NS/NAME.
# Copy the checkout's files (what git would commit) into such a tree and run
# it there; its per-test virtualenvs are cached under ~/.ansible/test.
. "$(dirname "$0")/lib.sh"

# ANSIBLE_CORE_VERSION=2.16.19 scripts/sanity.sh: that ansible-core's ansible-test,
# from its own cached virtualenv (make sanity-all runs every supported version).
if [ -n "${ANSIBLE_CORE_VERSION:-}" ]; then
  core_venv="$CACHE_DIR/venv-ansible-core-$ANSIBLE_CORE_VERSION"
  make_venv "$core_venv" "ansible-core==$ANSIBLE_CORE_VERSION"
  export PATH="$core_venv/bin:$PATH"
fi
log "ansible-test sanity with $(ansible-test --version)"

tree="$(sanity_tree)"
rm -rf "$tree"
mkdir -p "$tree"
cd "$REPO_ROOT" || exit 1
# Files deleted in the work tree but still in the index are skipped.
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do if [ -e "$f" ]; then cp --parents -P -- "$f" "$tree/"; fi; done
# ansible-test lists files with git when it finds a repository.
(cd "$tree" && git init -q && git add -A)

# ansible-test bootstraps pip in its virtualenvs with a get-pip script it
# downloads from a host these machines cannot reach: seed its cache instead.
pip_version="$(python3 - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)"
mkdir -p "$HOME/.ansible/test/cache"
install -m 0644 "$REPO_ROOT/scripts/get-pip-standin.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

cd "$tree" || exit 1
ansible-test sanity --venv --python "$(python_version)" --color no "$@"

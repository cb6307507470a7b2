#!/usr/bin/env bash
# A controller on current ansible-core. ansible-core 2.20 and later need Python
# >= 3.12; the test machines have 3.11. So the controller is a Debian 13
# container (Python 3.13) that runs a command from this checkout, with the
# checkout and the cache mounted at their own paths, and the Docker socket and
# CLI mounted so molecule's docker driver and connection drive the lab
# containers as they do from the host. It has no network (--network none):
# everything it reaches goes through the Docker socket.
#
#   scripts/controller.sh --image          build the image (make setup does)
#   scripts/controller.sh 2.21 --setup     fetch the wheels and build the virtualenv
#   scripts/controller.sh 2.21 CMD ARG...  run CMD in the controller, from the
#                                          checkout, with that virtualenv on PATH
#
# The virtualenv is pinned by tests/controller/requirements-CORE.txt and lives
# in the cache keyed by that file, like the host's (scripts/venv.sh). pip in a
# container cannot reach the package index, so the host's pip downloads
# Python 3.13 wheels (with those of ansible-test's sanity requirements, which it
# installs in its own virtualenvs) and the controller installs them with
# --no-index (/etc/pip.conf in the container). The environment's TAILNET_* variables (scripts/testbed-env.sh)
# are passed through.
. "$(dirname "$0")/lib.sh"

# Bump when the package list changes, so a stale image is not reused.
CONTROLLER_REVISION=1
CONTROLLER_IMAGE="tailnet-headscale/controller:trixie-r$CONTROLLER_REVISION"
CONTROLLER_PYTHON=3.13
# git: ansible-test lists the collection's files with it (scripts/sanity.sh).
CONTROLLER_PACKAGES=python3,python3-venv,git,ca-certificates

[ "$#" -gt 0 ] || die "usage: $0 --image | CORE --setup | CORE CMD [ARG...]"
debian_image "$CONTROLLER_IMAGE" trixie "$CONTROLLER_PACKAGES" /bin/bash
[ "$1" != --image ] || exit 0

core="$1"
shift
req="$REPO_ROOT/tests/controller/requirements-$core.txt"
[ -f "$req" ] || die "no $req: the controller runs the ansible-core versions of tests/controller/requirements-*.txt"
key="$(requirements_key "$req")"
wheels="$CACHE_DIR/controller-wheels-$key"
venv="$CACHE_DIR/controller-venv-$key"
# ansible-test keeps its sanity virtualenvs under ~/.ansible/test: a home per
# core version in the cache keeps them between runs.
home="$CACHE_DIR/controller-home-$key"
pip_conf="$CACHE_DIR/controller-pip-$key.conf"

docker_cli="$(command -v docker)"
# A controller container; the caller's TAILNET_* variables go with it.
controller_run() {  # DOCKER_RUN_OPTIONS... -- CMD...
  local opts=() env_opts=() name git_dir
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  while IFS= read -r name; do env_opts+=(-e "$name"); done < <(compgen -e | grep '^TAILNET_' || true)
  # A worktree's git directory lives in its main checkout: git (ansible-test) needs it too.
  git_dir="$(git -C "$REPO_ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)"
  case "$git_dir" in "" | "$REPO_ROOT"/*) ;; *) opts+=(-v "$git_dir:$git_dir:ro") ;; esac
  mkdir -p "$home"
  # pip's own configuration, since ansible-test runs pip with an environment of its own.
  # Written aside and moved: a controller of another lane may be reading it.
  printf '[global]\nno-index = true\nfind-links = %s\ndisable-pip-version-check = true\n' "$wheels" >"$pip_conf.$$"
  mv -f "$pip_conf.$$" "$pip_conf"
  docker run --rm --network none --init \
    -v "$REPO_ROOT:$REPO_ROOT" -v "$CACHE_DIR:$CACHE_DIR" -v "$home:/root" \
    -v /var/run/docker.sock:/var/run/docker.sock -v "$docker_cli:/usr/local/bin/docker:ro" \
    -v "$pip_conf:/etc/pip.conf:ro" \
    "${env_opts[@]}" -w "$PWD" "${opts[@]}" "$CONTROLLER_IMAGE" "$@"
}

# The wheels, once: the pinned set, then what ansible-test installs in its sanity
# virtualenvs (the requirement files inside the ansible-core wheel, and its pip).
fetch_wheels() {
  local platform=() tmp f pip_version
  [ ! -f "$wheels/.complete" ] || return 0
  log "downloading Python $CONTROLLER_PYTHON wheels for $(basename "$req") into $wheels"
  rm -rf "$wheels"
  for f in manylinux2014 manylinux_2_17 manylinux_2_28 manylinux_2_34; do
    platform+=(--platform "${f}_$(uname -m)")
  done
  download() { python3 -m pip download -q --disable-pip-version-check --python-version "$CONTROLLER_PYTHON" \
    "${platform[@]}" --only-binary=:all: -d "$wheels" "$@" >&2; }
  download -r "$req"
  tmp="$(mktemp -d)"
  (cd "$tmp" && python3 -m zipfile -e "$(ls "$wheels"/ansible_core-*.whl)" .)
  for f in "$tmp"/ansible_test/_data/requirements/{sanity.*,ansible,ansible-test}.txt; do
    download -r "$f"
  done
  pip_version="$(sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" "$tmp/ansible_test/_internal/python_requirements.py" | head -n 1)"
  download "pip==$pip_version"
  rm -rf "$tmp"
  touch "$wheels/.complete"
}

# The virtualenv, once, built inside the controller from the wheels alone.
build_venv() {
  [ ! -f "$venv/.complete" ] || return 0
  log "creating the controller's virtualenv $venv"
  controller_run -- bash -ec "rm -rf '$venv'; python3 -m venv '$venv'
    '$venv/bin/pip' install -q -r '$req'
    touch '$venv/.complete'" >&2
}

# Two lanes of make test may want the same virtualenv at once: one builds it.
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/controller-$key.lock"
flock 9
fetch_wheels
build_venv
flock -u 9
[ "$1" != --setup ] || exit 0

controller_run -e PATH="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  -e ANSIBLE_COLLECTIONS_PATH="$REPO_ROOT/.collections" -e TAILNET_CONTROLLER_CORE="$core" -- "$@"

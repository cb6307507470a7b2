# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are read by the scripts that source this file
# Shared settings for the test-bed scripts. Sourced, never executed.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Everything expensive lives outside the clone, keyed by version, so a fresh
# clone on the same machine (CI) reuses it.
CACHE_DIR="${TAILNET_HEADSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tailnet.headscale}"

# Versions the test bed builds. HEADSCALE_VERSION is the server role's default
# (roles/server/defaults/main.yml is the one place it is written).
role_headscale_version() {
  sed -n 's/^headscale_version: *"\{0,1\}\([0-9][^"]*\)"\{0,1\} *$/\1/p' "$REPO_ROOT/roles/server/defaults/main.yml"
}
HEADSCALE_VERSION="${HEADSCALE_VERSION:-v$(role_headscale_version)}"
[ "$HEADSCALE_VERSION" != v ] || { printf 'ERROR: no headscale_version in roles/server/defaults/main.yml\n' >&2; exit 1; }
HEADSCALE_PREVIOUS_VERSION="${HEADSCALE_PREVIOUS_VERSION:-v0.28.0}"
TAILSCALE_VERSION="${TAILSCALE_VERSION:-v1.102.4}"
# Litestream: the server role's default (roles/server/defaults/main.yml is the one place it is written).
role_litestream_version() {
  sed -n 's/^headscale_litestream_version: *"\{0,1\}\([0-9][^"]*\)"\{0,1\} *$/\1/p' "$REPO_ROOT/roles/server/defaults/main.yml"
}
LITESTREAM_VERSION="${LITESTREAM_VERSION:-v$(role_litestream_version)}"
DEBIAN_SUITES="${DEBIAN_SUITES:-bookworm trixie}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

GOARCH_HOST="$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
BIN_CACHE="$CACHE_DIR/bin"

export PATH="/usr/local/go/bin:$PATH"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ansible-test needs the collection at .../ansible_collections/NS/NAME; one
# tree per checkout, so two checkouts on one machine cannot clobber each other,
# and one per controller core (scripts/controller.sh), since those run beside
# the host's in make test.
sanity_tree() { echo "$CACHE_DIR/sanity-$(printf %s "$REPO_ROOT${TAILNET_CONTROLLER_CORE:+ controller $TAILNET_CONTROLLER_CORE}" | sha256sum | cut -c1-8)/ansible_collections/tailnet/headscale"; }
python_version() { python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

headscale_bin_dir() { echo "$BIN_CACHE/headscale-$1-linux-$GOARCH_HOST"; }
tailscale_bin_dir() { echo "$BIN_CACHE/tailscale-$1-linux-$GOARCH_HOST"; }
# The OpenID provider of the OIDC scenario (lab/oidc-provider: zitadel's OIDC library), keyed by the
# library's version (its go.mod is the one place it is written) and the module's own files.
OIDC_PROVIDER_SRC="$REPO_ROOT/lab/oidc-provider"
oidc_provider_bin_dir() {
  local version
  version="$(sed -n 's/^require github.com\/zitadel\/oidc\/v3 \(v[^ ]*\)$/\1/p' "$OIDC_PROVIDER_SRC/go.mod")"
  echo "$BIN_CACHE/oidc-provider-zitadel-$version-$(cat "$OIDC_PROVIDER_SRC/go.mod" "$OIDC_PROVIDER_SRC/go.sum" "$OIDC_PROVIDER_SRC/main.go" | sha256sum | cut -c1-12)-linux-$GOARCH_HOST"
}
litestream_bin_dir() { echo "$BIN_CACHE/litestream-$1-linux-$GOARCH_HOST"; }
# The bench's node fixture builder (lab/node-fixture: headscale's gRPC API, pinned by its go.mod and
# go.sum at the headscale version the bench runs), keyed by its three files.
NODE_FIXTURE_SRC="$REPO_ROOT/lab/node-fixture"
node_fixture_bin_dir() {
  echo "$BIN_CACHE/node-fixture-$(cat "$NODE_FIXTURE_SRC/go.mod" "$NODE_FIXTURE_SRC/go.sum" "$NODE_FIXTURE_SRC/main.go" | sha256sum | cut -c1-12)-linux-$GOARCH_HOST"
}
# The S3-compatible store of the disaster_recovery scenario (lab/s3-server: SeaweedFS, pinned by its
# go.mod and go.sum), keyed by those two files.
S3_SERVER_SRC="$REPO_ROOT/lab/s3-server"
s3_server_bin_dir() {
  echo "$BIN_CACHE/s3-server-seaweedfs-$(cat "$S3_SERVER_SRC/go.mod" "$S3_SERVER_SRC/go.sum" | sha256sum | cut -c1-12)-linux-$GOARCH_HOST"
}

# A virtualenv at DIR with what the pip arguments name, built once: DIR/.complete
# marks a finished build, so an interrupted one is started over. pip talks on stderr.
make_venv() {  # DIR PIP_INSTALL_ARGS...
  local venv="$1"
  shift
  if [ -f "$venv/.complete" ]; then
    log "cached: $venv"
    return 0
  fi
  log "creating virtualenv $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q "$@" >&2
  touch "$venv/.complete"
}
# The cache key of a requirements file: a changed pin builds a new virtualenv.
requirements_key() { sha256sum < "$1" | cut -c1-12; }

# A Debian image IMAGE of SUITE with the comma-separated PACKAGES, built without a
# registry: debootstrap a root file system from Debian's mirror and `docker import`
# it. Reused when present. CMD is the image's command (/sbin/init for systemd).
debian_image() {  # IMAGE SUITE PACKAGES CMD
  local image="$1" suite="$2" packages="$3" cmd="$4" rootfs
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "cached: $image"
    return 0
  fi
  rootfs="$(mktemp -d "${TMPDIR:-/tmp}/rootfs-$suite.XXXXXX")"
  log "debootstrap $suite into $rootfs"
  as_root debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$DEBIAN_MIRROR" \
    > "$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; die "debootstrap $suite failed"; }
  # Images are thrown away after each test: no apt lists or caches needed.
  as_root rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  # A fresh Debian nginx starts at boot with a default site on :80; only the
  # proxy role may turn it on, so the other scenarios see no stray listener.
  as_root rm -f "$rootfs"/etc/systemd/system/multi-user.target.wants/nginx.service \
    "$rootfs"/etc/nginx/sites-enabled/default
  # Debian's Prometheus packages start at boot (Prometheus on :9090, headscale's metrics port): only
  # the monitoring role turns them on.
  as_root rm -f "$rootfs"/etc/systemd/system/multi-user.target.wants/prometheus*.service \
    "$rootfs"/etc/systemd/system/timers.target.wants/prometheus*.timer
  as_root tar -C "$rootfs" -c . | docker import -c "CMD [\"$cmd\"]" - "$image" >/dev/null
  as_root rm -rf "$rootfs" "$rootfs.log"
  log "built $image"
}

# A Debian systemd container started the way this kind of machine allows
# (--privileged fails: see docs/testing.md), returned once systemd is up.
# Extra docker run options (--hostname, --network none) go before the image.
run_systemd_container() {  # NAME IMAGE [DOCKER_RUN_OPTIONS...]
  local name="$1" image="$2"
  shift 2
  docker run -d --name "$name" --cap-add SYS_ADMIN --security-opt seccomp=unconfined \
    --security-opt apparmor=unconfined --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --tmpfs /run --tmpfs /run/lock --tmpfs /tmp "$@" "$image" /sbin/init >/dev/null
  docker exec "$name" systemctl is-system-running --wait >/dev/null 2>&1 || true
}

# A container NAME and a work directory DIR that live for this run only: a
# container of that name left by an earlier run is removed now, and both are
# removed on exit.
throwaway_container() {  # NAME DIR
  throwaway_name="$1"
  throwaway_dir="$2"
  trap 'docker rm -f "$throwaway_name" >/dev/null 2>&1 || true; rm -rf "$throwaway_dir"' EXIT
  docker rm -f "$throwaway_name" >/dev/null 2>&1 || true
}

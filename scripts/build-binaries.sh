#!/usr/bin/env bash
# Build the REAL headscale (pinned + previous minor) and tailscale binaries from
# their Go modules: release downloads are not reachable from the test machines.
# Each build lands in a version-keyed cache dir and is skipped when present.
. "$(dirname "$0")/lib.sh"

command -v go >/dev/null || die "Go toolchain not found (looked in PATH and /usr/local/go/bin); install Go >= 1.21"

build() {  # build DEST_DIR MODULE VERSION PACKAGE... (LDFLAGS_EXTRA in the environment: more -ldflags)
  local dest="$1" module="$2" version="$3"; shift 3
  if [ -f "$dest/.complete" ]; then
    log "cached: $dest"
    return
  fi
  log "building $module@$version ($*) into $dest"
  # `go install mod@version` is what stamps the release version into the
  # binary (`headscale version` must say it), but it asks the proxy for the
  # module's version list, which the proxy here refuses. So: download the
  # module and its dependencies through the proxy (verified against the
  # checksum database and go.sum), then install from the local module cache
  # used as a file proxy, where that list exists.
  local src modcache
  modcache="$(go env GOMODCACHE)"
  src="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src" ] || die "go mod download $module@$version gave no source dir"
  (cd "$src" && go mod download)
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  local pkgs=() pkg
  for pkg in "$@"; do pkgs+=("$module/${pkg#./}@$version"); done
  # CGO off: headscale's sqlite driver is pure Go, and static binaries run in any test image.
  GOPROXY="file://$modcache/cache/download" GOSUMDB=off GOFLAGS=-mod=readonly \
    GOBIN="$dest.tmp" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w ${LDFLAGS_EXTRA:-}" "${pkgs[@]}"
  (cd "$dest.tmp" && sha256sum -- * > SHA256SUMS)
  touch "$dest.tmp/.complete"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}

build_local() {  # build_local DEST_DIR MODULE_DIR BINARY_NAME [PACKAGE]: a module of this repository (go.sum pinned)
  local dest="$1" src="$2" name="$3" package="${4:-.}"
  if [ -f "$dest/.complete" ]; then
    log "cached: $dest"
    return
  fi
  log "building $src into $dest"
  (cd "$src" && go mod download)
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  (cd "$src" && GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dest.tmp/$name" "$package")
  (cd "$dest.tmp" && sha256sum -- * > SHA256SUMS)
  touch "$dest.tmp/.complete"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}

mkdir -p "$BIN_CACHE"
# One build at a time: a second run waits, then finds the cache filled.
exec 9>"$BIN_CACHE/.lock"
flock 9
# `build-binaries.sh s3-server`: only the disaster_recovery scenario's S3 store (SeaweedFS, minutes of
# build and over 100 MB), which that scenario's own make target builds in its lane, not in setup.
if [ "${1:-}" = s3-server ]; then
  build_local "$(s3_server_bin_dir)" "$S3_SERVER_SRC" weed github.com/seaweedfs/seaweedfs/weed
  exit 0
fi
for v in "$HEADSCALE_VERSION" "$HEADSCALE_PREVIOUS_VERSION"; do
  build "$(headscale_bin_dir "$v")" github.com/juanfont/headscale "$v" ./cmd/headscale
done
build "$(tailscale_bin_dir "$TAILSCALE_VERSION")" tailscale.com "$TAILSCALE_VERSION" ./cmd/tailscale ./cmd/tailscaled
# The OpenID provider of molecule/oidc (zitadel's OIDC library; Dex is refused by the module proxy).
build_local "$(oidc_provider_bin_dir)" "$OIDC_PROVIDER_SRC" tailnet-oidc-provider
# The bench's node fixture builder speaks headscale's gRPC API as of the headscale it names: the one pinned.
fixture_headscale="$(sed -n 's/^[[:space:]]*github.com\/juanfont\/headscale \(v[^ ]*\)$/\1/p' "$NODE_FIXTURE_SRC/go.mod")"
[ "$fixture_headscale" = "$HEADSCALE_VERSION" ] ||
  die "lab/node-fixture/go.mod requires headscale ${fixture_headscale:-(none)}, the pinned one is $HEADSCALE_VERSION: run \`go get github.com/juanfont/headscale@$HEADSCALE_VERSION && go mod tidy\` in lab/node-fixture"
build_local "$(node_fixture_bin_dir)" "$NODE_FIXTURE_SRC" node-fixture
# Litestream (the server role's opt-in replication). `go install mod@version` does not stamp
# litestream's version (its main.Version stays "(development build)"): set it with -X.
LDFLAGS_EXTRA="-X main.Version=$LITESTREAM_VERSION" \
  build "$(litestream_bin_dir "$LITESTREAM_VERSION")" github.com/benbjohnson/litestream "$LITESTREAM_VERSION" ./cmd/litestream

#!/usr/bin/env bash
# Print the environment the playbooks and molecule scenarios read to find the
# locally built binaries and images, plus the tools' (scripts/tools-env.sh)
# (eval "$(scripts/testbed-env.sh)"). Fails, printing nothing, when a part is missing.
. "$(dirname "$0")/lib.sh"

tools="$("$REPO_ROOT/scripts/tools-env.sh")" || exit 1

hs="$(headscale_bin_dir "$HEADSCALE_VERSION")/headscale"
hs_prev="$(headscale_bin_dir "$HEADSCALE_PREVIOUS_VERSION")/headscale"
ts_dir="$(tailscale_bin_dir "$TAILSCALE_VERSION")"
op="$(oidc_provider_bin_dir)/tailnet-oidc-provider"
ls_bin="$(litestream_bin_dir "$LITESTREAM_VERSION")/litestream"
node_fixture="$(node_fixture_bin_dir)/node-fixture"
for f in "$hs" "$hs_prev" "$ts_dir/tailscale" "$ts_dir/tailscaled" "$op" "$ls_bin" "$node_fixture"; do
  [ -x "$f" ] || die "$f is missing: run scripts/build-binaries.sh"
done
sha() { sha256sum "$1" | cut -d' ' -f1; }
# Built only by the disaster_recovery scenario's target (scripts/build-binaries.sh s3-server).
s3_server="$(s3_server_bin_dir)/weed"
[ -x "$s3_server" ] || s3_server=""

cat <<ENV
export TAILNET_HEADSCALE_VERSION=${HEADSCALE_VERSION#v}
export TAILNET_HEADSCALE_BINARY=$hs
export TAILNET_HEADSCALE_BINARY_SHA256=$(sha "$hs")
export TAILNET_HEADSCALE_PREVIOUS_VERSION=${HEADSCALE_PREVIOUS_VERSION#v}
export TAILNET_HEADSCALE_PREVIOUS_BINARY=$hs_prev
export TAILNET_HEADSCALE_PREVIOUS_BINARY_SHA256=$(sha "$hs_prev")
export TAILNET_TAILSCALE_DIR=$ts_dir
export TAILNET_OIDC_PROVIDER_BINARY=$op
export TAILNET_OIDC_PROVIDER_BINARY_SHA256=$(sha "$op")
export TAILNET_LITESTREAM_VERSION=${LITESTREAM_VERSION#v}
export TAILNET_LITESTREAM_BINARY=$ls_bin
export TAILNET_LITESTREAM_BINARY_SHA256=$(sha "$ls_bin")
export TAILNET_NODE_FIXTURE_BINARY=$node_fixture
export TAILNET_S3_SERVER_DIR=${s3_server:+$(dirname "$s3_server")}
export TAILNET_IMAGE_BOOKWORM=tailnet-headscale/debian-systemd:bookworm-r$(sed -n 's/^IMAGE_REVISION=//p' "$REPO_ROOT/scripts/base-images.sh")
export TAILNET_IMAGE_DR=tailnet-headscale/debian-dr:bookworm-r$(sed -n 's/^DR_IMAGE_REVISION=//p' "$REPO_ROOT/scripts/base-images.sh")
export TAILNET_IMAGE_TRIXIE=tailnet-headscale/debian-systemd:trixie-r$(sed -n 's/^IMAGE_REVISION=//p' "$REPO_ROOT/scripts/base-images.sh")
export TAILNET_IMAGE_MONITORING=tailnet-headscale/debian-monitoring:trixie-r$(sed -n 's/^MONITORING_REVISION=//p' "$REPO_ROOT/scripts/base-images.sh")
$tools
ENV

#!/usr/bin/env bash
# Print the path of promtool (Debian's prometheus package ships it), fetching the .deb with
# apt-get download and extracting promtool into the cache (keyed by the package version) on
# first use: make lint runs the alert rules' unit tests (promtool test rules) with it, and
# nothing is installed on the host.
. "$(dirname "$0")/lib.sh"

version="$(apt-cache policy prometheus 2>/dev/null | sed -n 's/^ *Candidate: //p')"
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  version="$(apt-cache policy prometheus | sed -n 's/^ *Candidate: //p')"
fi
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  die "apt knows no prometheus package: add Debian's main archive to apt's sources"
fi
dir="$CACHE_DIR/promtool-$(printf %s "$version" | tr -c 'A-Za-z0-9.\n' '_')"
if [ ! -x "$dir/promtool" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  log "fetching Debian's prometheus $version for promtool"
  (cd "$work" && apt-get download -q "prometheus=$version" >&2 2>/dev/null) || die "apt-get download prometheus=$version failed"
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  mkdir -p "$dir"
  install -m 0755 "$work/root/usr/bin/promtool" "$dir/promtool.new"
  mv -f "$dir/promtool.new" "$dir/promtool"
fi
echo "$dir/promtool"

#!/usr/bin/env bash
# Build systemd-capable Debian images without a registry: debootstrap a root
# file system from Debian's mirror and `docker import` it. Reused when present.
. "$(dirname "$0")/lib.sh"

# Bump when the package list changes, so stale images are not reused.
IMAGE_REVISION=1
PACKAGES=systemd,systemd-sysv,dbus,python3,iproute2,ca-certificates,procps,curl,sqlite3

for suite in $DEBIAN_SUITES; do
  image="tailnet-headscale/debian-systemd:$suite-r$IMAGE_REVISION"
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "cached: $image"
    continue
  fi
  rootfs="$(mktemp -d "${TMPDIR:-/tmp}/rootfs-$suite.XXXXXX")"
  log "debootstrap $suite into $rootfs"
  as_root debootstrap --variant=minbase --include="$PACKAGES" "$suite" "$rootfs" "$DEBIAN_MIRROR" \
    > "$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; die "debootstrap $suite failed"; }
  # Images are thrown away after each test: no apt lists or caches needed.
  as_root rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  as_root tar -C "$rootfs" -c . | docker import -c 'CMD ["/sbin/init"]' - "$image" >/dev/null
  as_root rm -rf "$rootfs" "$rootfs.log"
  log "built $image"
done

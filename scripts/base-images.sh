#!/usr/bin/env bash
# Build systemd-capable Debian images without a registry: debootstrap a root
# file system from Debian's mirror and `docker import` it. Reused when present.
. "$(dirname "$0")/lib.sh"

# Bump when the package list changes, so stale images are not reused.
IMAGE_REVISION=2
# nginx and openssl: the proxy role's TLS front end and its lab CA (no apt in tests).
PACKAGES=systemd,systemd-sysv,dbus,python3,iproute2,ca-certificates,procps,curl,sqlite3,nginx,openssl

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
  # A fresh Debian nginx starts at boot with a default site on :80; only the
  # proxy role may turn it on, so the other scenarios see no stray listener.
  as_root rm -f "$rootfs"/etc/systemd/system/multi-user.target.wants/nginx.service \
    "$rootfs"/etc/nginx/sites-enabled/default
  as_root tar -C "$rootfs" -c . | docker import -c 'CMD ["/sbin/init"]' - "$image" >/dev/null
  as_root rm -rf "$rootfs" "$rootfs.log"
  log "built $image"
done

#!/usr/bin/env bash
# Build systemd-capable Debian images without a registry: debootstrap a root
# file system from Debian's mirror and `docker import` it. Reused when present.
. "$(dirname "$0")/lib.sh"

# Bump when the package list changes, so stale images are not reused.
IMAGE_REVISION=2
# nginx and openssl: the proxy role's TLS front end and its lab CA (no apt in tests).
PACKAGES=systemd,systemd-sysv,dbus,python3,iproute2,ca-certificates,procps,curl,sqlite3,nginx,openssl

for suite in $DEBIAN_SUITES; do
  debian_image "tailnet-headscale/debian-systemd:$suite-r$IMAGE_REVISION" "$suite" "$PACKAGES" /sbin/init
done
# The security scenario's server also runs the monitoring stack (roles/monitoring, the alerting tests): Debian's
# Prometheus, Alertmanager and node_exporter, and PyYAML for the scheduled audit. An image of its own, so the
# others stay as they are; the packages' services stay off until the monitoring role turns them on.
MONITORING_REVISION=1
debian_image "tailnet-headscale/debian-monitoring:trixie-r$MONITORING_REVISION" trixie \
  "$PACKAGES,prometheus,prometheus-alertmanager,prometheus-node-exporter,python3-yaml" /sbin/init
# The disaster_recovery scenario's hosts: the server needs age (the role encrypts the keys with it),
# the replica host Debian's openssh-server (the SFTP target). Its own image, so no other scenario
# gets an SSH daemon listening.
DR_IMAGE_REVISION=1
debian_image "tailnet-headscale/debian-dr:bookworm-r$DR_IMAGE_REVISION" bookworm "$PACKAGES,openssh-server,age" /sbin/init
# The controller on current ansible-core (scripts/controller.sh): Debian 13's
# Python 3.13, since ansible-core 2.20 and later need 3.12 and the host has 3.11.
"$REPO_ROOT/scripts/controller.sh" --image

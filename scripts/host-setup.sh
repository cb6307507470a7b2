#!/usr/bin/env bash
# Install the host tools the test bed needs and make sure a Docker engine answers. The test machines have no systemd as
# PID 1, so dockerd from Debian's docker.io is started by hand when needed.
. "$(dirname "$0")/lib.sh"

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
# ansible-test sanity runs shellcheck on the scripts when it is installed.
command -v shellcheck >/dev/null || need_pkgs+=(shellcheck)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]} from Debian"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# Every container's systemd takes inotify instances from one per-user pool (128 by default): past a
# dozen or so containers, the next one's systemd cannot start and its services (tailscaled) fail.
# Raise the pool, never lower it.
raise_sysctl() {  # raise_sysctl KEY MIN
  local current
  current="$(sysctl -n "$1" 2>/dev/null || echo 0)"
  if [ "$current" -lt "$2" ]; then
    log "raising $1 from $current to $2 (systemd containers)"
    as_root sysctl -q -w "$1=$2" || log "could not raise $1: more than a dozen systemd containers may not start"
  fi
}
raise_sysctl fs.inotify.max_user_instances 8192
raise_sysctl fs.inotify.max_user_watches 524288

if docker info >/dev/null 2>&1; then
  exit 0
fi

log "starting dockerd (log: /var/log/dockerd.log)"
# setsid: the engine must outlive this script and the make that called it.
as_root setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "docker engine is up"
    exit 0
  fi
  sleep 1
done
tail -n 30 /var/log/dockerd.log >&2 || true
die "the Docker engine did not answer within 60 s (see /var/log/dockerd.log above)"

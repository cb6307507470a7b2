#!/bin/sh
# The host-level lock of tailnet.headscale: one run at a time changes this host.
# The lock is a file naming its holder (run id, lease end, who); it is read and
# written only under flock(1) on LOCK.guard, so two runs cannot both take it.
#   host-lock.sh acquire LOCK RUN_ID HOLDER TIMEOUT LEASE [DEAD_RUN_ID]
#     takes the lock (or keeps it, if RUN_ID holds it already); waits up to TIMEOUT
#     seconds for another holder, then fails naming it. A holder whose lease (LEASE
#     seconds) has ended, or whose run id is DEAD_RUN_ID (the caller saw that run's
#     process gone), is replaced.
#   host-lock.sh release LOCK RUN_ID
#     gives the lock up, only if RUN_ID holds it.
# The lock lives under /run: a reboot, which ends every run, also frees it.
set -eu
action="$1"; lock="$2"; run="$3"
mkdir -p "$(dirname "$lock")"

if [ "$action" = release ]; then
  flock "$lock.guard" sh -c '
    if [ -f "$1" ] && [ "$(sed -n 1p "$1")" = "$2" ]; then rm -f "$1"; echo released; fi' sh "$lock" "$run"
  exit 0
fi

holder="$4"; timeout="$5"; lease="$6"; dead="${7:-}"
deadline=$(( $(date +%s) + timeout ))
while :; do
  # Prints "acquired", "held" (already ours) or the current holder's line.
  answer="$(flock "$lock.guard" sh -c '
    lock="$1"; run="$2"; holder="$3"; lease="$4"; dead="$5"; now="$(date +%s)"
    if [ -f "$lock" ]; then
      current="$(sed -n 1p "$lock")"; until="$(sed -n 2p "$lock")"
      if [ "$current" = "$run" ]; then echo held; exit 0; fi
      if [ "$current" != "$dead" ] && [ "${until:-0}" -gt "$now" ]; then
        echo "$(sed -n 3p "$lock") (lease until $(date -u -d "@$until" +%FT%TZ))"; exit 0
      fi
    fi
    printf "%s\n%s\n%s\n" "$run" "$((now + lease))" "$holder" > "$lock.new"
    mv -f "$lock.new" "$lock"
    echo acquired' sh "$lock" "$run" "$holder" "$lease" "$dead")"
  case "$answer" in
    acquired|held) echo "$answer"; exit 0 ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "Another run holds the host lock $lock: $answer. Waited ${timeout}s. Let it finish and run again;" \
      "if that run is gone, the lock frees itself when its lease ends, or remove $lock." >&2
    exit 75
  fi
  sleep 2
done

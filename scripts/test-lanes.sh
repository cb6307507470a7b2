#!/usr/bin/env bash
# Runs independent make targets side by side, TEST_LANES at a time (default 2),
# each into its own log under .test-logs/, in the order given: list the longest
# first, so the short ones fill the gaps at the end. Each target's outcome and
# time is printed as it ends; a failed target's log tail is printed at the end,
# after the summary, so the reason is the last thing a CI log shows.
#   scripts/test-lanes.sh molecule-faults integration galaxy
# The targets must not share anything: the molecule scenarios have their own
# container and network names, integration starts headscale on free loopback
# ports, galaxy has its own container. Each molecule run also holds its
# scenario's lock (/tmp/tailnet-molecule-S.lock, see the Makefile), so a second
# checkout on the same machine waits instead of colliding.
. "$(dirname "$0")/lib.sh"

lanes="${TEST_LANES:-2}"
[ "$#" -gt 0 ] || die "usage: $0 TARGET..."
logs="$REPO_ROOT/.test-logs"
rm -rf "$logs"
mkdir -p "$logs"

started=$(date +%s)
log "$# targets, $lanes at a time; logs in .test-logs/"
run_one() {  # TARGET: make TARGET into its log; prints one line and records the outcome
  local target="$1" t0 rc
  t0=$(date +%s)
  if make -C "$REPO_ROOT" --no-print-directory "$target" >"$logs/$target.log" 2>&1; then rc=0; else rc=$?; fi
  printf '%s %s %d\n' "$target" "$rc" "$(($(date +%s) - t0))" >"$logs/$target.result"
  printf '==> %-24s %s in %d s\n' "$target" "$([ "$rc" = 0 ] && echo passed || echo "FAILED (rc $rc)")" \
    "$(($(date +%s) - t0))" >&2
}
export -f run_one log
export logs REPO_ROOT
# xargs starts the next target as soon as a lane is free; its own exit status
# is ignored, the .result files are the record.
# shellcheck disable=SC2016  # $1 is expanded by the inner bash, not here
printf '%s\n' "$@" | xargs -P "$lanes" -I{} bash -c 'run_one "$1"' _ {} || true

failed=()
printf '\n%-24s %-8s %s\n' target result seconds >&2
for target in "$@"; do
  if [ -f "$logs/$target.result" ]; then
    read -r _ rc seconds <"$logs/$target.result"
  else
    rc=missing seconds=-
  fi
  printf '%-24s %-8s %s\n' "$target" "$([ "$rc" = 0 ] && echo ok || echo "FAILED")" "$seconds" >&2
  [ "$rc" = 0 ] || failed+=("$target")
done
printf '%d targets in %d s wall time, %d lanes\n' "$#" "$(($(date +%s) - started))" "$lanes" >&2

for target in "${failed[@]}"; do
  printf '\n==> %s FAILED; the tests that failed, then the last 150 lines of .test-logs/%s.log:\n' "$target" "$target" >&2
  grep -aE '(FAILED|ERROR) .*(::|tests/)|^E  +' "$logs/$target.log" | head -60 >&2 || true
  printf -- '---\n' >&2
  tail -n 150 "$logs/$target.log" >&2
done
[ "${#failed[@]}" -eq 0 ]

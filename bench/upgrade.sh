#!/usr/bin/env bash
# Upgrade benchmark: seconds without a healthy control server during an
# upgrade (previous minor -> pinned) and during an automatic rollback (a
# "new" binary that dies on start). A poller inside the container asks
# /health at 10 Hz; the figure is the longest run of failed polls.
# Prints figures; asserts nothing. Goals: upgrade <= 5 s, rollback <= 10 s.
# Run through `make bench` (it builds what is needed and sets the env).
. "$(dirname "$0")/../scripts/lib.sh"

name=tailnet-headscale-bench-upgrade
image="${TAILNET_IMAGE_BOOKWORM:?run through make bench}"
work="$(mktemp -d)"
throwaway_container "$name" "$work"

run_systemd_container "$name" "$image" --network none
sed "s/tailnet-headscale-demo:/$name:/" "$REPO_ROOT/lab/inventory.yml" > "$work/inventory.yml"

run() {  # run the upgrade playbook with extra vars; print its wall time
  local start end
  start="$(date +%s.%N)"
  ansible-playbook -i "$work/inventory.yml" tailnet.headscale.upgrade "$@" > "$work/run.log" 2>&1 || true
  end="$(date +%s.%N)"
  python3 -c "print(f'{$end - $start:.1f}')"
}

previous=(-e "headscale_version=$TAILNET_HEADSCALE_PREVIOUS_VERSION" -e "headscale_binary_src=$TAILNET_HEADSCALE_PREVIOUS_BINARY"
          -e "headscale_binary_sha256=$TAILNET_HEADSCALE_PREVIOUS_BINARY_SHA256")
run "${previous[@]}" >/dev/null
docker exec "$name" headscale version | grep -q "v$TAILNET_HEADSCALE_PREVIOUS_VERSION" || { tail -n 30 "$work/run.log" >&2; die "install of $TAILNET_HEADSCALE_PREVIOUS_VERSION failed"; }

# 10 Hz poller, a transient unit in the container: one line per poll, "<epoch seconds> <0|1>".
cat > "$work/poller" <<'SH'
#!/bin/sh
while :; do
  if curl -fs -m 0.5 -o /dev/null http://127.0.0.1:8080/health; then ok=1; else ok=0; fi
  echo "$(date +%s.%N) $ok" >> /run/polls
  sleep 0.1
done
SH
docker cp "$work/poller" "$name:/usr/local/bin/bench-poller"
poll() { docker exec "$name" sh -c 'rm -f /run/polls; systemd-run --quiet --unit bench-poller --collect /bin/sh /usr/local/bin/bench-poller'; }
unpoll() { docker exec "$name" sh -c 'systemctl stop bench-poller; cat /run/polls'; }
gap() { python3 -c '
import sys
polls = [line.split() for line in sys.stdin if line.strip()]
longest, start = 0.0, None
for stamp, ok in polls:
    if ok == "0" and start is None:
        start = float(stamp)
    elif ok == "1" and start is not None:
        longest, start = max(longest, float(stamp) - start), None
if len(polls) < 10:
    sys.exit("the poller recorded %d polls: no figure" % len(polls))
print(f"{longest:.1f} {len(polls)}")'; }

# A "new" version that passes configtest (the previous binary answers) but dies on serve.
cat > "$work/broken" <<SH
#!/bin/sh
for arg; do [ "\$arg" = serve ] && { echo 'migration failed (benchmark)' >&2; exit 1; }; done
exec /usr/local/lib/headscale/headscale-$TAILNET_HEADSCALE_PREVIOUS_VERSION "\$@"
SH
chmod 0755 "$work/broken"
poll
rollback_wall="$(run -e "headscale_version=$TAILNET_HEADSCALE_VERSION" -e "headscale_binary_src=$work/broken" \
  -e "headscale_binary_sha256=$(sha256sum < "$work/broken" | cut -c1-64)")"
grep -q "Rolled back" "$work/run.log" || { tail -n 20 "$work/run.log" >&2; die "the rollback did not happen"; }
read -r rollback_gap rollback_polls < <(unpoll | gap)

poll
upgrade_wall="$(run -e "headscale_version=$TAILNET_HEADSCALE_VERSION" -e "headscale_binary_src=$TAILNET_HEADSCALE_BINARY" \
  -e "headscale_binary_sha256=$TAILNET_HEADSCALE_BINARY_SHA256")"
docker exec "$name" headscale version | grep -q "v$TAILNET_HEADSCALE_VERSION" || { tail -n 30 "$work/run.log" >&2; die "upgrade failed"; }
read -r upgrade_gap upgrade_polls < <(unpoll | gap)

python3 - "$REPO_ROOT/bench" "$upgrade_gap" "$upgrade_wall" "$upgrade_polls" "$rollback_gap" "$rollback_wall" "$rollback_polls" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from common import figure, save
from tables import upgrade_detail
up_gap, up_wall, up_polls, rb_gap, rb_wall, rb_polls = sys.argv[2:]
saved = save("upgrade", "upgrade and rollback (Debian 12 container, /health at 10 Hz)", [
    figure("no healthy server during an upgrade (previous minor -> pinned)", float(up_gap), "<= 5 s", float(up_gap) <= 5,
           f"playbook {float(up_wall):.1f} s, {up_polls} polls", fmt="%.1f s"),
    figure("no healthy server during an automatic rollback", float(rb_gap), "<= 10 s", float(rb_gap) <= 10,
           f"playbook {float(rb_wall):.1f} s, {rb_polls} polls", fmt="%.1f s"),
], upgrade_gap_s=float(up_gap), rollback_gap_s=float(rb_gap), upgrade_wall_s=float(up_wall), rollback_wall_s=float(rb_wall))
# What it prints is what docs/benchmarks.md shows: one renderer, from the saved result.
print(upgrade_detail(saved))
PY

#!/usr/bin/env bash
# Server role benchmark (fresh converge vs idempotent rerun, exposure; and the
# same for site.yml with the TLS proxy on the host, reported without a goal).
# Prints figures; asserts nothing. Goals: rerun/fresh <= 0.30, our unit's
# exposure strictly lower than the official unit's in the same container.
# Run through `make bench` (it builds what is needed and sets the env).
. "$(dirname "$0")/../scripts/lib.sh"

name=tailnet-headscale-bench
image="${TAILNET_IMAGE_BOOKWORM:?run through make bench}"
work="$(mktemp -d)"
throwaway_container "$name" "$work"

start_container() {  # a fresh Debian 12 systemd container, nothing installed yet
  docker rm -f "$name" >/dev/null 2>&1 || true
  run_systemd_container "$name" "$image"
}

# The lab inventory (server and TLS proxy on one host), and the same without
# the proxy: the goal is the server role's, the proxy's figure is reported beside it.
sed "s/tailnet-headscale-demo:/$name:/" "$REPO_ROOT/lab/inventory.yml" > "$work/site.yml"
python3 - "$work/site.yml" "$work/server.yml" <<'PY'
import sys, yaml
inventory = yaml.safe_load(open(sys.argv[1]))
del inventory["all"]["children"]["headscale_proxy"]
yaml.safe_dump(inventory, open(sys.argv[2], "w"))
PY

converge() {  # converge INVENTORY; prints "seconds changed"
  local start end
  start="$(date +%s.%N)"
  ansible-playbook -i "$1" tailnet.headscale.site > "$work/run.log" 2>&1 \
    || { tail -n 30 "$work/run.log" >&2; die "converge failed"; }
  end="$(date +%s.%N)"
  local changed
  changed="$(sed -n "s/^$name *: .*changed=\([0-9]*\).*/\1/p" "$work/run.log")"
  echo "$(python3 -c "print(f'{$end - $start:.1f}')") $changed"
}

start_container
read -r site_fresh site_fresh_changed < <(converge "$work/site.yml")
read -r site_rerun site_rerun_changed < <(converge "$work/site.yml")

start_container
read -r fresh fresh_changed < <(converge "$work/server.yml")
read -r rerun rerun_changed < <(converge "$work/server.yml")

docker cp "$REPO_ROOT/molecule/resources/headscale-official.service" "$name:/etc/systemd/system/headscale-official.service"
docker exec "$name" systemctl daemon-reload
score() { docker exec "$name" systemd-analyze security --no-pager "$1" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'; }
ours="$(score headscale.service)"
official="$(score headscale-official.service)"

python3 - "$REPO_ROOT/bench" "$fresh" "$fresh_changed" "$rerun" "$rerun_changed" "$ours" "$official" \
  "$site_fresh" "$site_fresh_changed" "$site_rerun" "$site_rerun_changed" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from common import figure, save
from tables import server_detail
(fresh, fresh_changed, rerun, rerun_changed, ours, official,
 site_fresh, site_fresh_changed, site_rerun, site_rerun_changed) = sys.argv[2:]
ratio = float(rerun) / float(fresh)
site_ratio = float(site_rerun) / float(site_fresh)
saved = save("server", "server role (Debian 12 container)", [
    figure("idempotent rerun / fresh converge", ratio, "<= 0.30", ratio <= 0.30,
           f"{float(rerun):.1f} s (changed={rerun_changed}) vs {float(fresh):.1f} s (changed={fresh_changed})"),
    figure("systemd-analyze security exposure, our unit vs official", f"{float(ours):.1f} vs {float(official):.1f}",
           "ours lower", float(ours) < float(official), "PrivateUsers off in containers"),
    figure("site.yml with the TLS proxy on the same host: rerun / fresh", site_ratio, "", None,
           f"{float(site_rerun):.1f} s (changed={site_rerun_changed}) vs {float(site_fresh):.1f} s (changed={site_fresh_changed})"),
], fresh_s=float(fresh), rerun_s=float(rerun), fresh_changed=int(fresh_changed), rerun_changed=int(rerun_changed),
   exposure_ours=float(ours), exposure_official=float(official),
   site_fresh_s=float(site_fresh), site_rerun_s=float(site_rerun),
   site_fresh_changed=int(site_fresh_changed), site_rerun_changed=int(site_rerun_changed))
# What it prints is what docs/benchmarks.md shows: one renderer, from the saved result.
print(server_detail(saved))
PY

#!/usr/bin/env bash
# Server role benchmark against a floor (bench/floor.yml: copy the binary, write the config and the
# unit, start; no checks), interleaved over BENCH_ROUNDS (3) rounds, each case on a fresh Debian 12
# container: the floor, the server role alone (tailnet.headscale.site without the proxy group),
# and site.yml with the server and the TLS proxy on one host; each converged fresh, then rerun.
# Goals (issue 16): server fresh <= 1.3x the floor's fresh; site.yml rerun <= 0.5x the floor's
# rerun; server rerun/fresh <= 0.2; our unit's exposure lower than the official unit's.
# Prints figures; asserts nothing. Run through `make bench` (it builds what is needed and sets the env).
. "$(dirname "$0")/../scripts/lib.sh"

name="${BENCH_CONTAINER:-tailnet-headscale-bench}"
image="${TAILNET_IMAGE_BOOKWORM:?run through make bench}"
rounds="${BENCH_ROUNDS:-3}"
work="$(mktemp -d)"
throwaway_container "$name" "$work"

start_container() {  # a fresh Debian 12 systemd container, nothing installed yet
  docker rm -f "$name" >/dev/null 2>&1 || true
  run_systemd_container "$name" "$image"
  # On a loaded machine `is-system-running --wait` can return before systemd answers at all; the
  # boot's tmpfiles clean-up of /tmp then races the first task (its module payload vanishes).
  local waited=0
  until docker exec "$name" systemctl is-system-running 2>/dev/null | grep -qxE 'running|degraded'; do
    [ "$waited" -lt 300 ] || die "$name: systemd did not finish booting in 300 s"
    sleep 1
    waited=$((waited + 1))
  done
}

# The lab inventory (server and TLS proxy on one host), and the same without the proxy.
sed "s/tailnet-headscale-demo:/$name:/" "$REPO_ROOT/lab/inventory.yml" > "$work/site.yml"
python3 - "$work/site.yml" "$work/server.yml" <<'PY'
import sys, yaml
inventory = yaml.safe_load(open(sys.argv[1]))
del inventory["all"]["children"]["headscale_proxy"]
yaml.safe_dump(inventory, open(sys.argv[2], "w"))
PY

converge() {  # converge INVENTORY PLAYBOOK; prints "seconds changed tasks"
  local start end
  start="$(date +%s.%N)"
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=1000 \
    ansible-playbook -i "$1" "$2" > "$work/run.log" 2>&1 \
    || { tail -n 30 "$work/run.log" >&2; die "converge of $2 failed"; }
  end="$(date +%s.%N)"
  local changed tasks
  changed="$(sed -n "s/^$name *: .*changed=\([0-9]*\).*/\1/p" "$work/run.log")"
  # Tasks ok or changed (skipped ones not counted; set_fact and assert included).
  tasks="$(grep -cE '^(ok|changed): \[' "$work/run.log" || true)"
  echo "$(python3 -c "print(f'{$end - $start:.2f}')") $changed $tasks"
}

load() { cut -d' ' -f1 /proc/loadavg; }

: > "$work/runs"
: > "$work/pings"
for round in $(seq "$rounds"); do
  # Interleaved: each round runs every case once, in turn, so a load spike hits all of them.
  for case in floor server site; do
    case "$case" in
      floor) inventory="$work/server.yml"; playbook="$REPO_ROOT/bench/floor.yml" ;;
      server) inventory="$work/server.yml"; playbook=tailnet.headscale.site ;;
      site) inventory="$work/site.yml"; playbook=tailnet.headscale.site ;;
    esac
    start_container
    before="$(load)"
    read -r fresh fresh_changed fresh_tasks < <(converge "$inventory" "$playbook")
    read -r rerun rerun_changed rerun_tasks < <(converge "$inventory" "$playbook")
    echo "$round $case $fresh $fresh_changed $fresh_tasks $rerun $rerun_changed $rerun_tasks $before $(load)" | tee -a "$work/runs" >&2
    if [ "$case" = floor ]; then
      # The least any rerun can cost, on the same container: one playbook, one remote module run.
      read -r ping _ _ < <(converge "$inventory" "$REPO_ROOT/bench/ping.yml")
      echo "$round $ping" | tee -a "$work/pings" >&2
    fi
  done
done

# The last container is site.yml's: headscale as the role installs it.
docker cp "$REPO_ROOT/molecule/resources/headscale-official.service" "$name:/etc/systemd/system/headscale-official.service"
docker exec "$name" systemctl daemon-reload
score() { docker exec "$name" systemd-analyze security --no-pager "$1" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'; }
ours="$(score headscale.service)"
official="$(score headscale-official.service)"

python3 - "$REPO_ROOT/bench" "$work/runs" "$ours" "$official" "$work/pings" <<'PY'
import os
import statistics
import sys
sys.path.insert(0, sys.argv[1])
from common import figure, save
from tables import server_detail
runs = {}
loads = []
for line in open(sys.argv[2]):
    rnd, case, fresh, fresh_changed, fresh_tasks, rerun, rerun_changed, rerun_tasks, before, after = line.split()
    runs.setdefault(case, []).append(dict(round=int(rnd), fresh_s=float(fresh), fresh_changed=int(fresh_changed),
                                          fresh_tasks=int(fresh_tasks), rerun_s=float(rerun), rerun_changed=int(rerun_changed),
                                          rerun_tasks=int(rerun_tasks)))
    loads += [float(before), float(after)]
ours, official = float(sys.argv[3]), float(sys.argv[4])
pings = [float(line.split()[1]) for line in open(sys.argv[5])]


def stat(case, key, how):
    return how([run[key] for run in runs[case]])


def ratio(num, den, goal, name, label):
    """The ratio of medians is the figure; the ratio of minimums (the least loaded runs) is shown beside it."""
    med = stat(num[0], num[1], statistics.median) / stat(den[0], den[1], statistics.median)
    low = stat(num[0], num[1], min) / stat(den[0], den[1], min)
    return figure(name, med, "<= %.1f" % goal, med <= goal,
                  "%s: median %.1f s vs %.1f s, min %.1f s vs %.1f s (ratio of minimums %.2f)"
                  % (label, stat(num[0], num[1], statistics.median), stat(den[0], den[1], statistics.median),
                     stat(num[0], num[1], min), stat(den[0], den[1], min), low))


figures = [
    ratio(("server", "fresh_s"), ("floor", "fresh_s"), 1.3, "server role fresh converge / floor's fresh converge",
          "server vs floor"),
    ratio(("site", "rerun_s"), ("floor", "rerun_s"), 0.5, "site.yml (server and proxy) rerun / floor's rerun",
          "site.yml vs floor"),
    ratio(("server", "rerun_s"), ("server", "fresh_s"), 0.2, "server role idempotent rerun / fresh converge",
          "rerun vs fresh"),
    figure("systemd-analyze security exposure, our unit vs official", "%.1f vs %.1f" % (ours, official),
           "ours lower", ours < official, "PrivateUsers off in containers"),
]
# No goal: what the rerun goal is up against. A rerun cannot cost less than one playbook with one remote call.
least = statistics.median(pings) / stat("floor", "rerun_s", statistics.median)
figures.append(figure("least possible rerun (bench/ping.yml: one remote call) / floor's rerun", least, "", None,
                      "one ping: median %.1f s, min %.1f s; floor's rerun: median %.1f s"
                      % (statistics.median(pings), min(pings), stat("floor", "rerun_s", statistics.median))))

saved = save("server", "server role vs a naive floor (Debian 12 containers)", figures,
             rounds=len(runs["floor"]), runs=runs, pings_s=pings, exposure_ours=ours, exposure_official=official,
             load_average=[min(loads), max(loads)], cores=os.cpu_count())
# What it prints is what docs/benchmarks.md shows: one renderer, from the saved result.
print(server_detail(saved))
PY

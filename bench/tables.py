"""The benchmark tables of README.md and docs/benchmarks.md, written from bench/results/*.json:
the summaries, and docs/benchmarks.md's block of each benchmark (what the benchmark printed,
rendered here from its saved result; the benchmark prints it with the same function); and the
README's crash-sweep table, written from molecule/faults/results/sweep.json (`make sweep`).

Each table sits between two markers (<!-- bench:NAME:start --> ... <!-- bench:NAME:end -->);
nothing between them is typed by hand. `make bench` writes them (bench/report.py calls write());
`python3 bench/tables.py --check` (run by `make lint`) fails when a table differs from the
committed results, so a figure in the docs is always one that a run saved.
Standard library only: lint runs it without the benchmarks' virtualenv."""

import difflib
import json
import os
import re
import statistics
import sys

from common import load_all

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def summary(results):
    """Every figure with its goal and verdict, as bench/report.py prints it."""
    rows = [("benchmark", "figure", "value", "goal", "verdict")]
    for result in results:
        for fig in result["figures"]:
            verdict = "" if fig["met"] is None else ("met" if fig["met"] else "MISSED")
            rows.append((result["bench"], fig["name"], fig["shown"], fig["goal"] or "", verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _conditions(result):
    """The machine a result was measured on, with the load average it saw where the run recorded one."""
    machine = result.get("machine", "machine not recorded")
    loads = []

    def flatten(value):
        if isinstance(value, (list, tuple)):
            for item in value:
                flatten(item)
        elif isinstance(value, (int, float)):
            loads.append(value)
    flatten(result.get("load_average"))
    if loads:
        machine += ", load average %.1f-%.1f" % (min(loads), max(loads))
    return "%s, %s" % (machine, result.get("date", "date not recorded"))


def measured(results):
    """When and where the results were measured, from what the runs saved: each set of conditions
    with the benchmarks measured under it, so a loaded run is never shown as a quiet one."""
    groups = {}
    for result in results:
        groups.setdefault(_conditions(result), []).append(result["bench"])
    return "; ".join("%s: %s" % (", ".join(benches), conditions) for conditions, benches in groups.items())


def readme_table(results):
    lines = ["Latest run (%s):" % measured(results), "",
             "| benchmark | figure | value | goal | |", "| --- | --- | --- | --- | --- |"]
    for result in results:
        for fig in result["figures"]:
            verdict = "" if fig["met"] is None else ("met" if fig["met"] else "MISSED")
            name = fig["name"] + (": %s" % fig["detail"] if fig.get("detail") else "")
            lines.append("| %s | %s | %s | %s | %s |" % (result["bench"], name.replace("|", "\\|"), fig["shown"],
                                                         fig["goal"] or "", verdict))
    return "\n".join(lines)


SWEEP = os.path.join(ROOT, "molecule", "faults", "results", "sweep.json")


def sweep_table(_results):
    """The last full crash sweep (every kill point of both runs), as molecule/faults saved it."""
    if not os.path.exists(SWEEP):
        raise SystemExit("%s is missing: run `make sweep`" % os.path.relpath(SWEEP, ROOT))
    with open(SWEEP) as handle:
        sweep = json.load(handle)
    loads = [value for run in sweep["sweeps"] for value in run["load_average"]]
    lines = ["Last full sweep (every kill point, as `make sweep` runs them; %d cores, load average"
             " %.1f-%.1f during the run; %s):" % (sweep["cores"], min(loads), max(loads), sweep["date"]), "",
             "| run killed | kill points | run | recovered | time | per kill point: reset, killed run, rerun, checks"
             " | reference run |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for run in sweep["sweeps"]:
        points = run["points"] or [{}]
        mean = ["%.1f" % (sum(point.get(step, 0) for point in points) / len(points))
                for step in ("reset", "killed_run", "rerun", "checks")]
        lines.append("| %s | %d | %d | %d | %d s | %s s | %.1f s |"
                     % (run["run"], run["kill_points"], run["run_points"], run["recovered"], run["seconds"],
                        ", ".join(mean), run["reference_seconds"]))
    return "\n".join(lines)


def benchmarks_summary(results):
    return "\n".join(["Latest summary (%s):" % measured(results), "", "```", summary(results), "```"])


def verdict(fig):
    return "" if fig["met"] is None else ("met" if fig["met"] else "MISSED")


def _server_detail_one_round(result):
    """A result bench/server.sh saved before the floor and the rounds (one fresh run per case, no floor)."""
    rerun_ratio, exposure, site_ratio = result["figures"]
    return "\n".join([
        "(saved by bench/server.sh before it measured against the floor: the next `make bench` replaces it)",
        "server role benchmark (Debian 12 container, same run)",
        "  fresh converge        %6.1f s   changed=%d" % (result["fresh_s"], result["fresh_changed"]),
        "  idempotent rerun      %6.1f s   changed=%d" % (result["rerun_s"], result["rerun_changed"]),
        "  rerun / fresh         %6s     goal %s  %s" % (rerun_ratio["shown"], rerun_ratio["goal"], verdict(rerun_ratio)),
        "  exposure, our unit    %6.1f" % result["exposure_ours"],
        "  exposure, official    %6.1f     goal: %s  %s" % (result["exposure_official"], exposure["goal"], verdict(exposure)),
        "  (PrivateUsers is off in containers; on a real host our unit scores lower still)",
        "site.yml with the TLS proxy on the same host (another fresh container, same run)",
        "  fresh converge        %6.1f s   changed=%d" % (result["site_fresh_s"], result["site_fresh_changed"]),
        "  idempotent rerun      %6.1f s   changed=%d" % (result["site_rerun_s"], result["site_rerun_changed"]),
        "  rerun / fresh         %6s     (no goal: the proxy role has no fast path yet)" % site_ratio["shown"],
    ])


def server_detail(result):
    """What bench/server.sh prints, from its saved result."""
    if "runs" not in result:
        return _server_detail_one_round(result)
    floor_fresh, site_rerun, server_rerun, exposure = result["figures"][:4]
    runs = result["runs"]
    lines = ["server role vs the floor (bench/floor.yml: copy, write, start, no checks); %d rounds, interleaved,"
             % result["rounds"],
             "each case on a fresh Debian 12 container; load average %.1f-%.1f on %d cores during the run"
             % (result["load_average"][0], result["load_average"][1], result["cores"]),
             "                              fresh converge              idempotent rerun",
             "  case                      min   median  tasks chg      min   median  tasks chg"]
    labels = {"floor": "floor", "server": "server role", "site": "site.yml (server+proxy)"}
    for case in ("floor", "server", "site"):
        rows = runs[case]
        lines.append("  %-23s %6.1f s %6.1f s  %5d %3d  %6.1f s %6.1f s  %5d %3d" % (
            labels[case], min(r["fresh_s"] for r in rows), statistics.median(r["fresh_s"] for r in rows),
            rows[-1]["fresh_tasks"], rows[-1]["fresh_changed"],
            min(r["rerun_s"] for r in rows), statistics.median(r["rerun_s"] for r in rows),
            rows[-1]["rerun_tasks"], rows[-1]["rerun_changed"]))
    if result.get("pings_s"):
        lines.append("  %-23s %28s  %6.1f s %6.1f s  %5d %3d" % (
            "one ping (least rerun)", "", min(result["pings_s"]), statistics.median(result["pings_s"]), 1, 0))
    lines.append("  (tasks: tasks ok or changed in the last round, skipped ones not counted; chg: changed)")
    for label, fig in (("server fresh / floor fresh", floor_fresh), ("site.yml rerun / floor rerun", site_rerun),
                       ("server rerun / server fresh", server_rerun)):
        low = fig["detail"].rsplit("ratio of minimums ", 1)[1].rstrip(")")
        lines.append("  %-29s %5s (of minimums %s)  goal %-6s %s" % (label, fig["shown"], low, fig["goal"], verdict(fig)))
    lines.append("  exposure, our unit vs official   %s   goal: %s  %s (PrivateUsers off in containers)"
                 % (exposure["shown"], exposure["goal"], verdict(exposure)))
    for fig in result["figures"][4:]:
        lines.append("  %s  %s  (%s)" % (fig["name"], fig["shown"], fig["detail"]))
    return "\n".join(lines)


def upgrade_detail(result):
    """What bench/upgrade.sh prints, from its saved result."""
    lines = ["upgrade benchmark (Debian 12 container, /health polled at 10 Hz)"]
    for label, fig in zip(("upgrade", "rollback"), result["figures"]):
        lines.append("  %-8s  unhealthy %7s   goal %-8s %s   (%s)"
                     % (label, fig["shown"], fig["goal"], verdict(fig), fig["detail"]))
    return "\n".join(lines)


def modules_detail(result):
    """What bench/modules.py prints, from its saved result."""
    call = result["figures"][0]
    lines = ["module benchmark (headscale %s on loopback, median of %d, same run)" % (result["headscale_version"], result["rounds"]),
             "  tailnet.headscale.user (no change) vs raw ansible -m command (users list): %s" % call["detail"],
             "  module / raw command                  %6s     goal %s  %s" % (call["shown"], call["goal"], verdict(call)),
             "",
             "reconcile scaling (same server for every N: all N's objects exist; no-change runs are the median of %d, round-robin)"
             % result["rounds"]]
    scaling = result["scaling"]
    lo = next(iter(scaling.values()))[0]["n"]
    header = ("kind", "N", "create s", "calls", "no-change s", "calls", "time/N=%d" % lo, "calls/N=%d" % lo)
    lines.append("  %-5s %5s  %9s %7s  %11s %6s  %9s %9s" % header)
    for kind, rows in scaling.items():
        base = rows[0]
        for row in rows:
            lines.append("  %-5s %5d  %9.2f %7d  %11.2f %6d  %9.2f %9.2f%s"
                         % (kind, row["n"], row["create_s"], row["create_calls"], row["reconcile_s"], row["reconcile_calls"],
                            row["reconcile_s"] / base["reconcile_s"], row["reconcile_calls"] / float(base["reconcile_calls"]),
                            "  (calls varied between rounds)" if row["reconcile_calls_varied"] else ""))
    for name, counted_calls, reported in result["cli_call_mismatches"]:
        lines.append("  note: %s made %d CLI calls by the wrapper's log, reported cli_calls=%s" % (name, counted_calls, reported))
    if not result["cli_call_mismatches"]:
        lines.append("  (CLI calls counted by a logging wrapper around headscale; the modules' own cli_calls agreed every run)")
    return "\n".join(lines)


def loads(result):
    """The load averages the run recorded (the machine is shared): lowest and highest 1-minute figure."""
    ones = [load[0] for load in result.get("load_average") or []]
    return "load average %.1f-%.1f during the run" % (min(ones), max(ones)) if ones else "load not recorded"


def join_detail(result):
    """What bench/join.py prints, from its saved result."""
    lines = ["join benchmark (headscale %s; Debian 12 client containers; forks=N; median of %d; %s)"
             % (result["headscale_version"], result["rounds"], loads(result))]
    wanted = max(result["wanted_n"])
    if result.get("clients_started", wanted) < wanted:
        lines.append("  %d of the %d client containers started (the others' systemd exited at boot on this shared host):"
                     " the largest N is %d" % (result["clients_started"], wanted, result["scaling"][-1]["n"]))
    elif wanted > result["scaling"][-1]["n"]:
        lines.append("  memory allowed %d clients: N above that was not run" % result["memory_fits"])
    lines.append("  %5s  %8s  %9s  %21s  %18s  %15s  %6s  %6s" % ("N", "join s", "time/N=%d" % result["scaling"][0]["n"],
                                                                  "module calls minting", "CLI calls minting", "CLI calls, all",
                                                                  "CPU s", "busy"))
    base = result["scaling"][0]["join_s"]
    for row in result["scaling"]:
        lines.append("  %5d  %8.1f  %9.2f  %21d  %18d  %15d  %6s  %6s" % (
            row["n"], row["join_s"], row["join_s"] / base, row["mint_module_calls"], row["mint_cli_calls"], row["cli_calls"],
            "%.1f" % row["cpu_s"] if "cpu_s" in row else "-", "%.0f %%" % (100 * row["cpu_busy"]) if "cpu_busy" in row else "-"))
    if "cpu_s" in result["scaling"][0]:
        lines.append("  (CPU s: core-seconds the whole machine was busy during the join; busy: of its %d cores)" % result.get("cores", 2))
    for fig in result["figures"]:
        if fig["goal"]:
            lines.append("  %-55s %6s  goal %-5s %s" % (fig["name"], fig["shown"], fig["goal"], verdict(fig)))
        else:
            lines.append("  %s  %s  (%s)" % (fig["name"], fig["shown"], fig["detail"]))
    return "\n".join(lines)


def nodes_detail(result):
    """What `bench/modules.py nodes` prints, from its saved result."""
    lines = ["modules on a server with N nodes across %d users, half tagged (headscale %s on loopback, median of %d; %s)"
             % (result["users"], result["headscale_version"], result["rounds"], loads(result)),
             "  fixture built through headscale's gRPC API (lab/node-fixture): %s" % ", ".join(
                 "%s nodes in %.0f s%s%s" % (n, s, ", restart %.0f s" % result["restart_s"][n] if n in result.get("restart_s", {}) else "",
                                             ", untagged expired in %.0f s" % result["expire_s"][n] if n in result.get("expire_s", {}) else "")
                 for n, s in sorted(result["fixture_s"].items(), key=lambda item: int(item[0]))),
             "  %-46s %5s  %8s  %6s  %9s  %8s  %8s" % ("case", "N", "seconds", "calls", "time/N=lo", "peak MB", "result s")]
    for n, why in sorted((result.get("missing_n") or {}).items(), key=lambda item: int(item[0])):
        lines.insert(2, "  N=%s NOT MEASURED: its fixture could not be built (%s)" % (n, why.splitlines()[0][:160]))
    for case, rows in result["scaling"].items():
        base = rows[0]["seconds"]
        for row in rows:
            lines.append("  %-46s %5d  %8.2f  %6d  %9.2f  %8.0f  %8s%s" % (
                case, row["n"], row["seconds"], row["calls"], row["seconds"] / base, row["rss_mb"],
                "%.2f" % row["returning_s"] if "returning_s" in row else "-", "  (calls varied)" if row["calls_varied"] else ""))
    if result.get("nodes_list_s"):
        lines.append("  (result s: ansible-core's no_log scrub and JSON encoding of that result, part of the call's seconds;")
        lines.append("   headscale's own `nodes list`, the CLI alone: %s)" % ", ".join(
            "N=%s %.2f s" % (n, s) for n, s in sorted(result["nodes_list_s"].items(), key=lambda item: int(item[0]))))
    for fig in result["figures"]:
        lines.append("  %-62s %9s  goal %-6s %s" % (fig["name"], fig["shown"], fig["goal"], verdict(fig)))
    for name, counted_calls, reported in result["cli_call_mismatches"]:
        lines.append("  note: %s made %d CLI calls by the wrapper's log, reported cli_calls=%s" % (name, counted_calls, reported))
    return "\n".join(lines)


def disaster_recovery_detail(result):
    """What molecule/disaster_recovery measured, from its saved result."""
    lines = ["lost the server (molecule/disaster_recovery: litestream to SFTP every %.0f s, 2 real tailscale clients,"
             " users written in a loop, docker rm -f, rebuilt on a fresh container; %s)"
             % (result["sync_interval_s"], loads(result)),
             "  acknowledged writes at the kill   %d, lost %d" % (result["writes_acknowledged"], result["writes_lost"])]
    for fig in result["figures"]:
        lines.append("  %-55s %8s  goal %-7s %s" % (fig["name"], fig["shown"], fig["goal"] or "-", verdict(fig)))
    return "\n".join(lines)


DETAILS = {"server": server_detail, "upgrade": upgrade_detail, "modules": modules_detail, "join": join_detail,
           "nodes": nodes_detail, "disaster_recovery": disaster_recovery_detail}


def detail_block(bench):
    """docs/benchmarks.md's block of one benchmark: when and where, then what the benchmark printed."""

    def render_block(results):
        found = [result for result in results if result["bench"] == bench]
        if not found:
            return "No results from this benchmark in bench/results: its last run failed."
        return "\n".join(["Latest figures (%s):" % measured(found), "", "```", DETAILS[bench](found[0]), "```"])

    return render_block


# file (relative to the repository) -> marker name -> renderer
TABLES = {
    "README.md": {"summary": readme_table, "sweep": sweep_table},
    os.path.join("docs", "benchmarks.md"): dict([("summary", benchmarks_summary)]
                                                + [(bench, detail_block(bench)) for bench in DETAILS]),
}


def render(text, name, body, path):
    pattern = re.compile(r"(<!-- bench:%s:start -->\n).*?(<!-- bench:%s:end -->)" % (name, name), re.S)
    if not pattern.search(text):
        raise SystemExit("%s: no <!-- bench:%s:start --> ... <!-- bench:%s:end --> markers" % (path, name, name))
    return pattern.sub(lambda match: match.group(1) + body + "\n" + match.group(2), text)


def expected(results):
    """{path: (current text, text with the tables written from results)}"""
    out = {}
    for path, tables in TABLES.items():
        with open(os.path.join(ROOT, path)) as handle:
            text = handle.read()
        new = text
        for name, renderer in tables.items():
            new = render(new, name, renderer(results), path)
        out[path] = (text, new)
    return out


def write(results):
    for path, (text, new) in expected(results).items():
        if new != text:
            with open(os.path.join(ROOT, path), "w") as handle:
                handle.write(new)
            print("benchmark tables written: %s" % path)


def check(results):
    stale = 0
    for path, (text, new) in expected(results).items():
        if new != text:
            stale += 1
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), path, path + " (from bench/results)"))
    if stale:
        print("tables differ from bench/results or molecule/faults/results: run `python3 bench/tables.py`"
              " (or `make bench` / `make sweep`) and commit both")
    return 1 if stale else 0


def main(argv):
    results = load_all()
    if not results:
        print("no benchmark results in bench/results")
        return 1
    if argv[1:] == ["--check"]:
        return check(results)
    write(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The end of `make bench`: one summary of every figure the benchmarks saved, and the scaling plot.

Reads RESULTS/*.json (bench/common.py); prints each figure with its goal and met/MISSED;
draws time and CLI calls vs N for the reconcile of declared users and keys to
docs/bench-scaling.png (or the path given as the first argument), and the cost against N of the
join and of the modules on a server with thousands of nodes to docs/bench-fleet.png (or the second).
The quick bench (`make bench-quick`) runs it with --no-write (the docs' tables are left alone) and
--no-plot (no matplotlib in the test tools' virtualenv): the summary is rendered all the same.
Writes the tables of README.md and docs/benchmarks.md from them (bench/tables.py).
Run with bench/venv.sh's python (matplotlib). Exits 1 when a benchmark saved nothing."""

import os
import sys

from common import RESULTS, load_all
from tables import summary, write

EXPECTED = ["server", "upgrade", "modules", "join", "nodes"]
DOCS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs"))
PLOT = os.path.join(DOCS, "bench-scaling.png")
FLEET_PLOT = os.path.join(DOCS, "bench-fleet.png")


def plot(scaling, title, path):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    import matplotlib.ticker  # pylint: disable=import-outside-toplevel

    fig, (times, calls) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"users": "tab:blue", "keys": "tab:orange"}
    for kind, rows in scaling.items():
        ns = [row["n"] for row in rows]
        times.plot(ns, [row["create_s"] for row in rows], "--o", color=styles[kind], label="%s, first run (creates N)" % kind)
        times.plot(ns, [row["reconcile_s"] for row in rows], "-s", color=styles[kind], label="%s, no-change rerun" % kind)
        calls.plot(ns, [row["create_calls"] for row in rows], "--o", color=styles[kind], label="%s, first run (creates N)" % kind)
        calls.plot(ns, [row["reconcile_calls"] for row in rows], "-s", color=styles[kind], label="%s, no-change rerun" % kind)
    for axis, label in ((times, "wall time of the module run (s)"), (calls, "headscale CLI calls")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("declared users / keys (N)")
        axis.set_ylabel(label)
        axis.set_xticks(ns)
        axis.set_xticklabels([str(n) for n in ns])
        axis.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        axis.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.grid(True, which="both", alpha=0.3)
    times.legend(fontsize=8)
    fig.suptitle("reconcile scaling: %s" % title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_fleet(join, nodes, path):
    """Cost against N: the join's wall time and minting calls; each module's time and CLI calls on N nodes."""
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    fig, (joins, modules) = plt.subplots(1, 2, figsize=(11, 4.2))
    if join:
        rows = join["scaling"]
        ns = [row["n"] for row in rows]
        joins.plot(ns, [row["join_s"] for row in rows], "-o", color="tab:blue", label="join wall time (s)")
        joins.plot(ns, [3 * rows[0]["join_s"]] * len(ns), ":", color="tab:blue",
                   label="goal: 3x the time at N=%d" % ns[0])
        joins.plot(ns, [row["mint_module_calls"] for row in rows], "-s", color="tab:green", label="server-side module calls minting")
        joins.plot(ns, [row["mint_cli_calls"] for row in rows], "--^", color="tab:orange", label="headscale CLI calls minting")
        joins.set_xticks(ns)
        joins.set_title("join of N client containers, forks=N (median of %d)" % join["rounds"], fontsize=9)
    else:
        joins.text(0.5, 0.5, "no join results", ha="center")
    joins.set_xlabel("clients joined (N)")
    joins.grid(True, alpha=0.3)
    if join:
        joins.legend(fontsize=7)
    if nodes:
        for case, rows in nodes["scaling"].items():
            ns = [row["n"] for row in rows]
            line = modules.plot(ns, [row["seconds"] for row in rows], "-o", label="%s (s)" % case)[0]
            modules.plot(ns, [row["calls"] for row in rows], ":", color=line.get_color())
        modules.set_xscale("log")
        modules.set_xticks(ns)
        modules.set_xticklabels([str(n) for n in ns])
        modules.set_title("modules on a server with N nodes (median of %d); dotted: CLI calls" % nodes["rounds"], fontsize=9)
    else:
        modules.text(0.5, 0.5, "no nodes results", ha="center")
    modules.set_xlabel("nodes on the server (N)")
    modules.set_ylim(bottom=0)
    modules.grid(True, alpha=0.3)
    modules.legend(fontsize=7)
    fig.suptitle("cost against N: fleet enrolment and a server with thousands of nodes", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-write", "--no-plot")]
    plots = "--no-plot" not in sys.argv[1:]
    results = load_all()
    print()
    print("benchmark summary (%s; each figure measured side by side in one run)" % RESULTS)
    print(summary(results))
    missing = [bench for bench in EXPECTED if bench not in [result["bench"] for result in results]]
    if missing:
        print("no results from: %s" % ", ".join(missing))
    modules = [result for result in results if result["bench"] == "modules" and result.get("scaling")]
    if modules and plots:
        path = args[0] if args else PLOT
        plot(modules[0]["scaling"], modules[0]["title"], path)
        print("scaling plot: %s" % path)
    join = next((result for result in results if result["bench"] == "join"), None)
    nodes = next((result for result in results if result["bench"] == "nodes"), None)
    if (join or nodes) and plots:
        path = args[1] if len(args) > 1 else FLEET_PLOT
        plot_fleet(join, nodes, path)
        print("fleet plot: %s" % path)
    if "--no-write" in sys.argv[1:]:
        return 0
    # The README's and docs/benchmarks.md's tables, from these results.
    write(results)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

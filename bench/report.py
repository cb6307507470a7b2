"""The end of `make bench`: one summary of every figure the benchmarks saved, and the scaling plot.

Reads RESULTS/*.json (bench/common.py); prints each figure with its goal and met/MISSED;
draws time and CLI calls vs N for the reconcile of declared users and keys to
docs/bench-scaling.png (or the path given as the first argument).
Writes the tables of README.md and docs/benchmarks.md from them (bench/tables.py).
Run with bench/venv.sh's python (matplotlib). Exits 1 when a benchmark saved nothing."""

import os
import sys

from common import RESULTS, load_all
from tables import summary, write

EXPECTED = ["server", "upgrade", "modules"]
PLOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "bench-scaling.png"))


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


def main():
    results = load_all()
    print()
    print("benchmark summary (%s; each figure measured side by side in one run)" % RESULTS)
    print(summary(results))
    missing = [bench for bench in EXPECTED if bench not in [result["bench"] for result in results]]
    if missing:
        print("no results from: %s" % ", ".join(missing))
    modules = [result for result in results if result["bench"] == "modules" and result.get("scaling")]
    if modules:
        path = sys.argv[1] if len(sys.argv) > 1 else PLOT
        plot(modules[0]["scaling"], modules[0]["title"], path)
        print("scaling plot: %s" % path)
    # The README's and docs/benchmarks.md's tables, from these results.
    write(results)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

"""What every benchmark shares: where results go and how a figure is recorded.

Each bench script writes its figures to RESULTS/<bench>.json; bench/report.py
reads them all and prints one summary. A figure is one comparison measured side
by side in the same run (a ratio, or ours vs theirs), with its goal and whether
this run met it."""

import json
import os
import time

RESULTS = os.environ.get("BENCH_RESULTS") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def load_average():
    """The 1, 5 and 15 minute load averages now: the machine is shared, the results say how loaded it was."""
    return list(os.getloadavg())


def figure(name, value, goal, met, detail="", fmt="%.2f"):
    """One row of the summary. goal is text ("<= 0.30"); met None means no goal."""
    return dict(name=name, value=value, shown=fmt % value if isinstance(value, (int, float)) else str(value),
                goal=goal, met=met, detail=detail)


def save(bench, title, figures, **extra):
    """Write RESULTS/<bench>.json: the title, the figures, and any raw data (extra). Returns what it wrote."""
    os.makedirs(RESULTS, exist_ok=True)
    # When and on what: the tables in the docs show it (bench/tables.py).
    data = dict(bench=bench, title=title, figures=figures, date=time.strftime("%Y-%m-%d"),
                machine=os.environ.get("BENCH_MACHINE") or "%d cores" % os.cpu_count())
    data.update(extra)
    path = os.path.join(RESULTS, bench + ".json")
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
    return data


def load_all():
    """Every saved result, in the order the benchmarks run."""
    order = ["server", "upgrade", "modules", "join", "nodes", "disaster_recovery"]
    found = sorted((name[:-len(".json")] for name in os.listdir(RESULTS) if name.endswith(".json")) if os.path.isdir(RESULTS) else [],
                   key=lambda bench: (order.index(bench) if bench in order else len(order), bench))
    results = []
    for bench in found:
        with open(os.path.join(RESULTS, bench + ".json")) as f:
            results.append(json.load(f))
    return results

"""The benchmark tables of README.md and docs/benchmarks.md, written from bench/results/*.json,
and the README's crash-sweep table, written from molecule/faults/results/sweep.json (`make sweep`).

Each table sits between two markers (<!-- bench:NAME:start --> ... <!-- bench:NAME:end -->);
nothing between them is typed by hand. `make bench` writes them (bench/report.py calls write());
`python3 bench/tables.py --check` (run by `make lint`) fails when a table differs from the
committed results, so a figure in the docs is always one that a run saved.
Standard library only: lint runs it without the benchmarks' virtualenv."""

import difflib
import json
import os
import re
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


def measured(results):
    """When and where the results were measured, from what the runs saved."""
    dates = sorted(set(result.get("date", "date not recorded") for result in results))
    machines = sorted(set(result.get("machine", "machine not recorded") for result in results))
    return "%s, %s" % ("; ".join(machines), " to ".join([dates[0], dates[-1]] if len(dates) > 1 else dates))


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


# file (relative to the repository) -> marker name -> renderer
TABLES = {
    "README.md": {"summary": readme_table, "sweep": sweep_table},
    os.path.join("docs", "benchmarks.md"): {"summary": benchmarks_summary},
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

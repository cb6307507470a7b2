"""Module benchmarks (issues: modules, benchmark suite). Prints figures; asserts nothing.

- a module call vs a raw `ansible -m command` doing the same CLI action (goal <= 1.3x);
- reconcile scaling: N = 1, 10, 100, 500 declared users and keys, the first (creating) run
  and the no-change rerun, its wall time and its headscale CLI calls (goal: no-change
  N=500 <= 2x N=1, and the same number of CLI calls whatever N).

CLI calls are counted outside the module: headscale_binary points at a wrapper that logs
each invocation, then execs the real binary. The module's own count is cross-checked.

Every N is reconciled against the same server (all N's objects exist before the first
timed no-change run), round-robin, so noise falls on every N alike.
Runs a real headscale as a plain process on loopback (tests/integration/conftest.py)."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from conftest import Headscale  # noqa: E402  pylint: disable=wrong-import-position
from common import figure, save  # noqa: E402  pylint: disable=wrong-import-position
from tables import modules_detail  # noqa: E402  pylint: disable=wrong-import-position

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
NS = [int(n) for n in os.environ.get("BENCH_SCALING_N", "1,10,100,500").split(",")]
WRAPPER = """#!/bin/sh
echo "$*" >> {log}
exec {binary} "$@"
"""


def timed(fn):
    start = time.monotonic()
    result = fn()
    return time.monotonic() - start, result


class CountedServer(object):
    """The module run against headscale through a wrapper that logs every CLI invocation."""

    def __init__(self, server):
        self.server = server
        self.log = os.path.join(server.dir, "cli-calls.log")
        self.wrapper = os.path.join(server.dir, "headscale-counted")
        with open(self.wrapper, "w") as f:
            f.write(WRAPPER.format(log=self.log, binary=server.binary))
        os.chmod(self.wrapper, 0o755)
        open(self.log, "w").close()
        self.mismatches = []

    def _logged(self):
        with open(self.log) as f:
            return sum(1 for line in f)

    def run(self, module_name, **args):
        """Run the module; return (seconds, CLI calls counted, result)."""
        before = self._logged()
        seconds, (result, output) = timed(lambda: self.server.module(module_name, headscale_binary=self.wrapper, **args))
        if result.get("failed"):
            raise RuntimeError("%s failed: %s" % (module_name, output[-2000:]))
        calls = self._logged() - before
        if result.get("cli_calls") != calls:
            self.mismatches.append((module_name, calls, result.get("cli_calls")))
        return seconds, calls, result


def declared(kind, n, secrets_dir):
    """(module, args) reconciling n declared users or keys; each N has its own objects."""
    if kind == "users":
        return "user", dict(users=[{"name": "n%d-u%03d" % (n, i)} for i in range(n)])
    keys = [{"user": "bench-one", "tags": ["tag:n%d-k%03d" % (n, i)], "reusable": True, "expiration": "24h"} for i in range(n)]
    return "preauth_key", dict(keys=keys, secrets_file=os.path.join(secrets_dir, "keys-%d.yml" % n))


def module_vs_raw(server):
    """Median seconds of a raw `ansible -m command` users list and of the no-change user module, interleaved."""
    def raw_command():
        subprocess.run(["ansible", "localhost", "-m", "ansible.builtin.command", "-a",
                        "%s -c %s -o json users list" % (server.binary, server.config)],
                       capture_output=True, check=True)

    def module_call():
        result = server.module("user", name="bench-one")[0]
        if result.get("failed"):
            raise RuntimeError(result)

    module_call()  # create it, so the timed runs are the idempotent case
    raws, mods = [], []
    for round_ in range(ROUNDS):
        raws.append(timed(raw_command)[0])
        mods.append(timed(module_call)[0])
    return statistics.median(raws), statistics.median(mods)


def scaling(counted, secrets_dir):
    """{kind: [row per N]}: the creating run once, then ROUNDS no-change runs of every N round-robin."""
    rows = {kind: {n: dict(n=n) for n in NS} for kind in ("users", "keys")}
    for n in NS:
        for kind in rows:
            module_name, args = declared(kind, n, secrets_dir)
            seconds, calls, result = counted.run(module_name, **args)
            if not result.get("changed"):
                raise RuntimeError("the first run of %d %s changed nothing: leftovers?" % (n, kind))
            rows[kind][n].update(create_s=seconds, create_calls=calls)
    samples = {(kind, n): [] for kind in rows for n in NS}
    calls_seen = {(kind, n): set() for kind in rows for n in NS}
    for round_ in range(ROUNDS):
        for n in NS:
            for kind in rows:
                module_name, args = declared(kind, n, secrets_dir)
                seconds, calls, result = counted.run(module_name, **args)
                if result.get("changed"):
                    raise RuntimeError("the rerun of %d %s changed something: %s" % (n, kind, result.get("changes")))
                samples[kind, n].append(seconds)
                calls_seen[kind, n].add(calls)
    for (kind, n), seconds in samples.items():
        rows[kind][n].update(reconcile_s=statistics.median(seconds), reconcile_calls=max(calls_seen[kind, n]),
                             reconcile_calls_varied=len(calls_seen[kind, n]) > 1)
    return {kind: [rows[kind][n] for n in NS] for kind in rows}


def main():
    version = os.environ["TAILNET_HEADSCALE_VERSION"]
    server = Headscale(version, os.environ["TAILNET_HEADSCALE_BINARY"], tempfile.mkdtemp(prefix="hs-bench-"))
    server.start()
    try:
        raw, mod = module_vs_raw(server)
        counted = CountedServer(server)
        table = scaling(counted, server.dir)
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)  # it holds the minted keys' secrets

    lo, hi = NS[0], NS[-1]
    figures = [figure("module call / raw `ansible -m command`", mod / raw, "<= 1.30", mod / raw <= 1.3,
                      "%.2f s vs %.2f s" % (mod, raw))]
    for kind, rows in table.items():
        first, last = rows[0], rows[-1]
        ratio = last["reconcile_s"] / first["reconcile_s"]
        figures.append(figure("reconcile %d / %d declared %s, no change (time)" % (hi, lo, kind), ratio, "<= 2", ratio <= 2,
                              "%.2f s vs %.2f s" % (last["reconcile_s"], first["reconcile_s"])))
        figures.append(figure("reconcile %d / %d declared %s, no change (CLI calls)" % (hi, lo, kind),
                              "%d vs %d" % (last["reconcile_calls"], first["reconcile_calls"]), "equal",
                              last["reconcile_calls"] == first["reconcile_calls"]))
    saved = save("modules", "modules (headscale %s on loopback, median of %d)" % (version, ROUNDS), figures,
                 scaling=table, rounds=ROUNDS, headscale_version=version, cli_call_mismatches=counted.mismatches)
    # What it prints is what docs/benchmarks.md shows: one renderer, from the saved result.
    print(modules_detail(saved))


if __name__ == "__main__":
    main()

"""Module benchmarks (issues: modules, benchmark suite). Prints figures; asserts nothing.

- a module call vs a raw `ansible -m command` doing the same CLI action (goal <= 1.3x);
- reconcile scaling: N = 1, 10, 100, 500 declared users and keys, the first (creating) run
  and the no-change rerun, its wall time and its headscale CLI calls (goal: no-change
  N=500 <= 2x N=1, and the same number of CLI calls whatever N).

CLI calls are counted outside the module: headscale_binary points at a wrapper that logs
each invocation, then execs the real binary. The module's own count is cross-checked.

Every N is reconciled against the same server (all N's objects exist before the first
timed no-change run), round-robin, so noise falls on every N alike.
Runs a real headscale as a plain process on loopback (tests/integration/conftest.py).

`python3 bench/modules.py nodes` runs only the second part, a server with thousands of nodes
(saved as the `nodes` benchmark): one server per N (BENCH_NODES_N, default 10, 500, 5000), each
with N nodes across 50 users, half of them tagged, registered through headscale itself (`debug
create-node`, then `auth register` on 0.29 or `nodes register` on 0.28, then `nodes tag`; never the
database), BENCH_FIXTURE_WORKERS at a time. Then, round-robin over the servers, BENCH_ROUNDS times:
`info gather=nodes`, `node_key_rotation` with nothing to rotate, `node` making one change (a tag
swapped on one node), a `preauth_key` reconcile of 10 declared keys and a `user` reconcile of the 50
users, none of which change anything but `node`. Each module runs as its own process (the module
file run with its arguments on stdin, as Ansible runs it on a host), timed, its peak RSS read from
wait4(); CLI calls counted by the logging wrapper. Goals: no-change calls at the largest N <= 3x
their time at the smallest, CLI calls the same at every N, peak RSS <= 150 MB."""

import concurrent.futures
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from conftest import Headscale  # noqa: E402  pylint: disable=wrong-import-position
from common import figure, load_average, save  # noqa: E402  pylint: disable=wrong-import-position
from tables import modules_detail, nodes_detail  # noqa: E402  pylint: disable=wrong-import-position

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


NODES_NS = [int(n) for n in os.environ.get("BENCH_NODES_N", "10,500,5000").split(",")]
WORKERS = int(os.environ.get("BENCH_FIXTURE_WORKERS", "16"))
NODE_USERS = 50
COLLECTIONS = (os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".collections")).split(":")[0]


def fixture(server, n):
    """N nodes across NODE_USERS users, every second node tagged, registered through headscale itself."""
    users = ["bench-u%02d" % i for i in range(NODE_USERS)]
    new = server.version >= "0.29"

    def cli(*args):
        # headscale under load (a shared 2-core machine) sometimes fails a write ("database is locked"): retried.
        for attempt in range(6):
            run = server.cli(*args, check=False)
            if run.returncode == 0:
                return run
            time.sleep(0.5 * (attempt + 1))
        raise RuntimeError("headscale %s failed: %s" % (" ".join(args), (run.stderr + run.stdout)[-800:]))

    def add(index):
        user, name = users[index % NODE_USERS], "node-%05d" % index
        for attempt in range(4):
            auth_id = ("hskey-authreq-" if new else "") + "".join(random.choice(string.ascii_letters) for position in range(24))
            cli("debug", "create-node", "--name", name, "--user", user, "--key", auth_id)
            if new:
                run = server.cli("auth", "register", "--auth-id", auth_id, "--user", user, check=False)
            else:
                run = server.cli("nodes", "register", "--key", auth_id, "--user", user, check=False)
            if run.returncode == 0:
                node = json.loads(run.stdout)
                break
            # Under load a registration can fail after it was made, or its pending entry be gone: look, then again.
            node = next((n for n in server.state("nodes") or [] if n["given_name"] == name), None)
            if node is not None:
                break
            time.sleep(1 + attempt)
        else:
            raise RuntimeError("headscale could not register %s: %s" % (name, (run.stderr + run.stdout)[-800:]))
        return node["id"] if index % 2 == 0 else None

    begin = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda user: cli("users", "create", user), users))
        to_tag = [node_id for node_id in pool.map(add, range(n)) if node_id is not None]
    # Each tag makes headscale recompute the policy over every node: fewer at a time, or they time out.
    with concurrent.futures.ThreadPoolExecutor(max(1, WORKERS // 4)) as pool:
        list(pool.map(lambda node_id: cli("nodes", "tag", "-i", str(node_id), "-t", "tag:server"), to_tag))
    nodes = server.state("nodes") or []
    tagged = sum(1 for node in nodes if node.get("tags"))
    if len(nodes) != n or tagged != (n + 1) // 2:
        raise RuntimeError("fixture of %d nodes has %d, %d tagged" % (n, len(nodes), tagged))
    return time.monotonic() - begin


def run_module(counted, module_name, args):
    """Run the module file as its own process, as Ansible runs it on a host: (seconds, peak RSS MiB, CLI calls, result)."""
    server = counted.server
    payload = json.dumps(dict(ANSIBLE_MODULE_ARGS=dict(args, headscale_binary=counted.wrapper, headscale_config=server.config)))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS, LC_ALL="C")
    before = counted._logged()  # pylint: disable=protected-access
    with tempfile.TemporaryFile() as err:
        begin = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "ansible_collections.tailnet.headscale.plugins.modules." + module_name],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env, cwd=server.dir)
        process.stdin.write(payload.encode())
        process.stdin.close()
        out = process.stdout.read()
        # wait4: the peak RSS of the module process (and of the largest CLI it ran, if larger).
        pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - begin
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    try:
        result = json.loads(out)
    except ValueError:
        raise RuntimeError("%s printed no result: %s %s" % (module_name, out[-2000:], stderr[-2000:]))
    if result.get("failed"):
        raise RuntimeError("%s failed: %s" % (module_name, result.get("msg")))
    calls = counted._logged() - before  # pylint: disable=protected-access
    if result.get("cli_calls") not in (None, calls):
        counted.mismatches.append((module_name, calls, result.get("cli_calls")))
    return seconds, usage.ru_maxrss / 1024.0, calls, result


def node_cases(server, round_):
    """(case, module, args, whether it must change) of one round."""
    return [
        ("info gather=nodes", "info", dict(gather=["nodes"]), False),
        ("node_key_rotation, nothing to rotate", "node_key_rotation",
         dict(max_key_age="3650d", ledger_file=os.path.join(server.dir, "node-keys.json")), False),
        ("node, one change", "node", dict(name="node-00000", tags=["tag:ci" if round_ % 2 == 0 else "tag:server"]), True),
        ("preauth_key reconcile, 10 keys", "preauth_key",
         dict(keys=[{"user": "bench-u%02d" % i, "reusable": True, "expiration": "24h"} for i in range(10)],
              secrets_file=os.path.join(server.dir, "keys.yml")), False),
        ("user reconcile, 50 users", "user", dict(users=[{"name": "bench-u%02d" % i} for i in range(NODE_USERS)]), False),
    ]


def nodes_main():
    version = os.environ["TAILNET_HEADSCALE_VERSION"]
    loads = [load_average()]
    servers, built, missing = {}, {}, {}
    try:
        for n in NODES_NS:
            server = Headscale(version, os.environ["TAILNET_HEADSCALE_BINARY"], tempfile.mkdtemp(prefix="hs-bench-nodes-"))
            with open(server.config, "a") as config:
                # The CLI's own deadline (5 s by default) is short for a loaded machine building thousands of nodes.
                config.write("cli: {timeout: 60s}\n")
            server.start()
            servers[n] = CountedServer(server)
            try:
                built[n] = fixture(server, n)
            except RuntimeError as error:
                # Measured what was built; the missing N is named in the results and the docs.
                missing[n] = str(error)[:500]
                print("fixture of %d nodes failed, N=%d left out: %s" % (n, n, error), flush=True)
                server.stop()
                shutil.rmtree(server.dir, ignore_errors=True)
                del servers[n]
                continue
            print("fixture: %d nodes in %.0f s" % (n, built[n]), flush=True)
            loads.append(load_average())
        ns = sorted(servers)
        if not ns:
            raise RuntimeError("no fixture could be built: %s" % missing)
        # A first, untimed run of every case: the keys minted, the ledger written (the secrets never leave server.dir).
        for n in ns:
            for case, module_name, args, changes in node_cases(servers[n].server, 1):
                run_module(servers[n], module_name, args)
        samples = dict(((case, n), []) for n in ns for case, _m, _a, _c in node_cases(servers[n].server, 0))
        for round_ in range(ROUNDS):
            for n in ns:
                for case, module_name, args, changes in node_cases(servers[n].server, round_):
                    seconds, rss, calls, result = run_module(servers[n], module_name, args)
                    if bool(result.get("changed")) != changes:
                        raise RuntimeError("%s at N=%d: changed=%s" % (case, n, result.get("changed")))
                    samples[case, n].append((seconds, rss, calls))
            loads.append(load_average())
    finally:
        for counted in servers.values():
            counted.server.stop()
            shutil.rmtree(counted.server.dir, ignore_errors=True)  # it holds the minted keys' secrets

    cases = [case for case, _m, _a, _c in node_cases(servers[ns[0]].server, 0)]
    rows = dict((case, [dict(n=n, seconds=statistics.median(s for s, r, c in samples[case, n]),
                             rss_mb=max(r for s, r, c in samples[case, n]),
                             calls=max(c for s, r, c in samples[case, n]),
                             calls_varied=len(set(c for s, r, c in samples[case, n])) > 1) for n in ns])
                for case in cases)
    lo, hi = ns[0], ns[-1]
    figures = []
    for case in cases:
        first, last = rows[case][0], rows[case][-1]
        if not case.startswith("node,"):
            ratio = last["seconds"] / first["seconds"]
            figures.append(figure("%s: N=%d / N=%d nodes (time)" % (case, hi, lo), ratio, "<= 3", ratio <= 3,
                                  "%.2f s vs %.2f s" % (last["seconds"], first["seconds"])))
        figures.append(figure("%s: N=%d / N=%d nodes (CLI calls)" % (case, hi, lo), "%d vs %d" % (last["calls"], first["calls"]),
                              "equal", last["calls"] == first["calls"]))
    peak = max(row["rss_mb"] for case in cases for row in rows[case] if row["n"] == hi)
    figures.append(figure("peak RSS of a module process at N=%d nodes (MB)" % hi, peak, "<= 150", peak <= 150, fmt="%.0f"))
    saved = save("nodes", "modules on a server with N nodes (headscale %s on loopback, median of %d)" % (version, ROUNDS),
                 figures, scaling=rows, rounds=ROUNDS, headscale_version=version, fixture_s=dict((str(n), s) for n, s in built.items()),
                 users=NODE_USERS, load_average=loads, wanted_n=NODES_NS, missing_n=dict((str(n), why) for n, why in missing.items()),
                 cli_call_mismatches=[m for c in servers.values() for m in c.mismatches])
    print(nodes_detail(saved))


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
    if sys.argv[1:] == ["nodes"]:
        nodes_main()
    else:
        main()
        nodes_main()

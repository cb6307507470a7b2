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

`python3 bench/modules.py nodes` runs only the second part, a server with thousands of nodes (saved
as the `nodes` benchmark): one server per N (BENCH_NODES_N, default 10, 500, 5000), each with N
nodes across 50 users, half of them tagged, registered through headscale itself by lab/node-fixture
(what `debug create-node`, `auth register` and `nodes tag` do, over headscale's gRPC socket with
many calls in flight; never the database), then restarted with the harness's config. Then, round-
robin over the servers, BENCH_ROUNDS times: `info gather=nodes`, `node_key_rotation` with nothing to
rotate, `node` making one change (a tag swapped on one node), a `preauth_key` reconcile of 10
declared keys and a `user` reconcile of the 50 users, none of which change anything but `node`. Each
module runs as its own process (the module file run with its arguments on stdin, as Ansible runs it
on a host), timed, its peak RSS read from wait4(); CLI calls counted by the logging wrapper. Goals:
no-change calls at the largest N <= 3x their time at the smallest, CLI calls the same at every N,
peak RSS <= 150 MB."""

import json
import os
import shutil
import statistics
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
IN_FLIGHT = int(os.environ.get("BENCH_FIXTURE_IN_FLIGHT", "1000"))
NODE_USERS = 50
COLLECTIONS = (os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".collections")).split(":")[0]
# While a large fixture is built only. headscale applies node writes in batches and, after each,
# rebuilds the peer map over every pair of nodes its policy allows (docs/benchmarks.md): batches of
# up to 5,000 writes and a policy that allows no pair (its tag owners kept, so nodes can be tagged)
# make 5,000 registrations minutes instead of hours. The measured server is then restarted with the
# harness's own config and its allow-all policy.
BUILD_TUNING = "tuning: {node_store_batch_size: 5000, node_store_batch_timeout: 5s, register_cache_max_entries: 20000}\n"
BUILD_TUNING_FROM_N = 1000
BUILD_ACLS = [{"action": "accept", "src": ["tag:ci"], "dst": ["tag:ci:*"]}]
# The CLI's own deadline is 5 s; at 5,000 nodes headscale takes a minute or more over one `nodes tag`
# (the node module's one change), so the modules' CLI calls get longer.
CLI_TIMEOUT = "cli: {timeout: 900s}\n"


def fixture(server, n):
    """N nodes across NODE_USERS users, every second one tagged, registered through headscale itself.

    lab/node-fixture does what `headscale debug create-node`, `auth register` and `nodes tag` do,
    over headscale's gRPC socket with many calls in flight (the CLI, one process and one batch
    wait per command, does not reach 5,000). Returns (seconds to build, seconds to restart)."""
    policy_path = os.path.join(server.dir, "policy.json")
    with open(server.config) as f:
        config = f.read()
    with open(policy_path) as f:
        policy = f.read()
    with open(server.config, "w") as f:
        f.write(config + (BUILD_TUNING if n >= BUILD_TUNING_FROM_N else ""))
    with open(policy_path, "w") as f:
        json.dump(dict(json.loads(policy), acls=BUILD_ACLS), f)
    begin = time.monotonic()
    try:
        server.start(timeout=120)
        builder = subprocess.Popen([os.environ["TAILNET_NODE_FIXTURE_BINARY"], "-socket", os.path.join(server.dir, "headscale.sock"),
                                    "-nodes", str(n), "-users", str(NODE_USERS), "-in-flight", str(min(n, IN_FLIGHT))],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        said = []
        for line in builder.stderr:  # its progress, shown as it goes (minutes at 5,000), and kept for the error
            print(line, end="", flush=True)
            said = (said + [line])[-10:]
        builder.wait()
    finally:
        server.stop(timeout=300)
        with open(server.config, "w") as f:
            f.write(config)
        with open(policy_path, "w") as f:
            f.write(policy)
    if builder.returncode:
        raise RuntimeError("lab/node-fixture failed (rc %d): %s" % (builder.returncode, "".join(said)[-800:]))
    built = time.monotonic() - begin
    begin = time.monotonic()
    server.start(timeout=900)
    restarted = time.monotonic() - begin
    nodes = server.state("nodes") or []
    tagged = sum(1 for node in nodes if node.get("tags"))
    names = set(node["given_name"] for node in nodes)
    if len(nodes) != n or tagged != (n + 1) // 2 or names != set("node-%05d" % i for i in range(n)):
        raise RuntimeError("fixture of %d nodes has %d (%d names as asked), %d tagged"
                           % (n, len(nodes), len(names & set("node-%05d" % i for i in range(n))), tagged))
    return built, restarted


def expire_all(server):
    """Expire every node that can expire (the untagged ones) through headscale's gRPC API: seconds taken."""
    begin = time.monotonic()
    run = subprocess.run([os.environ["TAILNET_NODE_FIXTURE_BINARY"], "-socket", os.path.join(server.dir, "headscale.sock"),
                          "-expire-all", "-in-flight", str(IN_FLIGHT)], capture_output=True, text=True, check=False)
    if run.returncode:
        raise RuntimeError("lab/node-fixture -expire-all failed (rc %d): %s" % (run.returncode, run.stderr[-800:]))
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


def returning_cost(result):
    """What AnsibleModule.exit_json does with a result of this size, timed here: ansible-core's scrub of
    no_log values (remove_values, run on every result) and its JSON encoding. Part of every module call,
    proportional to what it returns."""
    from ansible.module_utils.common.parameters import remove_values  # pylint: disable=import-outside-toplevel
    begin = time.monotonic()
    json.dumps(remove_values(result, []))
    return time.monotonic() - begin


def rotation_case(server, name="node_key_rotation, nothing to rotate"):
    return (name, "node_key_rotation", dict(max_key_age="3650d", ledger_file=os.path.join(server.dir, "node-keys.json")), False)


# Measured last, once every untagged node is expired: each is awaiting re-authentication, and the
# run changes nothing (tagged nodes never expire in headscale 0.29).
EXPIRED_CASE = "node_key_rotation, every untagged node expired"


def node_cases(server, round_):
    """(case, module, args, whether it must change) of one round."""
    return [
        ("info gather=nodes", "info", dict(gather=["nodes"]), False),
        rotation_case(server),
        ("node, one change", "node", dict(name="node-00000", tags=["tag:ci" if round_ % 2 == 0 else "tag:server"]), True),
        ("preauth_key reconcile, 10 keys", "preauth_key",
         dict(keys=[{"user": "bench-u%02d" % i, "reusable": True, "expiration": "24h"} for i in range(10)],
              secrets_file=os.path.join(server.dir, "keys.yml")), False),
        ("user reconcile, 50 users", "user", dict(users=[{"name": "bench-u%02d" % i} for i in range(NODE_USERS)]), False),
    ]


def nodes_main():
    version = os.environ["TAILNET_HEADSCALE_VERSION"]
    loads = [load_average()]
    servers, built, restarted, expired_s, missing = {}, {}, {}, {}, {}
    try:
        for n in NODES_NS:
            server = Headscale(version, os.environ["TAILNET_HEADSCALE_BINARY"], tempfile.mkdtemp(prefix="hs-bench-nodes-"))
            with open(server.config, "a") as config:
                config.write(CLI_TIMEOUT)
            servers[n] = CountedServer(server)
            try:
                built[n], restarted[n] = fixture(server, n)
            except RuntimeError as error:
                # Measured what was built; the missing N is named in the results and the docs.
                missing[n] = str(error)[:500]
                print("fixture of %d nodes failed, N=%d left out: %s" % (n, n, error), flush=True)
                server.stop()
                shutil.rmtree(server.dir, ignore_errors=True)
                del servers[n]
                continue
            print("fixture: %d nodes in %.0f s, restarted in %.0f s" % (n, built[n], restarted[n]), flush=True)
            loads.append(load_average())
        ns = sorted(servers)
        if not ns:
            raise RuntimeError("no fixture could be built: %s" % missing)
        # A first, untimed run of every case: the keys minted, the ledger written (the secrets never leave server.dir).
        for n in ns:
            for case, module_name, args, changes in node_cases(servers[n].server, 1):
                run_module(servers[n], module_name, args)
        samples = dict(((case, n), []) for n in ns for case, _m, _a, _c in node_cases(servers[n].server, 0))
        # headscale's own `nodes list` (the CLI, no module), timed once a round: what the server costs.
        listing = dict((n, []) for n in ns)
        for round_ in range(ROUNDS):
            for n in ns:
                for case, module_name, args, changes in node_cases(servers[n].server, round_):
                    seconds, rss, calls, result = run_module(servers[n], module_name, args)
                    if bool(result.get("changed")) != changes:
                        raise RuntimeError("%s at N=%d: changed=%s" % (case, n, result.get("changed")))
                    samples[case, n].append((seconds, rss, calls, returning_cost(result)))
                begin = time.monotonic()
                servers[n].server.state("nodes")
                listing[n].append(time.monotonic() - begin)
            loads.append(load_average())
        for n in ns:
            expired_s[n] = expire_all(servers[n].server)
            print("every untagged node of N=%d expired in %.0f s" % (n, expired_s[n]), flush=True)
            samples[EXPIRED_CASE, n] = []
        for round_ in range(ROUNDS):
            for n in ns:
                seconds, rss, calls, result = run_module(servers[n], *rotation_case(servers[n].server, EXPIRED_CASE)[1:3])
                if result.get("changed") or len(result.get("awaiting_reauth") or []) != n // 2:
                    raise RuntimeError("%s at N=%d: changed=%s, %d awaiting re-authentication" % (
                        EXPIRED_CASE, n, result.get("changed"), len(result.get("awaiting_reauth") or [])))
                samples[EXPIRED_CASE, n].append((seconds, rss, calls, returning_cost(result)))
        loads.append(load_average())
    finally:
        for counted in servers.values():
            counted.server.stop()
            shutil.rmtree(counted.server.dir, ignore_errors=True)  # it holds the minted keys' secrets

    cases = [case for case, _m, _a, _c in node_cases(servers[ns[0]].server, 0)] + [EXPIRED_CASE]
    rows = dict((case, [dict(n=n, seconds=statistics.median(s for s, r, c, x in samples[case, n]),
                             rss_mb=max(r for s, r, c, x in samples[case, n]),
                             calls=max(c for s, r, c, x in samples[case, n]),
                             returning_s=statistics.median(x for s, r, c, x in samples[case, n]),
                             calls_varied=len(set(c for s, r, c, x in samples[case, n])) > 1) for n in ns])
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
                 restart_s=dict((str(n), s) for n, s in restarted.items()), expire_s=dict((str(n), s) for n, s in expired_s.items()),
                 nodes_list_s=dict((str(n), statistics.median(times)) for n, times in listing.items()),
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

"""Module benchmarks (issue: modules). Prints figures; asserts nothing.

- a module call vs a raw `ansible -m command` doing the same CLI action (goal <= 1.3x);
- reconciling 500 declared users/keys with nothing to change vs 1 (goal <= 2x: list once);
- headscale CLI calls per module run.

Runs a real headscale as a plain process on loopback (tests/integration/conftest.py)."""

import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from conftest import Headscale  # noqa: E402  pylint: disable=wrong-import-position

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def timed(fn):
    start = time.monotonic()
    result = fn()
    return time.monotonic() - start, result


def median_time(fn, rounds=ROUNDS):
    return statistics.median(timed(fn)[0] for round_ in range(rounds))


def main():
    version = os.environ["TAILNET_HEADSCALE_VERSION"]
    server = Headscale(version, os.environ["TAILNET_HEADSCALE_BINARY"], tempfile.mkdtemp(prefix="hs-bench-"))
    server.start()
    try:
        import subprocess

        def raw_command():
            subprocess.run(["ansible", "localhost", "-m", "ansible.builtin.command", "-a",
                            "%s -c %s -o json users list" % (server.binary, server.config)],
                           capture_output=True, check=True)

        def module_call():
            result = server.module("user", name="bench-one")[0]
            assert not result.get("failed"), result
            return result

        module_call()  # create it, so the timed runs are the idempotent case
        raw = median_time(raw_command)
        mod = median_time(module_call)
        calls_one = module_call()["cli_calls"]

        many_users = [{"name": "bench-%03d" % i} for i in range(500)]
        many_keys = [{"user": "bench-one", "tags": ["tag:b%03d" % i], "reusable": True, "expiration": "24h"} for i in range(500)]
        t_create_users = timed(lambda: server.module("user", users=many_users))[0]
        t_create_keys = timed(lambda: server.module("preauth_key", keys=many_keys, secrets_file=os.path.join(server.dir, "k.yml")))[0]
        users_500 = median_time(lambda: server.module("user", users=many_users))
        users_1 = median_time(lambda: server.module("user", users=many_users[:1]))
        keys_500 = median_time(lambda: server.module("preauth_key", keys=many_keys, secrets_file=os.path.join(server.dir, "k.yml")))
        keys_1 = median_time(lambda: server.module("preauth_key", keys=many_keys[:1], secrets_file=os.path.join(server.dir, "k.yml")))
        calls_users_500 = server.module("user", users=many_users)[0]["cli_calls"]
        calls_keys_500 = server.module("preauth_key", keys=many_keys, secrets_file=os.path.join(server.dir, "k.yml"))[0]["cli_calls"]
    finally:
        server.stop()

    print("module benchmark (headscale %s on loopback, median of %d, same run)" % (version, ROUNDS))
    print("  raw ansible -m command (users list)   %6.2f s" % raw)
    print("  tailnet.headscale.user (no change)    %6.2f s   %d CLI call(s)" % (mod, calls_one))
    print("  module / raw command                  %6.2f     goal <= 1.30  %s" % (mod / raw, "met" if mod / raw <= 1.3 else "MISSED"))
    print("  create 500 users / 500 keys (once)    %6.1f s / %.1f s" % (t_create_users, t_create_keys))
    print("  reconcile users: 500 vs 1, no change  %6.2f s vs %.2f s  ratio %.2f  goal <= 2  %s   CLI calls for 500: %d"
          % (users_500, users_1, users_500 / users_1, "met" if users_500 / users_1 <= 2 else "MISSED", calls_users_500))
    print("  reconcile keys:  500 vs 1, no change  %6.2f s vs %.2f s  ratio %.2f  goal <= 2  %s   CLI calls for 500: %d"
          % (keys_500, keys_1, keys_500 / keys_1, "met" if keys_500 / keys_1 <= 2 else "MISSED", calls_keys_500))


if __name__ == "__main__":
    main()

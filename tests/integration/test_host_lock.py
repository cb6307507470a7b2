"""The host lock, as the modules take it, against a real headscale (the current version; the lock does not
depend on it): a changing call waits for another run's lock and then goes ahead; one that waits longer than
lock_timeout fails naming the holder, with nothing changed; the run that holds the lock (the server role,
which passes its run as lock_run) is not blocked by its own lock, and a call naming another run is.

The lock is the real one, /run/tailnet-headscale.lock of the machine the tests run on (they run as root);
the other run is a holder process made with module_utils/host_lock.py, the same code the role runs."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import Headscale

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "plugins", "module_utils"))
import host_lock  # noqa: E402  (the file the role runs on the host, imported as it is)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the host lock lives in /run: root only")

OTHER_RUN = "server@elsewhere/boot/4242/88213"


@pytest.fixture(scope="module")
def server():
    workdir = tempfile.mkdtemp(prefix="hs-lock-")
    hs = Headscale(os.environ["TAILNET_HEADSCALE_VERSION"], os.environ["TAILNET_HEADSCALE_BINARY"], workdir)
    hs.start()
    # The real binary behind a wrapper that logs every command it is asked to run (as test_refusals.py).
    hs.command_log = os.path.join(workdir, "commands.log")
    hs.wrapper = os.path.join(workdir, "headscale-wrapper")
    with open(hs.wrapper, "w") as f:
        f.write('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\nexec %s "$@"\n' % (hs.command_log, hs.binary))
    os.chmod(hs.wrapper, stat.S_IRWXU)
    hs.state_dir = os.path.join(workdir, "state")
    os.makedirs(hs.state_dir)
    hs.module("user", users=[{"name": "alice"}])
    hs.add_node("web-1", "alice")
    yield hs
    hs.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def other_run():
    """Another run holding the host lock, ended after the test whatever happens."""
    holder = host_lock.hold(0, OTHER_RUN, "mallory on elsewhere", 300)
    yield holder
    host_lock.release(OTHER_RUN)


def snapshot(server):
    out = subprocess.run([sys.executable, os.path.join(HERE, "state_snapshot.py"), server.binary, server.config,
                          server.command_log, server.state_dir], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def module_argv(server, module_name, check=False, **args):
    args.setdefault("headscale_binary", server.wrapper)
    args.setdefault("headscale_config", server.config)
    argv = ["ansible", "localhost", "-m", "tailnet.headscale." + module_name, "-a", json.dumps(args)]
    return argv + (["--check"] if check else [])


def call(server, module_name, check=False, **args):
    """Run the module through the wrapper; return (result, seconds it took, its output)."""
    started = time.time()
    result, out = server.module(module_name, check=check, headscale_binary=server.wrapper, **args)
    return result, time.time() - started, out


def commands(server):
    """What the wrapper was asked to run so far, without the global flags."""
    if not os.path.exists(server.command_log):
        return []
    with open(server.command_log) as f:
        return [" ".join(w for w in line.split()[4:]) for line in f]


def users(server):
    return sorted(u["name"] for u in server.state("users") or [])


def test_a_changing_call_waits_for_the_lock_then_goes_ahead(server, other_run):
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    listed = commands(server).count("users list")
    waiting = subprocess.Popen(module_argv(server, "user", name="bob", lock_timeout=60), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)
    # The call has read the users (the wrapper logs it) and found bob missing: it is waiting now.
    deadline = time.time() + 60
    while commands(server).count("users list") == listed and waiting.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    assert waiting.poll() is None and "bob" not in users(server)
    released_at = time.time()
    host_lock.release(OTHER_RUN)
    out = waiting.communicate(timeout=60)[0]
    done_at = time.time()
    result = json.loads(out)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["changed"] and not result.get("failed"), out
    assert "bob" in users(server) and done_at > released_at
    # It read the server again under the lock: the listing before the wait, and the one after.
    assert result["cli_calls"] == 4 and result["actions"] == ["create user bob"], result


def test_a_call_that_waits_too_long_fails_naming_the_holder_and_changes_nothing(server, other_run):
    before = snapshot(server)
    result, took, out = call(server, "user", name="carol", lock_timeout=1)
    assert result.get("failed") and not result["changed"], out
    assert ("holder PID %d started %s, run %s (mallory on elsewhere)"
            % (other_run["pid"], other_run["started"], OTHER_RUN)) in result["msg"], result["msg"]
    assert "within 1 s" in result["msg"] and took >= 1
    # A call whose only change is a state file (the key ledger: no key is due, but the node is new to it) waits too.
    result, took, out = call(server, "node_key_rotation", max_key_age="30d",
                             ledger_file=os.path.join(server.state_dir, "keys.json"), lock_timeout=1)
    assert result.get("failed") and "holder PID %d" % other_run["pid"] in result["msg"], out
    assert snapshot(server) == before


def test_the_run_that_holds_the_lock_goes_through_and_another_does_not(server):
    role_run = "server@admin/boot/31337/88214"
    host_lock.hold(0, role_run, "ops on admin", 300)
    try:
        result, took, out = call(server, "user", name="dave", lock_run=role_run, lock_timeout=0)
        assert result["changed"] and not result.get("failed") and "dave" in users(server), out
        before = snapshot(server)
        result, took, out = call(server, "user", name="erin", lock_run=OTHER_RUN, lock_timeout=1)
        assert result.get("failed") and "run %s" % role_run in result["msg"], out
        assert snapshot(server) == before
    finally:
        host_lock.release(role_run)


def test_a_call_with_nothing_to_change_and_a_dry_run_do_not_wait(server, other_run):
    before = snapshot(server)
    result, took, out = call(server, "user", name="alice", lock_timeout=0)
    assert not result["changed"] and not result.get("failed"), out
    result, took, out = call(server, "user", check=True, name="frank", lock_timeout=0)
    assert result["changed"] and not result.get("failed"), out
    assert snapshot(server) == before

"""Every change is a transaction, and a killed run is finished or undone by the next.

Two containers (the cases split between them, run side by side: conftest.py HALVES), each with
headscale 0.28, two users, a reusable key and a real client. Between cases the host is put back
to that state from a snapshot (a tar of everything the role and headscale write), so each case
starts from it.
Figures of the crash sweep are printed (pytest -s, or the verify log)."""

import json
import os
import re
import signal
import subprocess
import time

import pytest
import yaml

from conftest import PINNED, PREVIOUS, Client

HERE = os.path.dirname(os.path.abspath(__file__))
BACKUPS = "/var/backups/headscale"
SNAPSHOT = "/root/faults-snapshot.tar"
SNAPSHOT_PATHS = "var/lib/headscale etc/headscale usr/local/lib/headscale usr/local/bin/headscale " \
                 "etc/systemd/system/headscale.service"
# Changes that pass the role's preflight and configtest (which swaps the
# database for a throwaway sqlite one and binds nothing) but that headscale
# cannot start with. (The issue's own examples - postgres without the opt-in, a
# noise key outside the state directory - are refused at preflight now:
# molecule/default refusals.yml.)
BAD_CONFIGS = [
    # An opted-in postgres that is not there.
    dict(headscale_config={"database": {"type": "postgres"}}, headscale_allow_unsupported_database=True),
    # Metrics on the HTTP listener's port: headscale dies on "address already in use".
    # (Not grpc_listen_addr: without TLS headscale never opens that listener.)
    dict(headscale_config={"metrics_listen_addr": "127.0.0.1:8080"}),
]
# Tasks that run on the controller only: a kill before one leaves the host as
# a kill before the next task does, so they are not separate kill points.
CONTROLLER_ONLY = ("set_fact", "debug", "assert", "meta", "fail", "import_tasks", "include_tasks")
# The sample make test runs: one kill point in each phase of the run, each a different state for
# the rerun to meet (no transaction; recorded, files changed; headscale stopped; complete backup;
# started, unchecked; closed, lock held; lock released). A phase starts at the first kill point at or
# after the task named, each looked up after the previous one's match; the last kill point is added.
PHASES = {
    "upgrade 0.28 -> 0.29": [
        "and record the transaction",        # the versioned binary installed, no transaction yet
        "Install the systemd unit",          # transaction recorded (managed), the symlink on the new version
        "Back up the database and keys",     # headscale stopped, its state not backed up yet
        "Enable and start headscale",        # complete backup, headscale still stopped
        "Wait for headscale to be healthy",  # the new version started, not checked yet
    ],
    # The states between the config written and headscale started are the upgrade's (stopped, not
    # backed up; backed up, stopped), and the rerun meets them with the same code: make sweep runs them.
    "config change that fails health": [
        "and record the transaction",
        "Install the systemd unit",          # the bad config written, the old headscale still serving
        "Wait for headscale to be healthy",  # the bad config started, crash-looping
        "Wait for headscale to be healthy",  # the rollback: the backup restored, not checked yet
        "Release the host lock",             # rolled back and closed, the lock still held (the last)
    ],
}
FIGURES = []
RESULTS = []


def cli(host, *args):
    out = host.check_output("headscale -o json " + " ".join(args))
    return json.loads(out) if out.strip() else None


def tailnet(host):
    """What no change may lose: users, nodes (ids, keys, addresses), pre-auth keys, noise and DERP keys."""
    keys = host.check_output("sha256sum /var/lib/headscale/noise_private.key /var/lib/headscale/derp_server_private.key")
    return dict(
        users=sorted((u["id"], u["name"]) for u in cli(host, "users", "list") or []),
        nodes=sorted((n["id"], n["given_name"], n["node_key"], tuple(sorted(n["ip_addresses"])))
                     for n in cli(host, "nodes", "list") or []),
        keys=sorted(k["id"] for k in cli(host, "preauthkeys", "list") or []),
        server_keys=keys,
    )


def serving(host):
    """The version serving, once both HTTP /health and the CLI socket answer; None if not within 20 s."""
    deadline = time.time() + 20
    while time.time() < deadline:
        if host.run("python3 -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:8080/health\", timeout=2)'"
                    " && headscale health").rc == 0:
            return re.search(r"version v?(\S+)", host.check_output("headscale version")).group(1)
        time.sleep(0.5)
    return None


def restorable_backups(host):
    """Complete backups whose MANIFEST names a binary that is still there, unchanged."""
    out = host.run(
        "for m in %s/*/MANIFEST; do [ -f \"$m\" ] || continue; b=$(sed -n 's/^binary //p' \"$m\");"
        " [ \"$(sha256sum < \"$b\" | cut -c1-64)\" = \"$(sed -n 's/^binary_sha256 //p' \"$m\")\" ] && dirname \"$m\"; done"
        % BACKUPS).stdout
    return [line for line in out.split() if not line.endswith(".partial")]


def reset(host):
    """Put the host back to the snapshot: headscale 0.28 serving, no backups, no lock, no transaction."""
    host.check_output(
        "systemctl stop headscale; h=/run/tailnet-headscale.lock.holder;"
        " [ -f $h ] && kill $(sed 's/.*\"pid\": \\([0-9]*\\).*/\\1/' $h) 2>/dev/null; rm -f /run/tailnet-headscale.lock*;"
        " rm -rf /%s %s /var/backups/small/*; tar -C / -xpf %s; systemctl daemon-reload; systemctl start headscale"
        % (" /".join(SNAPSHOT_PATHS.split()), BACKUPS, SNAPSHOT))
    assert serving(host) == PREVIOUS["headscale_version"]


def run(host, name, kill_at=0, task_log=None, background=False, **extra_vars):
    """ansible-playbook tailnet.headscale.NAME in its own process group; killed at task kill_at if given."""
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "..", "callback"),
               ANSIBLE_CALLBACKS_ENABLED="kill_at", ANSIBLE_PIPELINING="1",
               TAILNET_KILL_AT=str(kill_at), TAILNET_TASK_LOG=task_log or "")
    extra_vars.setdefault("headscale_target_hosts", host.backend.host)
    extra_vars.setdefault("ansible_become", False)
    proc = subprocess.Popen(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "tailnet.headscale." + name,
         "-e", json.dumps(extra_vars)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    if background:
        return proc
    return finish(host, proc)


def finish(host, proc):
    out, err = proc.communicate()
    if proc.returncode == -signal.SIGKILL:
        return proc.returncode, None, []
    try:
        output = json.loads(out)
    except ValueError:
        raise AssertionError("no JSON from ansible-playbook: %s %s" % (out[-2000:], err[-2000:]))
    failures = [(result.get("msg", "") + " " + result.get("stderr", "")).strip()
                for play in output["plays"] for task in play["tasks"]
                for result in task["hosts"].values() if result.get("failed") and not result.get("ignore_errors")]
    return proc.returncode, output, failures


def kill_points(output, log):
    """Task numbers (1-based, as the callback counts) from the first change to the end that ran on the host."""
    started = [line.split("\t", 2)[1:] for line in open(log).read().splitlines()]
    names = [entry[1] for entry in started]
    ran = {}
    for play in output["plays"]:
        for task in play["tasks"]:
            result = (list(task["hosts"].values()) or [{"skipped": True}])[0]
            ran.setdefault(task["task"]["name"], []).append(not result.get("skipped"))
    first = next(i for i, n in enumerate(names) if "Back up the config, policy, unit" in n)
    points, seen = [], {}
    for i, name in enumerate(names):
        nth = seen.get(name, 0)
        seen[name] = nth + 1
        flags = ran.get(name, [])
        if i >= first and nth < len(flags) and flags[nth] and started[i][0].split(".")[-1] not in CONTROLLER_ONLY:
            points.append(i + 1)
    return points


def phase_points(points, tasks, phases):
    """The first kill point at or after each phase's task (looked up in order), and the last one."""
    chosen, start = [], 0
    for phase in phases:
        start = next((i for i in sorted(tasks) if i > start and phase in tasks[i]), None)
        assert start is not None, "no task %r in the run (after the previous phase): rename the phase" % phase
        chosen.append(next(k for k in points if k >= start))
    return sorted(set(chosen + [points[-1]]))


@pytest.fixture(scope="module", autouse=True)
def snapshot(host):
    """The state every case starts from, and what every case must end with: taken once per container
    (with a real client enrolled), put back at the start of every later session."""
    if host.file(SNAPSHOT).exists:
        reset(host)
    else:
        with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "declared-keys-%s.yml" % host.backend.host)) as f:
            secret = yaml.safe_load(f)[0]["key"]
        laptop = Client(host, "laptop").start()
        assert laptop.up(secret).rc == 0
        laptop.wait_running()
        laptop.stop()
        assert serving(host) == PREVIOUS["headscale_version"]
        host.check_output("systemctl stop headscale && tar -C / -cpf %s %s; systemctl start headscale"
                          % (SNAPSHOT, SNAPSHOT_PATHS))
        assert serving(host) == PREVIOUS["headscale_version"]
    before = tailnet(host)
    assert len(before["nodes"]) == 1 and len(before["users"]) == 2 and before["keys"]
    yield before
    for line in FIGURES:
        print(line)
    write_results()


def write_results():
    """TAILNET_FAULTS_RESULTS=path (make sweep): the figures of a full sweep of both runs, for the README
    table (bench/tables.py). Written only when every kill point of both runs was run. The two sweeps
    may run in two pytest-xdist workers: each leaves its part beside the file, and whichever finds
    both parts of the same test run writes the file."""
    path = os.environ.get("TAILNET_FAULTS_RESULTS")
    if not path or not RESULTS or any(r["run_points"] != r["kill_points"] for r in RESULTS):
        return
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", "single")
    for result in RESULTS:
        part = part_path(path, result["run"])
        with open(part + ".tmp", "w") as f:
            json.dump(dict(run_id=run_id, result=result), f)
        os.replace(part + ".tmp", part)
    parts = []
    for run in PHASES:
        if os.path.exists(part_path(path, run)):
            with open(part_path(path, run)) as f:
                parts.append(json.load(f))
    if len(parts) != len(PHASES) or {p["run_id"] for p in parts} != {run_id}:
        return
    with open(path + ".tmp", "w") as f:
        json.dump(dict(date=time.strftime("%Y-%m-%d", time.gmtime()), cores=os.cpu_count(),
                       sweeps=[p["result"] for p in parts]), f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    for run in PHASES:
        try:
            os.remove(part_path(path, run))
        except FileNotFoundError:
            pass


def part_path(path, run):
    """Where one sweep's results wait beside the results file for the other's."""
    return "%s.%s.part" % (path, re.sub(r"[^a-z0-9]+", "-", run))


def assert_rolled_back(host, snapshot, rc, output, failures):
    """A run of a config headscale cannot start with failed with headscale's reason, and left the tailnet as it was."""
    assert rc != 0 and failures, output and output["stats"]
    message = failures[-1]
    # headscale's own reason leads, then the step, then the outcome.
    assert message.startswith("headscale failed: "), message
    assert re.search(r"\b(FTL|ERR)\b", message), "headscale's own log line is missing: " + message
    assert "Rolled back: headscale %s is serving again and healthy" % PREVIOUS["headscale_version"] in message
    assert serving(host) == PREVIOUS["headscale_version"]
    assert tailnet(host) == snapshot
    assert host.file("/etc/headscale/.tailnet-headscale-transaction").exists is False
    assert restorable_backups(host)


# The other bad config (postgres absent) is the config-change sweep's: its reference run is checked the same way.
def test_a_config_headscale_cannot_start_with_is_rolled_back(host, snapshot):
    reset(host)
    assert_rolled_back(host, snapshot, *run(host, "site", **dict(PREVIOUS, **BAD_CONFIGS[1])))


def sweep(host, snapshot, name, extra, expect_version, expect_ok, tmp_path):
    started = time.time()
    load = [os.getloadavg()[0]]
    reset(host)
    log = str(tmp_path / ("%s-reference.log" % name))
    reference = time.time()
    rc, output, failures = run(host, "upgrade", task_log=log, **extra)
    reference = time.time() - reference
    if expect_ok:
        assert rc == 0, failures
    else:
        assert_rolled_back(host, snapshot, rc, output, failures)
    points = kill_points(output, log)
    tasks = dict((int(line.split("\t")[0]), line.split("\t", 2)[2]) for line in open(log).read().splitlines())
    total, all_points = len(points), points
    assert total >= 10, "too few kill points found: %r" % points
    with open(log + ".json", "w") as f:
        json.dump(output, f)
    # TAILNET_FAULTS_SAMPLE unset: one kill point per phase (make test); N: N kill points spread over
    # the run, first and last included; 0: every kill point, the full sweep (make sweep).
    sample = os.environ.get("TAILNET_FAULTS_SAMPLE", "phases")
    if sample == "phases":
        points = phase_points(points, tasks, PHASES[name])
    elif 0 < int(sample) < len(points):
        points = [points[i * (len(points) - 1) // max(int(sample) - 1, 1)] for i in range(int(sample))]
    print("%s: %d kill points %s, running %s" % (name, total, all_points, points))
    recovered, timings, failed = [], [], []
    for k in points:
        clock = [time.time()]
        try:
            reset(host)
            clock.append(time.time())
            rc = run(host, "upgrade", kill_at=k, **extra)[0]
            clock.append(time.time())
            assert rc == -signal.SIGKILL, "task %d: the run was not killed" % k
            rc, output, failures = run(host, "upgrade", **extra)
            clock.append(time.time())
            with open(str(tmp_path / ("rerun-%d.json" % k)), "w") as f:
                json.dump(output, f)
            assert (rc == 0) == expect_ok, (k, failures)
            assert serving(host) == expect_version, "after a kill at task %d" % k
            assert tailnet(host) == snapshot, "after a kill at task %d" % k
            assert restorable_backups(host), "no restorable backup after a kill at task %d" % k
        except AssertionError as error:
            # Every kill point is run: the failure names all that did not recover, not just the first.
            failed.append("kill at task %d (%s): %s" % (k, tasks[k], error))
            print(failed[-1])
            continue
        clock.append(time.time())
        recovered.append(k)
        load.append(os.getloadavg()[0])
        timings.append(dict(zip(("reset", "killed_run", "rerun", "checks"),
                                (round(b - a, 1) for a, b in zip(clock, clock[1:])))))
        print("kill at task %d (%s): %s" % (k, tasks[k], " ".join("%s %.1f s" % item for item in timings[-1].items())))
    seconds = time.time() - started
    FIGURES.append("crash sweep %s: %d kill points run (of %d), %d recovered, %.0f s (reference run %.1f s)"
                   % (name, len(points), total, len(recovered), seconds, reference))
    if not failed:
        RESULTS.append(dict(run=name, kill_points=total, run_points=len(points), recovered=len(recovered),
                            seconds=round(seconds), reference_seconds=round(reference, 1),
                            load_average=[round(min(load), 1), round(max(load), 1)],
                            points=[dict(task=k, name=tasks[k], **t) for k, t in zip(recovered, timings)]))
    assert not failed, "\n".join(failed)
    assert recovered == points


def test_an_upgrade_killed_at_any_task_is_finished_by_the_rerun(host, snapshot, tmp_path):
    sweep(host, snapshot, "upgrade 0.28 -> 0.29", PINNED, PINNED["headscale_version"], True, tmp_path)


def test_a_failing_config_change_killed_at_any_task_is_rolled_back_by_the_rerun(host, snapshot, tmp_path):
    sweep(host, snapshot, "config change that fails health", dict(PREVIOUS, **BAD_CONFIGS[0]),
          PREVIOUS["headscale_version"], False, tmp_path)


def test_two_upgrades_started_one_second_apart(host, snapshot):
    reset(host)
    first = run(host, "upgrade", background=True, **PINNED)
    time.sleep(1)
    second = run(host, "upgrade", background=True, **PINNED)
    results = [finish(host, first), finish(host, second)]
    assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
    assert serving(host) == PINNED["headscale_version"]
    assert tailnet(host) == snapshot
    backups = restorable_backups(host)
    # One backup, made by the run that upgraded; the other found nothing to do.
    assert len(backups) == 1, backups
    manifest = host.file(backups[0] + "/MANIFEST").content_string
    assert "version %s" % PREVIOUS["headscale_version"] in manifest
    assert re.search(r"^schema \S", manifest, re.M), manifest


def test_a_second_run_fails_naming_the_holder_after_its_timeout(host, snapshot):
    """A run of another controller holds the lock: this one cannot tell it is dead, waits, then names it."""
    reset(host)
    host.ansible("ansible.builtin.copy", "src=%s dest=/root/host_lock.py mode=0600"
                 % os.path.join(HERE, "..", "..", "..", "plugins", "module_utils", "host_lock.py"), check=False)
    other = "server@elsewhere/boot/4242/1"
    holder = json.loads(host.check_output("python3 /root/host_lock.py acquire %s 0 1800 'ops on elsewhere' ''" % other))["holder"]
    try:
        pid = host.check_output("systemctl show -p MainPID --value headscale")
        rc, output, failures = run(host, "upgrade", **dict(PINNED, headscale_lock_timeout=3))
        assert rc != 0 and failures
        assert "did not release it within 3 s" in failures[-1], failures
        message = failures[-1]
        assert "holder PID %d started %s, run %s (ops on elsewhere)" % (holder["pid"], holder["started"], other) in message, message
        assert host.check_output("systemctl show -p MainPID --value headscale") == pid
        assert serving(host) == PREVIOUS["headscale_version"] and tailnet(host) == snapshot
        assert restorable_backups(host) == [] and host.run("ls %s/*.partial" % BACKUPS).rc != 0
    finally:
        host.check_output("python3 /root/host_lock.py release %s" % other)


def test_a_full_backup_disk_is_rolled_back_with_nothing_lost(host, snapshot):
    """The backup directory on a 64 KiB tmpfs: the database does not fit once headscale is stopped."""
    reset(host)
    rc, output, failures = run(host, "upgrade", **dict(PINNED, headscale_backup_dir="/var/backups/small/headscale"))
    assert rc != 0 and failures
    message = failures[-1]
    assert "No space left on device" in message, message
    assert "Rolled back: headscale %s is serving again and healthy" % PREVIOUS["headscale_version"] in message, message
    assert serving(host) == PREVIOUS["headscale_version"]
    assert tailnet(host) == snapshot
    # The run's own partial backup is gone: the disk has room again.
    assert host.check_output("ls -A /var/backups/small/headscale") == ""

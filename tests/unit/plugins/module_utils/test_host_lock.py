# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import threading

import pytest

from ansible_collections.tailnet.headscale.plugins.module_utils import headscale as hs
from ansible_collections.tailnet.headscale.plugins.module_utils import host_lock


@pytest.fixture
def lock(tmp_path):
    path = str(tmp_path / "lock")
    yield path
    # End any holder a test left behind.
    holder = host_lock.read_holder(path + ".holder")
    if holder:
        host_lock.release(holder["run"], lock_path=path)


def test_a_held_lock_makes_a_second_run_fail_naming_the_holder(lock):
    holder = host_lock.hold(0, "run-a", "ops on admin", 30, lock_path=lock)
    assert holder["pid"] != os.getpid() and host_lock.holder_alive(holder)
    with pytest.raises(host_lock.LockBusy) as busy:
        host_lock.acquire(0.5, "run-b", lock_path=lock)
    message = str(busy.value)
    assert "holder PID %d started %s, run run-a (ops on admin)" % (holder["pid"], holder["started"]) in message
    assert lock in message


def test_the_same_run_taking_it_again_keeps_its_holder(lock):
    first = host_lock.hold(0, "run-a", "", 30, lock_path=lock)
    again = host_lock.hold(0, "run-a", "", 30, lock_path=lock)
    assert again["already"] and again["pid"] == first["pid"]


def test_release_frees_the_lock_and_leaves_another_runs_holder_alone(lock):
    holder = host_lock.hold(0, "run-a", "", 30, lock_path=lock)
    assert host_lock.release("run-b", lock_path=lock) is False and host_lock.holder_alive(holder)
    assert host_lock.release("run-a", lock_path=lock) is True
    os.close(host_lock.acquire(1, "run-b", lock_path=lock))


def test_the_holder_of_a_run_declared_gone_is_ended(lock):
    holder = host_lock.hold(0, "run-dead", "", 30, lock_path=lock)
    os.close(host_lock.acquire(5, "run-b", break_run="run-dead", lock_path=lock))
    assert not host_lock.holder_alive(holder)


def test_a_holder_ends_by_itself_after_max_hold(lock):
    host_lock.hold(0, "run-a", "", 1, lock_path=lock)
    os.close(host_lock.acquire(5, "run-b", lock_path=lock))


# --- one module call (ModuleLock) -------------------------------------------------


def module_lock(lock, run="", timeout=0.5):
    taken = host_lock.ModuleLock(timeout, run, label="tailnet.headscale.user call (PID %d)" % os.getpid(), lock_path=lock)
    return taken


def release_soon(holder, lock):
    """The holding run ends while the call waits."""
    threading.Timer(0.2, host_lock.release, (holder["run"],), dict(lock_path=lock)).start()


def busy(lock):
    """Whether another process would find the lock busy now."""
    try:
        os.close(host_lock.acquire(0, "probe", lock_path=lock))
        return False
    except host_lock.LockBusy:
        return True


def test_a_call_that_finds_the_lock_free_holds_it_from_the_start_and_never_plans_twice(lock):
    call = module_lock(lock)
    call.start()
    assert call.held and not call.own_run
    call.before_change()  # no LockWaited: everything it read was read under the lock
    record = host_lock.read_holder(lock + ".holder")
    assert record["pid"] == os.getpid() and record["run"].startswith("tailnet.headscale.user call")
    call.close()
    assert not os.path.exists(lock + ".holder") and not busy(lock)


def test_a_call_that_finds_the_lock_busy_does_not_wait_until_it_changes_something(lock):
    holder = host_lock.hold(0, "run-a", "ops on admin", 30, lock_path=lock)
    call = module_lock(lock, timeout=1)
    call.start()  # returns at once: a call with nothing to change ends without waiting
    assert not call.held
    with pytest.raises(host_lock.LockBusy) as refused:
        call.before_change()
    message = str(refused.value)
    assert "holder PID %d started %s, run run-a (ops on admin)" % (holder["pid"], holder["started"]) in message
    assert "within 1 s" in message and lock in message
    assert not call.held and refused.value.holder["pid"] == holder["pid"]


def test_a_call_that_waited_must_read_and_plan_again_under_the_lock(lock):
    release_soon(host_lock.hold(0, "run-a", "", 30, lock_path=lock), lock)
    call = module_lock(lock, timeout=10)
    call.start()
    assert not call.held
    with pytest.raises(host_lock.LockWaited):
        call.before_change()
    assert call.held and busy(lock)
    call.before_change()  # the second plan goes through
    call.close()


def test_the_run_that_holds_the_lock_is_let_through_without_waiting(lock):
    host_lock.hold(0, "server@admin/boot/4242/88213", "", 30, lock_path=lock)
    call = module_lock(lock, run="server@admin/boot/4242/88213", timeout=0)
    call.start()
    call.before_change()
    assert call.own_run and call.fd is None


def test_a_call_naming_another_run_is_not_let_through(lock):
    host_lock.hold(0, "server@admin/boot/4242/88213", "", 30, lock_path=lock)
    call = module_lock(lock, run="server@admin/boot/4242/99999", timeout=0.3)
    call.start()
    with pytest.raises(host_lock.LockBusy):
        call.before_change()
    assert not call.held


def test_a_run_name_whose_holder_is_gone_takes_the_lock_as_usual(lock):
    holder = host_lock.hold(0, "server@admin/boot/4242/88213", "", 30, lock_path=lock)
    host_lock.release(holder["run"], lock_path=lock)
    # A stale record naming the run, left by a holder that died without cleaning up.
    with open(lock + ".holder", "w") as f:
        json.dump(holder, f)
    call = module_lock(lock, run=holder["run"])
    call.start()
    assert call.held and not call.own_run and call.fd is not None
    call.close()


def test_a_run_waiting_for_a_module_call_names_it(lock):
    call = module_lock(lock)
    call.start()
    with pytest.raises(host_lock.LockBusy) as refused:
        host_lock.acquire(0.3, "run-b", lock_path=lock)
    message = str(refused.value)
    assert "holder PID %d" % os.getpid() in message and "run tailnet.headscale.user call" in message
    assert "a module call holds it only while it runs" in message
    call.close()


def test_a_call_that_cannot_open_the_lock_goes_ahead_and_says_why(lock, monkeypatch):
    def refuse(path):
        raise OSError(errno.EACCES, "Permission denied", path)
    monkeypatch.setattr(host_lock, "_open", refuse)
    call = module_lock(lock)
    call.start()
    call.before_change()
    assert not call.held and "only root and the server role's headscale_admin_group can take it" in call.unavailable


# --- how the modules use it (module_utils/headscale.py) ---------------------------


class FakeModule(object):
    def __init__(self, check_mode=False, **params):
        self.params = dict(dict(headscale_binary="headscale", headscale_config="/etc/headscale/config.yaml",
                                lock_timeout=0.3, lock_run=None), **params)
        self.check_mode = check_mode
        self._name = "tailnet.headscale.user"
        self.warnings, self.ran = [], []

    def warn(self, warning):
        self.warnings.append(warning)

    def get_bin_path(self, name, required=False):
        return "/usr/bin/headscale"

    def run_command(self, argv, environ_update=None):
        self.ran.append(argv[5:])
        return 0, "[]", ""

    def fail_json(self, **result):
        raise Failed(result)


class Failed(Exception):
    pass


def test_a_dry_run_never_takes_the_lock(lock, monkeypatch):
    monkeypatch.setattr(host_lock, "LOCK_PATH", lock)
    host_lock.hold(0, "run-a", "", 30, lock_path=lock)
    client = hs.HeadscaleClient(FakeModule(check_mode=True))
    assert client.lock is None
    client.run("users", "list")


def test_a_module_changes_nothing_when_the_lock_stays_busy(lock, monkeypatch):
    monkeypatch.setattr(host_lock, "LOCK_PATH", lock)
    holder = host_lock.hold(0, "run-a", "ops on admin", 30, lock_path=lock)
    module = FakeModule()
    client = hs.HeadscaleClient(module)
    planned = []

    def body():
        planned.append(client.run("users", "list"))
        client.run("users", "create", "alice")

    with pytest.raises(Failed) as failed:
        hs.under_lock(module, client, body)
    result = failed.value.args[0]
    assert result["changed"] is False and result["holder"]["pid"] == holder["pid"]
    assert "holder PID %d" % holder["pid"] in result["msg"]
    assert module.ran == [["users", "list"]] and len(planned) == 1  # the create never ran


def test_a_module_that_waited_plans_again_then_changes(lock, monkeypatch):
    monkeypatch.setattr(host_lock, "LOCK_PATH", lock)
    release_soon(host_lock.hold(0, "run-a", "", 30, lock_path=lock), lock)
    module = FakeModule(lock_timeout=10)
    client = hs.HeadscaleClient(module)

    def body():
        client.run("users", "list")
        client.run("users", "create", "alice")
        return "done"

    assert hs.under_lock(module, client, body) == "done"
    assert module.ran == [["users", "list"], ["users", "list"], ["users", "create", "alice"]]
    client.lock.close()


def test_the_role_s_own_run_is_not_blocked(lock, monkeypatch):
    monkeypatch.setattr(host_lock, "LOCK_PATH", lock)
    host_lock.hold(0, "server@admin/boot/4242/88213", "", 30, lock_path=lock)
    module = FakeModule(lock_timeout=0, lock_run="server@admin/boot/4242/88213")
    client = hs.HeadscaleClient(module)
    hs.under_lock(module, client, lambda: client.run("users", "create", "alice"))
    assert module.ran == [["users", "create", "alice"]] and client.lock.own_run


def test_a_call_without_root_warns_once_and_goes_ahead(lock, monkeypatch):
    monkeypatch.setattr(host_lock, "LOCK_PATH", lock)

    def refuse(path):
        raise OSError(errno.EACCES, "Permission denied", path)
    monkeypatch.setattr(host_lock, "_open", refuse)
    module = FakeModule()
    client = hs.HeadscaleClient(module)
    client.run("users", "create", "alice")
    client.run("users", "create", "bob")
    assert len(module.warnings) == 1 and "goes ahead without it" in module.warnings[0]


# --- callers that are not root: the server role's headscale_admin_group ------------------

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="changes owners and drops privileges: root only")


@pytest.fixture
def shared_dir():
    """A directory a process that dropped to nobody can reach (pytest's tmp_path is root's, 0700)."""
    import shutil
    import tempfile
    path = tempfile.mkdtemp(prefix="hs-lock-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_nobody_in(group_name, fn):
    """Run fn() in a child process as nobody with GROUP_NAME as its only group; return what it returned (JSON)."""
    import grp
    import pwd
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(grp.getgrnam(group_name).gr_gid)
            os.setuid(pwd.getpwnam("nobody").pw_uid)
            os.write(write_end, json.dumps(fn()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    out = b""
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    return json.loads(out.decode() or "null")


@root_only
def test_the_role_shares_the_lock_with_its_admin_group_and_takes_it_back(shared_dir, monkeypatch):
    lock, tmpfiles = os.path.join(shared_dir, "lock"), os.path.join(shared_dir, "tmpfiles.conf")
    monkeypatch.setenv(host_lock.GROUP_ENV, "daemon")
    monkeypatch.setenv("TAILNET_HEADSCALE_LOCK_TMPFILES", tmpfiles)
    holder = host_lock.hold(0, "run-a", "", 30, lock_path=lock)
    st = os.stat(lock)
    assert (st.st_mode & 0o777, st.st_uid) == (0o660, 0) and st.st_gid == __import__("grp").getgrnam("daemon").gr_gid
    with open(tmpfiles) as f:
        assert "f %s 0660 root daemon -\n" % lock in f.read()
    host_lock.release(holder["run"], lock_path=lock)
    # Without the group the file is root's again and nothing recreates it with the group at boot.
    monkeypatch.setenv(host_lock.GROUP_ENV, "")
    host_lock.release(host_lock.hold(0, "run-b", "", 30, lock_path=lock)["run"], lock_path=lock)
    assert os.stat(lock).st_mode & 0o777 == 0o600 and not os.path.exists(tmpfiles)


@root_only
def test_a_member_of_the_admin_group_takes_the_lock_and_a_run_waiting_names_it(shared_dir):
    lock = os.path.join(shared_dir, "lock")
    os.close(host_lock._open(lock))
    fd = os.open(lock, os.O_RDWR)
    host_lock.share_with(fd, "daemon", lock, os.path.join(shared_dir, "tmpfiles.conf"))
    os.close(fd)
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()

    def take_and_wait():
        call = module_lock(lock)
        call.start()
        os.write(ready_w, b"1")
        os.read(done_r, 1)
        result = dict(held=call.held, unavailable=call.unavailable)
        call.close()
        return result

    member = threading.Thread(target=lambda: results.append(as_nobody_in("daemon", take_and_wait)))
    results = []
    member.start()
    assert os.read(ready_r, 1) == b"1"
    with pytest.raises(host_lock.LockBusy) as refused:
        host_lock.acquire(0.3, "run-b", lock_path=lock)
    assert "as that caller recorded it in the lock file" in str(refused.value)
    assert "run tailnet.headscale.user call" in str(refused.value)
    os.write(done_w, b"1")
    member.join()
    assert results == [dict(held=True, unavailable=None)]
    # Its record went with it, and the lock is free.
    assert open(lock).read() == ""
    os.close(host_lock.acquire(0, "run-b", lock_path=lock))


@root_only
def test_a_caller_outside_the_group_goes_ahead_saying_why(shared_dir):
    lock = os.path.join(shared_dir, "lock")
    os.close(host_lock._open(lock))  # root's, 0600: the role was not told of an admin group

    def try_it():
        call = module_lock(lock)
        call.start()
        call.before_change()
        return dict(held=call.held, unavailable=call.unavailable)

    result = as_nobody_in("daemon", try_it)
    assert not result["held"] and "headscale_admin_group can take it" in result["unavailable"]


def test_a_record_in_the_lock_file_is_shown_but_never_acted_on(lock):
    """Whoever may open the lock can write its record: a forged one must not make root end a process."""
    import subprocess
    victim = subprocess.Popen(["sleep", "30"])
    try:
        forged = dict(run="run-dead", pid=victim.pid, pid_start=host_lock.proc_start(victim.pid),
                      boot_id=host_lock.boot_id(), owner="mallory")
        with open(lock, "w") as f:
            json.dump(forged, f)
        holder_fd = host_lock.acquire(0, "someone", lock_path=lock)  # a real holder, so the next call waits
        with pytest.raises(host_lock.LockBusy):
            host_lock.acquire(0.5, "run-b", break_run="run-dead", lock_path=lock)
        assert victim.poll() is None
        os.close(holder_fd)
        assert host_lock.release("run-dead", lock_path=lock) is False and victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


@root_only
def test_root_never_opens_a_lock_file_it_does_not_own_or_a_symlink(shared_dir):
    target = os.path.join(shared_dir, "shadow")
    with open(target, "w") as f:
        f.write("secret")
    os.chmod(target, 0o640)
    link = os.path.join(shared_dir, "lock")
    os.symlink(target, link)
    with pytest.raises(OSError):
        host_lock._open(link)
    planted = os.path.join(shared_dir, "planted")
    with open(planted, "w"):
        pass
    os.chown(planted, 65534, 65534)
    with pytest.raises(OSError):
        host_lock._open(planted)
    assert os.stat(target).st_mode & 0o777 == 0o640


def test_acquire_runs_the_state_script_after_the_lock_is_held_and_reads_the_files(tmp_path, monkeypatch, capsys):
    """The roles' lock and their one read of the host are one call: the script runs only once the lock is held."""
    held = []
    monkeypatch.setattr(host_lock, "hold", lambda timeout, run, owner, max_hold, break_run="": held.append(run) or {"run": run})
    record = tmp_path / "txn"
    record.write_text("{}")
    marker = tmp_path / "ran"
    script = "test -e %s && echo held-first; touch %s; echo reason >&2; exit 3" % (marker, marker)
    # The fake hold() runs before the script: the marker does not exist yet when hold() is called.
    assert host_lock.main(["acquire", "run-a", "0", "60", "me", "", "--state", script, str(record), str(tmp_path / "none")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert held == ["run-a"] and marker.exists()
    assert out["state"] == {"rc": 3, "stdout": "", "stderr": "reason\n"}
    assert out["files"] == {str(record): "{}", str(tmp_path / "none"): None}


def test_acquire_without_a_state_script_reads_the_files_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(host_lock, "hold", lambda timeout, run, owner, max_hold, break_run="": {"run": run})
    assert host_lock.main(["acquire", "run-a", "0", "60", "me", "", str(tmp_path / "none")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "state" not in out and out["files"] == {str(tmp_path / "none"): None}


def test_a_busy_lock_runs_no_state_script(tmp_path, monkeypatch, capsys):
    def busy(*_args, **_kwargs):
        raise host_lock.LockBusy({"run": "run-b"}, 0)
    monkeypatch.setattr(host_lock, "hold", busy)
    marker = tmp_path / "ran"
    assert host_lock.main(["acquire", "run-a", "0", "60", "me", "", "--state", "touch %s" % marker]) == 75
    assert not marker.exists()
    assert json.loads(capsys.readouterr().out) == {"holder": {"run": "run-b"}}


def test_the_state_script_runner_keeps_both_streams_whole_and_the_status():
    """Large output on both streams at once must not deadlock the lock tool (it holds the lock meanwhile)."""
    rc, out, err = host_lock.run_shell("head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; exit 3")
    assert (rc, len(out), len(err)) == (3, 300000, 300000)

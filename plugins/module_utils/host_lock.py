# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The host-level lock every change to a headscale server takes.

One root-owned lock file under /run (gone at reboot). The holder is a process:
flock(2) is released by the kernel when it dies, so a lock can never outlive
its holder. Ansible tasks are separate processes, so the server role leaves a
small holder process behind (``hold``) for the whole mutating part of a run
and ends it at the end (``release``). A holder whose run was killed is ended
by the next run from the same controller (``break_run``, after the controller
checked that the run's process is gone), or at ``max_hold`` seconds.

Modules take the same lock for the time of one call that changes something
(``ModuleLock``), unless the run that holds it is their own (``run`` equal to
the live holder's): the server role passes its run to the modules it calls.

Run as a script (``python3 host_lock.py acquire|release ...``) this file is
the role's lock tool: the role passes it to python3 on the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import errno
import fcntl
import json
import os
import signal
import stat
import sys
import time

LOCK_PATH = "/run/tailnet-headscale.lock"
HOLDER_PATH = LOCK_PATH + ".holder"


class LockBusy(Exception):
    """The lock stayed held by another run for the whole timeout."""

    def __init__(self, holder, timeout, lock_path=LOCK_PATH):
        self.holder = holder or {}
        if self.holder.get("max_hold") is None and self.holder:
            ends = "a module call holds it only while it runs, and the kernel frees it if the call dies."
        else:
            ends = ("a run that was killed is detected and its lock ended by the next run from the same controller, "
                    "or expires after %s s." % self.holder.get("max_hold", "?"))
        super(LockBusy, self).__init__(
            "another run holds the headscale host lock %s and did not release it within %d s: %s. "
            "Wait for it to finish (or end it), then run again; %s"
            % (lock_path, timeout, describe(self.holder), ends))


def describe(holder):
    if not holder:
        return "holder unknown (no %s)" % HOLDER_PATH
    return "holder PID %s started %s, run %s (%s%s)" % (
        holder.get("pid"), holder.get("started"), holder.get("run"), holder.get("owner", ""),
        ", as that caller recorded it in the lock file" if holder.get("unverified") else "")


def proc_start(pid):
    """A process's start time in clock ticks since boot, or None when there is no such process (or a zombie)."""
    try:
        with open("/proc/%d/stat" % int(pid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else int(fields[19])
    except (IOError, OSError, ValueError, IndexError):
        return None


def boot_id(missing=""):
    """This boot's ID, or MISSING where the kernel does not tell it."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except (IOError, OSError):
        return missing


def read_holder(path=HOLDER_PATH):
    try:
        with open(path) as f:
            return json.load(f)
    except (IOError, OSError, ValueError):
        return {}


def read_lock_file_holder(lock_path=LOCK_PATH):
    """The record a caller that is not root leaves in the lock file itself (it cannot write the holder file).
    Anyone allowed to open the lock can write it, so it is only ever shown, never acted on."""
    try:
        with open(lock_path) as f:
            holder = json.loads(f.read() or "{}")
    except (IOError, OSError, ValueError):
        return {}
    return dict(holder, unverified=True) if isinstance(holder, dict) and holder else {}


def busy_holder(lock_path=LOCK_PATH):
    """Who holds the lock, for a message: the holder file, else the record in the lock file."""
    return read_holder(lock_path + ".holder") or read_lock_file_holder(lock_path)


def holder_alive(holder):
    """The recorded holder process still exists: same boot, same PID, same start time."""
    return bool(holder) and holder.get("boot_id") == boot_id() and proc_start(holder.get("pid", 0)) == holder.get("pid_start")


# Where the server role says who may take the lock besides root (``headscale_admin_group``): systemd-tmpfiles
# recreates the lock file with that group at boot, before any run needs it.
TMPFILES_PATH = "/etc/tmpfiles.d/tailnet-headscale-lock.conf"
GROUP_ENV = "TAILNET_HEADSCALE_LOCK_GROUP"


def _open(path):
    """Open (creating it 0600 if missing) the lock file. An existing file keeps the mode the server role gave it.

    Never through a symlink, and never a file root does not own: whoever could plant or own the lock file could
    otherwise make root open, and so change the mode of, a file of their choosing.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 and os.geteuid() == 0:
        os.close(fd)
        raise OSError(errno.EPERM, "not a regular file owned by root", path)
    return fd


def share_with(fd, group, lock_path=LOCK_PATH, tmpfiles_path=TMPFILES_PATH):
    """Root only: let GROUP take the lock too (file 0660 root:GROUP), or only root when GROUP is empty; and make
    systemd-tmpfiles create it so at boot. Members of the admin group can change headscale's state through the
    CLI socket, so they must be able to serialise their module calls with the role's runs."""
    import grp
    gid = grp.getgrnam(group).gr_gid if group else 0
    os.fchown(fd, 0, gid)
    os.fchmod(fd, 0o660 if group else 0o600)
    wanted = ("# Written by tailnet.headscale's server role (headscale_admin_group): who may take its host lock.\n"
              "f %s 0660 root %s -\n" % (lock_path, group))
    try:
        with open(tmpfiles_path) as f:
            if f.read() == wanted:
                return
    except (IOError, OSError):
        if not group:
            return
    if not group:
        os.unlink(tmpfiles_path)
        return
    tmp = "%s.%d" % (tmpfiles_path, os.getpid())
    with open(tmp, "w") as f:
        f.write(wanted)
    os.chmod(tmp, 0o644)
    os.rename(tmp, tmpfiles_path)


def _try_lock(fd):
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except (IOError, OSError) as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise


def _holder_record(run, owner, max_hold, pid):
    return dict(run=run, owner=owner, pid=pid, pid_start=proc_start(pid), boot_id=boot_id(),
                started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), max_hold=max_hold)


def _write_holder(path, run, owner, max_hold, pid):
    holder = _holder_record(run, owner, max_hold, pid)
    tmp = "%s.%d" % (path, pid)
    with open(tmp, "w") as f:
        json.dump(holder, f)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)
    return holder


def _end(holder):
    """End a recorded holder process, only if it still is that process, and never on an unverified record."""
    if not holder.get("unverified") and holder_alive(holder):
        try:
            os.kill(holder["pid"], signal.SIGTERM)
        except OSError:
            pass


def acquire(timeout, run, owner="", break_run="", lock_path=LOCK_PATH):
    """Take the lock in this process; return its file descriptor. Raise LockBusy after timeout seconds."""
    holder_path = lock_path + ".holder"
    fd = _open(lock_path)
    deadline = time.time() + timeout
    while not _try_lock(fd):
        holder = read_holder(holder_path)
        if break_run and holder.get("run") == break_run:
            _end(holder)
        if time.time() >= deadline:
            os.close(fd)
            raise LockBusy(holder or read_lock_file_holder(lock_path), timeout, lock_path)
        time.sleep(0.2)
    return fd


class LockWaited(Exception):
    """The lock was taken only after another run released it: what this call read may be stale. Read and plan again."""


class ModuleLock(object):
    """The host lock as one module call takes it: never in check mode, and only for a call that changes something.

    ``start()`` (before the call reads anything) takes the lock if it is free at once, so a call that finds the
    lock free reads, plans and changes under it. A call that found it busy reads and plans without waiting; most
    such calls change nothing and end there. ``before_change()`` (before the first change) is a no-op when the
    lock is held; otherwise it waits up to ``timeout`` seconds, then raises ``LockWaited`` so that the call reads
    and plans again under the lock (the holder may have changed what it read), or ``LockBusy`` naming the holder.

    A call made on behalf of the run that holds the lock (``run`` equal to the live holder's run: the server role
    passes its own) goes through without taking it. Another run cannot pass for it without knowing its name.
    """

    def __init__(self, timeout, run="", label="module", lock_path=None):
        self.timeout, self.run, self.label = timeout, run or "", label
        self.lock_path = lock_path or LOCK_PATH
        self.fd, self.own_run, self.unavailable = None, False, None
        # Not root: this call's holder record is in the lock file, not the root-only holder file.
        self.in_lock_file = False

    @property
    def held(self):
        return self.fd is not None or self.own_run

    def _is_own_run(self):
        holder = read_holder(self.lock_path + ".holder")
        return bool(self.run) and holder.get("run") == self.run and holder_alive(holder)

    def _open(self):
        try:
            return _open(self.lock_path)
        except (IOError, OSError) as e:
            if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            self.unavailable = ("cannot open the host lock %s (%s): only root and the server role's "
                                "headscale_admin_group can take it" % (self.lock_path, e.strerror))
            return None

    def _took(self, fd):
        self.fd = fd
        try:
            _write_holder(self.lock_path + ".holder", self.label, _who(), None, os.getpid())
        except (IOError, OSError) as e:
            if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            # Not root: /run is not ours to write, the lock file is (the admin group's, 0660).
            record = _holder_record(self.label, _who(), None, os.getpid())
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(record).encode())
            self.in_lock_file = True
        atexit.register(self.close)

    def _already_covered(self):
        """True when this call needs no lock of its own: it holds it, cannot take it, or runs
        inside the run that holds it (recorded, so later checks are free)."""
        if self.held or self.unavailable:
            return True
        self.own_run = self._is_own_run()
        return self.own_run

    def start(self):
        if self._already_covered():
            return
        fd = self._open()
        if fd is None:
            return
        if _try_lock(fd):
            self._took(fd)
        else:
            os.close(fd)

    def before_change(self):
        if self._already_covered():
            return
        if self._open_and_close_failed():
            return
        self._took(acquire(self.timeout, self.label, lock_path=self.lock_path))
        raise LockWaited()

    def _open_and_close_failed(self):
        fd = self._open()
        if fd is None:
            return True
        os.close(fd)
        return False

    def close(self):
        """Drop the holder record if it is still this process's, then the lock (the kernel drops it at exit anyway)."""
        if self.fd is None:
            return
        holder_path = self.lock_path + ".holder"
        if self.in_lock_file:
            os.ftruncate(self.fd, 0)
        elif read_holder(holder_path).get("pid") == os.getpid():
            try:
                os.unlink(holder_path)
            except OSError:
                pass
        os.close(self.fd)
        self.fd, self.in_lock_file = None, False


def _who():
    user = os.environ.get("SUDO_USER") or os.environ.get("USER") or str(os.getuid())
    try:
        import socket
        return "%s on %s" % (user, socket.gethostname())
    except Exception:  # pragma: no cover - a host name is always there
        return user


class _Stopped(Exception):
    pass


def _stop(*_):
    raise _Stopped()


def _share_as_configured(fd, lock_path):
    """Apply the server role's TAILNET_HEADSCALE_LOCK_GROUP, when it passes one (the proxy role does not: it leaves
    the file as it is). A group that does not exist yet (a first run creates it later) is applied at release."""
    if GROUP_ENV not in os.environ or os.geteuid() != 0:
        return
    try:
        share_with(fd, os.environ[GROUP_ENV], lock_path, os.environ.get("TAILNET_HEADSCALE_LOCK_TMPFILES", TMPFILES_PATH))
    except KeyError:
        pass


def hold(timeout, run, owner, max_hold, break_run="", lock_path=LOCK_PATH):
    """Take the lock and leave a holder process with it; return the holder record.

    The holder sits in its own session, sleeps, and exits on SIGTERM or after max_hold seconds.
    Taken again by the run that holds it, the lock is left as it is.
    """
    holder_path = lock_path + ".holder"
    current = read_holder(holder_path)
    if current.get("run") == run and holder_alive(current):
        return dict(current, already=True)
    fd = acquire(timeout, run, owner, break_run, lock_path)
    _share_as_configured(fd, lock_path)
    ready_r, ready_w = os.pipe()
    first = os.fork()
    if first == 0:
        os.close(ready_r)
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        try:
            try:
                signal.signal(signal.SIGTERM, _stop)
                _write_holder(holder_path, run, owner, max_hold, os.getpid())
                os.write(ready_w, b"1")
                os.close(ready_w)
                end = time.time() + max_hold
                while time.time() < end:
                    time.sleep(0.5)
            except _Stopped:  # SIGTERM ends the sleep at once: release() returns as soon as the lock is free
                pass
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.unlink(holder_path)
        finally:
            # Whatever happened above, this forked process never returns into its caller's code.
            os._exit(0)
    os.close(ready_w)
    os.waitpid(first, 0)
    ok = os.read(ready_r, 1)
    os.close(ready_r)
    os.close(fd)
    if ok != b"1":
        raise RuntimeError("the lock holder process did not start")
    return read_holder(holder_path)


def release(run, lock_path=LOCK_PATH, wait=10):
    """End this run's holder; the lock is free once the kernel sees it gone. Another run's holder is left alone."""
    holder = read_holder(lock_path + ".holder")
    if holder.get("run") != run:
        return False
    if GROUP_ENV in os.environ and os.path.exists(lock_path):
        fd = _open(lock_path)
        try:
            _share_as_configured(fd, lock_path)
        finally:
            os.close(fd)
    _end(holder)
    deadline = time.time() + wait
    while holder_alive(holder) and time.time() < deadline:
        time.sleep(0.05)
    return True


def run_shell(script):
    """Run SCRIPT with /bin/sh; return (status, stdout, stderr). The lock tool runs as a plain script, with no
    AnsibleModule and so no run_command: a fork and exec, stderr through a temporary file (no pipe deadlock)."""
    import tempfile
    out_r, out_w = os.pipe()
    with tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            try:
                os.close(out_r)
                os.dup2(out_w, 1)
                os.dup2(err.fileno(), 2)
                os.execv("/bin/sh", ["/bin/sh", "-c", script])
            finally:
                os._exit(127)
        os.close(out_w)
        chunks = []
        while True:
            chunk = os.read(out_r, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(out_r)
        status = os.waitpid(pid, 0)[1]
        err.seek(0)
        return (os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)), b"".join(chunks), err.read()


def main(argv):
    """acquire RUN TIMEOUT MAX_HOLD OWNER BREAK_RUN [--state SCRIPT] [FILE...] | release RUN: print JSON."""
    try:
        if argv[0] == "acquire":
            run, timeout, max_hold, owner, break_run = argv[1], int(argv[2]), int(argv[3]), argv[4], argv[5]
            rest = argv[6:]
            script = None
            if rest[:1] == ["--state"]:
                script, rest = rest[1], rest[2:]
            holder = hold(timeout, run, owner, max_hold, break_run)
            # Files the run reads under the lock (the transaction record), in the same call.
            files = {}
            for path in rest:
                try:
                    with open(path) as f:
                        files[path] = f.read()
                except (IOError, OSError):
                    files[path] = None
            result = dict(holder=holder, files=files)
            # A role's state script (its one read of the host), run under the lock just taken: the
            # lock and the read are one round trip. Its output, whatever its status.
            if script is not None:
                rc, out, err = run_shell(script)
                result["state"] = dict(rc=rc, stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"))
            sys.stdout.write(json.dumps(result) + "\n")
        elif argv[0] == "release":
            sys.stdout.write(json.dumps(dict(released=release(argv[1]))) + "\n")
        elif argv[0] == "show":
            sys.stdout.write(json.dumps(dict(holder=read_holder(), alive=holder_alive(read_holder()))) + "\n")
        else:
            raise ValueError("unknown command %r" % argv[0])
    except LockBusy as e:
        sys.stdout.write(json.dumps(dict(holder=e.holder)) + "\n")
        sys.stderr.write("%s\n" % e)
        return 75
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

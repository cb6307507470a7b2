# tailnet.headscale: an online backup of a running headscale (tailnet-headscale-backup.service).
#
# A consistent snapshot of the live sqlite database through SQLite's online backup API (headscale
# keeps serving: no stop, no downtime), its noise and DERP private keys, config, policy and unit,
# in the format of the role's upgrade backups (a MANIFEST with version, binary, binary_sha256,
# file/dir lines and the schema; the files under files/<absolute path>), so that
# headscale_restore_from restores it, and refuses it on a schema mismatch, exactly as one of those.
#
# Atomic: everything is written to NAME.partial and renamed to NAME only once complete and checked
# (PRAGMA integrity_check); a failed backup removes its own .partial. Keeps the newest `keep`
# online backups. One audit record per backup, success or failure (syslog identifier
# tailnet-headscale). Runs under the host lock (/run/tailnet-headscale.lock), so it never copies a
# server that a run of the role is upgrading or restoring half way.
#
# Usage: python3 online-backup.py SETTINGS.json (written by the server role).
import datetime
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import syslog
import time

IDENTIFIER = "tailnet-headscale"
SUFFIX = "-online"
NAME = re.compile(r"^\d{8}T\d{6}Z-.+" + SUFFIX + "$")
# The live database's companions belong to the live database: never copied.
COMPANIONS = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    pass


def audit(line, priority=syslog.LOG_NOTICE):
    syslog.openlog(IDENTIFIER, syslog.LOG_PID, syslog.LOG_AUTH)
    syslog.syslog(priority, line)
    syslog.closelog()


def lock(path, timeout, clock=time.monotonic, sleep=time.sleep):
    """The host lock every change to the server takes (plugins/module_utils/host_lock.py)."""
    # Created 0600 if missing; an existing lock keeps the mode the server role gave it (0660 for
    # headscale_admin_group): resetting it would lock the admin group's module calls out.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    deadline = clock() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if clock() >= deadline:
            os.close(fd)
            raise BackupError("the host lock %s stayed busy for %d s (a run of the role or a module call holds it); "
                              "nothing was backed up" % (path, timeout))
        sleep(0.5)


def headscale_version(binary, run=subprocess.run):
    out = run([binary, "version"], capture_output=True, text=True, check=False, timeout=30).stdout
    match = re.search(r"^headscale version v?(\S+)", out, re.M)
    if not match:
        raise BackupError("%s version printed no version: %r" % (binary, out[:200]))
    return match.group(1)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def keep_owner(src, dst):
    """Mode, times, then owner (last: root may not change a file it no longer owns)."""
    shutil.copystat(src, dst, follow_symlinks=False)
    st = os.lstat(src)
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)


def snapshot(database, dest, timeout=30):
    """The live database, consistent, through the online backup API; checked; its schema (migration ids)."""
    try:
        source = sqlite3.connect("file:%s?mode=ro" % database, uri=True, timeout=timeout)
        try:
            copy = sqlite3.connect(dest)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as e:
        # sqlite's words only (a full disk reads "disk I/O error"): say what it was doing.
        raise BackupError("copying the database %s to %s: %s" % (database, dest, e))
    copy = sqlite3.connect(dest)
    try:
        check = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if check != ["ok"]:
            raise BackupError("the copy of %s fails PRAGMA integrity_check: %s" % (database, "; ".join(check)[:300]))
        try:
            schema = " ".join(row[0] for row in copy.execute("SELECT id FROM migrations ORDER BY rowid"))
        except sqlite3.Error:
            schema = ""
    finally:
        copy.close()
    for suffix in COMPANIONS:
        if os.path.exists(dest + suffix):
            raise BackupError("the copy of %s left %s behind" % (database, dest + suffix))
    return schema


def copy_tree(src, dst, database, manifest_schema):
    """A copy of the state directory; the database in it as a snapshot, its companions left out."""
    os.mkdir(dst, 0o700)
    for name in sorted(os.listdir(src)):
        s, d = os.path.join(src, name), os.path.join(dst, name)
        if s == database:
            manifest_schema.append(snapshot(s, d))
            keep_owner(s, d)
        elif any(s == database + suffix for suffix in COMPANIONS):
            continue
        elif os.path.islink(s):
            os.symlink(os.readlink(s), d)
            keep_owner(s, d)
        elif os.path.isdir(s):
            copy_tree(s, d, database, manifest_schema)
        elif os.path.isfile(s):
            shutil.copyfile(s, d)
            fsync_path(d)
            keep_owner(s, d)
    keep_owner(src, dst)


def take(settings, now=None, version=None):
    """Write one complete backup into settings['dest']; return (path, version, schema)."""
    dest = settings["dest"]
    binary = os.path.realpath(settings["binary"])
    version = version or headscale_version(binary)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    while True:
        # Two backups within one second (the timer's and one on demand): the later is named a second on.
        final = os.path.join(dest, "%s-%s%s" % (now.strftime("%Y%m%dT%H%M%SZ"), version, SUFFIX))
        partial = final + ".partial"
        if not (os.path.lexists(final) or os.path.lexists(partial)):
            break
        now += datetime.timedelta(seconds=1)
    os.mkdir(partial, 0o700)
    try:
        files = os.path.join(partial, "files")
        os.mkdir(files, 0o700)
        lines = ["version %s" % version, "binary %s" % binary, "binary_sha256 %s" % sha256(binary),
                 "created %s" % now.strftime("%Y-%m-%dT%H:%M:%SZ"), "kind online"]
        schema = []
        database = settings["database"]
        for path in settings["files"]:
            if not path or not os.path.lexists(path):
                continue
            target = files + path
            os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
            if os.path.isdir(path):
                copy_tree(path, target, database, schema)
                lines.append("dir %s" % path)
            elif path == database:
                schema.append(snapshot(path, target))
                keep_owner(path, target)
                lines.append("file %s" % path)
            elif any(path == database + suffix for suffix in COMPANIONS):
                continue
            else:
                shutil.copyfile(path, target)
                fsync_path(target)
                keep_owner(path, target)
                lines.append("file %s" % path)
        if not schema:
            raise BackupError("the database %s is not among the files backed up (or does not exist)" % database)
        lines.append("schema %s" % schema[0])
        manifest = os.path.join(partial, "MANIFEST")
        with open(manifest, "w") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(manifest, 0o600)
        fsync_path(partial)
        # Complete or absent: a name without .partial always has every file.
        os.rename(partial, final)
        fsync_path(dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final, version, schema[0]


def rotate(dest, keep, newest):
    """Remove the oldest complete online backups beyond `keep` (never the one just made, never anything else)."""
    names = sorted((n for n in os.listdir(dest) if NAME.match(n) and os.path.isfile(os.path.join(dest, n, "MANIFEST"))),
                   reverse=True)
    removed = []
    for name in names[max(keep, 1):]:
        if os.path.join(dest, name) != newest:
            shutil.rmtree(os.path.join(dest, name))
            removed.append(name)
    return removed


def main(argv, audit=audit):
    started = time.monotonic()
    try:
        with open(argv[1]) as f:
            settings = json.load(f)
        os.umask(0o077)
        fd = lock(settings.get("lock", "/run/tailnet-headscale.lock"), int(settings.get("lock_timeout", 300)))
        locked = time.monotonic()
        try:
            path, version, schema = take(settings)
            removed = rotate(settings["dest"], int(settings["keep"]), path)
        finally:
            os.close(fd)
    except Exception as e:  # every failure is recorded, whatever it is
        reason = str(e) or e.__class__.__name__
        audit("event=online-backup result=failed error=%r" % reason[:300], syslog.LOG_ERR)
        sys.stderr.write("online backup failed: %s\n" % reason)
        return 1
    size = sum(os.path.getsize(os.path.join(entry[0], f)) for entry in os.walk(path) for f in entry[2]
               if not os.path.islink(os.path.join(entry[0], f)))
    # seconds: the backup itself; waited: for the host lock (a run of the role holding it).
    audit("event=online-backup result=ok backup=%s version=%s migrations=%d bytes=%d seconds=%.2f waited=%.1f rotated=%d"
          % (path, version, len(schema.split()), size, time.monotonic() - locked, locked - started, len(removed)))
    sys.stdout.write(path + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

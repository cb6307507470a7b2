# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The online backup (roles/server/files/online-backup.py) on a real sqlite database in WAL mode,
written to while it is copied: consistent, checked, atomic, in the format restore.sh reads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import importlib.util
import json
import os
import re
import sqlite3
import stat
import threading

import pytest

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "server")
SPEC = importlib.util.spec_from_file_location("online_backup", os.path.join(ROLE, "files", "online-backup.py"))
backup = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(backup)

NOW = datetime.datetime(2026, 12, 2, 6, 30, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def server(tmp_path):
    """A headscale-like host: state dir with a WAL database (a writer connection open) and keys, config, unit."""
    state = tmp_path / "var" / "lib" / "headscale"
    state.mkdir(parents=True)
    os.chmod(str(state), 0o750)
    db = sqlite3.connect(str(state / "db.sqlite"), check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE migrations (id TEXT PRIMARY KEY)")
    db.executemany("INSERT INTO migrations VALUES (?)", [("202312101416",), ("202501221827",)])
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    db.commit()
    for key in ("noise_private.key", "derp_server_private.key"):
        (state / key).write_text("privkey:" + key)
        os.chmod(str(state / key), 0o600)
    etc = tmp_path / "etc" / "headscale"
    etc.mkdir(parents=True)
    (etc / "config.yaml").write_text("server_url: http://127.0.0.1:8080\n")
    os.chmod(str(etc / "config.yaml"), 0o640)
    binary = tmp_path / "opt" / "headscale-0.29.3"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\necho 'headscale version v0.29.3'\n")
    os.chmod(str(binary), 0o755)
    link = tmp_path / "headscale"
    link.symlink_to(binary)
    dest = tmp_path / "backups"
    dest.mkdir(mode=0o700)
    settings = {
        "dest": str(dest), "keep": 3, "binary": str(link), "database": str(state / "db.sqlite"),
        "files": [str(etc / "config.yaml"), str(etc / "policy.json"), str(state)],
        "lock": str(tmp_path / "lock"), "lock_timeout": 1,
    }
    yield dict(settings=settings, db=db, state=state, binary=binary, dest=dest, tmp=tmp_path)
    db.close()


def manifest(path):
    return [line.split(" ", 1) for line in open(os.path.join(path, "MANIFEST")).read().splitlines()]


def test_a_backup_is_complete_checked_and_private(server):
    server["db"].execute("INSERT INTO users (name) VALUES ('alice')")
    server["db"].commit()
    path, version, schema = backup.take(server["settings"], now=NOW)
    assert os.path.basename(path) == "20261202T063000Z-0.29.3-online"
    assert version == "0.29.3" and schema == "202312101416 202501221827"
    lines = dict((k, v) for k, v in manifest(path) if k not in ("file", "dir"))
    assert lines["binary"] == str(server["binary"]) and lines["schema"] == schema and lines["kind"] == "online"
    assert lines["binary_sha256"] == backup.sha256(str(server["binary"]))
    # config and the state directory; the policy file does not exist and is not listed.
    assert [line for line in manifest(path) if line[0] in ("file", "dir")] == [
        ["file", server["settings"]["files"][0]], ["dir", str(server["state"])]]
    copy = path + "/files" + str(server["state"])
    # The live database's -wal and -shm stay out: the copy is one self-contained file.
    assert sorted(os.listdir(copy)) == ["db.sqlite", "derp_server_private.key", "noise_private.key"]
    users = sqlite3.connect(copy + "/db.sqlite").execute("SELECT name FROM users").fetchall()
    assert users == [("alice",)]
    assert open(copy + "/noise_private.key").read() == "privkey:noise_private.key"
    # Modes as the source (restore.sh copies with cp -a); the backup itself root-only.
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(copy + "/noise_private.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path + "/MANIFEST").st_mode) == 0o600
    assert not os.path.exists(path + ".partial")


def test_the_snapshot_is_consistent_while_writes_continue(server):
    """A writer commits rows in pairs the whole time; the copy holds whole pairs only, and passes integrity_check."""
    db, stop = server["db"], threading.Event()

    def write():
        while not stop.is_set():
            db.execute("INSERT INTO users (name) VALUES ('a')")
            db.execute("INSERT INTO users (name) VALUES ('b')")
            db.commit()

    db.executemany("INSERT INTO users (name) VALUES (?)", [("x",)] * 200)
    db.commit()
    writer = threading.Thread(target=write)
    writer.start()
    try:
        paths = [backup.take(server["settings"], now=NOW + datetime.timedelta(seconds=i))[0] for i in range(3)]
    finally:
        stop.set()
        writer.join()
    counts = []
    for path in paths:
        copy = sqlite3.connect(path + "/files" + str(server["state"]) + "/db.sqlite")
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        a, b = (copy.execute("SELECT count(*) FROM users WHERE name = ?", (n,)).fetchone()[0] for n in "ab")
        assert a == b
        counts.append(a)
    assert counts == sorted(counts)


def test_a_failed_backup_leaves_nothing_and_is_recorded(server, monkeypatch):
    """The disk fills up while the keys are copied, after the database: no backup, no .partial, a failure record."""
    real = backup.shutil.copyfile

    def full(src, dst, *args, **kwargs):
        if src.endswith(".key"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(backup.shutil, "copyfile", full)
    settings_file = server["tmp"] / "settings.json"
    settings_file.write_text(json.dumps(server["settings"]))
    records = []
    assert backup.main(["online-backup.py", str(settings_file)], audit=lambda line, *_: records.append(line)) == 1
    assert os.listdir(str(server["dest"])) == []
    assert len(records) == 1 and records[0].startswith("event=online-backup result=failed error=")
    assert "No space left on device" in records[0]


def test_success_is_recorded(server, capsys):
    settings_file = server["tmp"] / "settings.json"
    settings_file.write_text(json.dumps(server["settings"]))
    records = []
    assert backup.main(["online-backup.py", str(settings_file)], audit=lambda line, *_: records.append(line)) == 0
    path = capsys.readouterr().out.strip()
    assert os.path.isfile(path + "/MANIFEST")
    assert re.match(r"event=online-backup result=ok backup=%s version=0\.29\.3 migrations=2 bytes=\d+ seconds=\S+ waited=\S+ rotated=0$"
                    % re.escape(path), records[0]), records


def test_rotation_keeps_the_newest_online_backups_only(server):
    dest = server["dest"]
    for name in ("20261201T000000Z-0.28.0-to-0.29.3", "20261201T000000Z-0.29.3-online.partial", "notes"):
        (dest / name).mkdir()
    for i in range(5):
        backup.take(server["settings"], now=NOW + datetime.timedelta(hours=i))
    newest = backup.take(server["settings"], now=NOW + datetime.timedelta(hours=9))[0]
    removed = backup.rotate(str(dest), 3, newest)
    assert removed == ["20261202T083000Z-0.29.3-online", "20261202T073000Z-0.29.3-online", "20261202T063000Z-0.29.3-online"]
    # Upgrade backups, a .partial left by a killed backup, and anything else are not its to remove.
    assert sorted(os.listdir(str(dest))) == [
        "20261201T000000Z-0.28.0-to-0.29.3", "20261201T000000Z-0.29.3-online.partial",
        "20261202T093000Z-0.29.3-online", "20261202T103000Z-0.29.3-online", "20261202T153000Z-0.29.3-online", "notes"]


def test_two_backups_within_one_second_get_two_names(server):
    first = backup.take(server["settings"], now=NOW)[0]
    second = backup.take(server["settings"], now=NOW)[0]
    assert os.path.basename(second) == "20261202T063001Z-0.29.3-online" and os.path.isfile(first + "/MANIFEST")
    assert "created 2026-12-02T06:30:01Z" in open(second + "/MANIFEST").read()


def test_a_database_that_cannot_be_copied_fails_with_what_it_was_doing(server):
    server["settings"]["database"] = str(server["state"] / "noise_private.key")  # not a database
    with pytest.raises(backup.BackupError, match="copying the database .*noise_private.key to .*: file is not a database"):
        backup.take(server["settings"], now=NOW)
    assert os.listdir(str(server["dest"])) == []


def test_the_database_must_be_backed_up(server):
    server["settings"]["files"] = server["settings"]["files"][:1]
    with pytest.raises(backup.BackupError, match="is not among the files"):
        backup.take(server["settings"], now=NOW)
    assert os.listdir(str(server["dest"])) == []


def test_the_host_lock_keeps_the_mode_the_role_gave_it(server):
    """0660 for headscale_admin_group: a backup that reset it to 0600 locked the group's module calls out."""
    path = server["settings"]["lock"]
    with open(path, "w"):
        pass
    os.chmod(path, 0o660)
    os.close(backup.lock(path, 1))
    assert os.stat(path).st_mode & 0o777 == 0o660


def test_a_busy_host_lock_waits_then_fails(server):
    held = backup.lock(server["settings"]["lock"], 1)
    try:
        clock = iter([0, 0.5, 1.0])
        with pytest.raises(backup.BackupError, match="stayed busy for 1 s"):
            backup.lock(server["settings"]["lock"], 1, clock=lambda: next(clock), sleep=lambda _: None)
    finally:
        os.close(held)
    os.close(backup.lock(server["settings"]["lock"], 1))


def test_the_manifest_has_every_line_restore_reads(server):
    """restore.sh.j2 reads its MANIFEST with `sed -n 's/^KEY //p'`: an online backup has each KEY."""
    restore = open(os.path.join(ROLE, "templates", "restore.sh.j2")).read()
    keys = set(re.findall(r"s/\^(\w+) //p", restore))
    assert {"binary", "binary_sha256", "schema", "version", "dir", "file"} <= keys
    path = backup.take(server["settings"], now=NOW)[0]
    assert keys <= set(line[0] for line in manifest(path))

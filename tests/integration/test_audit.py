"""tailnet.headscale.audit against a real headscale (both supported versions): a reusable 30-day key, an
expiring proxy certificate and an old backup are found, with the HTML report written on the controller;
the audit changes nothing (state_snapshot.py before and after, every command headscale was asked to run),
takes no host lock (another run holds it throughout) and takes under 10 s on the host. (That a clean server
reports nothing is proven on the role-installed one: molecule/clients/tests/test_audit.py.)"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import Headscale, VERSIONS

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "plugins", "module_utils"))
import host_lock  # noqa: E402  (the file the role runs on the host, imported as it is)

OTHER_RUN = "server@elsewhere/boot/4242/1818"
PARTS = ("preauth-key-", "tls-", "backup-", "node-")


@pytest.fixture(scope="module", params=sorted(VERSIONS), ids=lambda v: "headscale-" + v)
def server(request):
    workdir = tempfile.mkdtemp(prefix="hs-audit-")
    hs = Headscale(request.param, VERSIONS[request.param], workdir)
    hs.start()
    # The real binary behind a wrapper that logs every command it is asked to run (as test_refusals.py).
    hs.command_log = os.path.join(workdir, "commands.log")
    hs.wrapper = os.path.join(workdir, "headscale-wrapper")
    with open(hs.wrapper, "w") as f:
        f.write('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\nexec %s "$@"\n' % (hs.command_log, hs.binary))
    os.chmod(hs.wrapper, stat.S_IRWXU)
    hs.cli("users", "create", "alice")
    hs.backups = os.path.join(workdir, "backups")
    os.makedirs(os.path.join(hs.backups, "20261101T000000Z-0.28.0-to-0.29.3"), 0o700)
    os.chmod(hs.backups, 0o700)
    month_ago = time.time() - 30 * 86400
    os.utime(os.path.join(hs.backups, "20261101T000000Z-0.28.0-to-0.29.3"), (month_ago, month_ago))
    hs.cert = os.path.join(workdir, "server.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(workdir, "server.key"), "-out", hs.cert, "-days", "5", "-subj", "/CN=hs.test"],
                   check=True, capture_output=True)
    yield hs
    hs.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def snapshot(server):
    out = subprocess.run([sys.executable, os.path.join(HERE, "state_snapshot.py"), server.binary, server.config,
                          server.command_log, server.dir], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def audit(server, check=False, **args):
    started = time.time()
    result, out = server.module("audit", check=check, headscale_binary=server.wrapper, backup_dir=server.backups,
                                tls_certificate=server.cert, unit="", ledger_file=os.path.join(server.dir, "ledger.json"),
                                **args)
    return result, time.time() - started, out


def in_parts(result):
    return sorted((f["id"], f["subject"]) for f in result.get("findings", []) if f["id"].startswith(PARTS))


def test_a_reusable_key_an_expiring_certificate_and_an_old_backup_are_found_changing_nothing(server, tmp_path):
    user_id = server.state("users")[0]["id"]
    key = json.loads(server.cli("preauthkeys", "create", "--user", str(user_id), "--reusable", "--expiration", "30d").stdout)
    report = tmp_path / "audit.html"
    before = snapshot(server)
    host_lock.hold(120, OTHER_RUN, "mallory on elsewhere", 300)
    try:
        result, seconds, out = audit(server, check=True, fail_on="high", report=str(report))
    finally:
        host_lock.release(OTHER_RUN)
    after = snapshot(server)
    assert result.get("failed") and "at or above high" in result["msg"], out
    assert in_parts(result) == sorted([
        ("preauth-key-reusable", "preauth key %s (alice)" % key["id"]),
        ("preauth-key-long-lived", "preauth key %s (alice)" % key["id"]),
        ("tls-expiring", server.cert),
        ("backup-old", os.path.join(server.backups, "20261101T000000Z-0.28.0-to-0.29.3"))]), out
    # Read-only: headscale was asked only to read, no file under its directory changed, nothing waited for the lock.
    # (headscale's own reads touch its WAL; the wrapper's log grows by the reads it logged.)
    for moving in ("commands.log", "db.sqlite-wal", "db.sqlite-shm"):
        for taken in (before, after):
            taken["files"].pop(os.path.join(server.dir, moving), None)
    assert before == after and after["changing_commands"] == []
    # The audit's own time on the host (ansible's start-up on a loaded machine comes on top).
    assert result["seconds"] < 10, (result["seconds"], seconds)
    assert result["cli_calls"] == 3 and result["facts"]["version"] == server.version
    html = report.read_text()
    assert html.count("<svg") == 2 and "preauth-key-reusable" in html and "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # no CDN, nothing fetched

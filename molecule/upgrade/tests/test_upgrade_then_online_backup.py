"""Online backups (tailnet-headscale-backup.timer / .service, playbooks/backup.yml), after the upgrade
tests (pytest runs this file after test_upgrade.py): taken while headscale serves and users are
being created, checked, restored with headscale_restore_from like an upgrade backup, rotated, and
a failed one leaves nothing. The tests run in file order."""

import json
import os
import re
import shlex
import time

from conftest import PINNED, PREVIOUS

ONLINE = "/var/backups/headscale-online"
SERVICE = "tailnet-headscale-backup.service"
# molecule.yml sets headscale_backup_timer_keep to this.
KEEP = 2
TAKEN = {}


def online_backups(host):
    return sorted(n for n in host.check_output("ls -1 %s" % ONLINE).split() if re.match(r"^\d{8}T\d{6}Z-.*-online$", n))


def exposure(host, unit):
    out = host.check_output("systemd-analyze security --no-pager %s" % unit)
    return float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))


def user_names(host):
    return set(u["name"] for u in json.loads(host.check_output("headscale -o json users list") or "[]"))


def backup_user_names(host, backup):
    db = "%s/files/var/lib/headscale/db.sqlite" % backup
    out = host.check_output("python3 -c %s %s" % (shlex.quote(
        "import json, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "print(json.dumps([c.execute('PRAGMA integrity_check').fetchone()[0], "
        "[r[0] for r in c.execute('SELECT name FROM users')]]))"), db))
    check, names = json.loads(out)
    assert check == "ok", check
    return set(names)


def audit_records(host, since):
    return host.check_output("journalctl -t tailnet-headscale --no-pager -o cat --since=@%d | grep event=online-backup || true"
                             % int(since)).splitlines()


def host_time_us(host):
    return int(host.check_output("date +%s%6N"))


def audit_records_after(host, since_us):
    """The backup's audit records written after SINCE_US (the host's clock, in microseconds): a --since in
    whole seconds also catches the previous test's records of the same second."""
    out = host.check_output("journalctl -t tailnet-headscale --no-pager -o json --since=@%d" % (since_us // 1000000))
    entries = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [e["MESSAGE"] for e in entries
            if int(e["__REALTIME_TIMESTAMP"]) > since_us and "event=online-backup" in e.get("MESSAGE", "")]


def test_the_timer_is_on_and_the_service_sandboxed_like_headscale(host):
    timer = host.service("tailnet-headscale-backup.timer")
    assert timer.is_enabled and timer.is_running
    ours, headscale = exposure(host, SERVICE), exposure(host, "headscale.service")
    # Root (a backup the service account could write would be a way to root through a restore), with
    # CAP_DAC_OVERRIDE and CAP_CHOWN only, and otherwise headscale's sandbox: scored no higher than it.
    print("systemd-analyze security exposure: %s %.1f, headscale.service %.1f" % (SERVICE, ours, headscale))
    assert ours <= headscale, (ours, headscale)
    assert (host.file(ONLINE).user, host.file(ONLINE).mode) == ("root", 0o700)


def test_an_online_backup_taken_while_users_are_created_is_consistent_and_headscale_stays_healthy(host, playbook, tmp_path):
    before, since = user_names(host), time.time()
    host.check_output("rm -f /tmp/online-stop /tmp/online-health.log /tmp/online-writes.log")
    # Writers: users created one after another; a health probe at 10 Hz; both until /tmp/online-stop.
    host.check_output("setsid sh -c 'i=0; while [ ! -e /tmp/online-stop ]; do i=$((i+1)); "
                      "headscale users create online-$i >/dev/null 2>&1 && echo $i >> /tmp/online-writes.log; done' "
                      ">/dev/null 2>&1 < /dev/null &")
    host.check_output("setsid sh -c 'while [ ! -e /tmp/online-stop ]; do "
                      "curl -fsS -m 1 -o /dev/null http://127.0.0.1:8080/health && echo ok || echo down; sleep 0.1; done "
                      "> /tmp/online-health.log' >/dev/null 2>&1 < /dev/null &")

    def written():
        return len(host.run("cat /tmp/online-writes.log").stdout.split())

    try:
        deadline = time.time() + 30
        while written() < 3:
            assert time.time() < deadline, "the writer created no users"
            time.sleep(0.2)
        stats, failures = playbook("backup", headscale_backup_fetch=True, headscale_backup_fetch_dir=str(tmp_path))
        assert stats["failures"] == 0, (stats, failures)
        during = written()
        deadline = time.time() + 30
        while written() < during + 3:
            assert time.time() < deadline, "the writer stopped during the backup"
            time.sleep(0.2)
    finally:
        host.run("touch /tmp/online-stop")
        time.sleep(0.5)
    health = host.check_output("cat /tmp/online-health.log").split()
    assert len(health) >= 20 and health.count("down") == 0, "headscale was not healthy during the backup: %s" % health

    backup = "%s/%s" % (ONLINE, online_backups(host)[-1])
    TAKEN["backup"], TAKEN["after"] = backup, user_names(host)
    TAKEN["users"] = backup_user_names(host, backup)  # and PRAGMA integrity_check says ok
    created = TAKEN["users"] - before
    # A snapshot of the running database: some of the users created during the run, not all.
    assert before <= TAKEN["users"] < TAKEN["after"] and created, (before, TAKEN["users"], TAKEN["after"])
    manifest = host.file(backup + "/MANIFEST").content_string
    assert "kind online" in manifest and "dir /var/lib/headscale" in manifest and "file /etc/headscale/config.yaml" in manifest
    assert re.search(r"^schema \S+", manifest, re.M), manifest
    for path in ("", "/MANIFEST", "/files/var/lib/headscale/noise_private.key", "/files/var/lib/headscale/db.sqlite"):
        assert host.file(backup + path).mode & 0o077 == 0, path
    assert any("result=ok backup=%s " % backup in r for r in audit_records(host, since)), audit_records(host, since)
    fetched = tmp_path / host.backend.host / (os.path.basename(backup) + ".tar.gz")
    assert fetched.exists() and fetched.stat().st_mode & 0o777 == 0o600
    assert (fetched.parent.stat().st_mode & 0o777) == 0o700


def test_a_backup_labelled_with_a_schema_its_binary_does_not_know_is_refused(host, playbook):
    """As for upgrade backups: the restore reads the MANIFEST's schema, checked before anything stops."""
    tampered = "/root/online-tampered"
    host.check_output("rm -rf {t} && cp -a {b} {t} && sed -i 's/^schema .*/& 29990101000000/' {t}/MANIFEST"
                      .format(t=tampered, b=TAKEN["backup"]))
    running = host.check_output("systemctl show -p MainPID --value headscale.service")
    try:
        stats, failures = playbook("site", **dict(_serving(host), headscale_restore_from=tampered))
    finally:
        host.check_output("rm -rf %s" % tampered)
    assert stats["failures"] == 1, (stats, failures)
    assert "does not know: 29990101000000" in failures[-1] and "Nothing was changed" in failures[-1], failures
    assert host.check_output("systemctl show -p MainPID --value headscale.service") == running


def test_restoring_the_online_backup_gives_back_its_users(host, playbook):
    stats, failures = playbook("site", **dict(_serving(host), headscale_restore_from=TAKEN["backup"]))
    assert stats["failures"] == 0, (stats, failures)
    assert user_names(host) == TAKEN["users"] != TAKEN["after"]
    assert host.run("headscale health").rc == 0


def test_rotation_keeps_the_newest(host):
    before = online_backups(host)
    host.check_output(" && ".join(["systemctl start %s" % SERVICE] * (KEEP + 1)))
    kept = online_backups(host)
    # Three back to back, each under its own name (one within the same second is named a second on).
    assert len(kept) == KEEP and not set(kept) & set(before) and kept[0] > before[-1], (before, kept)


def test_the_timer_backs_up_after_a_reboot_removed_the_lock_file(host):
    """/run is empty after a reboot: the service creates the host lock itself, owner-only, and backs up."""
    before = online_backups(host)
    host.check_output("rm -f /run/tailnet-headscale.lock")
    done = host.run("systemctl start %s" % SERVICE)
    assert done.rc == 0, host.run("journalctl -u %s --no-pager -o cat -n 20" % SERVICE).stdout
    assert online_backups(host) != before
    assert host.file("/run/tailnet-headscale.lock").mode == 0o600
    assert host.run("headscale health").rc == 0


def test_a_failed_backup_is_recorded_and_leaves_nothing(host):
    """The destination fills up while the database is copied (a file size limit on the service): no half
    backup, a failure record, headscale unaffected."""
    # The database is copied first, page by page: the limit stops it half way.
    size = int(host.check_output("stat -c %s /var/lib/headscale/db.sqlite"))
    assert size >= 16384, size
    dropin = "/run/systemd/system/%s.d" % SERVICE
    before, since_us = host.check_output("ls -1a %s" % ONLINE), host_time_us(host)
    host.check_output("mkdir -p %s && printf '[Service]\\nLimitFSIZE=%d\\n' > %s/full.conf && systemctl daemon-reload"
                      % (dropin, size // 2, dropin))
    try:
        assert host.run("systemctl start %s" % SERVICE).rc != 0
    finally:
        host.check_output("rm -rf %s && systemctl daemon-reload" % dropin)
    assert host.check_output("ls -1a %s" % ONLINE) == before
    records = audit_records_after(host, since_us)
    assert len(records) == 1 and "result=failed" in records[0], records
    # sqlite's word for the write refused with EFBIG (as for ENOSPC), with what it was copying.
    assert "copying the database /var/lib/headscale/db.sqlite" in records[0] and "disk I/O error" in records[0], records
    assert host.run("headscale health").rc == 0


def _serving(host):
    """The role variables of the version serving now (the upgrade tests end on the previous one)."""
    version = re.search(r"version v?(\S+)", host.check_output("headscale version")).group(1)
    return PINNED if version == PINNED["headscale_version"] else PREVIOUS

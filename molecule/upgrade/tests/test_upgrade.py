"""Upgrades along headscale's supported path, as the scheduled run does them:
0.28 with users, keys and a real client, then refusals, faults with automatic
rollback, the real upgrade to 0.29, and a restore on purpose.
The tests run in file order: each starts from the state the previous one left."""

import json
import re
import time

import pytest

from conftest import PINNED, PREVIOUS

BACKUPS = "/var/backups/headscale"
BEFORE = {}


def cli(host, *args):
    out = host.check_output("headscale -o json " + " ".join(args))
    return json.loads(out) if out.strip() else None


def tailnet(host):
    """What must survive an upgrade: users, nodes with their addresses, pre-auth keys."""
    return dict(
        users=sorted((u["id"], u["name"]) for u in cli(host, "users", "list") or []),
        nodes=sorted((n["id"], n["given_name"], n["node_key"], tuple(sorted(n["ip_addresses"])))
                     for n in cli(host, "nodes", "list") or []),
        keys=sorted(k["id"] for k in cli(host, "preauthkeys", "list") or []),
    )


def serving_version(host):
    return re.search(r"version v?(\S+)", host.check_output("headscale version")).group(1)


def service(host):
    return host.check_output("systemctl show -p MainPID -p InvocationID --value headscale.service")


def backups(host):
    return sorted(host.check_output("ls -1 %s" % BACKUPS).split()) if host.file(BACKUPS).exists else []


@pytest.fixture(scope="module", autouse=True)
def enrolled(host, laptop):
    BEFORE.update(tailnet(host))
    assert serving_version(host) == PREVIOUS["headscale_version"]
    assert len(BEFORE["nodes"]) == 1 and len(BEFORE["users"]) == 2 and BEFORE["keys"]


@pytest.mark.parametrize("version,words", [
    ("0.30.0", ["cannot be upgraded to 0.30.0 in one step", "0.29.x (latest), then 0.30.0"]),
    ("0.27.2", ["minor downgrade", "headscale_restore_from"]),
])
def test_a_path_headscale_does_not_support_is_refused_before_anything_is_touched(host, playbook, version, words):
    running = service(host)
    stats, failures = playbook("upgrade", **dict(PINNED, headscale_version=version))
    assert stats["failures"] == 1 and stats["changed"] == 0, (stats, failures)
    for word in words:
        assert word in failures[-1], failures
    assert service(host) == running
    assert tailnet(host) == BEFORE and backups(host) == []


def test_a_binary_that_does_not_match_its_checksum_is_refused_while_the_old_one_serves(host, playbook, tmp_path):
    tampered = tmp_path / "headscale"
    tampered.write_bytes(open(PINNED["headscale_binary_src"], "rb").read() + b"\0")
    running = service(host)
    stats, failures = playbook("upgrade", **dict(PINNED, headscale_binary_src=str(tampered)))
    assert stats["failures"] == 1, (stats, failures)
    assert "checksum mismatch" in failures[-1] and PINNED["headscale_binary_sha256"] in failures[-1]
    assert service(host) == running and serving_version(host) == PREVIOUS["headscale_version"]
    assert backups(host) == []


def test_a_new_binary_that_cannot_start_is_rolled_back_with_nothing_lost(host, playbook, laptop, tmp_path):
    broken = tmp_path / "headscale"
    # Passes configtest (the previous binary answers it) but dies on serve, like a failed migration.
    broken.write_text("#!/bin/sh\nfor arg; do [ \"$arg\" = serve ] && { echo 'FTL migration failed (injected)' >&2; exit 1; }; done\n"
                      "exec /usr/local/lib/headscale/headscale-%s \"$@\"\n" % PREVIOUS["headscale_version"])
    broken.chmod(0o755)
    digest = __import__("hashlib").sha256(broken.read_bytes()).hexdigest()
    stats, failures = playbook("upgrade", **dict(PINNED, headscale_binary_src=str(broken), headscale_binary_sha256=digest))
    assert stats["failures"] == 1, (stats, failures)
    message = failures[-1]
    assert "Upgrade of headscale %s to %s failed" % (PREVIOUS["headscale_version"], PINNED["headscale_version"]) in message
    assert "Rolled back: headscale %s is serving again and healthy" % PREVIOUS["headscale_version"] in message
    assert "migration failed (injected)" in message, "the failed version's own words are missing"
    assert serving_version(host) == PREVIOUS["headscale_version"]
    assert host.run("headscale health").rc == 0
    assert tailnet(host) == BEFORE
    laptop.wait_running()
    assert len(backups(host)) == 1


def test_a_new_binary_that_rejects_the_config_never_stops_the_old_one(host, playbook, tmp_path):
    picky = tmp_path / "headscale"
    picky.write_text("#!/bin/sh\nfor arg; do [ \"$arg\" = configtest ] && { echo 'config rejected (injected)' >&2; exit 1; }; done\n"
                     "exec /usr/local/lib/headscale/headscale-%s \"$@\"\n" % PREVIOUS["headscale_version"])
    picky.chmod(0o755)
    digest = __import__("hashlib").sha256(picky.read_bytes()).hexdigest()
    running, backups_before = service(host), backups(host)
    stats, failures = playbook("upgrade", **dict(PINNED, headscale_binary_src=str(picky), headscale_binary_sha256=digest))
    assert stats["failures"] == 1, (stats, failures)
    assert "config rejected (injected)" in failures[-1], failures
    # The candidate is checked before the transaction opens: nothing to roll back.
    assert "were not touched (no backup, no transaction)" in failures[-1], failures
    assert service(host) == running, "the old version was stopped although the new one was refused first"
    assert tailnet(host) == BEFORE and backups(host) == backups_before


def test_the_upgrade_keeps_every_user_node_address_and_key(host, playbook, laptop):
    stats, failures = playbook("upgrade", **PINNED)
    assert stats["failures"] == 0 and stats["changed"] > 0, (stats, failures)
    assert serving_version(host) == PINNED["headscale_version"]
    assert tailnet(host) == BEFORE
    laptop.wait_running()
    deadline = time.time() + 30
    # false fields are omitted from headscale's JSON: no "online" means offline.
    while not cli(host, "nodes", "list")[0].get("online"):
        assert time.time() < deadline, "the client did not reconnect to the upgraded server"
        time.sleep(0.5)

    newest = backups(host)[-1]
    assert newest.endswith("-%s-to-%s" % (PREVIOUS["headscale_version"], PINNED["headscale_version"]))
    backup = host.file("%s/%s" % (BACKUPS, newest))
    assert (backup.user, backup.group, backup.mode) == ("root", "root", 0o700)
    assert host.file(BACKUPS).mode == 0o700
    manifest = host.file(backup.path + "/MANIFEST").content_string
    assert "version %s" % PREVIOUS["headscale_version"] in manifest
    # headscale's whole state directory, and the files the role writes.
    assert "dir /var/lib/headscale" in manifest and "file /etc/headscale/config.yaml" in manifest
    # The schema the database was at, read from it: 0.28's migrations, none of 0.29's.
    assert re.search(r"^schema \S+", manifest, re.M), manifest
    for path in ("/var/lib/headscale/db.sqlite", "/var/lib/headscale/noise_private.key",
                 "/var/lib/headscale/derp_server_private.key", "/etc/headscale/config.yaml"):
        copy = host.file(backup.path + "/files" + path)
        assert copy.exists and copy.mode & 0o007 == 0, path


def test_a_scheduled_rerun_changes_nothing(host, playbook):
    running = service(host)
    stats, failures = playbook("upgrade", **PINNED)
    assert stats["failures"] == 0 and stats["changed"] == 0, (stats, failures)
    assert service(host) == running


def test_a_restore_on_purpose_brings_back_the_backup_once(host, playbook, laptop):
    upgrade_backup = "%s/%s" % (BACKUPS, backups(host)[-1])
    restore = dict(PREVIOUS, headscale_restore_from=upgrade_backup)
    stats, failures = playbook("site", **restore)
    assert stats["failures"] == 0, (stats, failures)
    assert serving_version(host) == PREVIOUS["headscale_version"]
    assert tailnet(host) == BEFORE
    laptop.wait_running()
    # A schedule that still names the backup does not restore it again.
    running = service(host)
    stats, failures = playbook("site", **restore)
    assert stats["failures"] == 0 and stats["changed"] == 0, (stats, failures)
    assert service(host) == running


def test_a_restore_that_fails_health_puts_back_what_was_serving(host, playbook):
    """The restore is a transaction: what serves is backed up first, and a restored headscale that does not
    start is replaced by it again, and the run fails with headscale's own reason."""
    source = [b for b in backups(host) if b.endswith("-%s-to-%s" % (PREVIOUS["headscale_version"], PINNED["headscale_version"]))][-1]
    broken = "/root/broken-backup"
    # A good backup of this version whose config headscale cannot serve with (a port that does not exist).
    # The note makes its MANIFEST (the restore marker's key) its own.
    host.check_output("rm -rf %s && cp -a %s/%s %s && sed -i 's/^listen_addr: .*/listen_addr: 127.0.0.1:99999/' "
                      "%s/files/etc/headscale/config.yaml && grep -q 99999 %s/files/etc/headscale/config.yaml && "
                      "echo 'note made unservable by the test' >> %s/MANIFEST" % (broken, BACKUPS, source, broken, broken, broken, broken))
    config = host.file("/etc/headscale/config.yaml").sha256sum
    before, backups_before = tailnet(host), backups(host)
    try:
        stats, failures = playbook("site", **dict(PREVIOUS, headscale_restore_from=broken))
    finally:
        host.check_output("rm -rf %s" % broken)
    assert stats["failures"] == 1, (stats, failures)
    assert "Restore of %s failed" % broken in failures[-1], failures
    assert "headscale failed:" in failures[-1] and "99999" in failures[-1], failures[-1]  # headscale's own reason
    assert "Rolled back: headscale %s is serving again and healthy" % PREVIOUS["headscale_version"] in failures[-1]
    assert serving_version(host) == PREVIOUS["headscale_version"]
    assert tailnet(host) == before and host.file("/etc/headscale/config.yaml").sha256sum == config
    assert host.run("headscale health").rc == 0
    # The backup of what was serving is kept; no transaction is left open, nothing is marked restored.
    made = [b for b in backups(host) if b not in backups_before]
    assert len(made) == 1 and made[0].endswith("-%s-to-%s" % (PREVIOUS["headscale_version"], PREVIOUS["headscale_version"])), made
    assert not host.file("/etc/headscale/.tailnet-headscale-transaction").exists
    assert broken not in host.file("/etc/headscale/.tailnet-headscale-restored").content_string


def test_a_directory_that_is_not_a_backup_is_refused(host, playbook):
    running = service(host)
    stats, failures = playbook("site", **dict(PREVIOUS, headscale_restore_from="/etc"))
    assert stats["failures"] == 1, (stats, failures)
    assert "'/etc' is not a backup" in failures[-1]
    assert service(host) == running

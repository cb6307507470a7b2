# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every check of the audit (module_utils/audit.py), on what both supported headscale versions were
recorded returning (fixtures/<version>/), read at chosen moments after the recording; and the checks
that read the host (config, unit, files, journal, backups, TLS) on the facts the module collects."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

import pytest
import yaml

from ansible_collections.tailnet.headscale.plugins.module_utils import audit
from ansible_collections.tailnet.headscale.plugins.module_utils import headscale as hs
from ansible_collections.tailnet.headscale.plugins.module_utils.registrations import journal_entries

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
VERSIONS = ["0.28.0", "0.29.3"]
DAY = datetime.timedelta(days=1)


def recorded(version, name):
    with open(os.path.join(FIXTURES, version, name)) as f:
        return f.read()


def recording_time(version):
    """When the fixtures' keys were minted."""
    return hs.parse_timestamp(json.loads(recorded(version, "preauthkeys_list.json"))[0]["created_at"])


def state(version, now):
    """The facts of the recorded server, as HeadscaleClient normalises them, seen at NOW."""
    return dict(
        now=hs.iso(now),
        preauth_keys=[hs.normalize_preauth_key(k, now) for k in json.loads(recorded(version, "preauthkeys_list.json"))],
        nodes=[hs.normalize_node(n, now) for n in json.loads(recorded(version, "nodes_list_with_offline_node.json"))],
        node_expiry_seconds=180 * 86400,
        config=yaml.safe_load(recorded(version, "config.yaml.txt")),
        policy=json.loads(recorded(version, "policy.json.txt")),
    )


def found(findings, check_id=None):
    return sorted((f["id"], f["subject"]) for f in findings if check_id is None or f["id"] == check_id)


def run(facts, now, **thresholds):
    return audit.run_checks(facts, thresholds, now=now)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_fresh_reusable_key_and_a_90_day_key_are_found_and_expired_ones_are_not(version):
    now = recording_time(version) + datetime.timedelta(hours=2)
    findings = run(state(version, now), now)
    # Key 2: reusable, one day; key 3: 90 days. Keys 1, 4-7 lived an hour and are expired by now.
    assert found(findings, "preauth-key-reusable") == [("preauth-key-reusable", "preauth key 2 (alice)")]
    assert found(findings, "preauth-key-long-lived") == [("preauth-key-long-lived", "preauth key 3 (alice)")]
    assert found(findings, "preauth-key-unused") == []
    long_lived = [f for f in findings if f["id"] == "preauth-key-long-lived"][0]
    assert "lifetime 90.0 days" in long_lived["evidence"] and long_lived["severity"] == "medium"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_tag_only_key_is_found_while_it_is_usable_unless_it_is_the_quarantine_key(version):
    now = recording_time(version) + datetime.timedelta(minutes=30)
    facts = state(version, now)
    assert found(run(facts, now), "preauth-key-tag-only") == [
        ("preauth-key-tag-only", "preauth key 4 (tags tag:fixture,tag:server)")]
    quarantine_key = [k for k in facts["preauth_keys"] if k["id"] == 4][0]
    quarantine_key["tags"] = ["tag:quarantine"]
    facts["quarantine_tag"] = "tag:quarantine"
    assert found(run(facts, now), "preauth-key-tag-only") == []


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unused_key_is_found_after_unused_key_age(version):
    now = recording_time(version) + 2 * DAY
    facts = state(version, now)
    assert found(run(facts, now), "preauth-key-unused") == [("preauth-key-unused", "preauth key 3 (alice)")]
    assert found(run(facts, now, unused_key_age="3d"), "preauth-key-unused") == []


def test_the_tagged_node_has_no_expiry_on_0_29_only():
    """0.29 clears a tagged node's expiry; the 0.28 recording set one by hand (nodes expire --expiry)."""
    for version, expected in (("0.28.0", []), ("0.29.3", [("node-no-expiry", "node 2 (renamed-node)")])):
        now = recording_time(version) + DAY
        assert found(run(state(version, now), now), "node-no-expiry") == expected, version


@pytest.mark.parametrize("version", VERSIONS)
def test_old_keys_and_unseen_nodes_are_found_after_their_thresholds(version):
    later = recording_time(version) + 100 * DAY
    findings = run(state(version, later), later)
    # Nodes 1 and 4 are expired (no key to age) and online; node 2 is tagged, offline, dated from its creation.
    assert found(findings, "node-key-old") == [("node-key-old", "node 2 (renamed-node)")]
    assert found(findings, "node-not-seen") == [("node-not-seen", "node 2 (renamed-node)")]
    assert "dated from created" in [f for f in findings if f["id"] == "node-key-old"][0]["evidence"]
    assert found(run(state(version, later), later, max_node_key_age="101d", node_unseen_age="101d"), "node-") == []
    sooner = recording_time(version) + 20 * DAY
    assert found(run(state(version, sooner), sooner), "node-key-old") == []
    assert found(run(state(version, sooner), sooner), "node-not-seen") == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_node_in_quarantine_too_long_is_found(version):
    now = recording_time(version) + 2 * DAY
    facts = state(version, now)
    facts["quarantine_tag"] = "tag:server"  # the recorded tagged nodes stand for quarantined ones
    assert found(run(facts, now, quarantine_max_age="24h"), "node-quarantined-long") == [
        ("node-quarantined-long", "node 2 (renamed-node)"), ("node-quarantined-long", "node 4 (tagged-node)")]
    assert found(run(facts, now, quarantine_max_age="3d"), "node-quarantined-long") == []


@pytest.mark.parametrize("version", VERSIONS)
def test_the_recorded_lab_config_drifts_from_the_baseline_where_it_does(version):
    """The fixtures were recorded from a throwaway server: http server_url, everything else on loopback."""
    now = recording_time(version)
    facts = state(version, now)
    facts["config_path"] = "/etc/headscale/config.yaml"
    assert found(audit.check_config(facts, None, now)) == [("config-server-url-insecure", "/etc/headscale/config.yaml")]
    facts["config"] = dict(facts["config"], server_url="https://hs.example", listen_addr="0.0.0.0:8080",
                           metrics_listen_addr="[::]:9090", unix_socket_permission="0777")
    facts["socket_mode"] = 0o770
    assert [f["id"] for f in audit.check_config(facts, None, now)] == [
        "config-listener-public", "config-metrics-public", "config-socket-mode"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_policy_exposing_the_quarantine_tag_is_critical(version):
    now = recording_time(version)
    facts = state(version, now)
    facts["quarantine_tag"] = "tag:quarantine"
    exposed = [f for f in audit.check_config(facts, None, now) if f["id"] == "policy-exposes-quarantine"]
    assert len(exposed) == 1 and exposed[0]["severity"] == "critical"
    assert "acls[0].src '*'" in exposed[0]["evidence"]
    facts["policy"] = {"acls": [{"action": "accept", "src": ["group:admins"], "dst": ["tag:server:22"]}]}
    assert [f for f in audit.check_config(facts, None, now) if f["id"] == "policy-exposes-quarantine"] == []


def test_the_unit_exposure_and_drop_ins():
    now = recording_time("0.29.3")
    facts = dict(unit=dict(exposure=2.1, drop_ins=[]))
    assert run(facts, now) == []
    facts["unit"] = dict(exposure=5.6, drop_ins=["/etc/systemd/system/headscale.service.d/override.conf"])
    assert [(f["id"], f["evidence"]) for f in run(facts, now)] == [
        ("unit-exposure", "exposure 5.6, above 2.5"),
        ("unit-drop-in", "drop-ins: /etc/systemd/system/headscale.service.d/override.conf")]


def test_files_more_open_than_the_role_leaves_them():
    now = recording_time("0.29.3")
    files = dict(
        config=dict(path="/etc/headscale/config.yaml", exists=True, mode=0o640, owner="root", group="headscale"),
        noise_private_key=dict(path="/var/lib/headscale/noise_private.key", exists=True, mode=0o644, owner="headscale",
                               group="headscale"),
        policy=dict(path="/etc/headscale/policy.json", exists=True, mode=0o640, owner="headscale", group="headscale"),
        backup_dir=dict(path="/var/backups/headscale", exists=False),
    )
    assert [(f["subject"], f["evidence"]) for f in run(dict(files=files), now)] == [
        ("/var/lib/headscale/noise_private.key", "mode 0644 (at most 0600)"),
        ("/etc/headscale/policy.json", "owner headscale (want root)")]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_version_behind_the_pin(version):
    now = recording_time(version)
    installed = json.loads(recorded(version, "version.json"))
    installed = installed["version"] if isinstance(installed, dict) else installed
    behind = run(dict(version=installed, pinned_version="0.29.3"), now)
    assert [f["id"] for f in behind] == (["version-behind"] if version == "0.28.0" else [])
    assert run(dict(version=installed, pinned_version=None), now) == []


def test_backups_missing_old_and_fresh():
    now = recording_time("0.29.3")
    assert [f["id"] for f in run(dict(backups=dict(dir="/var/backups/headscale", newest=None)), now)] == ["backup-missing"]
    old = dict(dir="/b", newest=dict(path="/b/x", time=hs.iso(now - 8 * DAY)))
    assert [f["id"] for f in run(dict(backups=old), now)] == ["backup-old"]
    assert run(dict(backups=old), now, backup_max_age="9d") == []
    assert run(dict(backups=None), now) == []


def test_tls_days_left_at_the_proxy():
    now = recording_time("0.29.3")
    cert = "/etc/nginx/tailnet-headscale/server.crt"
    soon = run(dict(tls=dict(path=cert, not_after=hs.iso(now + 10 * DAY))), now)
    assert [(f["id"], f["severity"]) for f in soon] == [("tls-expiring", "high")]
    gone = run(dict(tls=dict(path=cert, not_after=hs.iso(now - DAY))), now)
    assert [(f["id"], f["severity"]) for f in gone] == [("tls-expiring", "critical")]
    assert run(dict(tls=dict(path=cert, not_after=hs.iso(now + 90 * DAY))), now) == []
    assert run(dict(tls=None), now) == []


def journal(*records):
    return "\n".join(json.dumps(dict(__REALTIME_TIMESTAMP=str(int(t * 1e6)), MESSAGE=m)) for t, m in records)


def test_registration_bursts_of_the_last_24_hours_and_pending_registrations():
    now = 1795330000.0
    entries = journal_entries(journal(
        (now - 90000, "event=registration-burst remote=203.0.113.1 count=7 window=600s"),  # older than 24 h
        (now - 3000, "event=registration-request remote=198.51.100.7 path=/machine/register status=200"),
        (now - 2000, "event=registration-burst remote=198.51.100.7 count=6 window=600s"),
        (now - 1000, "event=registration-burst remote=198.51.100.7 count=9 window=600s"),
    ))
    requests, bursts = audit.registration_events(entries, now)
    assert requests == {"198.51.100.7": 1}
    assert [(b["remote"], b["count"]) for b in bursts] == [("198.51.100.7", 6), ("198.51.100.7", 9)]
    pending = [dict(auth_id="hskey-authreq-AbCdEfGhIjKlMnOpQrStUvWx", first_seen="2026-11-22T06:51:08Z",
                    seconds_left=712, client_address="192.0.2.10")]
    moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    findings = run(dict(registrations=dict(pending=pending, requests=requests, bursts=bursts)), moment)
    assert [(f["id"], f["severity"], f["subject"]) for f in findings] == [
        ("registration-burst", "high", "address 198.51.100.7"),
        ("registration-pending", "info", "registration hskey-authreq-AbCdEfGhIjKlMnOpQrStUvWx")]
    assert "2 burst warning(s) in 24 h" in findings[0]["evidence"] and "up to 9 requests" in findings[0]["evidence"]


def test_every_finding_names_its_fix_and_a_doc_and_severities_order_the_findings():
    now = recording_time("0.29.3") + datetime.timedelta(hours=2)
    findings = run(state("0.29.3", now), now)
    ranks = [audit.severity_rank(f["severity"]) for f in findings]
    assert ranks == sorted(ranks, reverse=True)
    assert all(f["fix"] and f["doc"].startswith("docs/") for f in findings)
    assert audit.at_or_above(findings, "high") == [f for f in findings if f["severity"] in ("high", "critical")]
    assert audit.at_or_above(findings, None) == []
    assert run(state("0.29.3", now), now) == audit.run_checks(state("0.29.3", now), None, now=now, skip=())
    assert "preauth-key-reusable" not in [f["id"] for f in audit.run_checks(
        state("0.29.3", now), None, now=now, skip=("preauth-key-reusable",))]


def test_the_summary_fits_one_screen():
    now = recording_time("0.29.3") + datetime.timedelta(hours=2)
    findings = run(state("0.29.3", now), now) * 10
    text = audit.summary_text(findings, host="hs1")
    lines = text.splitlines()
    assert lines[0].startswith("audit of hs1: %d finding(s): " % len(findings))
    assert len(lines) <= 22 and all(len(line) <= 100 for line in lines)
    assert lines[-1].startswith("... and %d more" % (len(findings) - 20))
    assert audit.summary_text([]) == "audit: 0 finding(s): none"


def test_a_threshold_that_is_not_a_duration_is_refused_naming_it():
    with pytest.raises(ValueError, match="node_unseen_age"):
        audit.thresholds_in_seconds(dict(node_unseen_age="thirty days"))
    assert audit.thresholds_in_seconds(dict(max_node_key_age=None))["max_node_key_age"] == 90 * 86400


def test_a_file_the_role_installed_and_someone_changed_is_found(tmp_path):
    """managed_files reads the server role's record as read-state.sh writes it; the check compares."""
    from ansible_collections.tailnet.headscale.plugins.module_utils import audit_facts

    unit = tmp_path / "headscale.service"
    unit.write_text("[Service]\nExecStart=/usr/local/bin/headscale serve\n")
    unit.chmod(0o644)
    config = tmp_path / "config.yaml"
    config.write_text("server_url: https://hs.example\n")
    config.chmod(0o640)
    info = audit_facts.file_info(str(unit))
    owner = "%s:%s" % (info["owner"], info["group"])
    record = tmp_path / ".tailnet-headscale-converged"
    record.write_text("\n".join([
        "98176e78ab0feafbf2fffb881b110e0c595240fa407ac7d024178c9a0dfb5aaa", "x86_64",
        "file %s %s:644 %s" % (unit, owner, audit_facts._sha256(str(unit))),
        "file %s %s:640 %s" % (config, owner, audit_facts._sha256(str(config))),
        "file %s absent " % (tmp_path / "policy.json"),
        "dir %s %s:%o" % (tmp_path, owner, audit_facts.file_info(str(tmp_path))["mode"]),
        "unit enabled active", "--- record", "file /elsewhere root:root:644 " + "0" * 64, ""]))
    now = recording_time("0.29.3")
    facts = dict(managed_files=audit_facts.managed_files(str(record)))
    assert [e["path"] for e in facts["managed_files"]] == [str(unit), str(config), str(tmp_path / "policy.json"), str(tmp_path)]
    assert run(facts, now) == []

    unit.write_text("[Service]\nExecStart=/usr/local/bin/headscale serve\nProtectSystem=no\n")
    config.chmod(0o644)
    (tmp_path / "policy.json").write_text("{}")  # the role left none: not its file
    facts = dict(managed_files=audit_facts.managed_files(str(record)))
    assert [(f["id"], f["subject"], f["evidence"].split(" (")[0]) for f in run(facts, now)] == [
        ("managed-file-changed", str(unit), "content changed"),
        ("managed-file-changed", str(config), "owner:group:mode %s:644, the role left %s:640" % (owner, owner))]
    assert audit_facts.managed_files(str(tmp_path / "missing")) == []

"""The audit playbook against the role-installed server, as an admin runs it: a reusable 30-day key minted
with the module is reported (the playbook fails at audit_fail_on=high, the report names the key), while the
parts the role hardened (files, unit, version, listeners, socket, policy) and the nodes report nothing.
That a revoked key is no longer reported: tests/unit/plugins/module_utils/test_audit.py."""

import json
import re

# The checks a freshly converged server must pass. This scenario serves http on loopback on purpose
# (headscale_allow_insecure_server_url), and the role backs up only before an upgrade.
CLEAN = ("file-permissions", "managed-file-changed", "unit-exposure", "unit-drop-in", "version-behind", "config-listener-public",
         "config-metrics-public", "config-socket-mode", "policy-exposes-quarantine", "node-no-expiry", "node-key-old",
         "node-not-seen", "node-quarantined-long", "registration-burst")


def reported(path):
    """(check id, subject) of each finding row of the HTML report."""
    return re.findall(r"<td><code>([a-z-]+)</code></td><td>([^<]*)</td>", path.read_text())


def test_a_reusable_30_day_key_is_found_and_the_hardened_parts_report_nothing(host, playbook, tmp_path):
    host.check_output("headscale users create erin")
    minted = tmp_path / "minted"
    minted.mkdir()
    args = dict(user="erin", reusable=True, expiration="30d", fresh=True, secrets_file=str(minted / "key.yml"))
    host.ansible("tailnet.headscale.preauth_key", json.dumps(args), check=False)
    key_id = json.loads(host.check_output("headscale -o json preauthkeys list"))[-1]["id"]
    report = tmp_path / "audit.html"

    stats, failures = playbook("audit", audit_report=str(report), audit_fail_on="high")
    assert stats["failures"] == 1 and "preauth-key-reusable" in failures[0], (stats, failures)
    assert stats["changed"] == 0
    found = reported(report)
    assert ("preauth-key-reusable", "preauth key %s (erin)" % key_id) in found, found
    assert ("preauth-key-long-lived", "preauth key %s (erin)" % key_id) in found, found
    assert [f for f in found if f[0] in CLEAN] == []
    # The config checks ran (on the config parsed on the controller): this scenario's http server_url is drift.
    assert ("config-server-url-insecure", "/etc/headscale/config.yaml") in found, found

    # Leave no usable reusable key behind for the other tests of the scenario.
    host.check_output("headscale preauthkeys expire --id %s" % key_id)

# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The security audit's checks: pure functions from collected facts to findings.

Nothing here reads the host. The module tailnet.headscale.audit collects the facts (headscale's
state through the client in module_utils/headscale.py, files, the journal, the unit) and hands them
to run_checks(); a scheduled audit on the host can hand the same facts to the same checks.

A finding: id (stable, from CHECKS), severity, title, subject (what it is about: a key, a node, a
file), evidence (what was seen, in words), fix (the variable, module call or runbook section that
resolves it) and doc (a link into docs/ naming that section).

CHECKS is the list docs/hardening.md ("What the audit checks") must match (scripts/check-audit-table.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import re

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import parse_timestamp, parse_version
from ansible_collections.tailnet.headscale.plugins.module_utils.node_keys import key_issued_at
from ansible_collections.tailnet.headscale.plugins.module_utils.quarantine import quarantine_exposures
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import parse_duration

SEVERITIES = ("info", "low", "medium", "high", "critical")

_OPS = "docs/operations.md"
_HARD = "docs/hardening.md"

# id -> (severity, what it finds, the fix, doc link). The order is the report's.
CHECKS = (
    ("preauth-key-reusable", "high", "A usable reusable pre-auth key",
     "expire it: tailnet.headscale.preauth_key state=absent; mint single-use keys (reusable: false)",
     _OPS + "#runbook-a-pre-auth-key-leaked"),
    ("preauth-key-long-lived", "medium", "A usable pre-auth key whose lifetime exceeds max_key_lifetime",
     "expire it and mint keys with a short expiration (preauth_key expiration, default 1h)",
     _OPS + "#pre-auth-keys"),
    ("preauth-key-unused", "low", "A usable, never used pre-auth key older than unused_key_age",
     "expire it: tailnet.headscale.preauth_key state=absent (playbook revoke_preauth_keys)",
     _OPS + "#runbook-a-pre-auth-key-leaked"),
    ("preauth-key-tag-only", "medium", "A usable tag-only pre-auth key (its nodes belong to no user and never expire)",
     "expire it unless it is the quarantine key; enrol tagged servers with a user's key and tag them",
     _OPS + "#pre-auth-keys"),
    ("node-no-expiry", "medium", "A node whose key never expires",
     "set an expiry (server headscale_config.node.expiry) and rotate: playbook rotate_node_keys",
     _OPS + "#rotating-node-keys"),
    ("node-key-old", "high", "A node key older than max_node_key_age",
     "playbook rotate_node_keys -e headscale_max_node_key_age=... (tailnet.headscale.node_key_rotation)",
     _OPS + "#rotating-node-keys"),
    ("node-not-seen", "low", "A node not seen for longer than node_unseen_age",
     "remove it if the device is gone: tailnet.headscale.node state=absent",
     _OPS + "#runbook-a-node-nobody-has-seen"),
    ("node-quarantined-long", "medium", "A node in quarantine longer than quarantine_max_age",
     "verify and approve it (tailnet.headscale.node quarantine_tag, expected_node_key) or remove it",
     _OPS + "#approving-nodes-that-enrol-with-a-pre-auth-key-quarantine"),
    ("registration-pending", "info", "An interactive registration waiting for approval",
     "approve or reject it: playbook approve_node (tailnet.headscale.node)",
     _OPS + "#approving-a-device-out-of-band-verification"),
    ("registration-burst", "high", "A burst of registration requests from one address in the last 24 h",
     "find what the address tried and whether it enrolled anything",
     _OPS + "#runbook-a-registration-burst"),
    ("config-listener-public", "high", "A headscale listener off loopback",
     "leave listen_addr, grpc_listen_addr and derp.server.stun_listen_addr on loopback (headscale_allow_public_listeners)",
     "docs/server-role.md#what-each-control-defends-against"),
    ("config-server-url-insecure", "high", "server_url is not https",
     "an https server_url behind tailnet.headscale.proxy (headscale_allow_insecure_server_url: false)",
     "docs/server-role.md#what-each-control-defends-against"),
    ("config-metrics-public", "medium", "The metrics listener is off loopback",
     "metrics_listen_addr on loopback (headscale_allow_public_metrics: false)",
     "docs/server-role.md#what-each-control-defends-against"),
    ("config-socket-mode", "high", "The CLI socket is open to more than its owner and group",
     "unix_socket_permission 0770 or stricter (headscale_allow_open_socket_permission: false)",
     "docs/server-role.md#what-each-control-defends-against"),
    ("policy-exposes-quarantine", "critical", "The policy gives quarantined nodes access",
     "remove the rules named in the evidence from headscale_policy (the server role refuses such a policy)",
     _OPS + "#approving-nodes-that-enrol-with-a-pre-auth-key-quarantine"),
    ("unit-exposure", "medium", "headscale.service is more exposed than max_unit_exposure",
     "rerun the server role; remove hand edits of the unit (systemctl revert headscale.service)",
     _OPS + "#runbook-the-unit-was-edited-by-hand"),
    ("unit-drop-in", "low", "headscale.service has drop-ins the collection did not write",
     "fold the change into the role's variables, then systemctl revert headscale.service",
     _OPS + "#runbook-the-unit-was-edited-by-hand"),
    ("file-permissions", "high", "A headscale file or directory more open than the server role leaves it",
     "rerun the server role (it sets every mode and owner)",
     _OPS + "#runbook-file-modes-and-owners"),
    ("managed-file-changed", "high", "A file the server role installed changed since its last run (a hand edit)",
     "fold the change into the role's variables and rerun the server role (it puts the file back)",
     _OPS + "#runbook-a-managed-file-changed"),
    ("version-behind", "medium", "headscale is older than the version this collection pins",
     "playbook upgrade (headscale_version)",
     _OPS + "#upgrading-headscale"),
    ("backup-missing", "medium", "No backup of the server in its backup directory",
     "take a backup (headscale_backup_dir); the role backs up before every upgrade",
     _OPS + "#restoring-a-backup-disaster-recovery"),
    ("backup-old", "medium", "The newest backup is older than backup_max_age",
     "take a backup (headscale_backup_dir)",
     _OPS + "#restoring-a-backup-disaster-recovery"),
    ("tls-expiring", "high", "The proxy's TLS certificate expires within tls_min_days (critical once expired)",
     "renew the certificate: headscale_proxy_tls_certificate, then rerun the proxy role",
     "docs/proxy-role.md#tls-certificates"),
)

CHECK_IDS = tuple(check[0] for check in CHECKS)
_BY_ID = dict((check[0], check) for check in CHECKS)

DEFAULT_THRESHOLDS = dict(
    max_key_lifetime="7d",
    unused_key_age="1d",
    max_node_key_age="90d",
    node_unseen_age="30d",
    quarantine_max_age="24h",
    backup_max_age="7d",
    tls_min_days=21,
    # systemd-analyze security of the server role's unit in a container without user namespaces
    # (the worst case the tests see); a unit over it has lost sandboxing.
    max_unit_exposure=2.5,
)

# What the server role leaves: path key -> (the most open mode, owner, group or None for any).
FILE_BASELINE = dict(
    config_dir=(0o750, "root", None),
    config=(0o640, "root", None),
    policy=(0o640, "root", None),
    state_dir=(0o750, None, None),
    database=(0o640, None, None),
    noise_private_key=(0o600, None, None),
    derp_private_key=(0o600, None, None),
    backup_dir=(0o700, "root", None),
)


def severity_rank(severity):
    return SEVERITIES.index(severity)


def at_or_above(findings, severity):
    """The findings at or above SEVERITY (None: none)."""
    if not severity:
        return []
    return [f for f in findings if severity_rank(f["severity"]) >= severity_rank(severity)]


def _finding(check_id, subject, evidence, severity=None):
    dummy, default_severity, title, fix, doc = _BY_ID[check_id]
    return dict(id=check_id, severity=severity or default_severity, title=title, subject=subject,
                evidence=evidence, fix=fix, doc=doc)


def _days(seconds):
    return "%.1f days" % (seconds / 86400.0)


def _age(now, stamp):
    when = parse_timestamp(stamp)
    return None if when is None else (now - when).total_seconds()


def _loopback(address):
    host = (address or "").rsplit(":", 1)[0].strip("[]")
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "", 0.0.0.0 is handled by ip_address; a name may resolve anywhere


def _get(config, path):
    for part in path.split("."):
        if not isinstance(config, dict):
            return None
        config = config.get(part)
    return config


# --- the checks: each takes (facts, thresholds in seconds, now) and returns findings ---


def check_preauth_keys(facts, t, now):
    found = []
    for key in facts.get("preauth_keys") or []:
        if not key["usable"]:
            continue
        subject = "preauth key %s (%s)" % (key["id"], key["user"] or "tags " + ",".join(key["tags"]))
        expires = parse_timestamp(key["expiration"])
        created = parse_timestamp(key["created_at"])
        left = "expires %s" % key["expiration"] if expires else "never expires"
        if key["reusable"]:
            found.append(_finding("preauth-key-reusable", subject, "reusable, usable, %s" % left))
        if created and (expires is None or (expires - created).total_seconds() > t["max_key_lifetime"]):
            lifetime = "no expiry" if expires is None else _days((expires - created).total_seconds())
            found.append(_finding("preauth-key-long-lived", subject, "lifetime %s (created %s, %s)"
                                  % (lifetime, key["created_at"], left)))
        if not key["used"] and created and (now - created).total_seconds() > t["unused_key_age"]:
            found.append(_finding("preauth-key-unused", subject, "never used, created %s ago"
                                  % _days((now - created).total_seconds())))
        if not key["user"] and key["tags"] and key["tags"] != [facts.get("quarantine_tag")]:
            found.append(_finding("preauth-key-tag-only", subject, "no user, tags %s, %s" % (",".join(key["tags"]), left)))
    return found


def node_key_ages(facts, now):
    """node id -> (age in seconds, how it was dated) of each node's current key."""
    ledger = facts.get("key_ledger") or {}
    ages = {}
    for node in facts.get("nodes") or []:
        issued, source = key_issued_at(node, now, facts.get("node_expiry_seconds"), ledger.get(str(node["id"])))
        if issued is not None:
            ages[node["id"]] = ((now - issued).total_seconds(), source)
    return ages


def check_nodes(facts, t, now):
    found = []
    ages = node_key_ages(facts, now)
    quarantine = facts.get("quarantine_tag")
    for node in facts.get("nodes") or []:
        subject = "node %s (%s)" % (node["id"], node["name"])
        if node["expiry"] is None:
            found.append(_finding("node-no-expiry", subject, "no key expiry; owner %s, tags %s"
                                  % (node["user"] or "-", ",".join(node["tags"]) or "-")))
        if node["id"] in ages and not node["expired"] and ages[node["id"]][0] > t["max_node_key_age"]:
            age, source = ages[node["id"]]
            found.append(_finding("node-key-old", subject, "key %s old (dated from %s)" % (_days(age), source)))
        seen = _age(now, node["last_seen"] or node["created_at"])
        if not node["online"] and seen is not None and seen > t["node_unseen_age"]:
            found.append(_finding("node-not-seen", subject, "last seen %s ago (%s)"
                                  % (_days(seen), node["last_seen"] or "never; created %s" % node["created_at"])))
        waited = _age(now, node["created_at"])
        if quarantine and quarantine in node["tags"] and waited is not None and waited > t["quarantine_max_age"]:
            found.append(_finding("node-quarantined-long", subject, "in quarantine for %.1f hours" % (waited / 3600.0)))
    return found


def check_registrations(facts, t, now):
    registrations = facts.get("registrations") or {}
    found = []
    for entry in registrations.get("pending") or []:
        found.append(_finding("registration-pending", "registration %s" % entry["auth_id"],
                              "since %s from %s, %s s left" % (entry["first_seen"], entry.get("client_address") or "unknown",
                                                               entry["seconds_left"])))
    bursts = {}
    for burst in registrations.get("bursts") or []:
        bursts.setdefault(burst["remote"], []).append(burst)
    for remote, seen in sorted(bursts.items()):
        found.append(_finding("registration-burst", "address %s" % remote, "%d burst warning(s) in 24 h, last %s, up to %d requests"
                              % (len(seen), seen[-1]["time"], max(b["count"] for b in seen))))
    return found


def check_config(facts, t, now):
    config = facts.get("config")
    if not isinstance(config, dict):
        return []
    found = []
    subject = facts.get("config_path") or "config.yaml"
    for key in ("listen_addr", "grpc_listen_addr", "derp.server.stun_listen_addr"):
        value = _get(config, key)
        if key.startswith("derp") and not _get(config, "derp.server.enabled"):
            continue
        if value and not _loopback(str(value)):
            found.append(_finding("config-listener-public", subject, "%s: %s" % (key, value)))
    url = str(config.get("server_url") or "")
    if not url.startswith("https://"):
        found.append(_finding("config-server-url-insecure", subject, "server_url: %s" % (url or "(unset)")))
    metrics = config.get("metrics_listen_addr")
    if metrics and not _loopback(str(metrics)):
        found.append(_finding("config-metrics-public", subject, "metrics_listen_addr: %s" % metrics))
    mode = str(config.get("unix_socket_permission") or "0770")
    socket_mode = facts.get("socket_mode")
    try:
        configured = int(mode, 8)
    except ValueError:
        configured = 0o777
    for where, value in (("unix_socket_permission", configured), ("socket on disk", socket_mode)):
        if value is not None and value & 0o007:
            found.append(_finding("config-socket-mode", subject if where != "socket on disk" else config.get("unix_socket"),
                                  "%s: %04o (others may use the CLI)" % (where, value)))
    quarantine = facts.get("quarantine_tag")
    policy = facts.get("policy")
    if quarantine and isinstance(policy, dict):
        prefixes = [p for p in (_get(config, "prefixes.v4"), _get(config, "prefixes.v6")) if p]
        try:
            exposures = quarantine_exposures(policy, quarantine, prefixes)
        except ValueError as error:
            exposures = ["policy unreadable: %s" % error]
        if exposures:
            found.append(_finding("policy-exposes-quarantine", facts.get("policy_path") or "policy",
                                  "%s reaches or is reached through %s" % (quarantine, ", ".join(exposures))))
    return found


def check_unit(facts, t, now):
    unit = facts.get("unit") or {}
    found = []
    exposure = unit.get("exposure")
    if exposure is not None and exposure > t["max_unit_exposure"]:
        found.append(_finding("unit-exposure", "headscale.service", "exposure %.1f, above %.1f" % (exposure, t["max_unit_exposure"])))
    drop_ins = unit.get("drop_ins") or []
    if drop_ins:
        found.append(_finding("unit-drop-in", "headscale.service", "drop-ins: %s" % ", ".join(drop_ins)))
    return found


def check_files(facts, t, now):
    found = []
    for name, info in sorted((facts.get("files") or {}).items()):
        if not info or not info.get("exists") or name not in FILE_BASELINE:
            continue
        most_open, owner, group = FILE_BASELINE[name]
        problems = []
        if info["mode"] & ~most_open & 0o777:
            problems.append("mode %04o (at most %04o)" % (info["mode"], most_open))
        if owner and info.get("owner") != owner:
            problems.append("owner %s (want %s)" % (info.get("owner"), owner))
        if group and info.get("group") != group:
            problems.append("group %s (want %s)" % (info.get("group"), group))
        if problems:
            found.append(_finding("file-permissions", info["path"], "; ".join(problems)))
    return found


def check_managed_files(facts, t, now):
    """Against the server role's record of its last run: each file and directory it installed, with owner, group,
    mode and (files) sha256 as that run left them."""
    found = []
    for entry in facts.get("managed_files") or []:
        if entry["recorded"] == "absent":
            continue  # not installed by the role (a policy left to headscale's default)
        changes = []
        if entry["current"] != entry["recorded"]:
            changes.append("owner:group:mode %s, the role left %s" % (entry["current"], entry["recorded"]))
        if entry.get("recorded_sha256") and entry.get("current_sha256") != entry["recorded_sha256"] and entry["current"] != "absent":
            changes.append("content changed (sha256 %s..., the role left %s...)"
                           % ((entry.get("current_sha256") or "?")[:12], entry["recorded_sha256"][:12]))
        if changes:
            found.append(_finding("managed-file-changed", entry["path"], "; ".join(changes)))
    return found


def check_version(facts, t, now):
    installed, pinned = parse_version(facts.get("version")), parse_version(facts.get("pinned_version"))
    if installed and pinned and installed < pinned:
        return [_finding("version-behind", "headscale %s" % facts["version"],
                         "installed %s, the collection pins %s" % (facts["version"], facts["pinned_version"]))]
    return []


def check_backups(facts, t, now):
    backups = facts.get("backups")
    if not backups:
        return []
    newest = backups.get("newest")
    if not newest:
        return [_finding("backup-missing", backups["dir"], "no backup in %s" % backups["dir"])]
    age = _age(now, newest["time"])
    if age is not None and age > t["backup_max_age"]:
        return [_finding("backup-old", newest["path"], "newest backup %s old (%s)" % (_days(age), newest["time"]))]
    return []


def check_tls(facts, t, now):
    tls = facts.get("tls")
    if not tls or not tls.get("not_after"):
        return []
    left = (parse_timestamp(tls["not_after"]) - now).total_seconds() / 86400.0
    if left < t["tls_min_days"]:
        return [_finding("tls-expiring", tls["path"], "expires %s (%.1f days left)" % (tls["not_after"], left),
                         severity="critical" if left <= 0 else None)]
    return []


CHECKERS = (check_preauth_keys, check_nodes, check_registrations, check_config, check_unit, check_files,
            check_managed_files, check_version, check_backups, check_tls)


def thresholds_in_seconds(thresholds):
    """THRESHOLDS (durations as headscale writes them, numbers as such) over the defaults; durations in seconds.
    ValueError naming the option when one is not a duration."""
    merged = dict(DEFAULT_THRESHOLDS)
    merged.update(dict((k, v) for k, v in (thresholds or {}).items() if v is not None))
    out = {}
    for name, value in merged.items():
        if name in ("tls_min_days", "max_unit_exposure"):
            out[name] = float(value)
            continue
        try:
            out[name] = parse_duration(str(value))
        except ValueError as error:
            raise ValueError("%s: %s" % (name, error))
    return out


def run_checks(facts, thresholds=None, now=None, skip=()):
    """Findings for FACTS, most severe first, in CHECKS order within a severity."""
    now = now or parse_timestamp(facts.get("now")) or datetime.datetime.now(datetime.timezone.utc)
    seconds = thresholds_in_seconds(thresholds)
    findings = []
    for checker in CHECKERS:
        findings.extend(f for f in checker(facts, seconds, now) if f["id"] not in skip)
    return sorted(findings, key=lambda f: (-severity_rank(f["severity"]), CHECK_IDS.index(f["id"])))


def counts(findings):
    return dict((severity, sum(1 for f in findings if f["severity"] == severity)) for severity in SEVERITIES)


def summary_text(findings, host=None, width=100):
    """One screen for a terminal: a count per severity, then one line per finding (the most severe first)."""
    by = counts(findings)
    head = "audit%s: %d finding(s): %s" % (" of %s" % host if host else "", len(findings),
                                           ", ".join("%d %s" % (by[s], s) for s in reversed(SEVERITIES) if by[s]) or "none")
    lines = [head]
    shown = findings[:20]
    for f in shown:
        line = "%-8s %-26s %s: %s" % (f["severity"].upper(), f["id"], f["subject"], f["evidence"])
        lines.append(line if len(line) <= width else line[:width - 3] + "...")
    if len(findings) > len(shown):
        lines.append("... and %d more (see the JSON or HTML report)" % (len(findings) - len(shown)))
    return "\n".join(lines)


_BURST_RE = re.compile(r"event=registration-burst remote=(\S+) count=(\d+)")
_REQUEST_RE = re.compile(r"event=registration-request remote=(\S+)")


def registration_events(audit_entries, now_seconds, window=86400):
    """From the registration watch's journal records ((seconds, message) pairs): requests per address and
    the burst warnings within WINDOW seconds before NOW_SECONDS."""
    requests, bursts = {}, []
    for seconds, message in audit_entries:
        if now_seconds - seconds > window:
            continue
        match = _BURST_RE.search(message)
        if match:
            bursts.append(dict(remote=match.group(1), count=int(match.group(2)),
                               time=datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))
            continue
        match = _REQUEST_RE.search(message)
        if match:
            requests[match.group(1)] = requests.get(match.group(1), 0) + 1
    return requests, bursts

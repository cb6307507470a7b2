# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The scheduled audit's outputs: Prometheus metrics (text exposition format, for node_exporter's
textfile collector) and one journal line per finding.

Pure functions but write_atomic(); the host-side entry point (roles/server/files/scheduled-audit.py)
collects the facts with module_utils/audit_facts.py, runs module_utils/audit.py's checks and hands
both to render(). The alert rules (roles/monitoring/files/tailnet-headscale.rules.yml) read these names.

Cardinality is bounded: client addresses are labels only for the TOP_CLIENTS most active ones (bursts
first, then requests); every other address is summed into client="other".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import math
import os
import re
import tempfile

from ansible_collections.tailnet.headscale.plugins.module_utils.audit import CHECK_IDS, CHECKS, SEVERITIES, node_key_ages
from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import parse_timestamp

PREFIX = "tailnet_headscale_"
TOP_CLIENTS = 10
OTHER = "other"

# Journal priorities (syslog) per severity.
PRIORITIES = dict(info=6, low=5, medium=4, high=3, critical=2)

_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def escape_label(value):
    """A label value as the exposition format quotes it: backslash, double quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value) if value != int(value) or abs(value) >= 1e15 else str(int(value))


class Families(object):
    """Metric families in the order first declared; each family's samples together, as the format requires."""

    def __init__(self):
        self.order = []
        self.families = {}

    def declare(self, name, help_text, kind="gauge"):
        name = PREFIX + name
        if not _METRIC_NAME_RE.match(name):
            raise ValueError("not a metric name: %r" % name)
        if name not in self.families:
            self.order.append(name)
            self.families[name] = (help_text, kind, [])
        return name

    def add(self, name, value, **labels):
        for label in labels:
            if not _LABEL_NAME_RE.match(label) or label.startswith("__"):
                raise ValueError("not a label name: %r" % label)
        self.families[PREFIX + name][2].append((tuple(sorted(labels.items())), value))

    def text(self):
        lines = []
        for name in self.order:
            help_text, kind, samples = self.families[name]
            lines.append("# HELP %s %s" % (name, help_text.replace("\\", "\\\\").replace("\n", "\\n")))
            lines.append("# TYPE %s %s" % (name, kind))
            for labels, value in samples:
                shown = ",".join('%s="%s"' % (k, escape_label(v)) for k, v in labels)
                lines.append("%s%s %s" % (name, "{%s}" % shown if shown else "", format_value(value)))
        return "\n".join(lines) + "\n"


def client_table(requests, bursts, limit=TOP_CLIENTS):
    """address -> (requests, bursts) for at most LIMIT addresses plus OTHER (the rest summed): the addresses with
    the most bursts, then the most requests, then by address (a stable order). OTHER is there only when
    something was left out."""
    per = {}
    for address, count in (requests or {}).items():
        per.setdefault(address, [0, 0])[0] += int(count)
    for burst in bursts or []:
        per.setdefault(burst["remote"], [0, 0])[1] += 1
    ranked = sorted(per.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))
    table = dict((address, tuple(counts)) for address, counts in ranked[:limit])
    rest = ranked[limit:]
    if rest:
        table[OTHER] = (sum(c[0] for dummy, c in rest), sum(c[1] for dummy, c in rest))
    return table


def newest_backup(*backup_facts):
    """The newest backup among several backup directories' facts (audit_facts.backup_facts): (newest or None,
    total count)."""
    newest, count = None, 0
    for facts in backup_facts:
        if not facts:
            continue
        count += facts.get("count") or 0
        candidate = facts.get("newest")
        if candidate and (newest is None or parse_timestamp(candidate["time"]) > parse_timestamp(newest["time"])):
            newest = candidate
    return newest, count


_UTC_ELAPSE_RE = re.compile(r"\(in UTC\): \w+ (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC")
_ELAPSE_RE = re.compile(r"(?:Next elapse|Iter\. #\d+|Iteration #\d+): \w+ (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC")


def schedule_interval(calendar_output):
    """Seconds between the first two elapses `systemd-analyze calendar --iterations=2 SPEC` prints; None when
    it printed fewer than two. In a local time zone it adds "(in UTC)" lines; in UTC it prints the elapses alone
    ("Iter. #2" on systemd 252, "Iteration #2" on 257)."""
    found = _UTC_ELAPSE_RE.findall(calendar_output or "") or _ELAPSE_RE.findall(calendar_output or "")
    stamps = [datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S") for s in found]
    if len(stamps) < 2:
        return None
    return (stamps[1] - stamps[0]).total_seconds()


def backup_max_age(interval, fallback):
    """How old the newest backup may be under a schedule of INTERVAL seconds: one missed run is allowed (two
    intervals) plus the timer's randomized delay (60 s). FALLBACK (seconds) without a schedule."""
    if not interval:
        return float(fallback)
    return 2.0 * interval + 60.0


def finding_line(finding):
    """One journal line for FINDING (key=value, values with blanks quoted)."""
    def quote(value):
        value = str(value).replace("\n", " ")
        return '"%s"' % value.replace('"', "'") if (" " in value or not value) else value

    return "event=audit-finding id=%s severity=%s subject=%s evidence=%s fix=%s doc=%s" % (
        finding["id"], finding["severity"], quote(finding["subject"]), quote(finding["evidence"]),
        quote(finding["fix"]), finding["doc"])


def render(findings, facts, now_seconds, duration, interval, backup_max_age_seconds, backups=None, ok=True,
           limit=TOP_CLIENTS):
    """The metrics text for one audit run.

    FINDINGS from audit.run_checks(FACTS); NOW_SECONDS the time of the run; DURATION its seconds; INTERVAL the
    timer's interval (seconds); BACKUPS (newest, count) from newest_backup(); OK false when the facts could not be
    collected (then only the run's own metrics are meaningful)."""
    f = Families()
    f.declare("audit_last_run_timestamp_seconds", "When the scheduled audit last ran (Unix time).")
    f.add("audit_last_run_timestamp_seconds", float(now_seconds))
    f.declare("audit_success", "1 when the last scheduled audit collected every fact, 0 when it failed.")
    f.add("audit_success", 1 if ok else 0)
    f.declare("audit_duration_seconds", "How long the last scheduled audit took.")
    f.add("audit_duration_seconds", round(float(duration), 3))
    f.declare("audit_interval_seconds", "The scheduled audit's interval: a last run older than a few of these means it stopped.")
    f.add("audit_interval_seconds", int(interval))
    if not ok:
        return f.text()

    f.declare("audit_findings", "Findings of the last audit by check id and severity (0 for a check that found nothing).")
    seen = {}
    for finding in findings:
        seen[(finding["id"], finding["severity"])] = seen.get((finding["id"], finding["severity"]), 0) + 1
    for check_id, severity, dummy_title, dummy_fix, dummy_doc in CHECKS:
        seen.setdefault((check_id, severity), 0)
    for (check_id, severity), count in sorted(seen.items(),
                                              key=lambda item: (CHECK_IDS.index(item[0][0]), SEVERITIES.index(item[0][1]))):
        f.add("audit_findings", count, id=check_id, severity=severity)

    registrations = facts.get("registrations") or {}
    table = client_table(registrations.get("requests"), registrations.get("bursts"), limit)
    f.declare("registration_requests", "Registration requests in the last 24 h by client address (top %d, the rest as "
                                       "client=\"other\")." % limit)
    f.declare("registration_bursts", "Registration burst warnings in the last 24 h by client address (top %d, the rest "
                                     "as client=\"other\")." % limit)
    for address in sorted(table):
        f.add("registration_requests", table[address][0], client=address)
    for address in sorted(table):
        f.add("registration_bursts", table[address][1], client=address)
    f.declare("registrations_pending", "Interactive registrations waiting for approval.")
    f.add("registrations_pending", len(registrations.get("pending") or []))

    now = datetime.datetime.fromtimestamp(now_seconds, datetime.timezone.utc)
    ages = node_key_ages(facts, now)
    f.declare("nodes", "Nodes headscale knows.")
    f.add("nodes", len(facts.get("nodes") or []))
    f.declare("node_key_age_max_seconds", "Age of the oldest node key (0 without nodes).")
    f.add("node_key_age_max_seconds", round(max([age for age, dummy in ages.values()] or [0]), 0))

    newest, count = backups if backups is not None else newest_backup(facts.get("backups"))
    f.declare("backups", "Complete backups on the host (upgrade and online backups).")
    f.add("backups", count)
    f.declare("backup_max_age_seconds", "How old the newest backup may be (from the online backup schedule).")
    f.add("backup_max_age_seconds", float(backup_max_age_seconds))
    if newest:
        when = parse_timestamp(newest["time"])
        f.declare("backup_newest_timestamp_seconds", "When the newest backup was taken (Unix time).")
        f.add("backup_newest_timestamp_seconds", round((when - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc))
                                                       .total_seconds(), 0))
        f.declare("backup_age_seconds", "Age of the newest backup when the audit ran.")
        f.add("backup_age_seconds", round((now - when).total_seconds(), 0))
    return f.text()


def write_atomic(directory, name, text):
    """Write TEXT to DIRECTORY/NAME through a temporary file in the same directory and a rename, so node_exporter
    never reads half a file. Mode 0644: node_exporter runs as its own user."""
    fd, temporary = tempfile.mkstemp(prefix="." + name + ".", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.rename(temporary, os.path.join(directory, name))
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return os.path.join(directory, name)

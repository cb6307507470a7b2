# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduled audit's metrics (module_utils/audit_metrics.py): text exposition format that Prometheus
parses (checked line by line here, and by promtool check metrics when PROMTOOL names it), bounded client
cardinality, the backup schedule's bound, and the atomic write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re
import subprocess

import pytest

from ansible_collections.tailnet.headscale.plugins.module_utils import audit, audit_metrics

NOW = datetime.datetime(2026, 12, 2, 10, 0, 0, tzinfo=datetime.timezone.utc)
NOW_SECONDS = (NOW - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds()

# The exposition format, line by line (https://prometheus.io/docs/instrumenting/exposition_formats/).
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_VALUE = r"(?:[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|NaN|[+-]Inf)"
SAMPLE_RE = re.compile(r"^(%s)(?:\{(%s(?:,%s)*)?\})? (%s)$" % (_NAME, _LABEL, _LABEL, _VALUE))
HELP_RE = re.compile(r"^# HELP (%s) .*$" % _NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (gauge|counter|untyped)$" % _NAME)


def parse(text):
    """name -> list of (labels dict, value); fails on any line Prometheus would refuse, a sample before its
    TYPE, a family in two pieces, or a duplicate series."""
    assert text.endswith("\n")
    families, current, done, series = {}, None, set(), set()
    for line in text.splitlines():
        if HELP_RE.match(line):
            continue
        match = TYPE_RE.match(line)
        if match:
            assert match.group(1) not in done, "family %s declared twice" % match.group(1)
            if current:
                done.add(current)
            current = match.group(1)
            families[current] = []
            continue
        match = SAMPLE_RE.match(line)
        assert match, "not an exposition line: %r" % line
        name, labels_text, value = match.group(1), match.group(2) or "", match.group(3)
        assert name == current, "%s outside its family (%s)" % (name, current)
        labels = dict((k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
                      for k, v in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels_text))
        key = (name, tuple(sorted(labels.items())))
        assert key not in series, "duplicate series %s" % (key,)
        series.add(key)
        families[name].append((labels, float(value)))
    return families


def facts(requests=None, bursts=None, pending=0, nodes=()):
    return dict(
        now=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        nodes=list(nodes),
        registrations=dict(requests=requests or {}, bursts=bursts or [],
                           pending=[dict(auth_id="a%d" % i, first_seen="x", seconds_left=60) for i in range(pending)]),
    )


def node(node_id, created_days_ago):
    created = (NOW - datetime.timedelta(days=created_days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dict(id=node_id, name="n%d" % node_id, user="alice", tags=[], created_at=created, last_seen=created,
                expiry=None, expired=False, online=True)


def value(families, name, **labels):
    found = [v for ls, v in families["tailnet_headscale_" + name] if all(ls.get(k) == w for k, w in labels.items())]
    assert len(found) == 1, (name, labels, families.get("tailnet_headscale_" + name))
    return found[0]


def render(findings=(), the_facts=None, **kwargs):
    options = dict(duration=0.5, interval=300, backup_max_age_seconds=7260, backups=(None, 0))
    options.update(kwargs)
    return audit_metrics.render(list(findings), the_facts or facts(), NOW_SECONDS, **options)


def test_a_clean_server_has_every_check_at_zero_and_the_run_metrics():
    families = parse(render())
    assert value(families, "audit_last_run_timestamp_seconds") == NOW_SECONDS
    assert value(families, "audit_success") == 1
    assert value(families, "audit_interval_seconds") == 300
    assert sorted(ls["id"] for ls, v in families["tailnet_headscale_audit_findings"]) == sorted(audit.CHECK_IDS)
    assert all(v == 0 for ls, v in families["tailnet_headscale_audit_findings"])
    assert value(families, "registrations_pending") == 0
    assert value(families, "backups") == 0
    assert "tailnet_headscale_backup_newest_timestamp_seconds" not in families
    # No client address seen: no client series at all (not even "other").
    assert families["tailnet_headscale_registration_requests"] == []


def test_findings_are_counted_by_id_and_severity_and_a_raised_severity_gets_its_own_series():
    findings = [dict(id="preauth-key-reusable", severity="high"), dict(id="preauth-key-reusable", severity="high"),
                dict(id="tls-expiring", severity="critical")]
    families = parse(render(findings))
    assert value(families, "audit_findings", id="preauth-key-reusable", severity="high") == 2
    assert value(families, "audit_findings", id="tls-expiring", severity="critical") == 1
    assert value(families, "audit_findings", id="tls-expiring", severity="high") == 0


def test_client_addresses_are_bounded_to_the_top_n_and_other():
    requests = dict(("10.0.%d.%d" % (i // 250, i % 250), i + 1) for i in range(500))
    bursts = [dict(remote="10.0.0.3", count=9, time="x"), dict(remote="10.0.0.3", count=12, time="x")]
    families = parse(render(the_facts=facts(requests, bursts), limit=5))
    clients = [ls["client"] for ls, v in families["tailnet_headscale_registration_requests"]]
    assert len(clients) == 6 and "other" in clients
    # The bursting address comes first even with few requests; then the busiest.
    assert "10.0.0.3" in clients and "10.0.1.249" in clients
    assert value(families, "registration_bursts", client="10.0.0.3") == 2
    assert value(families, "registration_bursts", client="other") == 0
    # Nothing is lost: the sum over the series is every request.
    assert sum(v for ls, v in families["tailnet_headscale_registration_requests"]) == sum(requests.values())


@pytest.mark.parametrize("count,expected", [(0, 0), (3, 3), (10, 10), (11, 11)])
def test_other_appears_only_when_something_was_left_out(count, expected):
    table = audit_metrics.client_table(dict(("192.0.2.%d" % i, 1) for i in range(count)), [], limit=10)
    assert len(table) == expected
    assert ("other" in table) == (count > 10)


def test_label_values_are_escaped():
    families = parse(render(the_facts=facts({'evil"\\\naddr': 3})))
    assert value(families, "registration_requests", client='evil"\\\naddr') == 3


def test_node_key_age_pending_and_backups():
    newest = dict(path="/b/x", time=(NOW - datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    families = parse(render(the_facts=facts(pending=2, nodes=[node(1, 10), node(2, 40)]), backups=(newest, 4)))
    assert value(families, "node_key_age_max_seconds") == 40 * 86400
    assert value(families, "nodes") == 2
    assert value(families, "registrations_pending") == 2
    assert value(families, "backups") == 4
    assert value(families, "backup_age_seconds") == 3 * 3600
    assert value(families, "backup_newest_timestamp_seconds") == NOW_SECONDS - 3 * 3600
    assert value(families, "backup_max_age_seconds") == 7260


def test_a_failed_run_says_so_and_nothing_else():
    families = parse(render(ok=False))
    assert value(families, "audit_success") == 0
    assert "tailnet_headscale_audit_findings" not in families


def test_newest_backup_across_directories():
    a = dict(dir="/a", newest=dict(path="/a/1", time="2026-12-01T00:00:00Z"), count=2)
    b = dict(dir="/b", newest=dict(path="/b/1", time="2026-12-02T00:00:00Z"), count=3)
    assert audit_metrics.newest_backup(a, b, dict(dir="/c", newest=None, count=0), None) == (b["newest"], 5)
    assert audit_metrics.newest_backup() == (None, 0)


CALENDAR = """  Original form: hourly
Normalized form: *-*-* *:00:00
    Next elapse: Wed 2026-12-02 11:00:00 UTC
       From now: 59min left
       Iter. #2: Wed 2026-12-02 12:00:00 UTC
"""
# systemd 257 (Debian 13), in UTC.
CALENDAR_TRIXIE = """  Original form: hourly
Normalized form: *-*-* *:00:00
    Next elapse: Wed 2026-12-02 10:00:00 UTC
       From now: 4s left
   Iteration #2: Wed 2026-12-02 11:00:00 UTC
       From now: 1h 0min left
"""
CALENDAR_LOCAL = """  Original form: hourly
Normalized form: *-*-* *:00:00
    Next elapse: Wed 2026-12-02 12:00:00 CET
       (in UTC): Wed 2026-12-02 11:00:00 UTC
       From now: 59min left
       Iter. #2: Wed 2026-12-02 13:00:00 CET
       (in UTC): Wed 2026-12-02 12:00:00 UTC
"""


def test_the_backup_bound_comes_from_the_schedule():
    assert audit_metrics.schedule_interval(CALENDAR) == 3600
    assert audit_metrics.schedule_interval(CALENDAR_LOCAL) == 3600
    assert audit_metrics.schedule_interval(CALENDAR_TRIXIE) == 3600
    assert audit_metrics.schedule_interval("") is None
    assert audit_metrics.backup_max_age(3600, 604800) == 7260
    assert audit_metrics.backup_max_age(None, 604800) == 604800


def test_a_finding_is_one_journal_line():
    line = audit_metrics.finding_line(dict(id="node-key-old", severity="high", subject="node 1 (a b)",
                                           evidence='key "x"\nold', fix="rotate", doc="docs/operations.md#x"))
    assert "\n" not in line
    assert line.startswith("event=audit-finding id=node-key-old severity=high subject=\"node 1 (a b)\"")


def test_the_write_is_atomic_and_readable_by_node_exporter(tmp_path):
    (tmp_path / "tailnet-headscale.prom").write_text("old\n")
    path = audit_metrics.write_atomic(str(tmp_path), "tailnet-headscale.prom", render())
    assert open(path).read() == render()
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    # Only the file itself: the temporary file was renamed, not left behind.
    assert os.listdir(str(tmp_path)) == ["tailnet-headscale.prom"]


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    (tmp_path / "tailnet-headscale.prom").write_text("old\n")

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        audit_metrics.write_atomic(str(tmp_path), "tailnet-headscale.prom", "new\n")
    assert (tmp_path / "tailnet-headscale.prom").read_text() == "old\n"
    assert os.listdir(str(tmp_path)) == ["tailnet-headscale.prom"]


@pytest.mark.skipif(not os.environ.get("PROMTOOL"), reason="PROMTOOL (scripts/promtool.sh) not set")
def test_promtool_accepts_the_metrics():
    text = render([dict(id="preauth-key-reusable", severity="high")],
                  facts(dict(("10.0.0.%d" % i, i) for i in range(20)), [dict(remote="10.0.0.1", count=6, time="x")], 1,
                        [node(1, 3)]))
    done = subprocess.run([os.environ["PROMTOOL"], "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

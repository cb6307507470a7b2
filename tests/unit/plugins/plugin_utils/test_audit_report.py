# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's HTML report (plugin_utils/audit_report.py): self-contained, charts as inline SVG drawn by
matplotlib, each finding linked to a runbook section that exists, the same bytes for the same result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.tailnet.headscale.plugins.module_utils import audit
from ansible_collections.tailnet.headscale.plugins.plugin_utils import audit_report

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def result():
    findings = [dict(id=check_id, severity=severity, title=title, subject="subject <%d>" % i, evidence="seen & said",
                     fix=fix, doc=doc) for i, (check_id, severity, title, fix, doc) in enumerate(audit.CHECKS)]
    nodes = [dict(id=i, name="n%d" % i, last_seen="2026-11-%02dT00:00:00Z" % (i + 1), created_at="2026-11-01T00:00:00Z")
             for i in range(5)]
    return dict(findings=findings, counts=audit.counts(findings), checks=list(audit.CHECK_IDS),
                thresholds=dict(max_node_key_age=90 * 86400.0),
                facts=dict(now="2026-12-01T00:00:00Z", version="0.29.3", pinned_version="0.29.3", nodes=nodes,
                           node_key_ages=dict((str(i), i * 30 * 86400.0) for i in range(5)),
                           unit=dict(exposure=1.9), backups=dict(dir="/var/backups/headscale", newest=None), tls=None))


@pytest.fixture(scope="module")
def in_docs():
    """The report as written into docs/ (the committed example's place), rendered once: matplotlib is slow."""
    return audit_report.render(result(), "hs1", os.path.join(ROOT, "docs"))


def test_the_report_is_self_contained_with_two_charts_and_every_finding_escaped(tmp_path):
    path = audit_report.write_report(str(tmp_path / "r.html"), result(), "hs1")
    text = open(path).read()
    assert text.count("<svg") == 2 and "<script" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert len(re.findall(r"<td><code>([a-z-]+)</code></td>", text)) == len(audit.CHECKS)
    assert "subject &lt;0&gt;" in text and "seen &amp; said" in text and "subject <0>" not in text
    assert "max_node_key_age" in text  # the limit line's legend on the key age chart
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_each_link_reaches_its_runbook_section_from_where_the_report_is(tmp_path, in_docs):
    for directory, text in ((os.path.join(ROOT, "docs"), in_docs), (str(tmp_path), audit_report.render(result(), "hs1", str(tmp_path)))):
        links = re.findall(r'<a href="([^"#]+)#([^"]+)"', text)
        assert len(links) == len(audit.CHECKS)
        for target, anchor in links:
            assert os.path.exists(os.path.join(directory, target)), target
    assert 'href="operations.md#runbook-a-pre-auth-key-leaked"' in in_docs


def test_the_same_result_gives_the_same_report(in_docs):
    assert audit_report.render(result(), "hs1", os.path.join(ROOT, "docs")) == in_docs


def test_no_nodes_still_draws_both_charts():
    empty = result()
    empty["facts"].update(nodes=[], node_key_ages={})
    empty.update(findings=[], counts=audit.counts([]))
    text = audit_report.render(empty, "hs1", ROOT)
    assert text.count("<svg") == 2 and text.count("no nodes") == 2 and "No findings." in text

# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The audit's HTML report, written on the controller: one self-contained file (no script, no CDN) with the
findings table and two charts drawn by matplotlib as inline SVG - node key ages and last-seen times.

Each finding links to its runbook section in this collection's docs/, relative to where the report is
written, so the links work from a checkout, an installed collection, or docs/ itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import html
import io
import os
import tempfile

COLLECTION_ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLORS = dict(critical="#7f1d1d", high="#b91c1c", medium="#b45309", low="#1d4ed8", info="#4b5563")
SEVERITIES = ("critical", "high", "medium", "low", "info")


def _parse(stamp):
    if not stamp:
        return None
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")


def histogram_svg(values, title, xlabel, limit=None, limit_label=None):
    """An SVG histogram of VALUES (days), with a dashed line at LIMIT; no XML header, reproducible ids."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    matplotlib.rcParams["svg.hashsalt"] = "tailnet-headscale-audit"
    matplotlib.rcParams["svg.fonttype"] = "none"
    figure, axes = pyplot.subplots(figsize=(5.2, 2.8))
    if values:
        top = max(values + ([limit] if limit else []))
        bins = [top * i / 20.0 for i in range(21)] if top > 0 else 10
        axes.hist(values, bins=bins, color="#2563eb", edgecolor="white")
        if limit is not None:
            axes.axvline(limit, color="#b91c1c", linestyle="--", label=limit_label)
            axes.legend(loc="upper right", fontsize=8)
    else:
        axes.text(0.5, 0.5, "no nodes", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel, fontsize=9)
    axes.set_ylabel("nodes", fontsize=9)
    axes.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    pyplot.close(figure)
    text = out.getvalue()
    return text[text.index("<svg"):]


def _doc_href(doc, report_dir):
    path, sep, anchor = doc.partition("#")
    target = os.path.relpath(os.path.join(COLLECTION_ROOT, path), os.path.realpath(report_dir))
    return target + sep + anchor


def render(result, host, report_dir):
    facts = result.get("facts") or {}
    now = _parse(facts.get("now")) or datetime.datetime.utcnow()
    ages = [age / 86400.0 for age in (facts.get("node_key_ages") or {}).values()]
    seen = []
    for node in facts.get("nodes") or []:
        when = _parse(node.get("last_seen") or node.get("created_at"))
        if when is not None:
            seen.append(max(0.0, (now - when).total_seconds() / 86400.0))
    findings = result.get("findings") or []
    counts = result.get("counts") or {}
    esc = html.escape
    rows = []
    for f in findings:
        rows.append(
            '<tr><td><span class="sev" style="background:%s">%s</span></td><td><code>%s</code></td><td>%s</td>'
            '<td>%s</td><td>%s<br><a href="%s">%s</a></td></tr>'
            % (COLORS.get(f["severity"], "#000"), esc(f["severity"]), esc(f["id"]), esc(f["subject"]), esc(f["evidence"]),
               esc(f["fix"]), esc(_doc_href(f["doc"], report_dir)), esc(f["doc"])))
    table = ("<table><thead><tr><th>severity</th><th>check</th><th>subject</th><th>evidence</th><th>fix</th></tr></thead>"
             "<tbody>%s</tbody></table>" % "".join(rows)) if rows else "<p>No findings.</p>"
    summary = ", ".join("%d %s" % (counts.get(s, 0), s) for s in SEVERITIES if counts.get(s)) or "none"
    unit = facts.get("unit") or {}
    backups = facts.get("backups") or {}
    tls = facts.get("tls") or {}
    facts_rows = [
        ("headscale", "%s (collection pin %s)" % (facts.get("version"), facts.get("pinned_version") or "unknown")),
        ("nodes", str(len(facts.get("nodes") or []))),
        ("pre-auth keys, usable", str(sum(1 for k in facts.get("preauth_keys") or [] if k.get("usable")))),
        ("unit exposure", "%s" % unit.get("exposure") if unit.get("exposure") is not None else "not measured"),
        ("newest backup", (backups.get("newest") or {}).get("time") or ("none in %s" % backups.get("dir") if backups else "not checked")),
        ("proxy certificate", tls.get("not_after") and "valid until %s" % tls["not_after"] or "no proxy certificate on this host"),
        ("checks run", str(len(result.get("checks") or []))),
    ]
    key_chart = histogram_svg(ages, "Node key age", "days since the key was issued",
                              limit=(result.get("thresholds") or {}).get("max_node_key_age", 0) / 86400.0 or None,
                              limit_label="max_node_key_age")
    seen_chart = histogram_svg(seen, "Last seen", "days since the node was last seen")
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>headscale audit: %(host)s</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#111;max-width:70em}
table{border-collapse:collapse;width:100%%;font-size:.9em}th,td{border:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f3f4f6}.sev{color:#fff;border-radius:3px;padding:0 .4em;font-size:.85em}
.charts{display:flex;flex-wrap:wrap;gap:1em}.charts svg{max-width:100%%;height:auto}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}
</style></head><body>
<h1>headscale audit: %(host)s</h1>
<p>%(now)s &middot; %(total)d finding(s): %(summary)s</p>
<h2>Findings</h2>
%(table)s
<h2>Nodes</h2>
<div class="charts">%(key_chart)s%(seen_chart)s</div>
<h2>What was read</h2>
<dl>%(facts)s</dl>
<p>Written by tailnet.headscale.audit. Each finding links to the section of the collection's docs that resolves it.</p>
</body></html>
""" % dict(host=esc(host or "headscale"), now=esc(facts.get("now") or ""), total=len(findings), summary=esc(summary),
           table=table, key_chart=key_chart, seen_chart=seen_chart,
           facts="".join("<dt>%s</dt><dd>%s</dd>" % (esc(k), esc(v)) for k, v in facts_rows))


def write_report(path, result, host):
    """Write the report to PATH atomically (0644); return PATH."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    text = render(result, host, directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".audit-")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except Exception:
        os.unlink(tmp)
        raise
    return path

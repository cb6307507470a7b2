"""Alerts that reach a real Prometheus: the server runs the scheduled audit (server role,
headscale_audit_timer, every 10 s here) and Debian's node_exporter, Prometheus and Alertmanager
(tailnet.headscale.monitoring, scrape and evaluation every 5 s here), and Alertmanager delivers
to a webhook receiver this test starts on the server's loopback.

Runs before test_attacks.py (file order): the server is clean when it starts. The figures (alert
latency, the units' exposure) go to TAILNET_ALERTING_RESULTS (default /tmp/tailnet-alerting-results.json)
and the test output."""

import json
import os
import re
import shlex
import time

import pytest
import yaml

from conftest import ADDRESSES, wait_for

PROMETHEUS = "http://127.0.0.1:9091"
RESULTS = os.environ.get("TAILNET_ALERTING_RESULTS", "/tmp/tailnet-alerting-results.json")
# The goal of the issue: a burst reaches the receiver within two minutes with the documented intervals.
LATENCY_BOUND = 120
EXPOSURE_RE = re.compile(r"Overall exposure level for \S+: ([0-9.]+)")
PROXY_DEFAULTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "proxy", "defaults", "main.yml")


def registration_refill_seconds():
    """How long the proxy takes to give an address its whole registration burst back (nginx's
    limit_req: burst requests, refilled at the rate), from the role's defaults the scenario uses."""
    with open(PROXY_DEFAULTS) as handle:
        defaults = yaml.safe_load(handle)
    count, unit = re.match(r"^(\d+)r/([sm])$", defaults["headscale_proxy_registration_rate"]).groups()
    return defaults["headscale_proxy_registration_burst"] / (int(count) / (60.0 if unit == "m" else 1.0))


# The webhook receiver: one JSON line per delivery, with the time it arrived (the server's clock,
# which the journal shares).
RECEIVER = r'''
import http.server, json, time
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open("/run/alert-receiver.jsonl", "a") as log:
            log.write(json.dumps({"received": time.time(), "body": body}) + "\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", 9095), Handler).serve_forever()
'''

figures = {}


def record(**values):
    figures.update(values)
    with open(RESULTS, "w") as handle:
        json.dump(figures, handle, indent=2, sort_keys=True)
    print("alerting figures: %s" % json.dumps(values, sort_keys=True))


def api(host, path, *options):
    command = "curl -sS --max-time 5 %s '%s%s'" % (" ".join(options), PROMETHEUS, path)
    return json.loads(host.check_output(command))["data"]


def query(host, expression):
    return api(host, "/api/v1/query", "-G", "--data-urlencode", shlex.quote("query=" + expression))["result"]


def deliveries(host):
    text = host.run("cat /run/alert-receiver.jsonl 2>/dev/null").stdout
    found = []
    for line in text.splitlines():
        entry = json.loads(line)
        for alert in entry["body"]["alerts"]:
            found.append(dict(alert, received=entry["received"]))
    return found


def delivered(host, alertname, **labels):
    return [a for a in deliveries(host) if a["labels"].get("alertname") == alertname
            and all(a["labels"].get(k) == v for k, v in labels.items())]


def journal_json(host, since, grep):
    out = host.check_output("journalctl --no-pager -o json -t tailnet-headscale --since=@%d" % int(since))
    return [json.loads(line) for line in out.splitlines() if grep in line]


@pytest.fixture(scope="module")
def receiver(server):
    server.run("systemctl stop alert-receiver; rm -f /run/alert-receiver.jsonl")
    server.check_output("cat > /run/alert-receiver.py <<'EOF'\n%s\nEOF" % RECEIVER)
    server.check_output("systemd-run --unit alert-receiver --collect python3 /run/alert-receiver.py")
    wait_for(lambda: server.run("curl -sf -o /dev/null -X POST -d '{\"alerts\": []}' http://127.0.0.1:9095/").rc == 0,
             what="the webhook receiver")
    server.run("rm -f /run/alert-receiver.jsonl")
    yield server
    server.run("systemctl stop alert-receiver")


def test_prometheus_scrapes_headscale_and_the_scheduled_audit(server, receiver):
    for unit in ("prometheus", "prometheus-node-exporter", "prometheus-alertmanager"):
        assert server.service(unit).is_running, unit
    assert server.service("tailnet-headscale-audit.timer").is_running
    wait_for(lambda: [r for r in query(server, 'up{job="headscale"}') if r["value"][1] == "1"],
             timeout=60, what="Prometheus scraping headscale's metrics")
    wait_for(lambda: query(server, "tailnet_headscale_audit_last_run_timestamp_seconds"),
             timeout=60, what="the audit's metrics in Prometheus")
    metrics = server.file("/var/lib/prometheus/node-exporter/tailnet-headscale.prom")
    assert metrics.mode == 0o644 and metrics.user == "root"
    # Every listener of the stack is on loopback.
    for port in (9091, 9093, 9100):
        assert server.socket("tcp://127.0.0.1:%d" % port).is_listening, port
        assert not server.socket("tcp://0.0.0.0:%d" % port).is_listening, port


def test_nothing_fires_on_a_clean_server(server, receiver):
    # Two audits, scrapes and evaluations after the metrics appeared.
    time.sleep(25)
    firing = [a for a in api(server, "/api/v1/alerts")["alerts"] if a["state"] == "firing"]
    assert firing == [], firing
    assert deliveries(server) == []
    serious = query(server, 'tailnet_headscale_audit_findings{severity=~"high|critical"} > 0')
    assert serious == [], serious
    assert query(server, "tailnet_headscale_audit_success")[0]["value"][1] == "1"


def test_the_audit_unit_is_sandboxed_like_headscale(server):
    scores = {}
    for unit in ("tailnet-headscale-audit.service", "headscale.service"):
        out = server.run("systemd-analyze security --no-pager %s" % unit).stdout
        scores[unit] = float(EXPOSURE_RE.search(out).group(1))
    record(exposure=scores)
    assert scores["tailnet-headscale-audit.service"] <= scores["headscale.service"] + 0.5, scores
    # The last run ended well and left a summary record; it took seconds.
    result = server.check_output("systemctl show -P Result tailnet-headscale-audit.service")
    assert result == "success", result
    summary = journal_json(server, time.time() - 60, "event=audit-summary")
    assert summary, "no event=audit-summary record in the last minute"


def test_a_registration_burst_reaches_the_receiver_within_two_minutes(server, receiver, attacker_host, start_client):
    attacker = ADDRESSES["hs-sec-attacker"]
    client = start_client(attacker_host, "wrong-keys")
    started = time.time()
    # Wrong keys through the proxy: the threshold is 2 requests, the third is a burst.
    try:
        for attempt in range(4):
            result = client.up("tskey-auth-kWRONG%d-%s" % (attempt, "0" * 40))
            assert result.rc != 0, result.stdout
    finally:
        # These logins spent the attacker's budget at the proxy: test_attacks.py floods from the same
        # address and counts on a full burst, so it is given back before the next test.
        client.stop()
        refilled_at = time.time() + registration_refill_seconds() + 2
    bursts = wait_for(lambda: journal_json(server, started - 1, "event=registration-burst remote=%s" % attacker),
                      timeout=30, what="the registration watch's burst warning")
    burst_at = int(bursts[0]["__REALTIME_TIMESTAMP"]) / 1e6
    alerts = wait_for(lambda: delivered(server, "TailnetHeadscaleRegistrationBurst", client=attacker),
                      timeout=LATENCY_BOUND + 30, what="the burst alert at the webhook receiver")
    latency = alerts[0]["received"] - burst_at
    record(burst_alert_latency_seconds=round(latency, 1),
           burst_alert_from_first_attempt_seconds=round(alerts[0]["received"] - started, 1))
    assert latency <= LATENCY_BOUND, latency
    assert alerts[0]["labels"]["severity"] == "warning"
    assert alerts[0]["annotations"]["runbook"] == "docs/operations.md#runbook-a-registration-burst"
    # The audit's own journal record of the finding.
    assert journal_json(server, started - 1, "event=audit-finding id=registration-burst")
    time.sleep(max(0, refilled_at - time.time()))


def test_a_reusable_30_day_key_raises_its_finding_and_alert(server, receiver, mint_key):
    started = time.time()
    key_id, dummy = mint_key(user="ops", reusable=True, expiration="30d")
    try:
        alerts = wait_for(lambda: delivered(server, "TailnetHeadscaleHighFinding", id="preauth-key-reusable"),
                          timeout=LATENCY_BOUND, what="the reusable key's alert at the webhook receiver")
        record(reusable_key_alert_seconds=round(alerts[0]["received"] - started, 1))
        findings = journal_json(server, started - 1, "event=audit-finding id=preauth-key-reusable")
        assert findings and findings[0]["PRIORITY"] == "3", findings
        assert "preauth key %s" % key_id in findings[0]["MESSAGE"]
        # A 30-day key is long-lived too (medium: a finding and a metric, no alert of its own).
        assert journal_json(server, started - 1, "event=audit-finding id=preauth-key-long-lived")
    finally:
        server.ansible("tailnet.headscale.preauth_key", json.dumps({"state": "absent", "id": key_id}), check=False)

"""Every alert of roles/monitoring/files/tailnet-headscale.rules.yml is unit-tested in
tests/monitoring/rules-test.yml both ways: a case where it fires and one where it stays quiet
(promtool test rules runs them; this checks that none is left out), and its runbook annotation
names a heading that exists. make lint runs it."""
import os
import re
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
RULES = os.path.join(ROOT, "roles", "monitoring", "files", "tailnet-headscale.rules.yml")
TESTS = os.path.join(ROOT, "tests", "monitoring", "rules-test.yml")


def anchors(path):
    """GitHub's anchors for the headings of PATH."""
    with open(path) as handle:
        headings = [m.group(1).strip() for m in (re.match(r"^#+ (.*)$", line) for line in handle) if m]
    return set(re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings)


def main():
    with open(RULES) as handle:
        rules = [r for g in yaml.safe_load(handle)["groups"] for r in g["rules"] if "alert" in r]
    alerts = [r["alert"] for r in rules]
    with open(TESTS) as handle:
        tests = yaml.safe_load(handle)["tests"]
    fires, quiet = set(), set()
    for test in tests:
        for case in test.get("alert_rule_test") or []:
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    problems = ["%s: no test where it fires" % a for a in alerts if a not in fires]
    problems += ["%s: no test where it stays quiet" % a for a in alerts if a not in quiet]
    problems += ["%s: tested but not a rule" % a for a in sorted((fires | quiet) - set(alerts))]
    for rule in rules:
        path, dummy, anchor = rule.get("annotations", {}).get("runbook", "").partition("#")
        if not path or not os.path.exists(os.path.join(ROOT, path)):
            problems.append("%s: runbook %r is not a doc of the collection" % (rule["alert"], path))
        elif anchor not in anchors(os.path.join(ROOT, path)):
            problems.append("%s: %s has no heading for #%s" % (rule["alert"], path, anchor))
    for problem in problems:
        print("%s: %s" % (os.path.relpath(TESTS, ROOT), problem), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

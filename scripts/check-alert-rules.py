#!/usr/bin/env python3
"""Every alert of roles/monitoring/files/tailnet-headscale.rules.yml is unit-tested in
tests/monitoring/rules-test.yml both ways: a case where it fires and one where it stays quiet
(promtool test rules runs them; this checks that none is left out). make lint runs it."""
import os
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
RULES = os.path.join(ROOT, "roles", "monitoring", "files", "tailnet-headscale.rules.yml")
TESTS = os.path.join(ROOT, "tests", "monitoring", "rules-test.yml")


def main():
    with open(RULES) as handle:
        alerts = [r["alert"] for g in yaml.safe_load(handle)["groups"] for r in g["rules"] if "alert" in r]
    with open(TESTS) as handle:
        tests = yaml.safe_load(handle)["tests"]
    fires, quiet = set(), set()
    for test in tests:
        for case in test.get("alert_rule_test") or []:
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    problems = ["%s: no test where it fires" % a for a in alerts if a not in fires]
    problems += ["%s: no test where it stays quiet" % a for a in alerts if a not in quiet]
    problems += ["%s: tested but not a rule" % a for a in sorted((fires | quiet) - set(alerts))]
    for problem in problems:
        print("%s: %s" % (os.path.relpath(TESTS, ROOT), problem), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

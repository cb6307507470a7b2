"""docs/hardening.md's "What the audit checks" table lists exactly the audit's checks
(plugins/module_utils/audit.py CHECKS), in order, with their severity and what each finds; and every
finding's runbook link names a heading that exists. make lint runs this, so neither drifts.
--print writes the table rows the module's list gives (to paste after a change)."""

import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root / ".collections"))
from ansible_collections.tailnet.headscale.plugins.module_utils.audit import CHECKS  # noqa: E402

HEADING = "## What the audit checks"
HEADER = "| check | severity | what it finds | fix | runbook |"


def row(check):
    check_id, severity, title, fix, doc = check
    target = doc.replace("docs/", "", 1)
    return "| `%s` | %s | %s | %s | [%s](%s) |" % (check_id, severity, title, fix, target, target)


def anchors(path):
    """GitHub's anchors for the headings of PATH."""
    found = set()
    for line in path.read_text().splitlines():
        match = re.match(r"^#+ (.*)$", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            found.add(text.replace(" ", "-"))
    return found


def main():
    expected = [row(check) for check in CHECKS]
    if "--print" in sys.argv:
        print("\n".join([HEADER, "| --- | --- | --- | --- | --- |"] + expected))
        return 0
    problems = []
    text = (root / "docs" / "hardening.md").read_text()
    if HEADING not in text:
        problems.append("docs/hardening.md has no section %r" % HEADING)
    else:
        section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        for want, have in zip(expected, rows):
            if want != have:
                problems.append("table row differs from the module's check:\n  doc:    %s\n  module: %s" % (have, want))
        if len(rows) != len(expected):
            problems.append("the table has %d checks, the module %d" % (len(rows), len(expected)))
    for check_id, dummy, dummy2, dummy3, doc in CHECKS:
        path, dummy4, anchor = doc.partition("#")
        if not (root / path).exists():
            problems.append("%s: %s does not exist" % (check_id, path))
        elif anchor and anchor not in anchors(root / path):
            problems.append("%s: %s has no heading for #%s" % (check_id, path, anchor))
    for problem in problems:
        print("audit checks:", problem)
    print("audit table: %d check(s), %d problem(s) (python3 scripts/check-audit-table.py --print writes the rows)"
          % (len(CHECKS), len(problems)))
    return 1 if problems else 0


sys.exit(main())

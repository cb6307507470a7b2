"""Every test docs/hardening.md names exists: `path::test_name`, or `::test_name`
after a path in the same cell, or a bare test file. The table cannot point at a
test that was renamed or removed (make lint runs this)."""

import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
problems = []
for line in (root / "docs" / "hardening.md").read_text().splitlines():
    if not line.startswith("|"):
        continue
    for cell in line.split(" | "):
        current = None
        for token in re.findall(r"`([^`]+)`", cell):
            path, sep, name = token.partition("::")
            if path and (path.startswith(("tests/", "molecule/")) and path.endswith(".py")):
                current = root / path
                if not current.exists():
                    problems.append("%s does not exist" % path)
                    current = None
                    continue
            elif not (sep and not path):
                continue
            if name and current is not None and not re.search(r"^def %s\(" % re.escape(name), current.read_text(), re.M):
                problems.append("%s has no test %s" % (current.relative_to(root), name))
for problem in problems:
    print("docs/hardening.md:", problem)
print("hardening table: %d problem(s)" % len(problems))
sys.exit(1 if problems else 0)

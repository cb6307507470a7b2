"""Write the number of refusal cases into the docs, counted from the tests
themselves (molecule/default/refusals.yml, tests/integration/refusals.yml),
between markers such as <!-- count:module-refusals -->186<!-- /count -->.
With --check, only report a doc that differs (make lint runs this)."""

import collections
import pathlib
import re
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
module_cases = yaml.safe_load((root / "tests" / "integration" / "refusals.yml").read_text())
role_cases = yaml.safe_load((root / "molecule" / "default" / "refusals.yml").read_text())[0]["vars"]["refusal_cases"]
by_module = collections.Counter(case["module"] for case in module_cases.values())
counts = {
    "module-refusals": str(len(module_cases)),
    "module-refusals-by-module": ", ".join("%s %d" % (name, by_module[name]) for name in sorted(by_module)),
    "role-refusals": str(len(role_cases)),
    "all-refusals": str(len(module_cases) + len(role_cases)),
}
MARKER = re.compile(r"(<!-- count:([a-z-]+) -->)(.*?)(<!-- /count -->)", re.S)
stale = []
for doc in ("docs/testing.md", "README.md"):
    path = root / doc
    text = path.read_text()
    new = MARKER.sub(lambda m: m.group(1) + counts[m.group(2)] + m.group(4), text)
    if new != text:
        stale.append(doc)
        if "--check" not in sys.argv:
            path.write_text(new)
if "--check" in sys.argv:
    for doc in stale:
        print("%s: refusal counts differ from the tests; run python3 scripts/gen-refusal-counts.py" % doc)
    sys.exit(1 if stale else 0)
print("refusal counts: %s" % ", ".join("%s=%s" % item for item in sorted(counts.items())))

"""The ansible-core versions the docs name are the ones make test runs (make lint runs this).

- Every `pip install ansible-core==X` line of README.md and docs/quick-start.md pins a version
  a test runs: the host's (requirements-test.txt) or a controller's
  (tests/controller/requirements-CORE.txt), and both docs show the newest controller's.
- The ansible-core row of docs/quick-start.md's supported-platforms table names, as
  `tested on every run`, exactly the minor versions make test runs sanity for: the host's,
  SANITY_CORE_VERSIONS and the controllers'; and names the scenarios of CONTROLLER_SCENARIOS.
- That row quotes meta/runtime.yml's requires_ansible as it is."""

import pathlib
import re
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
problems = []


def pin(path, name="ansible-core"):
    match = re.search(r"^%s==([0-9.]+)\s*$" % re.escape(name), (root / path).read_text(), re.M)
    if not match:
        problems.append("%s pins no %s" % (path, name))
        return None
    return match.group(1)


def make_variable(name):
    """A variable of the Makefile, as make expands it."""
    out = subprocess.run(["make", "-s", "-f", "Makefile", "-f", "-", "print-variable"], cwd=root, check=True,
                         input="print-variable:\n\t@echo $(%s)\n" % name, capture_output=True, text=True)
    return out.stdout.split()


def minor(version):
    return ".".join(version.split(".")[:2])


host = pin("requirements-test.txt")
controllers = {}
for req in sorted((root / "tests" / "controller").glob("requirements-*.txt")):
    controllers[req.name[len("requirements-"):-len(".txt")]] = pin(req.relative_to(root))
newest = max(controllers, key=lambda v: tuple(int(p) for p in v.split(".")))
tested = {v for v in [host] + list(controllers.values()) if v}

for doc in ("README.md", "docs/quick-start.md"):
    shown = re.findall(r"pip install .*?ansible-core==([0-9.]+)", (root / doc).read_text())
    if controllers[newest] not in shown:
        problems.append("%s shows no `pip install ansible-core==%s` (tests/controller/requirements-%s.txt)"
                        % (doc, controllers[newest], newest))
    for version in shown:
        if version not in tested:
            problems.append("%s shows ansible-core==%s, which no test runs (%s)" % (doc, version, ", ".join(sorted(tested))))

every_run = {minor(v) for v in [host] + make_variable("SANITY_CORE_VERSIONS") + list(controllers.values()) if v}
row = next((line for line in (root / "docs" / "quick-start.md").read_text().splitlines()
            if line.startswith("| ansible-core |")), "")
match = re.search(r"tested on every run: ([0-9., and]+?)[:;(]", row)
named = set(re.findall(r"2\.[0-9]+", match.group(1))) if match else set()
if named != every_run:
    problems.append("docs/quick-start.md: the ansible-core row says tested on every run: %s; make test runs sanity of %s"
                    % (", ".join(sorted(named)) or "nothing", ", ".join(sorted(every_run))))
for scenario in make_variable("CONTROLLER_SCENARIOS"):
    if "`%s`" % scenario not in row:
        problems.append("docs/quick-start.md: the ansible-core row does not name `%s`, which runs on %s" % (scenario, newest))
runtime = re.search(r'^requires_ansible: *"([^"]+)"', (root / "meta" / "runtime.yml").read_text(), re.M)
if not runtime or ('`requires_ansible: "%s"`' % runtime.group(1)) not in row:
    problems.append("docs/quick-start.md: the ansible-core row does not quote meta/runtime.yml's requires_ansible (%s)"
                    % (runtime.group(1) if runtime else "missing"))

for problem in problems:
    print(problem)
print("ansible-core versions in the docs: %d problem(s)" % len(problems))
sys.exit(1 if problems else 0)

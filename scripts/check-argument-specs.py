"""Every role default is declared in meta/argument_specs.yml with the same value,
and every declared option either has a default in defaults/main.yml or is required."""

import pathlib
import sys

import yaml


def _templated(value):
    """A default computed on the controller (a Jinja expression) cannot be written as a value."""
    return isinstance(value, str) and "{{" in value


root = pathlib.Path(__file__).resolve().parent.parent
problems = []
for role in sorted((root / "roles").iterdir()):
    specs_file = role / "meta" / "argument_specs.yml"
    defaults_file = role / "defaults" / "main.yml"
    if not specs_file.exists():
        problems.append(f"{role.name}: no meta/argument_specs.yml")
        continue
    options = yaml.safe_load(specs_file.read_text())["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
    defaults = defaults or {}
    for name in sorted(set(defaults) - set(options)):
        problems.append(f"{role.name}: default {name} is not declared in meta/argument_specs.yml")
    for name, spec in sorted(options.items()):
        if name not in defaults and not spec.get("required"):
            problems.append(f"{role.name}: option {name} has no default and is not required")
        if name in defaults and spec.get("required"):
            problems.append(f"{role.name}: option {name} is required but has a default")
        if name in defaults and "default" in spec and spec["default"] != defaults[name]:
            problems.append(f"{role.name}: option {name} defaults to {spec['default']!r} in meta/argument_specs.yml "
                            f"but to {defaults[name]!r} in defaults/main.yml")
        if name in defaults and "default" not in spec and not _templated(defaults[name]):
            problems.append(f"{role.name}: option {name} has no default in meta/argument_specs.yml "
                            f"(defaults/main.yml: {defaults[name]!r})")
        if "description" not in spec:
            problems.append(f"{role.name}: option {name} has no description")

for problem in problems:
    print(problem, file=sys.stderr)
print(f"argument specs: {len(problems)} problem(s)")
sys.exit(1 if problems else 0)

"""The shell commands the user docs show, as written (docs/testing.md, "Commands in the docs").

A fenced block whose info string is sh, bash, shell or console holds commands: one per line,
a trailing backslash continues it, `#` lines are comments. A comment line `# real host only`
(with an optional reason after a colon) marks the next command as meant for a real host; as the
first line of a block it marks the whole block. Fences with another info string hold files
(yaml, ini, cron) and are not commands. A fence with an info string this module does not know
is an error, so a command cannot hide from the test in an unusual fence.

Each doc lists its placeholders in a line starting with `Placeholders:`, every one in
backticks; the test may substitute those and nothing else."""

import pathlib
import re

SHELL_FENCES = {"sh", "bash", "shell", "console"}
FILE_FENCES = {"yaml", "yml", "ini", "cron", "json", "text", "jinja"}
MARKER = re.compile(r"^#\s*real host only\b", re.I)
FENCE = re.compile(r"^(\s*)```(.*)$")


class DocError(Exception):
    pass


class Command:
    def __init__(self, doc, line, text, marked):
        self.doc, self.line, self.text, self.marked = doc, line, text, marked

    def __repr__(self):
        return "%s:%d %s%s" % (self.doc, self.line, "[real host only] " if self.marked else "", self.text)


def placeholders(path):
    """The backticked names of the doc's `Placeholders:` line (one line, or a paragraph)."""
    text = pathlib.Path(path).read_text()
    match = re.search(r"^Placeholders:(.*?)(?:\n\n|\Z)", text, re.M | re.S)
    return set(re.findall(r"`([^`]+)`", match.group(1))) if match else set()


def commands(path):
    """Every command of the doc's shell fences, in order."""
    found = []
    lines = pathlib.Path(path).read_text().splitlines()
    name = pathlib.Path(path).name
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, info = fence.group(1), fence.group(2).strip().split()
        kind = info[0] if info else ""
        if kind not in SHELL_FENCES | FILE_FENCES:
            raise DocError("%s:%d: fence '%s' is neither a shell fence (%s) nor a file (%s)"
                           % (name, i + 1, kind, ", ".join(sorted(SHELL_FENCES)), ", ".join(sorted(FILE_FENCES))))
        body_start = i + 1
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^%s```\s*$" % re.escape(indent), lines[i]):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        if i >= len(lines):
            raise DocError("%s:%d: fence never closed" % (name, body_start))
        i += 1
        if kind not in SHELL_FENCES:
            continue
        block_marked = bool(body) and bool(MARKER.match(body[0].strip()))
        marked_next = False
        j = 0
        while j < len(body):
            text = body[j].strip()
            start = j
            j += 1
            if not text:
                continue
            if text.startswith("#"):
                marked_next = marked_next or bool(MARKER.match(text))
                continue
            while text.endswith("\\") and j < len(body):
                text = text[:-1].rstrip() + " " + body[j].strip()
                j += 1
            found.append(Command(name, body_start + start + 1, text, block_marked or marked_next))
            marked_next = False
    return found


def main():
    """`make lint`: every doc parses, and lists what the join scenario will run and skip."""
    root = pathlib.Path(__file__).resolve().parents[3]
    problems = 0
    # The OIDC section's commands of docs/server-role.md run in molecule oidc (its test_oidc.py).
    for doc, scenario in (("docs/quick-start.md", "join"), ("docs/client-role.md", "join"), ("docs/operations.md", "join"),
                          ("docs/monitoring.md", "join"), ("docs/server-role.md", "oidc")):
        try:
            found = commands(root / doc)
        except DocError as error:
            print(error)
            problems += 1
            continue
        marked = sum(1 for c in found if c.marked)
        print("%s: %d command(s) run by molecule %s, %d marked real host only" % (doc, len(found) - marked, scenario, marked))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

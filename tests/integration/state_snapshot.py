"""Print, as one JSON line, everything a module call could change: headscale's
users, pre-auth keys, nodes and API keys (read with the real CLI), every file under the
given directories (secrets files, registration and key ledgers) with its
content, and the commands that change the server which the headscale wrapper
saw (what the audit trail would record).

usage: python3 state_snapshot.py BINARY CONFIG COMMAND_LOG DIR..."""

import hashlib
import json
import os
import subprocess
import sys

READ_ONLY = (("users", "list"), ("nodes", "list"), ("preauthkeys", "list"), ("version",), ("health",),
             ("policy", "get"), ("apikeys", "list"))


def cli(binary, config, *args):
    out = subprocess.run([binary, "-c", config, "-o", "json"] + list(args), capture_output=True, text=True,
                         check=True, stdin=subprocess.DEVNULL).stdout.strip()
    return json.loads(out) if out else None


def changing(line):
    words = tuple(w for w in line.split() if not w.startswith("-"))
    # The wrapper logs "-c CONFIG -o json ARGS": skip the global flags' values.
    words = tuple(w for w in words if w not in ("json",) and not w.endswith(".yaml"))
    return not any(words[:len(c)] == c for c in READ_ONLY)


def main():
    binary, config, log = sys.argv[1:4]
    files = {}
    for top in sys.argv[4:]:
        for root, _dirs, names in os.walk(top):
            for name in names:
                path = os.path.join(root, name)
                if os.path.islink(path):
                    files[path] = "-> " + os.readlink(path)
                elif os.path.isfile(path):
                    with open(path, "rb") as f:
                        files[path] = hashlib.sha256(f.read()).hexdigest()
                else:
                    files[path] = "special"
    commands = []
    if os.path.exists(log):
        with open(log) as f:
            commands = [line.strip() for line in f if changing(line)]
    print(json.dumps(dict(users=cli(binary, config, "users", "list"), preauthkeys=cli(binary, config, "preauthkeys", "list"),
                          nodes=cli(binary, config, "nodes", "list"),
                          apikeys=cli(binary, config, "apikeys", "list"), files=files, changing_commands=commands),
                     sort_keys=True))


if __name__ == "__main__":
    main()

"""Docs are code: every shell command of docs/quick-start.md, docs/client-role.md and
docs/operations.md runs as written against this scenario's containers, and must succeed,
unless the doc marks it `# real host only` (doc_commands.py says how commands are found).

Only the placeholders a doc lists on its `Placeholders:` line are substituted. Where a command
runs follows from its first word: ansible*, make, pip and python3 on the controller (this
process), tailscale on a client, anything else on the headscale server. The commands run in
doc order, after every other test of the scenario (conftest.py), and the clients are enrolled
again as the inventory says at the end."""

import os
import pathlib
import re
import shlex
import subprocess

import pytest

from conftest import CLIENTS, SERVER, get, server_nodes  # pylint: disable=import-error
from doc_commands import commands, placeholders  # pylint: disable=import-error

ROOT = pathlib.Path(__file__).resolve().parents[3]
DOCS = ("docs/quick-start.md", "docs/client-role.md", "docs/operations.md")
CONTROLLER = {"ansible", "ansible-playbook", "ansible-galaxy", "ansible-doc", "make", "pip", "python3"}
ALL = [command for doc in DOCS for command in commands(ROOT / doc)]


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """Values for the placeholders; the node of hs-join-c1 is the one the docs' removal deletes."""
    client = get(CLIENTS[0])
    key = client.run("tailscale status --json").stdout
    node_key = re.search(r'"PublicKey":\s*"(nodekey:[0-9a-f]+)"', key).group(1)
    nodes = server_nodes(get(SERVER))
    node = [n for n in nodes if n["node_key"] == node_key][0]
    values = {
        "inventory.yml": os.environ["MOLECULE_INVENTORY_FILE"],
        "hs1": SERVER,
        "webservers": "tailnet_clients",
        "web3": CLIENTS[0],
        "node:5": "node:%d" % node["id"],
        # "Remove the ones you do not recognise": none here, so an ID no node has (deleting 12
        # could hit a client of this scenario once a re-run of verify has counted that far).
        "id=12": "id=%d" % (max(n["id"] for n in nodes) + 1000),
        "/root/key.yml": str(tmp_path_factory.mktemp("docs") / "key.yml"),
    }
    yield values
    # Back as the inventory says, for a re-run of verify.
    done = subprocess.run(["ansible-playbook", "-i", values["inventory.yml"], "tailnet.headscale.join"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]


def substitute(command, values):
    listed = placeholders(ROOT / "docs" / command.doc)
    text = command.text
    for name in sorted(listed, key=len, reverse=True):
        if name in values:
            text = re.sub(r"(?<![\w.-])%s(?![\w-])" % re.escape(name), values[name], text)
    return text


@pytest.mark.parametrize("command", ALL, ids=["%s:%d" % (c.doc, c.line) for c in ALL])
def test_doc_command_runs_as_written(command, context):
    if command.marked:
        pytest.skip("marked real host only")
    text = substitute(command, context)
    first = shlex.split(text)[0]
    if first in CONTROLLER:
        done = subprocess.run(["bash", "-o", "pipefail", "-c", text], capture_output=True, text=True,
                              check=False, timeout=600, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
        rc, output = done.returncode, done.stdout[-3000:] + done.stderr[-2000:]
    else:
        host = get(CLIENTS[0] if first == "tailscale" else SERVER)
        done = host.run("bash -o pipefail -c %s" % shlex.quote(text))
        rc, output = done.rc, done.stdout[-3000:] + done.stderr[-2000:]
    assert rc == 0, "%r (as run: %s) failed with rc %d:\n%s" % (command, text, rc, output)


def test_the_docs_have_commands_and_mark_few():
    """The extraction finds the commands (a broken parser would make every test above vanish)."""
    run = [c for c in ALL if not c.marked]
    assert len({c.doc for c in run}) == len(DOCS), ALL
    assert len(run) >= 15 and len(run) > len(ALL) - len(run), ALL


def test_the_server_has_its_sites_paths_only(server):
    """The ad-hoc module calls above cannot pass through the modules' defaults: the server has
    headscale only at the inventory's non-default headscale_binary_path and headscale_config_dir."""
    assert not server.file("/etc/headscale").exists
    assert server.run("command -v headscale").rc != 0
    assert server.file(server.ansible.get_variables()["headscale_config_dir"] + "/config.yaml").exists

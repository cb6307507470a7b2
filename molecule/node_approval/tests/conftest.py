"""Fixtures of the scenario; the client helpers are shared (molecule/resources/clients.py)."""

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
# The shared `clients` fixture, imported so pytest registers it here.
from clients import clients  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


@pytest.fixture
def node_module(host):
    """Run tailnet.headscale.node ad hoc on the server, as an admin would; return its result."""

    def run(**args):
        env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.json")
        done = subprocess.run(
            ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], host.backend.host,
             "-m", "tailnet.headscale.node", "-a", json.dumps(args)],
            capture_output=True, text=True, env=env, check=False)
        output = json.loads(done.stdout)
        result = output["plays"][0]["tasks"][0]["hosts"][host.backend.host]
        # The play's stats are the reliable failure signal across callback settings.
        result["failed"] = output["stats"][host.backend.host]["failures"] > 0
        return result

    return run

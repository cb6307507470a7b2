"""Fixtures of the scenario; the client helpers are shared (molecule/resources/clients.py)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
from clients import Client  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def laptop(host):
    """A real client enrolled while the previous minor serves; it lives through every test."""
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "declared-keys.yml")) as f:
        secret = yaml.safe_load(f)[0]["key"]
    client = Client(host, "laptop").start()
    assert client.up(secret).rc == 0
    client.wait_running()
    yield client
    client.stop()


@pytest.fixture
def playbook(host):
    """Run a collection playbook against the instance as an admin would; return (stats, failure messages)."""

    def run(name, **extra_vars):
        env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.json")
        extra_vars.setdefault("headscale_target_hosts", host.backend.host)
        # The playbooks become root; the container connection already is root (and has no sudo).
        extra_vars.setdefault("ansible_become", False)
        done = subprocess.run(
            ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "tailnet.headscale." + name,
             "-e", json.dumps(extra_vars)],
            capture_output=True, text=True, env=env, check=False)
        try:
            output = json.loads(done.stdout)
        except ValueError:
            raise AssertionError("no JSON from ansible-playbook: %s %s" % (done.stdout[-2000:], done.stderr[-2000:]))
        failures = [result.get("msg", "") for play in output["plays"] for task in play["tasks"]
                    for result in task["hosts"].values() if result.get("failed") and not result.get("ignore_errors")]
        return output["stats"][host.backend.host], failures

    return run

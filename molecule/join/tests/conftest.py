"""Fixtures of the join scenario: the server and both clients as testinfra hosts,
and the join playbook run as an admin runs it."""

import functools
import json
import os
import subprocess
import sys

import pytest
import testinfra
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))

SERVER = "hs-join-server"
CLIENTS = ("hs-join-c1", "hs-join-c2")
ROLE_DEFAULTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "server", "defaults", "main.yml")


def get(name):
    return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, os.environ["MOLECULE_INVENTORY_FILE"]))


class Node:
    """A client container, read through its own tailscale CLI."""

    def __init__(self, name):
        self.name = name
        self.host = get(name)

    def status(self):
        return json.loads(self.host.check_output("tailscale status --json"))

    def prefs(self):
        return json.loads(self.host.check_output("tailscale debug prefs"))

    def peer_names(self):
        return sorted(p["HostName"] for p in (self.status().get("Peer") or {}).values())


@pytest.fixture(scope="session")
def server():
    return get(SERVER)


@pytest.fixture(scope="session")
def c1():
    return Node(CLIENTS[0])


@pytest.fixture(scope="session")
def c2():
    return Node(CLIENTS[1])


@functools.lru_cache(maxsize=None)
def headscale():
    """The headscale command on the server: the inventory's headscale_binary_path and
    headscale_config_dir (this scenario sets both to non-default paths), else the role's defaults."""
    with open(ROLE_DEFAULTS) as handle:
        defaults = yaml.safe_load(handle)
    inventory = get(SERVER).ansible.get_variables()
    return "%s -c %s/config.yaml" % (inventory.get("headscale_binary_path", defaults["headscale_binary_path"]),
                                     inventory.get("headscale_config_dir", defaults["headscale_config_dir"]))


def server_nodes(server):
    return json.loads(server.check_output(headscale() + " -o json nodes list")) or []


def server_keys(server):
    return json.loads(server.check_output(headscale() + " -o json preauthkeys list")) or []


@pytest.fixture
def join():
    """Run tailnet.headscale.join; return (stats by host, failure messages, stdout)."""

    def run(limit, callback="ansible.builtin.json", **extra_vars):
        env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK=callback,
                   ANSIBLE_CALLBACKS_ENABLED=callback, ANSIBLE_NOCOLOR="1")
        argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "tailnet.headscale.join", "-l", limit]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if callback != "ansible.builtin.json":
            return None, done.returncode, done.stdout + done.stderr
        try:
            output = json.loads(done.stdout)
        except ValueError:
            raise AssertionError("no JSON from ansible-playbook: %s %s" % (done.stdout[-2000:], done.stderr[-2000:]))
        failures = []
        for play in output["plays"]:
            for task in play["tasks"]:
                for result in task["hosts"].values():
                    if result.get("failed") and not result.get("ignore_errors"):
                        # A loop's own message is only "One or more items failed": take the items'.
                        items = [item.get("msg", "") for item in result.get("results", []) if item.get("failed")]
                        failures.extend(items or [result.get("msg", "")])
        return output["stats"], failures, done.stdout

    return run


def pytest_collection_modifyitems(items):
    """The docs' commands run last: they remove and re-enrol hosts, and revoke every key."""
    items.sort(key=lambda item: os.path.basename(str(item.fspath)) == "test_docs_commands.py")

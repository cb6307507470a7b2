"""Fixtures of the scenario; the client helpers and the versions are shared
(molecule/resources/clients.py, versions.py)."""

import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
from clients import Client, playbook  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
from versions import PINNED, PREVIOUS  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


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

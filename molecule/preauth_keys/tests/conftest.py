"""Fixtures of the scenario; the client helpers are shared (molecule/resources/clients.py)."""

import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
# The shared `clients` fixture, imported so pytest registers it here.
from clients import clients, mint, playbook  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


@pytest.fixture
def declared_keys():
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "declared-keys.yml")) as f:
        return yaml.safe_load(f)

"""Fixtures of the scenario; the client helpers are shared (molecule/resources/clients.py)."""

import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
# The shared fixtures, imported so pytest registers them here.
from clients import clients, mint, playbook, run_module  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


@pytest.fixture
def node_module(run_module):  # noqa: F811  pylint: disable=redefined-outer-name
    """tailnet.headscale.node, ad hoc on the server."""
    return lambda **args: run_module("node", **args)


@pytest.fixture
def declared_keys():
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "declared-keys.yml")) as f:
        return yaml.safe_load(f)

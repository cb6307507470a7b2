"""Fixtures of the scenario; the client helpers are shared (molecule/resources/clients.py)."""

import json
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
# The shared `clients` fixture, imported so pytest registers it here.
from clients import clients  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


@pytest.fixture
def mint(host, tmp_path):
    """Mint a key with the module, as an admin would; return (id, secret)."""

    def _mint(**args):
        path = tmp_path / ("key-%d.yml" % len(list(tmp_path.iterdir())))
        args = " ".join("%s=%s" % (k, json.dumps(v) if not isinstance(v, str) else v) for k, v in args.items())
        host.ansible("tailnet.headscale.preauth_key", "%s fresh=true secrets_file=%s" % (args, path), check=False)
        entry = yaml.safe_load(path.read_text())[0]
        return entry["id"], entry["key"]

    return _mint


@pytest.fixture
def declared_keys():
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "declared-keys.yml")) as f:
        return yaml.safe_load(f)

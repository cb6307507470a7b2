"""Every output both headscale versions were recorded giving, through the
client's parsing: each error reduces to one line naming the cause, and each
object normalises with its ID intact (fixtures/<version>/index.json)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest

from ansible_collections.tailnet.headscale.plugins.module_utils import headscale as hs

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
VERSIONS = ["0.28.0", "0.29.3"]
NORMALIZERS = {
    ("users", "list"): hs.normalize_user, ("users", "create"): hs.normalize_user, ("apikeys", "list"): hs.normalize_api_key,
    ("users", "rename"): hs.normalize_user,
    ("preauthkeys", "list"): hs.normalize_preauth_key, ("preauthkeys", "create"): hs.normalize_preauth_key,
    ("nodes", "list"): hs.normalize_node, ("nodes", "list-routes"): hs.normalize_node,
    ("nodes", "register"): hs.normalize_node, ("auth", "register"): hs.normalize_node,
    ("nodes", "expire"): hs.normalize_node, ("nodes", "rename"): hs.normalize_node,
    ("nodes", "tag"): hs.normalize_node, ("nodes", "approve-routes"): hs.normalize_node,
}


def is_error(entry):
    return entry["rc"] == 1 and bool(entry["stderr_file"])


def is_object(entry):
    return entry["rc"] == 0 and command(entry) in NORMALIZERS and (entry["stdout_file"] or "").endswith(".json")


def covered(entry):
    """Whether a test here reads this recorded call."""
    return entry["argv"][0].endswith("/headscale") and (is_error(entry) or is_object(entry))


def entries(predicate):
    params = []
    for version in VERSIONS:
        with open(os.path.join(FIXTURES, version, "index.json")) as index:
            for entry in json.load(index):
                if entry["argv"][0].endswith("/headscale") and predicate(entry):
                    params.append(pytest.param(version, entry, id="%s-%s" % (entry["name"], version)))
    return params


def read(version, name):
    with open(os.path.join(FIXTURES, version, name)) as f:
        return f.read()


def command(entry):
    words = [a for a in entry["argv"][1:] if not a.startswith("-")]
    words = [w for w in words if w not in ("json", "json-line") and not w.startswith("/")]
    return tuple(words[:2])


@pytest.mark.parametrize("version, entry", entries(is_error))
def test_every_recorded_error_reduces_to_its_cause(version, entry):
    stderr = read(version, entry["stderr_file"])
    message, code = hs.HeadscaleClient._error_message(stderr, "")
    assert message and "\n" not in message
    assert not message.startswith(("{", "Error:", "Usage:")), message
    assert message in stderr.replace("\\\"", "\"") or message in stderr
    rpc = re.search(r"rpc error: code = (\w+)", stderr)
    assert code == (rpc.group(1) if rpc else None)


@pytest.mark.parametrize("version, entry", entries(is_object))
def test_every_recorded_object_normalises(version, entry):
    data = json.loads(read(version, entry["stdout_file"]))
    raw_items = data if isinstance(data, list) else [data] if data is not None else []
    normalize = NORMALIZERS[command(entry)]
    for raw in raw_items:
        item = normalize(raw)
        assert item["id"] == raw["id"] and isinstance(item["id"], int)
        if normalize is hs.normalize_node:
            assert item["node_key"].startswith("nodekey:") and item["name"]
        if normalize is hs.normalize_user:
            assert item["name"] == raw["name"]
        if normalize is hs.normalize_api_key:
            assert item["prefix"].startswith("hskey-api-") and len(item["prefix"]) == len("hskey-api-") + 12
            assert item["created_at"] and item["expiration"]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_node_key_a_client_reports_is_the_one_headscale_lists(version):
    """node's expected_node_key is what its owner reads from `tailscale status
    --json` (Self.PublicKey): it must be the node_key headscale lists."""
    status = json.loads(read(version, "tailscale_status_node1.json"))
    nodes = [hs.normalize_node(n) for n in json.loads(read(version, "nodes_list_after_authkey.json"))]
    assert status["BackendState"] == "Running"
    assert [n["node_key"] for n in nodes if n["hostname"] == status["Self"]["HostName"]] == [status["Self"]["PublicKey"]]
    # A client whose key was refused has no key of its own yet, and no node.
    refused = json.loads(read(version, "tailscale_status_node2_after_reuse.json"))
    assert refused["BackendState"] == "NeedsLogin"
    assert set(refused["Self"]["PublicKey"].split(":")[1]) == set("0")

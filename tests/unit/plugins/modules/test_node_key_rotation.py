"""tailnet.headscale.node_key_rotation on recorded headscale CLI output: the cases are in cases/node_key_rotation.yaml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.tailnet.headscale.tests.unit.plugins.modules.cli_cases import check_case, load


@pytest.mark.parametrize("module_name, case, version", load("node_key_rotation"))
def test_node_key_rotation(module_name, case, version, monkeypatch, tmp_path):
    check_case(module_name, case, version, monkeypatch, tmp_path)


@pytest.mark.parametrize("version", ["0.28.0", "0.29.3"])
def test_the_ledger_forgets_nodes_that_no_longer_exist(version, monkeypatch, tmp_path):
    """The key ledger stays bounded: an entry for a node headscale no longer has is dropped."""
    gone = {"node_key": "nodekey:" + "7" * 64, "issued_at": "2026-01-01T00:00:00Z", "source": "created"}
    case = dict(id="ledger pruned", input=dict(max_key_age="1d", ledger_file="ledger.json"),
                files=dict(headscale_config="node: {expiry: 0}\n", ledger_file={"nodes": {"77": gone}}),
                run=[dict(cmd="version", fixture="version"), dict(cmd="nodes list", fixture="nodes_list_all")],
                output=dict(changed=False))
    result = check_case("node_key_rotation", case, version, monkeypatch, tmp_path)
    with open(result["_files"]["ledger_file"]) as handle:
        assert sorted(json.load(handle)["nodes"]) == ["1", "2", "3", "4"]

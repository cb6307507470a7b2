"""tailnet.headscale.node on recorded headscale CLI output: the cases are in cases/node.yaml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.tailnet.headscale.tests.unit.plugins.modules.cli_cases import check_case, load


@pytest.mark.parametrize("module_name, case, version", load("node"))
def test_node(module_name, case, version, monkeypatch, tmp_path):
    check_case(module_name, case, version, monkeypatch, tmp_path)


# The registrations file stays bounded: what nothing can ask for again is dropped.
PRUNE_FILE = {
    "gone-long-ago": {"node_id": 99, "user": "alice", "at": "2026-11-22T06:00:00Z"},
    "gone-just-now": {"node_id": 98, "user": "alice", "at": "2026-11-22T06:50:00Z"},
    "live-and-old": {"node_id": 1, "user": "alice", "at": "2026-11-01T00:00:00Z"},
    "rejected-long-ago": {"rejected": True, "at": "2026-11-20T07:00:00Z"},
    "rejected-today": {"rejected": True, "at": "2026-11-22T01:00:00Z"},
}


@pytest.mark.parametrize("version", ["0.28.0", "0.29.3"])
@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_registrations_of_deleted_nodes_are_pruned(version, check, monkeypatch, tmp_path):
    auth_id = {"0.28.0": "K6w8LVBdwhekqI_HkYYho3A-", "0.29.3": "hskey-authreq-bx94d6cJG3eaTxupYAJIq6t-"}[version]
    register = {"0.28.0": ["nodes", "register", "--key", auth_id, "--user", "alice"],
                "0.29.3": ["auth", "register", "--auth-id", auth_id, "--user", "alice"]}[version]
    case = dict(id="prune", input=dict(state="registered", auth_id=auth_id, user="alice", registrations_file="reg.json"),
                files=dict(registrations_file=PRUNE_FILE), check=check,
                run=[dict(cmd="users list", fixture="users_list"), dict(cmd="nodes list", fixture="nodes_list_while_pending")]
                + ([] if check else [dict(cmd="version", fixture="version"),
                                     dict(cmd=register, fixture={"0.28.0": "nodes_register", "0.29.3": "auth_register"}[version])]),
                output=dict(changed=True))
    result = check_case("node", case, version, monkeypatch, tmp_path)
    with open(result["_files"]["registrations_file"]) as handle:
        kept = json.load(handle)
    if check:
        assert kept == PRUNE_FILE  # check mode writes nothing
    else:
        # Node 99 is gone and headscale forgot its auth id; node 98's id may still be asked about;
        # node 1 exists; an old rejection goes, today's stays; the new approval is recorded.
        assert sorted(kept) == sorted(["gone-just-now", "live-and-old", "rejected-today", auth_id])

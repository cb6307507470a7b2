"""tailnet.headscale.node input handling against a real headscale (both versions).
Registrations with real clients are proven in molecule/node_approval."""

import pytest

AUTH_ID = {"0.28.0": "AbCdEfGhIjKlMnOpQrStUvWx", "0.29.3": "hskey-authreq-AbCdEfGhIjKlMnOpQrStUvWx"}
KEY = "nodekey:" + "ab" * 32


@pytest.fixture(scope="module", autouse=True)
def users(headscale):
    headscale.module("user", name="nina")


@pytest.mark.parametrize("args,words", [
    ({"state": "registered", "auth_id": "AUTH", "user": "ghost"}, ["'ghost'", "does not exist"]),
    ({"state": "registered", "auth_id": "not an id!", "user": "nina"}, ["'not an id!'"]),
    ({"state": "registered", "auth_id": "AUTH", "user": "nina"}, ["not pending"]),
    ({"state": "registered", "auth_id": "AUTH"}, ["needs user"]),
    ({"state": "registered", "auth_id": "AUTH", "user": "nina", "expected_node_key": "nodekey:xyz"}, ["'nodekey:xyz'"]),
    ({"id": 0, "state": "absent"}, ["positive", "0"]),
    ({"id": -4, "state": "expired"}, ["-4"]),
    ({"id": 424242, "state": "expired"}, ["id=424242"]),
    ({"name": "nosuchnode", "tags": ["server"]}, ["'server'", "tag:"]),
    ({"id": 1, "name": "x", "state": "absent"}, ["exactly one", "id, name"]),
    ({"state": "registered", "auth_id": "AUTH", "user": "nina", "id": 3}, ["auth_id", "id"]),
    ({"name": "x", "state": "expired", "rename_to": "y"}, ["state=present"]),
])
def test_bad_input_is_refused_naming_the_value_and_changes_nothing(headscale, tmp_path, args, words):
    args = dict(args, registrations_file=str(tmp_path / "reg.json"))
    if args.get("auth_id") == "AUTH":
        args["auth_id"] = AUTH_ID[headscale.version]
    before = (headscale.state("nodes"), headscale.state("users"))
    result, out = headscale.module("node", **args)
    assert result.get("failed"), out
    for word in words:
        assert word in result["msg"], result["msg"]
    assert (headscale.state("nodes"), headscale.state("users")) == before


def test_absent_on_a_missing_node_changes_nothing(headscale, tmp_path):
    result, out = headscale.module("node", name="never-existed", state="absent",
                                   registrations_file=str(tmp_path / "reg.json"))
    assert not result.get("failed") and not result["changed"], out


def test_stopped_server_fails_with_headscales_message(headscale, tmp_path):
    result, out = headscale.module_while_stopped("node", node_key=KEY, state="expired",
                                                 registrations_file=str(tmp_path / "reg.json"))
    assert result.get("failed"), out
    assert "nodes list" in result["msg"]

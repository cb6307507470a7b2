"""tailnet.headscale.node input handling against a real headscale (both versions).
Registrations with real clients are proven in molecule/node_approval."""

import random
import string

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
    ({"state": "registered", "auth_id": "AUTH", "user": "nina", "expected_node_key": "0" * 64},
     ["all zeros", "expected_machine_key"]),
    ({"state": "registered", "auth_id": "AUTH", "user": "nina", "expected_machine_key": "nodekey:" + "ab" * 32},
     ["is not a machine key"]),
    ({"name": "x", "expected_machine_key": "ab" * 32}, ["expected_machine_key", "state=registered"]),
    ({"id": 0, "state": "absent"}, ["positive", "0"]),
    ({"id": -4, "state": "expired"}, ["-4"]),
    ({"id": 424242, "state": "expired"}, ["id=424242"]),
    ({"name": "nosuchnode", "tags": ["server"]}, ["'server'", "tag:"]),
    ({"id": 1, "name": "x", "state": "absent"}, ["exactly one", "id, name"]),
    ({"state": "registered", "auth_id": "AUTH", "user": "nina", "id": 3}, ["auth_id", "id"]),
    ({"name": "x", "state": "expired", "rename_to": "y"}, ["state=present"]),
    ({"name": "x", "state": "absent", "expected_node_key": KEY}, ["expected_node_key", "state=present"]),
    ({"name": "x", "quarantine_tag": "quarantine", "expected_node_key": KEY, "tags": ["tag:server"]}, ["'quarantine'", "tag:"]),
    ({"name": "x", "quarantine_tag": "tag:ci", "tags": ["tag:server"]}, ["needs expected_node_key"]),
    ({"name": "x", "quarantine_tag": "tag:ci", "expected_node_key": KEY}, ["needs tags"]),
    ({"name": "x", "quarantine_tag": "tag:ci", "expected_node_key": KEY, "tags": ["tag:ci"]}, ["include the quarantine tag tag:ci"]),
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


# Quarantine: tag:ci stands in for the quarantine tag (the test policy owns tag:ci and tag:server).
@pytest.fixture
def quarantined(headscale, tmp_path):
    name = "q-%s" % tmp_path.name[-8:].lower().replace("_", "")
    node = headscale.add_node(name, "nina")
    result, out = headscale.module("node", id=node["id"], tags=["tag:ci"])
    assert result["changed"], out
    yield result["node"]
    headscale.module("node", id=node["id"], state="absent")


def release(headscale, node, key, check=False):
    return headscale.module("node", check=check, diff=True, id=node["id"], quarantine_tag="tag:ci",
                            expected_node_key=key, tags=["tag:server"])


def test_quarantine_release_with_the_wrong_node_key_changes_nothing(headscale, quarantined):
    result, out = release(headscale, quarantined, KEY)
    assert result.get("failed"), out
    assert "mismatch" in result["msg"] and KEY in result["msg"] and quarantined["node_key"] in result["msg"]
    tags = next(n for n in headscale.state("nodes") if n["id"] == quarantined["id"])
    assert "tag:ci" in str(tags), tags


def test_quarantine_release_swaps_the_tag_once(headscale, quarantined):
    result, out = release(headscale, quarantined, quarantined["node_key"], check=True)
    assert result["changed"] and "release node" in result["actions"][0], out
    result, out = release(headscale, quarantined, quarantined["node_key"])
    assert result["changed"] and result["node"]["tags"] == ["tag:server"], out
    assert result["diff"]["before"]["tags"] == ["tag:ci"]
    result, out = release(headscale, quarantined, quarantined["node_key"].replace("nodekey:", ""))
    assert not result["changed"] and result["node"]["tags"] == ["tag:server"], out


def test_a_node_never_quarantined_is_not_retagged(headscale, tmp_path):
    node = headscale.add_node("free-%s" % tmp_path.name[-6:].lower().replace("_", ""), "nina")
    result, out = headscale.module("node", id=node["id"])
    key = result["node"]["node_key"]
    try:
        result, out = headscale.module("node", id=node["id"], quarantine_tag="tag:ci",
                                       expected_node_key=key, tags=["tag:server"])
        assert result.get("failed") and "not in quarantine" in result["msg"], out
        result, out = headscale.module("node", id=node["id"])
        assert result["node"]["tags"] == [], out
    finally:
        headscale.module("node", id=node["id"], state="absent")


def pending(headscale, name):
    """A pending registration without a device (debug create-node); returns its auth id."""
    auth_id = "".join(random.choice(string.ascii_letters) for position in range(24))
    if headscale.version >= "0.29":
        auth_id = "hskey-authreq-" + auth_id
    headscale.cli("debug", "create-node", "--name", name, "--user", "nina", "--key", auth_id)
    return auth_id


def test_a_new_node_failing_verification_is_deleted_and_the_result_says_changed(headscale, tmp_path):
    name = "new-%s" % tmp_path.name[-4:].lower().replace("_", "x")
    auth_id = pending(headscale, name)
    before = [n["id"] for n in headscale.state("nodes") or []]
    result, out = headscale.module("node", state="registered", auth_id=auth_id, user="nina",
                                   expected_machine_key="mkey:" + "cd" * 32, registrations_file=str(tmp_path / "r.json"))
    assert result.get("failed") and result["changed"], out
    assert "mismatch" in result["msg"] and "mkey:" + "cd" * 32 in result["msg"], out
    assert result["actions"][0].startswith("register") and result["actions"][1].startswith("delete node"), out
    assert [n["id"] for n in headscale.state("nodes") or []] == before
    assert not (tmp_path / "r.json").exists()


def test_absent_expires_the_node_before_deleting_it(headscale, tmp_path):
    node = headscale.add_node("gone-%s" % tmp_path.name[-4:].lower().replace("_", "x"), "nina")
    result, out = headscale.module("node", id=node["id"], state="absent", registrations_file=str(tmp_path / "r.json"))
    assert result["changed"] and [a.split()[0] for a in result["actions"]] == ["expire", "delete"], out
    assert node["id"] not in [n["id"] for n in headscale.state("nodes") or []]
    again, out = headscale.module("node", id=node["id"], state="absent", registrations_file=str(tmp_path / "r.json"))
    assert not again["changed"], out

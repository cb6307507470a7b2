"""tailnet.headscale.node_key_rotation against a real headscale (both versions).
A real client coming back with a new key is proven in molecule/key_rotation."""

import os
import stat
import time

import pytest


@pytest.fixture(scope="module")
def nodes(headscale):
    headscale.module("user", name="rota")
    headscale.module("user", name="rotb")
    return dict(a1=headscale.add_node("rot-a1", "rota"), a2=headscale.add_node("rot-a2", "rota"),
                b1=headscale.add_node("rot-b1", "rotb"))


def server_node(headscale, node_id):
    return next(n for n in headscale.state("nodes") if int(n["id"]) == int(node_id))


def is_expired(headscale, node_id):
    expiry = server_node(headscale, node_id).get("expiry")
    return bool(expiry) and int(expiry.get("seconds", 0)) > 0 and expiry["seconds"] <= time.time()


def rotate(headscale, tmp_path, check=False, diff=False, **args):
    args.setdefault("ledger_file", str(tmp_path / "keys.json"))
    return headscale.module("node_key_rotation", check=check, diff=diff, **args)


def test_a_fresh_key_is_current_and_dated_from_what_headscale_keeps(headscale, nodes, tmp_path):
    result, out = rotate(headscale, tmp_path, max_key_age="1h", users=["rota"])
    assert not result["changed"], out
    report = dict((n["name"], n) for n in result["nodes"])
    assert set(report) == {"rot-a1", "rot-a2"}
    assert all(n["status"] == "current" and n["key_age_days"] < 0.01 for n in report.values()), report
    # 0.29 stamps expiry = registration + node.expiry (180d here); 0.28 keeps only created_at.
    expected_source = "expiry" if headscale.version >= "0.29" else "created"
    assert {n["source"] for n in report.values()} == {expected_source}
    ledger = tmp_path / "keys.json"
    assert stat.S_IMODE(os.stat(str(ledger)).st_mode) == 0o600


def test_check_mode_reports_old_keys_and_expires_nothing(headscale, nodes, tmp_path):
    time.sleep(2)
    result, out = rotate(headscale, tmp_path, check=True, diff=True, max_key_age="1s", users=["rota"])
    assert result["changed"], out
    assert sorted(n["name"] for n in result["rotated"]) == ["rot-a1", "rot-a2"]
    assert result["diff"]["after"]["rot-a1"]["expired"] is True
    assert not is_expired(headscale, nodes["a1"]["id"])
    assert not (tmp_path / "keys.json").exists()


def test_old_keys_are_expired_once_and_a_scheduled_rerun_changes_nothing(headscale, nodes, tmp_path):
    time.sleep(2)
    result, out = rotate(headscale, tmp_path, max_key_age="1s", users=["rota"], exclude=["rot-a2"])
    assert result["changed"], out
    assert [n["name"] for n in result["rotated"]] == ["rot-a1"]
    assert is_expired(headscale, nodes["a1"]["id"])
    assert not is_expired(headscale, nodes["a2"]["id"]), "excluded node was expired"
    assert not is_expired(headscale, nodes["b1"]["id"]), "another user's node was expired"

    again, out = rotate(headscale, tmp_path, max_key_age="1s", users=["rota"], exclude=["rot-a2"])
    assert not again["changed"], out
    assert again["awaiting_reauth"] == ["rot-a1"]


@pytest.mark.parametrize("args,words", [
    ({"max_key_age": "90 days"}, ["'90 days'", "duration"]),
    ({"max_key_age": "0"}, ["zero", "'0'"]),
    ({"max_key_age": "1s", "tags": ["server"]}, ["'server'", "tag:"]),
    ({"max_key_age": "1s", "users": ["ghost", "rotb"]}, ["'ghost'", "do not exist"]),
    ({"max_key_age": "1s", "node_expiry": "forever"}, ["node_expiry", "'forever'"]),
])
def test_bad_input_is_refused_naming_the_value_and_changes_nothing(headscale, nodes, tmp_path, args, words):
    before = headscale.state("nodes")
    result, out = rotate(headscale, tmp_path, **args)
    assert result.get("failed"), out
    for word in words:
        assert word in result["msg"], result["msg"]
    assert headscale.state("nodes") == before


def test_stopped_server_fails_with_headscales_message(headscale, nodes, tmp_path):
    result, out = headscale.module_while_stopped("node_key_rotation", max_key_age="1s",
                                                 ledger_file=str(tmp_path / "keys.json"))
    assert result.get("failed"), out
    assert "command:" in result["msg"]

"""tailnet.headscale.user against a real headscale (both supported versions)."""


def names(headscale):
    return sorted(u["name"] for u in headscale.state("users") or [])


def test_create_then_second_run_changes_nothing(headscale):
    result, out = headscale.module("user", name="alice", display_name="Alice Example", email="alice@example.com")
    assert result["changed"], out
    assert result["user"]["name"] == "alice"
    assert "alice" in names(headscale)
    again, out = headscale.module("user", name="alice", display_name="Alice Example", email="alice@example.com")
    assert not again["changed"], out
    assert again["user"]["id"] == result["user"]["id"]


def test_check_mode_reports_but_does_not_create(headscale):
    result, out = headscale.module("user", check=True, diff=True, name="carol")
    assert result["changed"], out
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["name"] == "carol"
    assert "carol" not in names(headscale)


def test_list_form_reconciles_in_one_listing(headscale):
    declared = [{"name": "u%02d" % i} for i in range(5)]
    result, out = headscale.module("user", users=declared)
    assert result["changed"], out
    assert set("u%02d" % i for i in range(5)) <= set(names(headscale))
    again, out = headscale.module("user", users=declared)
    assert not again["changed"], out
    # One `users list` and nothing else when nothing differs.
    assert again["cli_calls"] == 1


def test_absent_removes_and_is_idempotent(headscale):
    headscale.module("user", name="dave")
    result, out = headscale.module("user", name="dave", state="absent")
    assert result["changed"], out
    assert "dave" not in names(headscale)
    again, out = headscale.module("user", name="dave", state="absent")
    assert not again["changed"], out


def test_changed_display_name_is_a_warning_not_a_change(headscale):
    headscale.module("user", name="erin", display_name="Erin")
    result, out = headscale.module("user", name="erin", display_name="Someone Else")
    assert not result["changed"], out
    assert any("cannot change" in w for w in result.get("warnings", [])), out


import pytest


@pytest.mark.parametrize("args,words", [
    ({"name": "x", "users": [{"name": "y"}]}, ["mutually exclusive"]),
    ({"users": [{"name": "frank", "state": "gone"}]}, ["'gone'", "frank"]),
    ({"users": [{"name": "gus", "colour": "red"}]}, ["colour"]),
    ({"users": [{"name": "hal"}, {"name": "hal"}]}, ["'hal'", "twice"]),
    ({"users": ["just-a-name"]}, ["'users'", "dict"]),
    ({"users": [{"display_name": "No Name"}]}, ["users[0]", "no name"]),
    ({"name": "ian", "state": "gone"}, ["gone"]),
    ({"name": "jo", "headscale_binary": "/nonexistent/headscale"}, ["/nonexistent/headscale"]),
    ({"name": "kim", "headscale_config": "/nonexistent/config.yaml"}, ["/nonexistent/config.yaml"]),
])
def test_bad_input_is_refused_naming_the_value_and_changes_nothing(headscale, args, words):
    before = names(headscale)
    result, out = headscale.module("user", **args)
    assert result.get("failed"), out
    for word in words:
        assert word in result["msg"], result["msg"]
    assert names(headscale) == before


def test_name_and_users_together_are_refused(headscale):
    before = names(headscale)
    result, out = headscale.module("user", name="x", users=[{"name": "y"}])
    assert result.get("failed"), out
    assert "mutually exclusive" in result["msg"]
    assert names(headscale) == before


def test_bad_state_in_list_names_the_value(headscale):
    before = names(headscale)
    result, out = headscale.module("user", users=[{"name": "frank", "state": "gone"}])
    assert result.get("failed"), out
    assert "'gone'" in result["msg"] and "frank" in result["msg"]
    assert names(headscale) == before


def test_stopped_server_fails_with_headscales_message(headscale):
    result, out = headscale.module_while_stopped("user", name="gina")
    assert result.get("failed"), out
    assert "users list" in result["msg"]
    assert "gina" not in names(headscale)

"""tailnet.headscale.preauth_key against a real headscale (both supported versions)."""

import os
import stat
import time

import pytest
import yaml


@pytest.fixture(scope="module", autouse=True)
def users(headscale):
    headscale.module("user", users=[{"name": "alice"}, {"name": "bob"}])


def keys(headscale):
    return headscale.state("preauthkeys") or []


def usable_ids(headscale):
    return sorted(k["id"] for k in keys(headscale) if not k.get("used") and k["expiration"]["seconds"] > time.time())


def mint(headscale, tmp_path, **args):
    """Run the module with a secrets file; return (result, minted entries)."""
    path = tmp_path / "minted.yml"
    if path.exists():
        path.unlink()
    result, out = headscale.module("preauth_key", secrets_file=str(path), **args)
    assert not result.get("failed"), out
    return result, (yaml.safe_load(path.read_text()) if path.exists() else [])


def test_present_mints_once_then_finds_the_usable_key(headscale, tmp_path):
    first, minted = mint(headscale, tmp_path, user="alice", tags=["tag:server"])
    assert first["changed"]
    assert minted[0]["key"].startswith("hskey-auth-")
    again, out = headscale.module("preauth_key", user="alice", tags=["tag:server"])
    assert not again["changed"], out
    assert again["preauth_key"]["id"] == minted[0]["id"]
    assert "key" not in again["preauth_key"]


def test_ad_hoc_mint_without_secrets_file_is_refused_before_minting(headscale):
    """An ad-hoc call registers nothing: without secrets_file the secret would reach nobody."""
    before = keys(headscale)
    for check in (False, True):
        result, out = headscale.module("preauth_key", check=check, user="alice", fresh=True)
        assert result.get("failed"), out
        assert "secrets_file" in result["msg"] and "Nothing was minted" in result["msg"], result["msg"]
        assert "hskey-auth-" not in out
    assert keys(headscale) == before


def test_ad_hoc_call_that_mints_nothing_needs_no_secrets_file(headscale, tmp_path):
    mint(headscale, tmp_path, user="bob", tags=["tag:server"], ephemeral=True)
    result, out = headscale.module("preauth_key", user="bob", tags=["tag:server"], ephemeral=True)
    assert not result.get("failed") and not result["changed"], out


def test_fresh_always_mints_a_new_single_use_key(headscale, tmp_path):
    before = len(keys(headscale))
    for attempt in range(2):
        result, minted = mint(headscale, tmp_path, user="bob", fresh=True)
        assert result["changed"], (attempt, result)
        assert minted and all("key" not in k for k in result["created"])
    assert len(keys(headscale)) == before + 2


def test_check_mode_mints_nothing(headscale, tmp_path):
    before = keys(headscale)
    result, out = headscale.module("preauth_key", check=True, user="bob", reusable=True, expiration="2h",
                                   secrets_file=str(tmp_path / "unused.yml"))
    assert result["changed"], out
    assert keys(headscale) == before
    assert not (tmp_path / "unused.yml").exists()


def test_absent_revokes_every_key_of_the_user_and_is_idempotent(headscale, tmp_path):
    mint(headscale, tmp_path, user="bob", reusable=True, ephemeral=True)
    result, out = headscale.module("preauth_key", user="bob", state="absent")
    assert result["changed"], out
    assert not [k for k in keys(headscale) if k.get("user", {}).get("name") == "bob"
                and k["id"] in usable_ids(headscale)]
    again, out = headscale.module("preauth_key", user="bob", state="absent")
    assert not again["changed"], out


def test_revoke_and_delete_by_id(headscale, tmp_path):
    minted = mint(headscale, tmp_path, user="alice", fresh=True)[1]
    key_id = minted[0]["id"]
    deleted, out = headscale.module("preauth_key", id=key_id, state="absent", delete=True)
    assert deleted["changed"], out
    assert key_id not in [k["id"] for k in keys(headscale)]


def test_list_form_reconciles_with_one_listing_and_writes_secrets_to_a_private_file(headscale, tmp_path):
    declared = [{"user": "alice", "tags": ["tag:ci"], "reusable": True, "expiration": "7d"},
                {"tags": ["tag:server"], "expiration": "30m"}]
    secrets = tmp_path / "keys.yml"
    result, out = headscale.module("preauth_key", keys=declared, secrets_file=str(secrets))
    assert result["changed"], out
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    text = secrets.read_text()
    assert text.count("hskey-auth-") == 2
    for entry in yaml.safe_load(text):
        assert entry["key"] not in out  # the secret went to the file, not the output
    again, out = headscale.module("preauth_key", keys=declared, secrets_file=str(secrets))
    assert not again["changed"], out
    assert again["cli_calls"] == 2  # keys list + users list, nothing else
    assert secrets.read_text() == text


@pytest.mark.parametrize("args,words", [
    ({"user": "ghost"}, ["'ghost'", "does not exist"]),
    ({"user": "alice", "expiration": "ten minutes"}, ["'ten minutes'", "duration"]),
    ({"user": "alice", "tags": ["server"]}, ["'server'", "tag:"]),
    ({"id": 0, "state": "absent"}, ["id", "0"]),
    ({"id": -3, "state": "absent"}, ["-3"]),
    ({"id": 99999, "state": "absent"}, ["99999"]),
    ({"id": 5}, ["state=absent"]),
    ({"user": "alice", "id": 5, "state": "absent"}, ["mutually exclusive"]),
    ({"reusable": True}, ["user, tags"]),
    ({"keys": [{"user": "alice", "colour": "red"}]}, ["colour"]),
    ({"all": True}, ["all=true", "state=absent"]),
    ({"all": True, "user": "alice", "state": "absent"}, ["mutually exclusive", "user"]),
    ({"state": "absent"}, ["state=absent needs", "all=true"]),
])
def test_bad_input_is_refused_naming_the_value_and_changes_nothing(headscale, args, words):
    before = keys(headscale)
    result, out = headscale.module("preauth_key", **args)
    assert result.get("failed"), out
    for word in words:
        assert word in result["msg"], result["msg"]
    assert keys(headscale) == before


def test_stopped_server_fails_with_headscales_message(headscale):
    result, out = headscale.module_while_stopped("preauth_key", user="alice")
    assert result.get("failed"), out
    assert "preauthkeys list" in result["msg"]


def test_absent_all_revokes_every_key_whoever_owns_it(headscale, tmp_path):
    mint(headscale, tmp_path, user="alice", fresh=True)
    mint(headscale, tmp_path, tags=["tag:server"], fresh=True)
    assert usable_ids(headscale)
    preview, out = headscale.module("preauth_key", check=True, state="absent", all=True)
    assert preview["changed"] and usable_ids(headscale), out
    result, out = headscale.module("preauth_key", state="absent", all=True)
    assert result["changed"], out
    assert not usable_ids(headscale)
    again, out = headscale.module("preauth_key", state="absent", all=True)
    assert not again["changed"], out
    # all=false is the default, so it goes with any selector (as the incident playbook passes it).
    by_user, out = headscale.module("preauth_key", state="absent", all=False, user="alice")
    assert not by_user.get("failed") and not by_user["changed"], out


def test_revoking_a_users_keys_names_the_tag_only_keys_it_left_and_tags_revoke_them(headscale, tmp_path):
    tag_only = mint(headscale, tmp_path, tags=["tag:ci"], fresh=True)[1][0]
    mint(headscale, tmp_path, user="bob", fresh=True)
    by_user, out = headscale.module("preauth_key", state="absent", user="bob")
    assert by_user["changed"] and True in [k["usable"] for k in by_user["revoked"]], out
    assert tag_only["id"] in [k["id"] for k in by_user["kept_tag_only"]], out
    assert all(k["user"] is None for k in by_user["kept_tag_only"]), out
    assert tag_only["id"] in usable_ids(headscale)
    by_tag, out = headscale.module("preauth_key", state="absent", tags=["tag:ci"])
    assert by_tag["changed"] and tag_only["id"] in [k["id"] for k in by_tag["revoked"]], out
    assert "kept_tag_only" not in by_tag and tag_only["id"] not in usable_ids(headscale)

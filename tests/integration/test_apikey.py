"""tailnet.headscale.apikey against a real headscale (both supported versions)."""

import os
import stat
import time
import urllib.request

import yaml


def keys(headscale):
    return headscale.state("apikeys") or []


def live(headscale):
    return sorted(k["prefix"] for k in keys(headscale) if k["expiration"]["seconds"] > time.time())


def mint(headscale, tmp_path, name="apikey.yml", **args):
    path = tmp_path / name
    result, out = headscale.module("apikey", secrets_file=str(path), **args)
    assert not result.get("failed"), out
    return result, yaml.safe_load(path.read_text()), out


def test_mint_writes_the_secret_once_to_a_0600_file_and_nowhere_else(headscale, tmp_path):
    before = live(headscale)
    result, written, out = mint(headscale, tmp_path, expiration="30d")
    assert result["changed"] and stat.S_IMODE(os.stat(str(tmp_path / "apikey.yml")).st_mode) == 0o600
    secret = written[0]["key"]
    assert secret.startswith(result["api_key"]["prefix"] + "-") and secret not in out
    assert live(headscale) == sorted(before + [result["api_key"]["prefix"] + "-***"])
    # The secret is a working key of the REST API.
    request = urllib.request.Request(headscale.url + "/api/v1/user", headers={"Authorization": "Bearer " + secret})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_ad_hoc_mint_without_secrets_file_is_refused_and_mints_nothing(headscale):
    before = keys(headscale)
    for check in (False, True):
        result, out = headscale.module("apikey", check=check)
        assert result.get("failed") and "Nothing was minted" in result["msg"], out
    assert keys(headscale) == before


def test_check_mode_mints_nothing(headscale, tmp_path):
    before = keys(headscale)
    result, out = headscale.module("apikey", check=True, diff=True, secrets_file=str(tmp_path / "unused.yml"))
    assert result["changed"] and result["actions"] == ["mint an API key valid for 90d"], out
    assert keys(headscale) == before and not (tmp_path / "unused.yml").exists()


def test_expire_by_prefix_then_again_changes_nothing(headscale, tmp_path):
    result, written, out = mint(headscale, tmp_path, name="leaked.yml")
    prefix = result["api_key"]["prefix"]
    gone, out = headscale.module("apikey", state="absent", prefix=prefix + "-***")
    assert gone["changed"] and [k["prefix"] for k in gone["expired"]] == [prefix], out
    assert prefix + "-***" not in live(headscale)
    again, out = headscale.module("apikey", state="absent", prefix=prefix)
    assert not again["changed"], out


def test_max_age_expires_old_keys_only_check_mode_first(headscale, tmp_path):
    mint(headscale, tmp_path, name="young.yml")
    before = keys(headscale)
    # Every key here is seconds old: 1h keeps them all, 1s would take every live one (check mode: takes none).
    kept, out = headscale.module("apikey", state="absent", max_age="1h")
    assert not kept["changed"], out
    time.sleep(2)
    preview, out = headscale.module("apikey", state="absent", max_age="1s", check=True)
    assert preview["changed"] and keys(headscale) == before, out
    done, out = headscale.module("apikey", state="absent", max_age="1s", delete=True)
    assert done["changed"] and live(headscale) == [], out
    assert keys(headscale) == [], "delete=true removes the expired keys too"


def test_list(headscale, tmp_path):
    result, written, out = mint(headscale, tmp_path, name="listed.yml")
    listed, out = headscale.module("info", gather=["api_keys"])
    assert not listed["changed"]
    assert result["api_key"]["prefix"] in [k["prefix"] for k in listed["api_keys"]]
    assert written[0]["key"] not in out


def test_all_expires_every_live_key(headscale, tmp_path):
    mint(headscale, tmp_path, name="one.yml")
    mint(headscale, tmp_path, name="two.yml")
    assert len(live(headscale)) >= 2
    result, out = headscale.module("apikey", state="absent", all=True)
    assert result["changed"] and live(headscale) == [], out

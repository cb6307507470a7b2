"""tailnet.headscale.info against a real headscale (both supported versions)."""


def test_reports_version_health_and_objects_without_secrets(headscale, tmp_path):
    headscale.module("user", name="ivy")
    secrets = tmp_path / "k.yml"
    headscale.module("preauth_key", user="ivy", fresh=True, secrets_file=str(secrets))
    result, out = headscale.module("info")
    assert not result["changed"], out
    assert result["version"] == headscale.version
    assert result["health"]["database_connectivity"] is True and result["health"]["healthy"] is True
    assert "ivy" in [u["name"] for u in result["users"]]
    assert result["preauth_keys"] and all("key" not in k for k in result["preauth_keys"])
    assert secrets.read_text().split("key: ")[1].strip() not in out
    assert result["cli_calls"] == 5


def test_gather_limits_the_calls(headscale):
    result, out = headscale.module("info", gather=["nodes"])
    assert set(result) >= {"nodes", "cli_calls"} and "users" not in result, out
    assert result["cli_calls"] == 1


def test_unknown_item_is_refused_by_name(headscale):
    result, out = headscale.module("info", gather=["secrets"])
    assert result.get("failed"), out
    assert "secrets" in result["msg"]


def test_health_of_a_stopped_server_is_reported_unhealthy_not_a_failure(headscale):
    result, out = headscale.module_while_stopped("info", gather=["version", "health"])
    assert not result.get("failed"), out
    assert result["health"]["healthy"] is False and result["health"]["error"], out
    assert result["version"] == headscale.version

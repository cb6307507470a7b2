"""The tailnet.headscale.headscale inventory plugin against a real headscale (both supported versions), on
headscale's own listener on loopback: nodes of two users, one tagged, read with a key minted by the apikey module.
(Through the TLS proxy with the lab CA: molecule `join`.)"""

import json
import os
import subprocess

import pytest
import yaml


@pytest.fixture(scope="module")
def tailnet(headscale, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inventory")
    headscale.module("user", users=[{"name": "alice"}, {"name": "bob"}])
    web = headscale.add_node("web-1", "alice")
    headscale.add_node("laptop", "bob")
    headscale.cli("nodes", "tag", "--identifier", str(web["id"]), "--tags", "tag:server")
    key_file = tmp / "apikey.yml"
    result, out = headscale.module("apikey", secrets_file=str(key_file), expiration="1h")
    assert not result.get("failed"), out
    return tmp, key_file, yaml.safe_load(key_file.read_text())[0]["key"]


def plain(value):
    """ansible-inventory --list marks host variables unsafe: {"__ansible_unsafe": value}."""
    if isinstance(value, dict):
        return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def inventory(tmp, config, env=None, graph=False):
    path = tmp / "tailnet.headscale.yml"
    path.write_text(yaml.safe_dump(dict(plugin="tailnet.headscale.headscale", **config)))
    argv = ["ansible-inventory", "-i", str(path)] + (["--graph"] if graph else ["--list"])
    run = subprocess.run(argv, capture_output=True, text=True, check=False,
                         env=dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="true", **(env or {})))
    return run


def test_lists_nodes_in_user_tag_and_online_groups(headscale, tailnet):
    tmp, key_file, secret = tailnet
    run = inventory(tmp, dict(url=headscale.url, api_key_file=str(key_file)))
    assert run.returncode == 0, run.stderr
    data = plain(json.loads(run.stdout))
    web = data["_meta"]["hostvars"]["web-1"]
    # Tagging hands web-1 over to its tag: both versions list it under the user tagged-devices.
    assert web["headscale_user"] == "tagged-devices"
    assert data["user_tagged_devices"]["hosts"] == ["web-1"] and "user_alice" not in data
    assert data["user_bob"]["hosts"] == ["laptop"]
    assert data["tag_server"]["hosts"] == ["web-1"]
    # No tailscale client behind these nodes: all offline.
    assert sorted(data["offline"]["hosts"]) == ["laptop", "web-1"] and "online" not in data
    assert web["ansible_host"] == web["headscale_ipv4"] and web["ansible_host"].startswith("100.64.")
    assert web["headscale_tags"] == ["tag:server"]
    assert secret not in run.stdout + run.stderr


def test_key_from_environment_and_filters(headscale, tailnet):
    tmp, key_file, secret = tailnet
    run = inventory(tmp, dict(url=headscale.url, filters=["headscale_user == 'bob'"], ansible_host="ipv6"),
                    env=dict(HEADSCALE_API_KEY=secret))
    assert run.returncode == 0, run.stderr
    data = plain(json.loads(run.stdout))
    assert list(data["_meta"]["hostvars"]) == ["laptop"]
    assert ":" in data["_meta"]["hostvars"]["laptop"]["ansible_host"]


def test_an_expired_key_is_refused_clearly_and_never_printed(headscale, tailnet, tmp_path):
    tmp, key_file, secret = tailnet
    result, out = headscale.module("apikey", secrets_file=str(tmp_path / "doomed.yml"), expiration="1h")
    doomed = yaml.safe_load((tmp_path / "doomed.yml").read_text())[0]["key"]
    headscale.module("apikey", state="absent", prefix=result["api_key"]["prefix"])
    run = inventory(tmp, dict(url=headscale.url), env=dict(HEADSCALE_API_KEY=doomed))
    assert run.returncode != 0
    assert "refused the API key from environment variable HEADSCALE_API_KEY (401" in run.stderr, run.stderr
    assert doomed not in run.stdout + run.stderr


def test_an_unreachable_server_is_named(headscale, tailnet):
    tmp, key_file, secret = tailnet
    headscale.stop()
    try:
        run = inventory(tmp, dict(url=headscale.url, api_key_file=str(key_file)))
    finally:
        headscale.start()
    assert run.returncode != 0 and "cannot reach headscale at %s" % headscale.url in run.stderr, run.stderr
    assert secret not in run.stdout + run.stderr

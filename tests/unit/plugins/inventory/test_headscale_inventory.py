# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tailnet.headscale.headscale inventory plugin on the REST answers both headscale versions were recorded
giving (fixtures/<version>/api_nodes.json: fixture-node of alice online, renamed-node and tagged-node tagged
tag:fixture and tag:server, renamed-node offline; api_nodes_bad_key: the answer to a key never issued)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import socket

import pytest
import yaml

from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "module_utils", "fixtures")
VERSIONS = ("0.28.0", "0.29.3")
KEY = "hskey-api-iXuyWiEhnt3J-m1--kJzaQSVfhlttGM8iAbiGsglm4wtolfmIOgOsXCWZf-2IFOcdDyjdEaImz7Qa"


def recorded(version, name):
    with open(os.path.join(FIXTURES, version, name), "rb") as f:
        return f.read()


class Server(object):
    """Stands in for open_url: answers with a recorded body, or raises the recorded/made-up error; counts requests."""

    def __init__(self, body=None, error=None):
        self.body, self.error, self.requests = body, error, []

    def __call__(self, url, headers=None, **kwargs):
        self.requests.append(dict(url=url, headers=headers, **kwargs))
        if self.error is not None:
            raise self.error
        return io.BytesIO(self.body)


def run(tmp_path, monkeypatch, server, config, env_key=KEY, cache=True):
    plugin = inventory_loader.get("tailnet.headscale.headscale")
    module = __import__(type(plugin).__module__, fromlist=["open_url"])
    monkeypatch.setattr(module, "open_url", server)
    warnings = []
    monkeypatch.setattr(plugin.display, "warning", warnings.append)
    if env_key is None:
        monkeypatch.delenv("HEADSCALE_API_KEY", raising=False)
    else:
        monkeypatch.setenv("HEADSCALE_API_KEY", env_key)
    path = tmp_path / "tailnet.headscale.yml"
    path.write_text(yaml.safe_dump(dict(dict(plugin="tailnet.headscale.headscale", url="https://hs.example.test"), **config)))
    inventory = InventoryData()
    assert plugin.verify_file(str(path))
    plugin.parse(inventory, DataLoader(), str(path), cache=cache)
    try:
        plugin.update_cache_if_changed()  # as ansible's InventoryManager does after parse
    except AttributeError:  # no cache configured (the manager ignores it the same way)
        pass
    return inventory, warnings


def members(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts()) if group in inventory.groups else None


@pytest.mark.parametrize("version", VERSIONS)
def test_groups_and_host_vars_from_one_request(version, tmp_path, monkeypatch):
    server = Server(recorded(version, "api_nodes.json"))
    inventory, warnings = run(tmp_path, monkeypatch, server, {"ca_path": "/etc/ssl/lab-ca.pem"})
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request["url"] == "https://hs.example.test/api/v1/node"
    assert request["headers"]["Authorization"] == "Bearer " + KEY
    assert request["validate_certs"] is True and request["ca_path"] == "/etc/ssl/lab-ca.pem"
    assert warnings == []
    assert sorted(inventory.hosts) == ["fixture-node", "renamed-node", "tagged-node"]
    assert members(inventory, "user_alice") == ["fixture-node"]
    assert members(inventory, "user_tagged_devices") == ["renamed-node", "tagged-node"]
    assert members(inventory, "tag_server") == ["renamed-node", "tagged-node"]
    assert members(inventory, "tag_fixture") == ["renamed-node", "tagged-node"]
    assert members(inventory, "online") == ["fixture-node", "tagged-node"]
    assert members(inventory, "offline") == ["renamed-node"]
    tagged = inventory.get_host("tagged-node").vars
    assert tagged["ansible_host"] == "100.64.0.4" == tagged["headscale_ipv4"]
    assert tagged["headscale_ipv6"] == "fd7a:115c:a1e0::4"
    assert tagged["headscale_id"] == 4 and tagged["headscale_given_name"] == "tagged-node"
    assert tagged["headscale_tags"] == ["tag:fixture", "tag:server"]
    assert tagged["headscale_user"] == "tagged-devices" and tagged["headscale_online"] is True
    assert tagged["headscale_last_seen"].startswith("2026-12-02T06:04:40")
    assert tagged["headscale_register_method"] == "authkey"
    renamed = inventory.get_host("renamed-node").vars
    # 0.28.0 kept the expiry set with `nodes expire --expiry 2030-01-01`; 0.29.3 disabled it (`--disable`): null.
    assert renamed["headscale_expiry"] == {"0.28.0": "2030-01-01T00:00:00Z", "0.29.3": None}[version]
    assert renamed["headscale_expired"] is False


@pytest.mark.parametrize("version", VERSIONS)
def test_ipv6_filters_compose_and_keyed_groups(version, tmp_path, monkeypatch):
    config = dict(ansible_host="ipv6", filters=["headscale_online", "'tag:server' in headscale_tags"],
                  compose=dict(ansible_connection="'community.docker.docker'", node_number="headscale_id * 10"),
                  keyed_groups=[dict(key="headscale_register_method", prefix="via")],
                  groups=dict(servers="'tag:server' in headscale_tags"))
    inventory, dummy = run(tmp_path, monkeypatch, Server(recorded(version, "api_nodes.json")), config)
    assert sorted(inventory.hosts) == ["tagged-node"]
    host = inventory.get_host("tagged-node").vars
    assert host["ansible_host"] == "fd7a:115c:a1e0::4"
    assert host["ansible_connection"] == "community.docker.docker" and host["node_number"] == 40
    assert members(inventory, "via_authkey") == ["tagged-node"]
    assert members(inventory, "servers") == ["tagged-node"]


def test_api_key_from_the_file_the_apikey_module_writes(tmp_path, monkeypatch):
    key_file = tmp_path / "apikey.yml"
    key_file.write_text(yaml.safe_dump([dict(id=1, prefix="hskey-api-iXuyWiEhnt3J", key=KEY)]))
    key_file.chmod(0o600)
    server = Server(recorded("0.29.3", "api_nodes.json"))
    run(tmp_path, monkeypatch, server, {"api_key_file": str(key_file)}, env_key="hskey-api-not-this-one")
    assert server.requests[0]["headers"]["Authorization"] == "Bearer " + KEY


def test_a_key_file_others_can_read_is_refused(tmp_path, monkeypatch):
    key_file = tmp_path / "apikey"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o644)
    server = Server(recorded("0.29.3", "api_nodes.json"))
    with pytest.raises(AnsibleError, match="readable by group or others .mode 0644.: .*chmod 0600") as error:
        run(tmp_path, monkeypatch, server, {"api_key_file": str(key_file)})
    assert server.requests == [] and KEY not in str(error.value)


@pytest.mark.parametrize("option", ["api_key", "token"])
def test_an_inline_key_is_refused_before_any_request(option, tmp_path, monkeypatch):
    server = Server(recorded("0.29.3", "api_nodes.json"))
    with pytest.raises(AnsibleError, match="sets %s: an API key never goes into an inventory file" % option) as error:
        run(tmp_path, monkeypatch, server, {option: KEY})
    assert server.requests == [] and KEY not in str(error.value)


def test_no_key_at_all(tmp_path, monkeypatch):
    with pytest.raises(AnsibleError, match="no API key: set api_key_file .* or the environment variable HEADSCALE_API_KEY"):
        run(tmp_path, monkeypatch, Server(b"{}"), {}, env_key=None)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_key_is_named_as_such_and_never_printed(version, tmp_path, monkeypatch):
    body = recorded(version, "api_nodes_bad_key.stdout.txt")
    assert body == b"Unauthorized"
    error = HTTPError("https://hs.example.test/api/v1/node", 401, "Unauthorized", {}, io.BytesIO(body))
    with pytest.raises(AnsibleError, match=r"refused the API key from environment variable HEADSCALE_API_KEY \(401") as raised:
        run(tmp_path, monkeypatch, Server(error=error), {})
    assert "iXuyWiEhnt3J-m1" not in str(raised.value)


def test_rate_limited(tmp_path, monkeypatch):
    error = HTTPError("https://hs.example.test/api/v1/node", 429, "Too Many Requests", {}, io.BytesIO(b""))
    with pytest.raises(AnsibleError, match=r"rate-limiting this address \(429 Too Many Requests\): retry later"):
        run(tmp_path, monkeypatch, Server(error=error), {})


@pytest.mark.parametrize("error", [URLError(ConnectionRefusedError(111, "Connection refused")), socket.timeout("timed out")])
def test_unreachable(error, tmp_path, monkeypatch):
    with pytest.raises(AnsibleError, match="cannot reach headscale at https://hs.example.test: ") as raised:
        run(tmp_path, monkeypatch, Server(error=error), {})
    assert KEY not in str(raised.value)


def test_validate_certs_false_warns(tmp_path, monkeypatch):
    server = Server(recorded("0.29.3", "api_nodes.json"))
    dummy, warnings = run(tmp_path, monkeypatch, server, {"validate_certs": False})
    assert server.requests[0]["validate_certs"] is False
    assert len(warnings) == 1 and "validate_certs is false" in warnings[0] and KEY not in warnings[0]


def test_the_cache_answers_the_second_run(tmp_path, monkeypatch):
    config = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}
    server = Server(recorded("0.29.3", "api_nodes.json"))
    first, dummy = run(tmp_path, monkeypatch, server, config, cache=False)
    second, dummy = run(tmp_path, monkeypatch, server, config, cache=True)
    assert len(server.requests) == 1
    assert sorted(second.hosts) == sorted(first.hosts) == ["fixture-node", "renamed-node", "tagged-node"]
    cached = "".join(open(os.path.join(str(tmp_path / "cache"), name)).read() for name in os.listdir(str(tmp_path / "cache")))
    assert KEY not in cached and "fixture-node" in cached


def test_only_headscale_yml_files(tmp_path):
    plugin = inventory_loader.get("tailnet.headscale.headscale")
    other = tmp_path / "hosts.yml"
    other.write_text("plugin: tailnet.headscale.headscale\n")
    assert not plugin.verify_file(str(other))

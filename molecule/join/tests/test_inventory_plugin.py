"""The tailnet as an inventory (tailnet.headscale.headscale, docs/inventory.md) with the scenario's real clients:
`ansible-inventory --graph` puts each enrolled client in its tag and user groups, and an ad-hoc ping through that
inventory reaches both. The controller is not on the tailnet, so `compose` maps each node to its container
(the docker connection), as docs/inventory.md shows. The API key is minted by tailnet.headscale.apikey with
its secret in a 0600 file on the controller, and expired again at the end."""

import json
import os
import re
import stat
import subprocess
import time

import pytest
import yaml

from conftest import CLIENTS, SERVER, get, server_nodes

ENV = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_HOST_KEY_CHECKING="false")


def ansible(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, env=ENV, check=False)


@pytest.fixture(scope="module")
def tailnet_inventory(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tailnet-inventory")
    key_file = tmp / "inventory-apikey.yml"
    minted = ansible("ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], SERVER, "-m", "tailnet.headscale.apikey",
                     "-a", "expiration=1h secrets_file=%s" % key_file)
    assert minted.returncode == 0, minted.stdout + minted.stderr
    assert stat.S_IMODE(os.stat(str(key_file)).st_mode) == 0o600
    key = yaml.safe_load(key_file.read_text())[0]
    # Each client's node (its given name) -> its container, read from the scenario's own inventory.
    containers = {}
    for client in CLIENTS:
        containers[get(client).ansible.get_variables().get("tailscale_hostname") or client] = client
    url = get(SERVER).ansible.get_variables()["headscale_server_url"]
    path = tmp / "tailnet.headscale.yml"
    path.write_text(yaml.safe_dump(dict(
        plugin="tailnet.headscale.headscale", url=url, api_key_file=str(key_file),
        compose=dict(ansible_connection="'community.docker.docker'",
                     ansible_host="%s[headscale_given_name]" % json.dumps(containers, sort_keys=True)))))
    yield path, key
    expired = ansible("ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], SERVER, "-m", "tailnet.headscale.apikey",
                      "-a", "state=absent prefix=%s" % key["prefix"])
    assert expired.returncode == 0, expired.stdout + expired.stderr


def graph_groups(text):
    """{group: [hosts]} from ansible-inventory --graph output."""
    groups, current = {}, []
    for line in text.splitlines():
        depth = (len(line) - len(line.lstrip(" |"))) // 2
        name = line.strip(" |-")
        current = current[:depth]
        if name.startswith("@"):
            groups[name[1:].rstrip(":")] = []
            current.append(name[1:].rstrip(":"))
        elif current:
            groups[current[-1]].append(name)
    return groups


def test_graph_lists_the_clients_in_their_tag_and_user_groups(tailnet_inventory, server):
    path, key = tailnet_inventory
    started = time.time()
    graph = ansible("ansible-inventory", "-i", str(path), "--graph")
    print("ansible-inventory --graph: %.1f s" % (time.time() - started))
    assert graph.returncode == 0, graph.stderr
    assert key["key"] not in graph.stdout + graph.stderr
    groups = graph_groups(graph.stdout)
    nodes = server_nodes(server)
    # What headscale's own CLI says, on the server: the groups must match it.
    for node in nodes:
        for tag in node.get("tags") or []:
            assert node["given_name"] in groups["tag_" + tag.split(":", 1)[1]], (tag, groups)
        assert node["given_name"] in groups["user_" + re.sub(r"[^A-Za-z0-9_]", "_", node["user"]["name"])], groups
        assert node["given_name"] in groups["online" if node.get("online") else "offline"], groups
    # The scenario's facts: the tagged client is tag:web (owned by the tag), the other belongs to ops.
    assert sorted(groups["tag_web"]) == ["web-one"]
    assert sorted(groups["user_ops"]) == ["hs-join-c2"]
    assert sorted(groups["online"]) == ["hs-join-c2", "web-one"]


def test_an_ad_hoc_ping_through_the_inventory_reaches_both_clients(tailnet_inventory):
    path, key = tailnet_inventory
    started = time.time()
    ping = ansible("ansible", "-i", str(path), "online", "-m", "ansible.builtin.ping", "-o")
    print("ad-hoc ping through the inventory: %.1f s" % (time.time() - started))
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert sorted(re.findall(r"^(\S+) \| SUCCESS", ping.stdout, re.M)) == ["hs-join-c2", "web-one"], ping.stdout
    # Each reached the container named for it, not some other host.
    hostnames = ansible("ansible", "-i", str(path), "online", "-m", "ansible.builtin.command", "-a", "hostname", "-o")
    assert hostnames.returncode == 0, hostnames.stdout + hostnames.stderr
    assert sorted(re.findall(r"^(\S+) \| CHANGED \| rc=0 \| \(stdout\) (\S+)", hostnames.stdout, re.M)) == \
        [("hs-join-c2", "hs-join-c2"), ("web-one", "hs-join-c1")]

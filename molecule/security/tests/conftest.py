"""Fixtures of the security scenario: the server (behind its TLS proxy) and three
client containers as testinfra hosts. `host` is the server, so the shared
fixtures (run_module, playbook) act on it as an admin would."""

import os
import sys

import pytest
import testinfra

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
# The shared fixtures and client helper, imported so pytest registers them here.
from clients import Client, minter, node_named, playbook, run_module, wait_for  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

LOGIN_SERVER = "https://headscale.lab"
ADDRESSES = {"hs-sec-server": "172.30.78.10", "hs-sec-peer": "172.30.78.11",
             "hs-sec-newcomer": "172.30.78.12", "hs-sec-attacker": "172.30.78.13"}


def get(name):
    return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, os.environ["MOLECULE_INVENTORY_FILE"]))


@pytest.fixture(scope="session")
def host():
    return get("hs-sec-server")


@pytest.fixture(scope="session")
def server(host):
    return host


@pytest.fixture(scope="session")
def attacker_host():
    return get("hs-sec-attacker")


@pytest.fixture(scope="session")
def newcomer_host():
    return get("hs-sec-newcomer")


@pytest.fixture(scope="session")
def peer_host():
    return get("hs-sec-peer")


@pytest.fixture(scope="session")
def mint_key(server, tmp_path_factory):
    """Mint a fresh key on the server with the module, as an admin would; return (id, secret)."""
    return minter(server, tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def start_client(server):
    """Start a named tailscaled in a client container, logging in through the proxy."""
    started = []

    def start(client_host, name):
        started.append(Client(client_host, name, login_server=LOGIN_SERVER, server=server).start())
        return started[-1]

    yield start
    for client in started:
        client.stop()


@pytest.fixture(scope="session")
def peer(peer_host, start_client, mint_key):
    """A tailnet member (tag:web) with a web server on its loopback, reachable across the tailnet
    (userspace networking hands inbound connections to local listeners)."""
    peer_host.run("systemctl stop peer-web; systemd-run --unit peer-web --collect "
                  "python3 -m http.server 8000 --bind 127.0.0.1 --directory /usr/share/doc")
    client = start_client(peer_host, "web-peer")
    result = client.up(mint_key(user="ops", tags=["tag:web"])[1])
    assert result.rc == 0, result.stderr
    client.wait_running()
    return client


def journal(host, identifier, since):
    return host.check_output("journalctl --no-pager -o cat -t %s --since=@%d" % (identifier, int(since)))

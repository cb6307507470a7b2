"""Approval for key-registered nodes: a node enrolled with a quarantine pre-auth key
reaches nothing until an admin verifies its node key and swaps the tag."""

import pytest

from conftest import node_named, wait_for

# nc closes the connection when its input ends: keep it open for the answer.
REQUEST = "(printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 3) | timeout 10 tailscale --socket=%s nc %s 8000"


@pytest.fixture(scope="module")
def quarantined(newcomer_host, start_client, mint_key):
    client = start_client(newcomer_host, "newcomer-q")
    result = client.up(mint_key(user="ops", tags=["tag:quarantine"])[1])
    assert result.rc == 0, result.stderr
    client.wait_running()
    return client


def fetch_from(client, peer):
    """What `tailscale nc` gets from the peer's web server across the tailnet."""
    address = peer.status()["Self"]["TailscaleIPs"][0]
    return client.host.run(REQUEST % (client.socket, address))


def release(playbook, key):
    return playbook("approve_node", node="newcomer-q", expected_node_key=key, tags=["tag:web"])


def test_quarantined_node_reaches_nothing(server, quarantined, peer):
    assert node_named(server, "newcomer-q")["tags"] == ["tag:quarantine"]
    # It sees no peer, no peer sees it, and a connection to the peer gets nothing back.
    assert not quarantined.status().get("Peer")
    assert "newcomer-q" not in [p["HostName"] for p in (peer.status().get("Peer") or {}).values()]
    result = fetch_from(quarantined, peer)
    assert "HTTP/1.0 200" not in result.stdout, result.stdout


def test_approval_with_wrong_node_key_is_refused(server, quarantined, peer, playbook):
    stats, failures = release(playbook, peer.node_key())
    assert stats["failures"] == 1 and any("node key mismatch" in f for f in failures), failures
    assert node_named(server, "newcomer-q")["tags"] == ["tag:quarantine"]


def test_approved_node_reaches_its_peer(server, quarantined, peer, playbook):
    stats, failures = release(playbook, quarantined.node_key())
    assert failures == [] and stats["changed"] == 1, failures
    assert node_named(server, "newcomer-q")["tags"] == ["tag:web"]
    wait_for(lambda: quarantined.status().get("Peer"), what="the peer to show up")

    def answered():
        result = fetch_from(quarantined, peer)
        return result if "HTTP/1.0 200" in result.stdout else None

    result = wait_for(answered, what="an HTTP answer from the peer")
    assert "Directory listing" in result.stdout
    # Approving again changes nothing.
    stats, failures = release(playbook, quarantined.node_key())
    assert failures == [] and stats["changed"] == 0, failures

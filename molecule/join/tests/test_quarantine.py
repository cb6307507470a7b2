"""Automated approval out of quarantine (issue 14): the server has
headscale_quarantine_tag, so the tagged client is enrolled with a key that
carries only the quarantine tag, and the role releases it on the server after
reading its node key on the host over the Ansible connection.

Reachability is what tailscale itself reports: a quarantined node has no peer,
and `tailscale ping` to its peer's address gets no pong; once released it does."""

import json

import pytest

from clients import wait_for  # pylint: disable=import-error
from conftest import headscale, server_keys, server_nodes  # pylint: disable=import-error

LOGIN_SERVER = "http://172.30.77.10:8080"
IMPOSTOR_SOCKET = "/run/imp-ts.sock"


def node_by_key(server, node_key):
    return next((n for n in server_nodes(server) if n["node_key"] == node_key), None)


def pings(me, other):
    address = other.status()["Self"]["TailscaleIPs"][0]
    result = me.host.run("tailscale ping --c 3 --timeout 3s %s" % address)
    return result.rc == 0 and "pong from" in result.stdout


@pytest.fixture
def fresh_c1(c1, join):
    """c1 logged out and its node deleted; enrolled again as the inventory says afterwards."""
    stats, failures, dummy = join(c1.name, tailscale_state="absent")
    assert failures == [], failures
    yield c1
    stats, failures, dummy = join(c1.name, tailscale_state="absent")
    assert failures == [], failures
    stats, failures, dummy = join(c1.name)
    assert failures == [], failures
    assert c1.status()["Self"]["Tags"] == ["tag:web"]


def settled(nodes):
    """The nodes as a rerun must leave them: everything but what a live client changes on its own
    (when it was last seen, whether it is connected right now)."""
    return [dict((key, value) for key, value in node.items() if key not in ("last_seen", "online")) for node in nodes]


def test_quarantined_until_approved_then_reaches_its_peer_and_reruns_change_nothing(server, fresh_c1, c2, join):
    c1 = fresh_c1
    # Enrolled into quarantine, approval left to an admin: it reaches nothing.
    stats, failures, output = join(c1.name, tailscale_approval="manual")
    assert failures == [] and stats[c1.name]["changed"] > 0, failures
    assert "hskey-auth-" not in output
    status = c1.status()
    assert status["BackendState"] == "Running" and status["Self"]["Tags"] == ["tag:quarantine"]
    node = node_by_key(server, status["Self"]["PublicKey"])
    assert node["tags"] == ["tag:quarantine"] and node["given_name"] == "web-one"
    assert not status.get("Peer")
    assert "web-one" not in c2.peer_names()
    assert not pings(c1, c2)

    # A rerun in the quarantined state changes nothing and mints nothing.
    keys_before, nodes_before = server_keys(server), server_nodes(server)
    stats, failures, dummy = join(c1.name, tailscale_approval="manual")
    assert failures == [] and stats[c1.name]["changed"] == 0, failures
    assert server_keys(server) == keys_before and settled(server_nodes(server)) == settled(nodes_before)

    # The default (automatic, the server has a quarantine tag): the same node, same key, released.
    stats, failures, dummy = join(c1.name)
    assert failures == [] and stats[c1.name]["changed"] > 0, failures
    assert server_keys(server) == keys_before
    released = node_by_key(server, status["Self"]["PublicKey"])
    assert released["id"] == node["id"] and released["tags"] == ["tag:web"]
    assert c1.status()["Self"]["Tags"] == ["tag:web"]
    wait_for(lambda: pings(c1, c2), timeout=40, what="a pong from the peer")
    assert "web-one" in c2.peer_names()

    # Reruns in the approved state change nothing, automatic or manual.
    nodes_before = server_nodes(server)
    for approval in ("", "manual"):
        stats, failures, dummy = join(c1.name, tailscale_approval=approval)
        assert failures == [] and stats[c1.name]["changed"] == 0, (approval, failures)
    assert settled(server_nodes(server)) == settled(nodes_before) and server_keys(server) == keys_before


@pytest.fixture
def impostor(server, c2):
    """A second tailscaled on c2 that enrols into quarantine under c1's name, web-one."""
    host = c2.host
    host.run("systemctl stop imp-ts; rm -rf /var/lib/imp-ts")
    host.check_output("systemd-run --unit imp-ts --collect /usr/local/sbin/tailscaled --tun=userspace-networking "
                      "--statedir=/var/lib/imp-ts --socket=%s --port=0 --no-logs-no-support" % IMPOSTOR_SOCKET)
    wait_for(lambda: host.socket("unix://" + IMPOSTOR_SOCKET).is_listening, timeout=40, what="the impostor's tailscaled")
    key = json.loads(server.check_output(headscale() + " -o json preauthkeys create --tags tag:quarantine --expiration 10m"))
    up = host.run("tailscale --socket=%s up --login-server=%s --auth-key=%s --hostname=web-one --timeout=30s"
                  % (IMPOSTOR_SOCKET, LOGIN_SERVER, key["key"]))
    assert up.rc == 0, up.stderr
    status = json.loads(host.check_output("tailscale --socket=%s status --json" % IMPOSTOR_SOCKET))
    try:
        yield status["Self"]["PublicKey"]
    finally:
        host.run("systemctl stop imp-ts; rm -rf /var/lib/imp-ts")
        node = node_by_key(server, status["Self"]["PublicKey"])
        if node:
            server.check_output(headscale() + " nodes delete --identifier %s --force" % node["id"])


def test_a_node_under_the_hosts_name_with_another_key_is_not_released(server, fresh_c1, c2, impostor, join):
    c1 = fresh_c1
    held = next(n for n in server_nodes(server) if n["given_name"] == "web-one")
    assert held["node_key"] == impostor and held["tags"] == ["tag:quarantine"]

    stats, failures, output = join(c1.name)
    assert stats[c1.name]["failures"] == 1, output[-3000:]
    message = " ".join(failures)
    own_key = c1.status()["Self"]["PublicKey"]
    assert own_key in message and impostor in message, message
    assert "stays in quarantine" in message
    # Neither node was released: the impostor keeps its quarantine, and so does the host.
    assert node_by_key(server, impostor)["tags"] == ["tag:quarantine"]
    assert node_by_key(server, own_key)["tags"] == ["tag:quarantine"]
    assert not c1.status().get("Peer") and not pings(c1, c2)

    # A rerun refuses again and changes nothing.
    nodes_before, keys_before = server_nodes(server), server_keys(server)
    stats, failures, dummy = join(c1.name)
    assert stats[c1.name]["failures"] == 1 and stats[c1.name]["changed"] == 0
    assert settled(server_nodes(server)) == settled(nodes_before) and server_keys(server) == keys_before

"""Admin approval of interactive registrations, with out-of-band key checks."""

from clients import node_named, server_nodes  # on sys.path via conftest


def node_with_key(host, key):
    return next((n for n in server_nodes(host) if n["node_key"] == key), None)


def test_approval_brings_the_client_up_and_a_second_run_changes_nothing(clients, node_module):
    laptop = clients("laptop")
    auth_id = laptop.login()
    assert laptop.status()["BackendState"] == "NeedsLogin"

    result = node_module(state="registered", auth_id=auth_id, user="alice")
    assert result["changed"], result
    laptop.wait_running()
    node = node_with_key(laptop.host, laptop.node_key())
    assert node["user"]["name"] == "alice"
    assert node["name"] == "laptop"

    again = node_module(state="registered", auth_id=auth_id, user="alice", expected_node_key=laptop.node_key())
    assert not again["changed"], again
    assert again["node"]["id"] == node["id"]
    # One audit record for the approval: the second run changed nothing, so it wrote none.
    trail = laptop.host.check_output("journalctl -t tailnet-headscale --no-pager -o cat")
    assert trail.count("--auth-id %s --user alice" % auth_id) == 1, trail[-2000:]


def test_reapproving_for_another_user_fails_clearly(clients, node_module):
    phone = clients("phone")
    auth_id = phone.login()
    node_module(state="registered", auth_id=auth_id, user="alice")
    phone.wait_running()
    result = node_module(state="registered", auth_id=auth_id, user="bob")
    assert result.get("failed")
    assert "alice" in result["msg"] and "bob" in result["msg"]


def test_a_device_with_another_key_is_refused_and_removed(clients, node_module):
    honest = clients("honest")
    node_module(state="registered", auth_id=honest.login(), user="alice")
    honest.wait_running()
    intruder = clients("intruder")
    auth_id = intruder.login()
    # The admin expects the honest device's key, but the auth id in hand
    # belongs to another device (hijacked or mistyped).
    result = node_module(state="registered", auth_id=auth_id, user="alice", expected_node_key=honest.node_key())
    assert result.get("failed")
    assert "mismatch" in result["msg"] and honest.node_key() in result["msg"]
    assert node_named(intruder.host, "intruder") is None
    assert intruder.status()["BackendState"] != "Running"


def test_unknown_auth_id_is_refused(clients, node_module):
    client = clients("typo")
    auth_id = client.login()
    result = node_module(state="registered", auth_id=auth_id[:-4] + "zzzz", user="alice")
    assert result.get("failed")
    assert "not pending" in result["msg"]
    assert node_named(client.host, "typo") is None


def test_rename_tag_and_delete_are_idempotent(clients, node_module):
    desk = clients("desk")
    auth_id = desk.login()
    node_module(state="registered", auth_id=auth_id, user="alice")
    desk.wait_running()
    key = desk.node_key()
    renamed = node_module(node_key=key, rename_to="desk-renamed")
    assert renamed["changed"] and renamed["node"]["name"] == "desk-renamed", renamed
    assert not node_module(name="desk-renamed", rename_to="desk-renamed")["changed"]
    assert node_module(name="desk-renamed", state="absent")["changed"]
    assert node_with_key(desk.host, key) is None
    assert not node_module(name="desk-renamed", state="absent")["changed"]


def test_rejection_keeps_the_device_out_and_is_idempotent(clients, node_module):
    kiosk = clients("kiosk")
    auth_id = kiosk.login()
    result = node_module(state="rejected", auth_id=auth_id)
    assert result["changed"], result
    assert not node_module(state="rejected", auth_id=auth_id)["changed"]
    assert node_named(kiosk.host, "kiosk") is None
    assert kiosk.status()["BackendState"] != "Running"
    # A rejected auth id cannot be approved afterwards.
    approve = node_module(state="registered", auth_id=auth_id, user="alice")
    assert approve["failed"] and "rejected" in approve["msg"]


def test_the_approve_node_playbook_approves_and_refuses_a_call_without_a_user(clients, playbook):
    tablet = clients("tablet")
    auth_id = tablet.login()
    refused, failures = playbook("approve_node", auth_id=auth_id)
    assert refused["failures"] == 1 and "user ''" in failures[-1], failures
    stats, failures = playbook("approve_node", auth_id=auth_id, user="bob")
    assert stats["failures"] == 0 and stats["changed"] == 1, (stats, failures)
    tablet.wait_running()
    assert node_named(tablet.host, "tablet")["user"]["name"] == "bob"
    again, failures = playbook("approve_node", auth_id=auth_id, user="bob", expected_node_key=tablet.node_key())
    assert again["changed"] == 0, (again, failures)

"""Admin approval of interactive registrations, with out-of-band key checks: a first
enrolment verified by the device's machine key, a re-authentication after expiry by the
old node key it shows while it waits; a failed check never costs a device that was there."""

import time

from clients import node_named, server_nodes  # on sys.path via conftest

ZERO_KEY = "nodekey:" + "0" * 64
# docs/operations.md, "Approving a device": what the owner runs on the device to read its
# machine key (the state file is /var/lib/tailscale/tailscaled.state on a packaged client).
MACHINE_KEY_COMMAND = (
    "python3 -c 'import base64,json,sys; s=json.load(open(sys.argv[1])); "
    "sys.stdout.buffer.write(bytes.fromhex(\"302e020100300506032b656e04220420\") + "
    "bytes.fromhex(base64.b64decode(s[\"_machinekey\"]).decode().split(\":\")[1]))' %s "
    "| openssl pkey -inform DER -pubout -outform DER "
    "| python3 -c 'import sys; print(\"mkey:\" + sys.stdin.buffer.read()[-32:].hex())'")


def node_with_key(host, key):
    return next((n for n in server_nodes(host) if n["node_key"] == key), None)


def machine_key(client):
    return client.host.check_output(MACHINE_KEY_COMMAND % ("/var/lib/ts-%s/tailscaled.state" % client.name)).strip()


def identity(node):
    """What a device must never lose to a failed check."""
    return node["id"], node["ip_addresses"], node["user"]["name"]


def pending(run_module, auth_id):
    """The entry of tailnet.headscale.info gather=pending_registrations for AUTH_ID, or None."""
    result = run_module("info", gather=["pending_registrations"])
    assert not result["failed"], result
    return next((p for p in result["pending_registrations"] if p["auth_id"] == auth_id), None)


def enrol(clients, node_module, name):
    client = clients(name)
    assert node_module(state="registered", auth_id=client.login(), user="alice")["changed"]
    client.wait_running()
    return client


def expire_and_login_again(client, node_module):
    """The device's key expires; its owner runs `tailscale up` again. Returns (auth id, the key it shows)."""
    assert node_module(name=client.name, state="expired")["changed"]
    client.wait_backend("NeedsLogin")
    auth_id = client.login()
    return auth_id, client.node_key()


def test_a_first_enrolment_verified_by_machine_key_comes_up_and_a_second_run_changes_nothing(clients, node_module,
                                                                                             run_module):
    laptop = clients("laptop")
    auth_id = laptop.login()
    assert laptop.status()["BackendState"] == "NeedsLogin"
    # Before its first registration a device shows no node key at all: that proves nothing.
    assert laptop.node_key() == ZERO_KEY
    zero = node_module(state="registered", auth_id=auth_id, user="alice", expected_node_key=ZERO_KEY)
    assert zero["failed"] and "expected_machine_key" in zero["msg"] and not zero["changed"], zero
    assert node_named(laptop.host, "laptop") is None

    # The runbook's first look: the auth id is pending, from the client's address, with time left.
    waiting = pending(run_module, auth_id)
    assert waiting and waiting["client_address"] == "127.0.0.1" and 800 < waiting["seconds_left"] <= 900, waiting

    mkey = machine_key(laptop)
    result = node_module(state="registered", auth_id=auth_id, user="alice", expected_machine_key=mkey)
    assert result["changed"], result
    assert pending(run_module, auth_id) is None
    laptop.wait_running()
    node = node_with_key(laptop.host, laptop.node_key())
    assert node["user"]["name"] == "alice"
    assert node["name"] == "laptop"
    assert node["machine_key"] == mkey

    again = node_module(state="registered", auth_id=auth_id, user="alice", expected_node_key=laptop.node_key(),
                        expected_machine_key=mkey)
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


def test_a_first_enrolment_with_another_machine_key_is_deleted_again_and_says_so(clients, node_module):
    honest = enrol(clients, node_module, "honest")
    honest_before = node_named(honest.host, "honest")
    intruder = clients("intruder")
    auth_id = intruder.login()
    # The admin expects the honest device, but the auth id in hand belongs to another
    # device (hijacked or mistyped): a node this call created is removed again.
    result = node_module(state="registered", auth_id=auth_id, user="alice", expected_machine_key=machine_key(honest))
    assert result["failed"] and result["changed"], result
    assert "mismatch" in result["msg"] and machine_key(honest) in result["msg"]
    assert any(a.startswith("delete node") for a in result["actions"]), result
    assert node_named(intruder.host, "intruder") is None
    assert intruder.status()["BackendState"] != "Running"
    # Expecting the honest device's node key instead: the same, and the honest node is untouched.
    other = clients("intruder2")
    result = node_module(state="registered", auth_id=other.login(), user="alice", expected_node_key=honest.node_key())
    assert result["failed"] and result["changed"] and honest.node_key() in result["msg"], result
    assert node_named(other.host, "intruder2") is None
    honest_after = node_named(honest.host, "honest")
    assert identity(honest_after) == identity(honest_before)
    assert (honest_after["node_key"], honest_after["expiry"]) == (honest_before["node_key"], honest_before["expiry"])
    assert honest.status()["BackendState"] == "Running"


def test_a_reauthentication_after_expiry_is_verified_by_the_old_node_key_it_shows(clients, node_module):
    tab = enrol(clients, node_module, "reauth")
    before, old_key = node_named(tab.host, "reauth"), tab.node_key()
    auth_id, shown = expire_and_login_again(tab, node_module)
    # While it waits the device shows its OLD node key, not zeros and not the new one.
    assert shown == old_key
    result = node_module(state="registered", auth_id=auth_id, user="alice", expected_node_key=shown)
    assert result["changed"] and not result.get("failed"), result
    tab.wait_running()
    after = node_named(tab.host, "reauth")
    assert identity(after) == identity(before) and after["node_key"] == tab.node_key() != old_key
    again = node_module(state="registered", auth_id=auth_id, user="alice", expected_node_key=shown)
    assert not again["changed"] and not again.get("failed"), again


def test_a_reauthentication_with_another_devices_key_keeps_the_node_but_expires_it(clients, node_module):
    mine, theirs = enrol(clients, node_module, "mine"), enrol(clients, node_module, "theirs")
    mine_before, theirs_before = node_named(mine.host, "mine"), node_named(theirs.host, "theirs")
    auth_id = expire_and_login_again(theirs, node_module)[0]
    # The admin expects "mine" (its current key), but the auth id came from "theirs".
    result = node_module(state="registered", auth_id=auth_id, user="alice", expected_node_key=mine.node_key())
    assert result["failed"] and result["changed"], result
    assert "mismatch" in result["msg"] and mine.node_key() in result["msg"], result
    assert not any(a.startswith("delete") for a in result["actions"]), result
    theirs_after = node_named(theirs.host, "theirs")
    assert theirs_after is not None and identity(theirs_after) == identity(theirs_before)
    # Expired again: approving it once more is "no change" for the module, and the device is not let in.
    assert not node_module(name="theirs", state="expired")["changed"]
    time.sleep(3)
    assert theirs.status()["BackendState"] != "Running"
    mine_after = node_named(mine.host, "mine")
    assert identity(mine_after) == identity(mine_before) and mine_after["node_key"] == mine_before["node_key"]
    assert mine.status()["BackendState"] == "Running"


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
    started = time.time()
    deleted = node_module(name="desk-renamed", state="absent")
    call = time.time() - started
    assert deleted["changed"] and deleted["actions"][0].startswith("expire"), deleted
    # Expired before it is deleted, the client learns it is logged out instead of believing it
    # is Running with stale peers. Bound: 30 s from the call (the module waits 3 s between expiring
    # and deleting; a call takes 5-12 s on this loaded lab). Without the expiry it stayed Running for minutes.
    while desk.status()["BackendState"] == "Running":
        assert time.time() - started < 30, "desk still believes it is Running 30 s after state=absent was called"
        time.sleep(0.2)
    print("desk left Running %.1f s after state=absent was called (the call took %.1f s)"
          % (time.time() - started, call))
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

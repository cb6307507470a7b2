"""Each pre-auth key control, proven with real tailscale clients."""

import json
import time

from clients import node_named, server_nodes  # on sys.path via conftest


def test_single_use_key_enrols_once_and_is_refused_the_second_time(clients, mint):
    key = mint(user="alice")[1]
    first = clients("single-1")
    assert first.up(key).rc == 0
    assert first.status()["BackendState"] == "Running"
    assert node_named(first.host, "single-1")["user"]["name"] == "alice"

    second = clients("single-2")
    reuse = second.up(key)
    assert reuse.rc != 0
    assert "authkey already used" in reuse.stderr
    assert second.status()["BackendState"] != "Running"
    assert node_named(second.host, "single-2") is None


def test_expired_key_is_refused(host, clients, mint):
    # A key shorter-lived than a minute is refused at mint; the key dies the way an admin ends one.
    key_id, key = mint(user="alice", expiration="1h")
    host.ansible("tailnet.headscale.preauth_key", json.dumps({"state": "absent", "id": key_id}), check=False)
    client = clients("expired")
    result = client.up(key)
    assert result.rc != 0
    assert "expired" in result.stderr
    assert node_named(client.host, "expired") is None


def test_declared_reusable_key_enrols_two_clients(clients, declared_keys):
    key = declared_keys[0]["key"]
    for name in ("reuse-1", "reuse-2"):
        client = clients(name)
        assert client.up(key).rc == 0
        assert client.status()["BackendState"] == "Running"
    assert node_named(client.host, "reuse-1") and node_named(client.host, "reuse-2")


def test_revoked_key_is_refused(host, clients, mint):
    key_id, key = mint(user="bob")
    host.ansible("tailnet.headscale.preauth_key", "id=%d state=absent" % key_id, check=False)
    client = clients("revoked")
    result = client.up(key)
    assert result.rc != 0
    assert "expired" in result.stderr
    assert node_named(host, "revoked") is None


def test_the_incident_playbook_revokes_every_key_of_a_user(host, clients, mint, playbook):
    leaked = [mint(user="bob")[1], mint(user="bob", reusable=True)[1]]
    stats, failures = playbook("revoke_preauth_keys", revoke_user="bob")
    assert stats["failures"] == 0 and stats["changed"] == 1, (stats, failures)
    for index, key in enumerate(leaked):
        client = clients("leak%d" % index)
        result = client.up(key)
        assert result.rc != 0 and "expired" in result.stderr, result.stderr
    again, failures = playbook("revoke_preauth_keys", revoke_user="bob")
    assert again["changed"] == 0, (again, failures)
    # The audit trail has each mint and revocation, and neither secret anywhere in the journal.
    trail = host.check_output("journalctl -t tailnet-headscale --no-pager -o cat")
    assert "module=tailnet.headscale.preauth_key" in trail and "command='preauthkeys expire --id" in trail, trail[-2000:]
    assert "result=ok command='preauthkeys create" in trail
    journal = host.check_output("journalctl --no-pager -o cat")
    assert not [key for key in leaked if key in journal]
    refused, failures = playbook("revoke_preauth_keys")
    assert refused["failures"] == 1 and "exactly one of" in failures[-1], failures


def test_revoking_a_users_keys_counts_usable_ones_and_names_tag_only_keys_then_tags_revoke_them(clients, mint, playbook):
    spent = clients("spent")
    assert spent.up(mint(user="bob")[1]).rc == 0
    mint(user="bob")
    tag_only_id, tag_only = mint(tags=["tag:ci"])
    stats, failures = playbook("revoke_preauth_keys", revoke_user="bob")
    assert stats["failures"] == 0, failures
    report = playbook.messages[-1]
    # The used-up key is expired too, but not counted as revoked; the tag-only key is named, left alone.
    assert report.startswith("1 usable key(s) revoked") and "1 used-up key(s) expired as well" in report, report
    assert "Left alone" in report and "tag:ci" in report, report
    stats, failures = playbook("revoke_preauth_keys", revoke_tags=["tag:ci"])
    assert stats["failures"] == 0 and stats["changed"] == 1, failures
    assert playbook.messages[-1].startswith("1 usable key(s) revoked"), playbook.messages
    refused = clients("tagleak").up(tag_only)
    assert refused.rc != 0 and "expired" in refused.stderr, (tag_only_id, refused.stderr)


def test_ephemeral_node_disappears_after_it_goes_away(host, clients, mint):
    key = mint(user="bob", ephemeral=True)[1]
    client = clients("ephemeral")
    assert client.up(key).rc == 0
    assert node_named(host, "ephemeral") is not None
    client.stop()
    # inactivity_timeout is 70 s in this scenario (headscale's minimum is 65 s).
    deadline = time.time() + 150
    while node_named(host, "ephemeral") is not None:
        assert time.time() < deadline, [n["name"] for n in server_nodes(host)]
        time.sleep(5)

"""Fleet enrolment with the client role (issue 7), proven on a real headscale
server and two real tailscale clients in separate containers.

The converge enrolled both clients; molecule's idempotence step already
required changed=0 of a second converge. These tests read what an admin would
read - the clients' own `tailscale status` and the server's nodes and keys - and
run the join playbook again the way an admin does."""

import json
import re
import shlex

import pytest

from conftest import server_keys, server_nodes  # pylint: disable=import-error


def node_by_key(server, node_key):
    return next((n for n in server_nodes(server) if n["node_key"] == node_key), None)


def test_both_clients_are_running_and_see_each_other(server, c1, c2):
    for me, other in ((c1, c2), (c2, c1)):
        status = me.status()
        assert status["BackendState"] == "Running", me.name
        assert me.prefs()["ControlURL"] == "http://172.30.77.10:8080"
        peers = {p["HostName"]: p for p in (status.get("Peer") or {}).values()}
        other_name = other.status()["Self"]["HostName"]
        assert other_name in peers, "%s does not see %s: %s" % (me.name, other_name, sorted(peers))
        assert peers[other_name]["Online"]
        # WireGuard through the tailnet, not just a list entry: a disco ping answered.
        ping = me.host.run("tailscale ping --c 5 --timeout 5s %s" % peers[other_name]["TailscaleIPs"][0])
        assert ping.rc == 0 and "pong from" in ping.stdout, ping.stdout + ping.stderr


def test_requested_settings_are_what_the_nodes_report(server, c1, c2):
    self1, self2 = c1.status()["Self"], c2.status()["Self"]
    assert self1["HostName"] == "web-one" and self1["Tags"] == ["tag:web"]
    assert c1.prefs()["RouteAll"] is True
    assert not self2.get("Tags")
    assert c2.prefs()["AdvertiseRoutes"] == ["192.0.2.0/24"]
    # The server agrees: one node each, tagged or owned as requested.
    node1, node2 = node_by_key(server, self1["PublicKey"]), node_by_key(server, self2["PublicKey"])
    assert node1["tags"] == ["tag:web"] and node1["given_name"] == "web-one"
    assert node2["user"]["name"] == "ops" and not node2.get("tags")
    assert len(server_nodes(server)) == 2


def test_each_client_used_its_own_single_use_short_key(server):
    keys = server_keys(server)
    # Two after the converge; the tests below mint more, and a re-run of verify sees them.
    assert len(keys) >= 2
    for key in keys:
        assert key["used"] and not key.get("reusable") and not key.get("ephemeral")
        # Minted with tailscale_preauth_key_expiration (10m) - not the module's hour, not days.
        assert key["expiration"]["seconds"] - key["created_at"]["seconds"] <= 600
    tag_sets = [k.get("acl_tags") or [] for k in keys]
    # The tagged client's key carried only the quarantine tag; the role's approval gave it tag:web.
    assert [] in tag_sets and ["tag:quarantine"] in tag_sets and ["tag:web"] not in tag_sets


def test_the_converge_minted_both_keys_in_one_module_call(server):
    # The audit trail names each headscale command a module ran, from the module's own process.
    records = [json.loads(line) for line in server.check_output(
        "journalctl -t tailnet-headscale --no-pager -o json").splitlines() if line.strip()]
    creates = [r for r in records if "action=preauthkeys.create " in r["MESSAGE"] and "result=ok" in r["MESSAGE"]]
    # The converge's two keys come first (the tests below mint more, each with its own call).
    assert len(creates) >= 2
    assert creates[0]["_PID"] == creates[1]["_PID"], [r["MESSAGE"] for r in creates[:2]]


def test_a_host_that_fails_after_its_key_was_minted_leaves_no_usable_key(server, c1, c2, join):
    # c1 is sent to a control server that refuses connections: its key is minted, tailscale up
    # fails, c1 stops. c2, enrolled already, goes on and expires the key c1 left unused.
    keys_before = server_keys(server)
    try:
        stats, failures, output = join("tailnet_clients", tailscale_reregister=True, tailscale_up_timeout=5,
                                       tailscale_login_server="{{ 'http://172.30.77.10:9' if inventory_hostname == '%s' "
                                                              "else '' }}" % c1.name)
        assert stats[c1.name]["failures"] == 1 and stats[c2.name]["failures"] == 0, failures
        # The expiry reports the key it expired by its prefix (hskey-auth- and 12 characters, what
        # `preauthkeys list` shows); the secret that follows it is in no output.
        assert not re.search(r"hskey-auth-[A-Za-z0-9]{12}-[A-Za-z0-9]", output)
        now = int(server.check_output("date +%s"))
        new = [k for k in server_keys(server) if k["id"] not in set(b["id"] for b in keys_before)]
        # headscale leaves a false "used" out of its JSON.
        assert len(new) == 1 and not new[0].get("used", False), new
        assert new[0]["expiration"]["seconds"] <= now, "the key minted for %s is still usable: %s" % (c1.name, new)
    finally:
        # Back as the inventory says, for the tests after this one and for a re-run of verify.
        stats, failures, output = join(c1.name, tailscale_reregister=True)
        assert failures == []
    assert c1.status()["BackendState"] == "Running" and c1.status()["Self"]["Tags"] == ["tag:web"]


def test_the_key_is_on_neither_client_disk(c1, c2, server):
    for client in (c1, c2):
        # Anywhere a file could have been left: state, config, ansible's temporary files.
        found = client.host.run("grep -rl 'hskey-auth-' /etc /var /root /tmp /run /usr/local /home 2>/dev/null")
        assert found.stdout == "", "%s holds a key in %s" % (client.name, found.stdout)


def test_a_rerun_mints_no_key_and_changes_nothing(server, c1, c2, join):
    before = server_keys(server)
    nodes_before = server_nodes(server)
    stats, failures, output = join("tailnet_clients")
    assert failures == []
    for client in (c1, c2):
        assert stats[client.name]["changed"] == 0, client.name
    assert server_keys(server) == before
    assert server_nodes(server) == nodes_before
    assert "hskey-auth-" not in output


@pytest.mark.parametrize("extra_vars, words", [
    ({"tailscale_tags": ["web"]}, ["tailscale_tags", '"web"', "tag:"]),
    ({"tailscale_state": "gone"}, ["tailscale_state", "gone"]),
    ({"tailscale_headscale_host": "hs-nowhere"}, ["hs-nowhere", "not a host of this inventory"]),
    ({"tailscale_preauth_key_expiration": "30d"}, ["tailscale_preauth_key_expiration", "30d"]),
    ({"tailscale_advertise_routes": ["192.0.2.0"]}, ["tailscale_advertise_routes", "192.0.2.0"]),
    ({"tailscale_binary_sha256": {"tailscale": "0" * 64, "tailscaled": "0" * 64}}, ["checksum mismatch", "0" * 64]),
    # Registered with tag:web: other tags are refused unless re-registration is asked for.
    ({"tailscale_tags": ["tag:db"]}, ["tag:web", "tag:db", "tailscale_reregister"]),
    ({"tailscale_login_server": "http://other.invalid:8080"}, ["http://other.invalid:8080", "tailscale_reregister"]),
], ids=["tag-without-prefix", "unknown-state", "unknown-server-host", "long-lived-key", "route-not-cidr",
        "checksum-mismatch", "other-tags", "other-server"])
def test_bad_input_is_refused_and_changes_nothing(server, c1, join, extra_vars, words):
    keys_before, nodes_before = server_keys(server), server_nodes(server)
    prefs_before, binary_before = c1.prefs(), c1.host.file("/usr/local/sbin/tailscaled").sha256sum
    stats, failures, output = join(c1.name, **extra_vars)
    assert stats[c1.name]["failures"] == 1 and stats[c1.name]["changed"] == 0
    message = " ".join(failures)
    for word in words:
        assert word in message, "%r not in %r" % (word, message)
    assert server_keys(server) == keys_before
    assert server_nodes(server) == nodes_before
    assert c1.prefs() == prefs_before and c1.status()["BackendState"] == "Running"
    assert c1.host.file("/usr/local/sbin/tailscaled").sha256sum == binary_before
    assert "hskey-auth-" not in output


def test_other_tags_are_applied_when_re_registration_is_asked_for(server, c1, join):
    keys_before = len(server_keys(server))
    node_before = node_by_key(server, c1.status()["Self"]["PublicKey"])
    try:
        stats, failures, output = join(c1.name, tailscale_tags=["tag:db"], tailscale_reregister=True)
        assert failures == [] and stats[c1.name]["changed"] > 0
        assert "hskey-auth-" not in output
        status = c1.status()
        assert status["BackendState"] == "Running" and status["Self"]["Tags"] == ["tag:db"]
        assert len(server_keys(server)) == keys_before + 1
        node = node_by_key(server, status["Self"]["PublicKey"])
        assert node["tags"] == ["tag:db"]
        # headscale would keep a known machine's tags whatever the new key says:
        # the old node was deleted and a new one registered, with a new node key.
        assert node["id"] != node_before["id"] and node["node_key"] != node_before["node_key"]
        assert not [n for n in server_nodes(server) if n["id"] == node_before["id"]]
        assert len(server_nodes(server)) == 2
    finally:
        # Back as the inventory says, for the tests after this one and for a re-run of verify.
        stats, failures, output = join(c1.name, tailscale_reregister=True)
        assert failures == []
    assert c1.status()["Self"]["Tags"] == ["tag:web"]


def test_absent_deletes_the_node_and_logs_out_and_a_rejoin_works(server, c1, c2, join):
    node_key = c2.status()["Self"]["PublicKey"]
    assert node_by_key(server, node_key) is not None
    stats, failures, output = join(c2.name, tailscale_state="absent")
    assert failures == [] and stats[c2.name]["changed"] > 0
    assert node_by_key(server, node_key) is None
    assert [n["given_name"] for n in server_nodes(server)] == ["web-one"]
    assert c2.status()["BackendState"] == "NeedsLogin"
    assert c2.prefs()["LoggedOut"] is True
    # Its peer no longer sees it.
    assert c1.peer_names() == []

    stats, failures, output = join(c2.name, tailscale_state="absent")
    assert failures == [] and stats[c2.name]["changed"] == 0

    # Enrolled again, with a key of its own.
    keys_before = len(server_keys(server))
    stats, failures, output = join(c2.name)
    assert failures == [] and stats[c2.name]["changed"] > 0
    assert c2.status()["BackendState"] == "Running"
    assert len(server_keys(server)) == keys_before + 1
    assert "hs-join-c2" in c1.peer_names()


def tasks_run(output, host):
    """Names of the tasks that ran on HOST (not skipped), from the json callback's output."""
    plays = json.loads(output)["plays"]
    # A role's task is named "ROLE : NAME" there.
    return set(task["task"]["name"].split(" : ", 1)[-1] for play in plays for task in play["tasks"]
               if host in task["hosts"] and not task["hosts"][host].get("skipped"))


def test_a_rerun_reads_the_host_once_and_skips_the_install(c1, join):
    stats, failures, output = join(c1.name)
    assert failures == [] and stats[c1.name]["changed"] == 0
    ran = tasks_run(output, c1.name)
    assert "Read the installed tailscale in one call" in ran
    assert not ran & {"Install the verified binaries", "Configure tailscaled", "Enable and start tailscaled"}, ran


def test_the_full_path_changes_nothing_either(server, c1, join):
    nodes_before = server_nodes(server)
    stats, failures, output = join(c1.name, tailscale_fast_path=False)
    assert failures == [] and stats[c1.name]["changed"] == 0
    assert {"Install the verified binaries", "Configure tailscaled", "Enable and start tailscaled"} <= tasks_run(output, c1.name)
    assert server_nodes(server) == nodes_before


DAEMON = "/usr/local/sbin/tailscaled"
SETTINGS = "/etc/default/tailscaled"
UNIT = "/etc/systemd/system/tailscaled.service"


def daemon_started_with(client):
    """tailscaled's command line and environment, as it was started."""
    return client.host.check_output("pid=$(systemctl show -p MainPID --value tailscaled) && "
                                    "tr '\\0' ' ' < /proc/$pid/cmdline && tr '\\0' ' ' < /proc/$pid/environ")


DRIFTS = {
    "settings-edited": "echo 'FLAGS=\"--verbose=2\"' >> /etc/default/tailscaled",
    "binary-mode": "chmod 0777 /usr/local/bin/tailscale",
    "unit-owner": "chown nobody /etc/systemd/system/tailscaled.service",
    "unit-edited": "echo '# edited' >> /etc/systemd/system/tailscaled.service",
    "daemon-stopped": "systemctl disable --now tailscaled",
    # Same bytes, new file: the daemon still runs the replaced one until it restarts.
    "binary-replaced-under-daemon": "cp -p %s %s.new && mv %s.new %s" % (DAEMON, DAEMON, DAEMON, DAEMON),
    # A run stopped between writing a file and restarting: the file is as requested, the daemon still runs
    # as started from the old one (flags, environment). The second's wait puts the write after the start.
    # (The other flags kept: without --tun=userspace-networking tailscaled exits here, and systemd's
    # restart would read the restored file.)
    "settings-written-not-applied": "cp -p {f} /root/requested && sed -i 's/^FLAGS=\"/FLAGS=\"--verbose=2 /' {f} "
                                    "&& systemctl restart tailscaled && sleep 1.1 && cp /root/requested {f} "
                                    "&& rm /root/requested".format(f=SETTINGS),
    "unit-written-not-applied": "cp -p {f} /root/requested && sed -i '/^\\[Service\\]/a Environment=TAILNET_DRIFT=1' {f} "
                                "&& systemctl daemon-reload && systemctl restart tailscaled && sleep 1.1 "
                                "&& cp /root/requested {f} && rm /root/requested && systemctl daemon-reload".format(f=UNIT),
}


# One kind of drift on each client (Debian 12 and 13), repaired by one join of both: each host's own
# read must catch its own drift, and a host that drifted alone proves nothing about the other.
@pytest.mark.parametrize("drift_c1, drift_c2", [
    ("settings-edited", "binary-mode"),
    ("unit-owner", "unit-edited"),
    ("daemon-stopped", "binary-replaced-under-daemon"),
    ("settings-written-not-applied", "unit-written-not-applied"),
], ids=lambda kind: kind)
def test_drift_on_a_client_is_repaired_and_the_node_kept(server, c1, c2, join, drift_c1, drift_c2):
    drifted = {c1: DRIFTS[drift_c1], c2: DRIFTS[drift_c2]}
    node_keys = dict((client, client.status()["Self"]["PublicKey"]) for client in drifted)
    settings = dict((client, client.host.file("/etc/default/tailscaled").content_string) for client in drifted)
    keys_before = server_keys(server)
    for client, drift in drifted.items():
        client.host.run_test("sh -c %s" % shlex.quote(drift))
    # The daemons really run as the old files said (a crash would have restarted them from the new ones).
    if drift_c1 == "settings-written-not-applied":
        assert "--verbose=2" in daemon_started_with(c1)
    if drift_c2 == "unit-written-not-applied":
        assert "TAILNET_DRIFT=1" in daemon_started_with(c2)
    both = ",".join(client.name for client in drifted)
    stats, failures, output = join(both)
    assert failures == []
    for client in drifted:
        assert stats[client.name]["changed"] > 0, client.name
        assert "Install the verified binaries" in tasks_run(output, client.name), client.name
        assert client.host.file(SETTINGS).content_string == settings[client]
        assert client.host.file("/usr/local/bin/tailscale").mode == 0o755
        assert client.host.file(UNIT).user == "root"
        service = client.host.service("tailscaled")
        assert service.is_running and service.is_enabled, client.name
        pid = client.host.check_output("systemctl show -p MainPID --value tailscaled")
        assert client.host.check_output("readlink /proc/%s/exe" % pid) == DAEMON, client.name
        # Started from the requested unit and settings, whatever it ran with before.
        started_with = daemon_started_with(client)
        assert "--verbose=2" not in started_with and "TAILNET_DRIFT" not in started_with, client.name
        # The same node, no new key, and back on the fast path.
        assert client.status()["Self"]["PublicKey"] == node_keys[client] and client.status()["BackendState"] == "Running"
    assert server_keys(server) == keys_before
    stats, failures, output = join(both)
    assert failures == []
    for client in drifted:
        assert stats[client.name]["changed"] == 0, client.name
        assert "Install the verified binaries" not in tasks_run(output, client.name), client.name

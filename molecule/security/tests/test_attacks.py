"""An attacker's view of a converged host: what the proxy, headscale and the role
let through, and what they refuse (docs/hardening.md maps each to its threat)."""

import json
import os
import re
import subprocess
import time

from conftest import ADDRESSES, journal, node_named, wait_for

OFFICIAL_UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "headscale-official.service")
LOOPBACK = re.compile(r"^(127\.|\[?::1\]?$)")
CURL = "curl -sS --max-time 10 "


def refused(result):
    return result.rc != 0 and "Running" not in result.stdout


# Source addresses are chosen so each test has the proxy's per-address budget it
# needs: a tailscale login costs about six requests (/key, /ts2021) out of a burst
# of 20, refilled at one per two seconds. The attacker floods; the newcomer's
# refused logins are the ones audited.
STARTED = time.time()


def test_brute_force_is_rate_limited_while_a_valid_client_joins(
        server, attacker_host, newcomer_host, start_client, mint_key):
    since = time.time() - 1
    # Each guess is a new control connection: the Noise upgrade a tailscale login opens
    # (headscale answers 101 before reading the handshake, hence the short timeout).
    codes = attacker_host.run(
        "for i in $(seq 60); do curl -s --max-time 2 -o /dev/null -w '%{http_code}\\n' -X POST "
        "-H 'Upgrade: tailscale-control-protocol' -H 'Connection: upgrade' "
        "-H 'X-Tailscale-Handshake: AAAAAAAA' https://headscale.lab/ts2021; done").stdout.split()
    assert len(codes) == 60 and "429" not in codes[:10], codes
    assert codes.count("429") >= 30, codes
    # Another address is not affected: a legitimate client joins now.
    client = start_client(newcomer_host, "legit-joiner")
    result = client.up(mint_key(user="ops", tags=["tag:web"])[1])
    assert result.rc == 0, result.stderr
    client.wait_running()
    # The attacker is named in the proxy's log.
    log = journal(server, "tailnet_headscale_proxy", since)
    assert re.search(r"limiting requests.*client: %s" % re.escape(ADDRESSES["hs-sec-attacker"]), log), log[-2000:]
    client.stop()


def test_reused_single_use_key_is_refused(server, peer_host, newcomer_host, start_client, mint_key):
    key_id, key = mint_key(user="ops", tags=["tag:web"])
    first = start_client(peer_host, "reuse-first")
    assert first.up(key).rc == 0
    first.wait_running()
    second = start_client(newcomer_host, "reuse-second")
    result = second.up(key)
    assert refused(result), result.stdout + result.stderr
    assert "authkey already used" in result.stderr, result.stderr
    assert node_named(server, "reuse-second") is None
    first.stop()


def test_expired_key_is_refused(server, newcomer_host, start_client, mint_key):
    # A key shorter-lived than a minute is refused at mint; the key dies the way an admin ends one.
    key_id, key = mint_key(user="ops", tags=["tag:web"], expiration="1h")
    server.ansible("tailnet.headscale.preauth_key", json.dumps({"state": "absent", "id": key_id}), check=False)
    client = start_client(newcomer_host, "expired-key")
    result = client.up(key)
    assert refused(result), result.stdout + result.stderr
    assert "authkey expired" in result.stderr, result.stderr
    assert node_named(server, "expired-key") is None


def test_registration_attempts_are_in_the_audit_trail(server):
    # headscale logs neither the key nor the outcome: the records name the address,
    # and a burst of attempts from one address raises a warning (threshold 2 here).
    newcomer = ADDRESSES["hs-sec-newcomer"]
    record = "event=registration-request remote=%s path=/machine/register" % newcomer
    burst = "event=registration-burst remote=%s" % newcomer

    def trail_with_burst():
        text = journal(server, "tailnet-headscale", STARTED)
        return text if burst in text else None

    trail = wait_for(trail_with_burst, what=burst)
    # The legitimate join, the reused key and the expired key.
    assert trail.count(record) >= 3, trail
    assert "hskey-auth" not in trail


def test_unprivileged_user_cannot_use_the_cli_socket(server):
    server.run("id mallory || useradd --no-create-home mallory")
    server.run("id alice || useradd --no-create-home --groups headscale-admin alice")
    denied = server.run("runuser -u mallory -- headscale users list")
    assert denied.rc != 0 and "permission denied" in (denied.stdout + denied.stderr).lower(), denied.stderr
    allowed = server.run("runuser -u alice -- headscale users list")
    assert allowed.rc == 0 and "ops" in allowed.stdout, allowed.stderr


def listeners(host):
    pairs = []
    for line in host.check_output("ss -Htuln").splitlines():
        address, port = line.split()[4].rsplit(":", 1)
        pairs.append((address.split("%")[0], int(port)))
    return pairs


def test_only_the_proxy_listens_off_loopback(server, attacker_host):
    exposed = [(a, p) for a, p in listeners(server) if not LOOPBACK.match(a)]
    assert exposed and all(port == 443 for address, port in exposed), exposed
    assert "nginx" in server.check_output("ss -Htlnp 'sport = :443'")
    # Nothing answers on headscale's own ports, or plain HTTP, from the network.
    for port in (80, 8080, 9090, 50443):
        result = attacker_host.run(CURL + "http://172.30.78.10:%d/" % port)
        assert result.rc == 7, (port, result.stdout, result.stderr)  # connection refused


def test_tls_is_modern_only_with_hsts(attacker_host):
    tls12 = attacker_host.run("openssl s_client -connect headscale.lab:443 -servername headscale.lab -tls1_2 </dev/null")
    assert tls12.rc != 0
    tls13 = attacker_host.run("openssl s_client -connect headscale.lab:443 -servername headscale.lab -tls1_3 </dev/null")
    assert tls13.rc == 0 and "Verify return code: 0 (ok)" in tls13.stdout, tls13.stdout[-1500:]
    headers = attacker_host.check_output(CURL + "-D - -o /dev/null https://headscale.lab/health").lower()
    assert "strict-transport-security: max-age=63072000; includesubdomains" in headers, headers
    assert "server: nginx\r" in headers  # no version disclosed


def test_metrics_are_not_proxied(server, attacker_host):
    assert "headscale_" in server.check_output("curl -sS http://127.0.0.1:9090/metrics")
    for path in ("/metrics", "/debug/pprof/"):
        code = attacker_host.check_output(CURL + "-o /dev/null -w '%{http_code}' https://headscale.lab" + path)
        assert code == "404", (path, code)


def sha256(host, path):
    return host.check_output("sha256sum %s" % path).split()[0]


def test_insecure_deployments_are_refused_and_change_nothing(server, playbook):
    files = ["/etc/headscale/config.yaml", "/etc/headscale/policy.json", "/etc/nginx/conf.d/tailnet-headscale.conf"]
    before = [sha256(server, f) for f in files]
    # Each role reports every problem of its settings in one refusal, before its first change: the
    # server's two bad settings are one run, the proxy's two another (the server role is unchanged in
    # that run). A policy that exposes the quarantine is checked after the settings: a run of its own.
    cases = [
        ({"headscale_server_url": "http://headscale.lab",
          "headscale_config": {"metrics_listen_addr": "0.0.0.0:9090"}},
         ["2 problem(s)", "is not https", "metrics_listen_addr '0.0.0.0:9090' is off loopback"]),
        ({"headscale_policy": {"acls": [{"action": "accept", "src": ["*"], "dst": ["tag:web:*"]}]}},
         ["acls[0].src '*'"]),
        ({"headscale_proxy_upstream": "172.30.78.10:8080", "headscale_proxy_registration_rate": "lots"},
         ["'172.30.78.10:8080' is not a loopback", "headscale_proxy_registration_rate 'lots'"]),
        # Passes the role's checks; nginx -t rejects it, so it never lands.
        ({"headscale_proxy_listen_addresses": ["256.1.1.1"]}, ["256.1.1.1"]),
    ]
    for extra_vars, words in cases:
        stats, failures = playbook("site", **extra_vars)
        assert stats["failures"] == 1, (extra_vars, failures)
        for word in words:
            assert any(word in failure for failure in failures), (word, extra_vars, failures)
    assert [sha256(server, f) for f in files] == before
    assert server.service("nginx").is_running and server.service("headscale").is_running


def test_secrets_absent_from_verbose_output_and_logs(server):
    since = time.time() - 1
    secrets_file = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "verbose-keys.yml")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    # Unlike any key the other tests minted, so this run mints one.
    extra = {"headscale_preauth_keys": [{"user": "ops", "reusable": True, "expiration": "10m"}],
             "headscale_preauth_keys_secrets_file": secrets_file}
    done = subprocess.run(["ansible-playbook", "-vvv", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
                           "tailnet.headscale.site", "-l", "hs-sec-server", "-e", json.dumps(extra)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    output = done.stdout + done.stderr
    with open(secrets_file) as handle:
        key = re.search(r"hskey-auth-[A-Za-z0-9_-]+", handle.read()).group(0)
    noise = server.check_output("cat /var/lib/headscale/noise_private.key").strip().split(":")[-1]
    tls_key = server.check_output("sed -n 2p /etc/nginx/tailnet-headscale/server.key").strip()
    # The run was verbose, and printed the minting task's result: the key's public prefix
    # (headscale's "prefix", the start of the key) is in the output, right where the secret
    # would be if it leaked. The secret is what follows the prefix.
    listed = json.loads(server.check_output("headscale preauthkeys list -o json"))
    prefix = [k["key"][:-len("-***")] for k in listed
              if k["key"].endswith("-***") and key.startswith(k["key"][:-len("***")])]
    assert len(prefix) == 1, "the minted key is not on the server"
    assert "ESTABLISH" in output and prefix[0] in output, "the minting task's result is not in the output"
    secret_part = key[len(prefix[0]) + 1:]
    logs = server.check_output("journalctl --no-pager -o cat --since=@%d" % int(since))
    for name, secret in (("pre-auth key", secret_part), ("noise key", noise), ("TLS key", tls_key)):
        assert len(secret) > 20
        assert secret not in output, name + " in ansible-playbook -vvv output"
        assert secret not in logs, name + " in the journal"
    os.remove(secrets_file)


def exposure(host, unit):
    out = host.check_output("systemd-analyze security --no-pager %s" % unit)
    return float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))


def test_exposure_below_official_unit(server):
    server.ansible("ansible.builtin.copy", "src=%s dest=/etc/systemd/system/headscale-official.service mode=0644"
                   % OFFICIAL_UNIT, check=False)
    server.check_output("systemctl daemon-reload")
    ours, official = exposure(server, "headscale.service"), exposure(server, "headscale-official.service")
    assert ours < official, "ours %s vs official %s" % (ours, official)
    # The registration audit service is sandboxed too.
    assert exposure(server, "tailnet-headscale-registration-watch.service") < official

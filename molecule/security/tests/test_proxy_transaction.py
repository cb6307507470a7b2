"""The proxy puts a site, certificate and key in place together or not at all, repairs a host
left broken on the next plain run, and refuses bad settings before its first change
(roles/proxy: preflight.yml, proxy-apply). Each run is the proxy play of site.yml alone (the
server play matches no host): the same command an admin runs, minus the part that cannot
matter here, which keeps this file to a few minutes."""

import os
import re

LIVE = {"certificate": "/etc/nginx/tailnet-headscale/server.crt",
        "key": "/etc/nginx/tailnet-headscale/server.key",
        "site": "/etc/nginx/conf.d/tailnet-headscale.conf"}
STAGED = {"certificate": "/etc/nginx/tailnet-headscale/staged/server.crt",
          "key": "/etc/nginx/tailnet-headscale/staged/server.key",
          "site": "/etc/nginx/tailnet-headscale/staged/site.conf"}
# The server role's host lock, which the proxy shares (plugins/module_utils/host_lock.py).
LOCK = "/run/tailnet-headscale.lock"
LOCK_TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "plugins", "module_utils", "host_lock.py")
# Only the proxy play of site.yml runs: the server play matches no host.
PROXY_ONLY = {"headscale_target_hosts": "no-such-host", "headscale_monitoring_target_hosts": "no-such-host"}
HTTPS = ("curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{ssl_verify_result}' "
         "https://headscale.lab/health")


def checksums(host, paths):
    return dict((name, host.check_output("sha256sum %s" % path).split()[0]) for name, path in paths.items())


def main_pid(host, unit):
    return host.check_output("systemctl show -p MainPID --value %s" % unit)


def snapshot(host):
    """Everything the proxy manages, and the services that must not restart: contents, modes,
    mtimes (a rewrite with the same content shows), and the main PIDs."""
    files = host.check_output(
        "find /etc/nginx /usr/local/libexec/tailnet-headscale -type f -printf '%p %m %T@\\n' | sort")
    return {"files": files, "live": checksums(host, LIVE), "staged": checksums(host, STAGED),
            "nginx": main_pid(host, "nginx"), "headscale": main_pid(host, "headscale"),
            "lock": host.file(LOCK + ".holder").exists}


def pair_matches(host):
    return (host.check_output("openssl x509 -in %s -noout -pubkey" % LIVE["certificate"])
            == host.check_output("openssl pkey -in %s -pubout" % LIVE["key"]))


def serving(attacker_host):
    """nginx answers over TLS with a certificate the client verifies against the lab CA."""
    return attacker_host.check_output(HTTPS) == "200 0"


def break_the_pair(host):
    """What a failed lab certificate request used to leave: a new server.key beside the old server.crt."""
    host.check_output("openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out %s.new "
                      "&& mv %s.new %s" % (LIVE["key"], LIVE["key"], LIVE["key"]))
    broken = host.run("nginx -t")
    assert broken.rc != 0 and "key values mismatch" in broken.stderr, broken.stderr


def test_broken_tls_is_repaired_by_the_next_plain_run(server, attacker_host, playbook):
    # A host converged before the staging directory existed, broken as the issue describes.
    server.check_output("rm -rf /etc/nginx/tailnet-headscale/staged")
    break_the_pair(server)
    stats, failures = playbook("site", **PROXY_ONLY)
    assert stats["failures"] == 0 and failures == [], failures
    assert stats["changed"] >= 1, stats
    assert server.run("nginx -t").rc == 0
    assert pair_matches(server)
    assert checksums(server, LIVE) == checksums(server, STAGED)
    assert serving(attacker_host)
    # A key replaced by hand with the staged set present: the working pair goes back, no new one.
    working = checksums(server, LIVE)
    break_the_pair(server)
    stats, failures = playbook("site", **PROXY_ONLY)
    assert stats["failures"] == 0 and stats["changed"] >= 1, (stats, failures)
    assert checksums(server, LIVE) == working
    assert server.run("nginx -t").rc == 0 and serving(attacker_host)
    # Repaired for good: the next plain run has nothing to do.
    stats, failures = playbook("site", **PROXY_ONLY)
    assert stats["failures"] == 0 and stats["changed"] == 0, (stats, failures)


def test_a_refused_certificate_request_leaves_the_working_pair_serving(server, attacker_host, playbook):
    before = snapshot(server)
    assert serving(attacker_host)
    stats, failures = playbook("site", headscale_proxy_lab_ca_extra_names=["not-a-san"], **PROXY_ONLY)
    assert stats["failures"] == 1, failures
    assert any("headscale_proxy_lab_ca_extra_names entry 'not-a-san' is not a subjectAltName" in f
               and "DNS:host.example or IP:192.0.2.10" in f for f in failures), failures
    assert snapshot(server) == before
    assert serving(attacker_host)


def test_a_new_pair_nginx_rejects_never_goes_live(server, attacker_host, playbook):
    """A new certificate is issued (new name), but the set it belongs to fails nginx -t (an
    address this host does not have): nothing live changes, and the reason is nginx's own."""
    before = snapshot(server)
    stats, failures = playbook("site", headscale_proxy_lab_ca_extra_names=["IP:192.0.2.1"],
                               headscale_proxy_listen_addresses=["192.0.2.1"], **PROXY_ONLY)
    assert stats["failures"] == 1, failures
    assert any("nginx -t refuses the new set (server.key server.crt site.conf)" in f
               and "bind() to 192.0.2.1:443 failed (99: Cannot assign requested address)" in f
               for f in failures), failures
    after = snapshot(server)
    assert after["live"] == before["live"] and after["nginx"] == before["nginx"]
    assert after["headscale"] == before["headscale"]
    # The staged set is back to the working one, so the next plain run changes nothing.
    assert after["staged"] == before["staged"] and not after["lock"]
    assert server.run("nginx -t").rc == 0 and pair_matches(server)
    assert serving(attacker_host)
    stats, failures = playbook("site", **PROXY_ONLY)
    assert stats["failures"] == 0 and stats["changed"] == 0, (stats, failures)


def test_bad_proxy_settings_are_refused_before_any_change(server, playbook):
    before = snapshot(server)
    bad = {
        "headscale_proxy_hsts_max_age": -1,
        "headscale_proxy_port": 70000,
        "headscale_proxy_listen_addresses": ["0.0.0.0:443", "[::]"],
        "headscale_proxy_upstream": "127.0.0.1",
        "headscale_proxy_lab_ca_extra_names": ["DNS:", "IP:192.0.2.300"],
        "headscale_proxy_api_rate": "10r/h",
        "headscale_proxy_connections_per_address": 0,
    }
    stats, failures = playbook("site", **dict(bad, **PROXY_ONLY))
    assert stats["failures"] == 1 and len(failures) == 1, failures
    for words in ("headscale_proxy_hsts_max_age '-1' is below 0",
                  "headscale_proxy_port '70000' is not a TCP port (1-65535)",
                  "headscale_proxy_listen_addresses entry '0.0.0.0:443'",
                  "headscale_proxy_upstream '127.0.0.1' is not a loopback address:port",
                  "headscale_proxy_lab_ca_extra_names entry 'DNS:'",
                  "headscale_proxy_lab_ca_extra_names entry 'IP:192.0.2.300'",
                  "headscale_proxy_api_rate '10r/h'",
                  "headscale_proxy_connections_per_address '0' is below 1"):
        assert words in failures[0], (words, failures[0])
    assert snapshot(server) == before


def test_values_of_the_wrong_type_are_refused_before_any_change(server, playbook):
    before = snapshot(server)
    stats, failures = playbook("site", headscale_proxy_hsts_max_age="two years", headscale_proxy_port="https",
                               **PROXY_ONLY)
    assert stats["failures"] == 1 and len(failures) == 1, failures
    for name in ("headscale_proxy_hsts_max_age", "headscale_proxy_port"):
        assert re.search(r"argument '%s' is of type .* unable to convert to int" % name, failures[0]), failures
    assert snapshot(server) == before


def test_a_run_waits_for_the_host_lock_and_names_its_holder(server, playbook):
    """Another run (a server role run, say) holds the lock: the proxy run waits, then fails naming
    it, having changed nothing; once that run lets go, the proxy run goes through."""
    server.ansible("ansible.builtin.copy", "src=%s dest=/root/host_lock.py mode=0600" % LOCK_TOOL, check=False)
    other = "server@elsewhere/boot/4242/1"
    server.check_output("python3 /root/host_lock.py acquire %s 0 600 'mallory on elsewhere' ''" % other)
    try:
        before = snapshot(server)
        assert before["lock"]
        stats, failures = playbook("site", _headscale_proxy_lock_timeout=4, **PROXY_ONLY)
        assert stats["failures"] == 1, failures
        assert any("another run holds the headscale host lock %s and did not release it within 4 s" % LOCK in f
                   and "run %s (mallory on elsewhere)" % other in f for f in failures), failures
        assert snapshot(server) == before
    finally:
        server.check_output("python3 /root/host_lock.py release %s" % other)
    stats, failures = playbook("site", **PROXY_ONLY)
    assert stats["failures"] == 0 and stats["changed"] == 0, (stats, failures)
    # The proxy run gave the lock up.
    assert not server.file(LOCK + ".holder").exists

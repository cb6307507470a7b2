"""What an admin checks on a converged headscale host, one check per test."""

import os
import re

import pytest
import yaml

VERSION = os.environ["TAILNET_HEADSCALE_VERSION"]
BINARY_SHA256 = os.environ["TAILNET_HEADSCALE_BINARY_SHA256"]
OFFICIAL_UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "headscale-official.service")
LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|\[::1\]|::1)$")


def listeners(host, proto):
    """Local addresses of listening sockets, as (address, port) pairs."""
    out = host.check_output(f"ss -{proto}lnH")
    pairs = []
    for line in out.splitlines():
        local = line.split()[3]
        addr, port = local.rsplit(":", 1)
        pairs.append((addr.split("%")[0], int(port)))
    return pairs


def exposure(host, unit):
    out = host.check_output(f"systemd-analyze security --no-pager {unit}")
    return float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))


def test_binary_is_the_pinned_version(host, paths):
    assert f"headscale version v{VERSION}" in host.check_output(f"{paths['binary']} version")


def test_binary_is_the_verified_file_and_root_owned(host, paths):
    link = host.file(paths["binary"])
    assert link.is_symlink
    binary = host.file(link.linked_to)
    assert binary.path == f"/usr/local/lib/headscale/headscale-{VERSION}"
    assert binary.sha256sum == BINARY_SHA256
    assert (binary.user, binary.group, binary.mode) == ("root", "root", 0o755)


def test_service_account_cannot_log_in(host):
    account = host.user("headscale")
    assert account.shell == "/usr/sbin/nologin"
    assert account.uid < 1000


@pytest.mark.parametrize(
    "path,user,group,mode",
    [
        ("{config_dir}", "root", "headscale-admin", 0o750),
        ("{config}", "root", "headscale-admin", 0o640),
        ("{policy}", "root", "headscale-admin", 0o640),
        ("/var/lib/headscale", "headscale", "headscale-admin", 0o750),
        ("/var/lib/headscale/noise_private.key", "headscale", "headscale-admin", 0o600),
        ("/var/lib/headscale/derp_server_private.key", "headscale", "headscale-admin", 0o600),
        ("/var/lib/headscale/db.sqlite", "headscale", "headscale-admin", 0o600),
        ("/run/headscale", "headscale", "headscale-admin", 0o750),
        ("/run/headscale/headscale.sock", "headscale", "headscale-admin", 0o770),
    ],
)
def test_owner_and_mode(host, paths, path, user, group, mode):
    f = host.file(path.format(**paths))
    assert f.exists
    assert (f.user, f.group, f.mode) == (user, group, mode)


def test_config_is_hardened(host, paths):
    config = yaml.safe_load(host.file(paths["config"]).content_string)
    assert config["server_url"].startswith("https://")
    assert config["listen_addr"] == "127.0.0.1:8080"
    assert config["metrics_listen_addr"] == "127.0.0.1:9090"
    assert config["grpc_allow_insecure"] is False
    assert config["disable_check_updates"] is True
    # A string, not the integer YAML would make of an unquoted 0770.
    assert config["unix_socket_permission"] == "0770"
    assert config["unix_socket"] == "/run/headscale/headscale.sock"
    assert config["node"]["expiry"] not in (0, "0", "")
    assert config["derp"]["urls"] == []


def test_service_is_enabled_and_running(host):
    service = host.service("headscale")
    assert service.is_enabled
    assert service.is_running


def test_health_through_the_socket_as_root(host, headscale):
    assert host.run(f"{headscale} health").rc == 0


def test_health_endpoint_answers_on_loopback(host):
    assert host.check_output("curl -fsS http://127.0.0.1:8080/health")


def test_admin_group_member_can_use_the_cli(host, headscale):
    result = host.run(f"runuser -u alice -- {headscale} users list -o json")
    assert result.rc == 0, result.stderr


def test_admin_group_members_share_the_host_lock_and_keep_it_across_reboots(host):
    """alice (headscale-admin) can take the host lock, so her module calls wait for a run; mallory cannot open it."""
    lock = host.file("/run/tailnet-headscale.lock")
    assert (lock.user, lock.group, lock.mode) == ("root", "headscale-admin", 0o660)
    assert host.run("runuser -u alice -- flock -n -x /run/tailnet-headscale.lock true").rc == 0
    assert "Permission denied" in host.run("runuser -u mallory -- flock -n -x /run/tailnet-headscale.lock true").stderr
    # What boot does: /run is empty, systemd-tmpfiles recreates the file from the role's entry.
    recreated = host.run("mv /run/tailnet-headscale.lock /run/tailnet-headscale.lock.moved && "
                         "systemd-tmpfiles --create /etc/tmpfiles.d/tailnet-headscale-lock.conf && "
                         "stat -c '%U %G %a' /run/tailnet-headscale.lock; "
                         "mv -f /run/tailnet-headscale.lock.moved /run/tailnet-headscale.lock")
    assert recreated.stdout.strip() == "root headscale-admin 660", recreated.stderr


def test_unprivileged_user_is_refused_by_the_socket(host):
    connect = (
        "import socket; s = socket.socket(socket.AF_UNIX); "
        "s.connect('/run/headscale/headscale.sock')"
    )
    result = host.run(f'runuser -u mallory -- python3 -c "{connect}"')
    assert result.rc != 0
    assert "PermissionError" in result.stderr


def test_unprivileged_user_cannot_run_cli_commands(host, headscale):
    result = host.run(f"runuser -u mallory -- {headscale} users list")
    assert result.rc != 0


def test_nothing_listens_on_tcp_off_loopback(host):
    tcp = listeners(host, "t")
    assert ("127.0.0.1", 8080) in tcp
    assert ("127.0.0.1", 9090) in tcp
    assert [a for a in tcp if not LOOPBACK.match(a[0])] == []


def test_nothing_listens_on_udp_off_loopback(host):
    assert [a for a in listeners(host, "u") if not LOOPBACK.match(a[0])] == []


def test_unit_is_less_exposed_than_the_official_one(host):
    host.ansible(
        "ansible.builtin.copy",
        f"src={OFFICIAL_UNIT} dest=/etc/systemd/system/headscale-official.service mode=0644",
        check=False,
    )
    host.check_output("systemctl daemon-reload")
    ours, official = exposure(host, "headscale.service"), exposure(host, "headscale-official.service")
    assert ours < official, f"ours {ours} vs official {official}"

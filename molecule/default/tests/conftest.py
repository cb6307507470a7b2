"""Fixtures the default scenario's tests share."""

import functools
import http.server
import os
import shutil
import threading

import pytest
import yaml

VERSION = os.environ["TAILNET_HEADSCALE_VERSION"]

ROLE_DEFAULTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "server", "defaults", "main.yml")


def paths_of(host):
    """Where the server role put headscale on this host: the inventory's
    headscale_config_dir and headscale_binary_path (hs-trixie sets both), else the
    role's defaults."""
    with open(ROLE_DEFAULTS) as handle:
        defaults = yaml.safe_load(handle)
    inventory = host.ansible.get_variables()
    config_dir = inventory.get("headscale_config_dir", defaults["headscale_config_dir"])
    return {
        "config_dir": config_dir,
        "config": config_dir + "/config.yaml",
        "policy": config_dir + "/policy.json",
        "binary": inventory.get("headscale_binary_path", defaults["headscale_binary_path"]),
        "install_dir": defaults["headscale_install_dir"],
    }


def only_on(host, name, why):
    """Skip HOST unless it is NAME: a case whose path does not differ between Debian 12 and 13
    runs once, on the host whose settings it exercises best (each run is a converge, ~30 s)."""
    if host.backend.host != name:
        pytest.skip("runs on %s only: %s" % (name, why))


@pytest.fixture(scope="module")
def paths(host):
    return paths_of(host)


@pytest.fixture(scope="module")
def headscale(paths):
    """The headscale command with this host's binary and config, for host.run."""
    return "%s -c %s" % (paths["binary"], paths["config"])


def state_of(host):
    """What a run that must change nothing leaves exactly as it was, as one string to
    compare before and after: every managed file's checksum, the noise and DERP keys,
    the binary switch, the running process, headscale's users, pre-auth keys and nodes,
    and the backups."""
    command = (
        "sha256sum {config} {policy} /etc/systemd/system/headscale.service {install_dir}/* "
        "/var/lib/headscale/noise_private.key /var/lib/headscale/derp_server_private.key; "
        "readlink {binary}; "
        "systemctl show -p MainPID -p InvocationID -p ActiveState headscale.service; "
        "for what in users preauthkeys nodes; do {binary} -c {config} -o json $what list; done; "
        # Which backups exist, not the directory's own mtime: a transaction that fails before
        # its first change still made and removed its partial backup there.
        "ls -1A /var/backups/headscale 2>/dev/null || true"
    ).format(**paths_of(host))
    return host.check_output(command)


@pytest.fixture(scope="module")
def host_state(host):
    """Call it before and after a run and compare (state_of)."""
    return lambda: state_of(host)


@pytest.fixture(scope="module")
def local_release(tmp_path_factory):
    """A headscale release served on the controller's loopback, laid out as on
    GitHub: the locally built binary as both architectures' asset and a
    checksums.txt that matches it. To the role's pinned sha256 it is a re-tagged
    release (another build); to a pin of the local build it is genuine.
    Yields the base URL."""
    root = tmp_path_factory.mktemp("release")
    release = root / ("v" + VERSION)
    release.mkdir()
    sums = []
    for arch in ("amd64", "arm64"):
        asset = "headscale_%s_linux_%s" % (VERSION, arch)
        shutil.copy(os.environ["TAILNET_HEADSCALE_BINARY"], release / asset)
        sums.append("%s  %s" % (os.environ["TAILNET_HEADSCALE_BINARY_SHA256"], asset))
    (release / "checksums.txt").write_text("\n".join(sums) + "\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()

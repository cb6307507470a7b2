"""Fixtures the default scenario's tests share."""

import functools
import http.server
import os
import shutil
import threading

import pytest

VERSION = os.environ["TAILNET_HEADSCALE_VERSION"]

# What a run that must change nothing leaves exactly as it was: every managed
# file's checksum, the noise and DERP keys, the binary switch, the running
# process, and headscale's users, pre-auth keys and nodes.
HOST_STATE = (
    "sha256sum /etc/headscale/config.yaml /etc/headscale/policy.json "
    "/etc/systemd/system/headscale.service /usr/local/lib/headscale/* "
    "/var/lib/headscale/noise_private.key /var/lib/headscale/derp_server_private.key; "
    "readlink /usr/local/bin/headscale; "
    "systemctl show -p MainPID -p InvocationID -p ActiveState headscale.service; "
    "for what in users preauthkeys nodes; do headscale -o json $what list; done; "
    "ls -la /var/backups/headscale 2>/dev/null || true"
)


@pytest.fixture(scope="module")
def host_state(host):
    """Call it before and after a run and compare (HOST_STATE)."""
    return lambda: host.check_output(HOST_STATE)


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

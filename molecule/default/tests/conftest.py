"""Fixtures the default scenario's tests share."""

import functools
import http.server
import os
import shutil
import threading

import pytest

VERSION = os.environ["TAILNET_HEADSCALE_VERSION"]


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

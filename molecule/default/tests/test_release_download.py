"""The default install path, a release download verified on the controller,
against a release served on loopback: verified by checksums.txt when the
version has no pin, by the pin when it has one, and the host is left as it was
(the served binary is the one already installed)."""

import json
import os
import subprocess

import pytest

from conftest import only_on

SCENARIO_DIR = os.path.join(os.path.dirname(__file__), "..")
VERSION = os.environ["TAILNET_HEADSCALE_VERSION"]
LOCAL_SHA256 = os.environ["TAILNET_HEADSCALE_BINARY_SHA256"]


# One way of verifying per host: the download and its check happen on the controller, the same for both.
@pytest.mark.parametrize("verified_by, checksums, on_host", [
    ("the release's checksums.txt", {}, "hs-bookworm"),
    ("the pin recorded for the version", {VERSION: {"amd64": LOCAL_SHA256, "arm64": LOCAL_SHA256}}, "hs-trixie"),
])
def test_the_release_download_is_verified_and_installs(host, host_state, local_release, tmp_path, verified_by,
                                                       checksums, on_host):
    only_on(host, on_host, "the other host is verified by " + ("the pin" if checksums else "checksums.txt"))
    before = host_state()
    run = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host.backend.host,
         os.path.join(SCENARIO_DIR, "release_download.yml")],
        env={**os.environ, "RELEASE_URL": local_release, "DOWNLOAD_CACHE_DIR": str(tmp_path),
             "RELEASE_CHECKSUMS": json.dumps(checksums)},
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, verified_by + ": " + run.stdout[-3000:] + run.stderr[-2000:]
    downloaded = list(tmp_path.glob(VERSION + "/linux-*/headscale"))
    assert len(downloaded) == 1, downloaded
    assert host_state() == before

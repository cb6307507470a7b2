"""A scheduled rerun repairs drift: the fast path must never hide it."""

import os
import re
import subprocess

from conftest import only_on

SCENARIO_DIR = os.path.join(os.path.dirname(__file__), "..")


def converge(host):
    run = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host.backend.host,
         os.path.join(SCENARIO_DIR, "converge.yml")],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return int(re.search(rf"{host.backend.host}\s*:.*changed=(\d+)", run.stdout).group(1))


# One kind of drift per host: the fast path reads each host's own paths, so each is caught once there.
def test_rerun_repairs_a_loosened_config_and_a_stopped_service(host, paths, headscale):
    only_on(host, "hs-bookworm", "the role's default paths; hs-trixie repairs an edited config")
    host.check_output(f"chmod 0644 {paths['config']} && systemctl stop headscale.service")
    assert converge(host) > 0
    assert host.file(paths["config"]).mode == 0o640
    assert host.service("headscale").is_running
    assert host.run(f"{headscale} health").rc == 0
    assert converge(host) == 0


def test_rerun_restores_an_edited_config(host, paths):
    only_on(host, "hs-trixie", "its non-default config dir; hs-bookworm repairs a loosened config")
    original = host.file(paths["config"]).sha256sum
    host.check_output(f"sed -i 's/^log:/# edited by hand\\nlog:/' {paths['config']}")
    assert host.file(paths["config"]).sha256sum != original
    assert converge(host) > 0
    assert host.file(paths["config"]).sha256sum == original

"""A policy-only change is applied by a reload: the server keeps running."""

import os
import subprocess

from conftest import only_on

SCENARIO_DIR = os.path.join(os.path.dirname(__file__), "..")


def apply_policy(host, group):
    run = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host.backend.host,
         "-e", f"policy_group={group}", os.path.join(SCENARIO_DIR, "change_policy.yml")],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def main_pid(host):
    return host.check_output("systemctl show -p MainPID --value headscale.service")


def test_policy_change_reloads_without_restart(host, headscale):
    only_on(host, "hs-trixie", "the policy is written under its non-default config dir")
    pid_before = main_pid(host)
    apply_policy(host, "reloadcheck")
    try:
        assert main_pid(host) == pid_before
        # headscale re-read the file: the running server reports the new group.
        assert "group:reloadcheck" in host.check_output(f"{headscale} policy get")
        assert host.service("headscale").is_running
    finally:
        apply_policy(host, "")
    assert "group:reloadcheck" not in host.check_output(f"{headscale} policy get")

"""A site with a non-default headscale_config_dir and headscale_binary_path: the
lifecycle playbooks find headscale where the server role put it (module_defaults
for the action group), not as `headscale` on PATH with /etc/headscale/config.yaml.
hs-trixie is converged with such paths (molecule.yml). The join scenario's server has such
paths too: there the docs' own commands run as typed (rotate_node_keys, upgrade,
revoke_preauth_keys, and the modules ad hoc), and molecule/preauth_keys proves what
revoke_preauth_keys does; approve_node, marked real host only in the docs, is proven here."""

import json
import os
import secrets
import string
import subprocess

import pytest
import yaml

from conftest import ROLE_DEFAULTS

USER = "pathcheck"


def run_playbook(host, name, *extra):
    run = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "tailnet.headscale." + name,
         # The playbooks become root; the container connection already is root (and has no sudo).
         "-e", "headscale_target_hosts=" + host.backend.host, "-e", "ansible_become=false"] + [arg for pair in extra for arg in ("-e", pair)],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, name + ": " + run.stdout[-3000:] + run.stderr[-2000:]
    return run.stdout


@pytest.fixture(scope="module")
def non_default(host, paths):
    with open(ROLE_DEFAULTS) as handle:
        defaults = yaml.safe_load(handle)
    if (paths["config_dir"], paths["binary"]) == (defaults["headscale_config_dir"], defaults["headscale_binary_path"]):
        pytest.skip("this host runs with the default paths (hs-trixie has the others)")
    # Nothing to fall back on: no `headscale` on PATH, no /etc/headscale.
    assert host.run("command -v headscale").rc != 0
    assert not host.file(defaults["headscale_config_dir"]).exists
    return paths


@pytest.fixture(scope="module")
def owner(host, non_default, headscale):
    """A user of this test's own, with its nodes, removed afterwards."""
    created = json.loads(host.check_output(f"{headscale} users create {USER} -o json"))
    yield created
    # headscale prints null, not [], when there is no node.
    for node in json.loads(host.check_output(f"{headscale} nodes list -o json")) or []:
        if (node.get("user") or {}).get("name") == USER:
            host.check_output(f"{headscale} nodes delete --identifier {node['id']} --force")
    host.check_output(f"{headscale} users destroy --identifier {created['id']} --force")


def test_approve_node_registers_a_pending_node(host, owner, headscale):
    auth_id = "hskey-authreq-" + "".join(secrets.choice(string.ascii_letters) for position in range(24))
    host.check_output(f"{headscale} debug create-node --name pathcheck-node --user {USER} --key {auth_id}")
    out = run_playbook(host, "approve_node", "auth_id=" + auth_id, "user=" + USER)
    assert "pathcheck-node" in out
    nodes = json.loads(host.check_output(f"{headscale} nodes list -o json")) or []
    assert [n["name"] for n in nodes if (n.get("user") or {}).get("name") == USER] == ["pathcheck-node"]

"""Bad requests are refused with a message naming the bad value, and change nothing."""

import json
import os
import re
import subprocess

import pytest
import yaml

SCENARIO_DIR = os.path.join(os.path.dirname(__file__), "..")
VERSION = os.environ["TAILNET_HEADSCALE_VERSION"]
with open(os.path.join(SCENARIO_DIR, "..", "..", "roles", "server", "defaults", "main.yml")) as _defaults:
    # The sha256 the collection pins for this release's amd64 binary.
    PINNED_SHA256 = yaml.safe_load(_defaults)["headscale_release_checksums"][VERSION]["amd64"]

# case -> words the refusal message must contain (the bad value, and the fix)
EXPECTED = {
    "http_server_url": ["http://headscale.lab.test", "headscale_allow_insecure_server_url"],
    "public_listener": ["0.0.0.0:8080", "headscale_allow_public_listeners"],
    "public_grpc_listener": ["[::]:50443", "headscale_allow_public_listeners"],
    "public_metrics": ["0.0.0.0:9090", "headscale_allow_public_metrics"],
    "removed_dns_config": ["dns_config", "dns"],
    "removed_acl_policy_path": ["acl_policy_path", "headscale_policy"],
    "removed_randomize_client_port": ["randomize_client_port", "randomizeClientPort"],
    "removed_oidc_expiry": ["oidc.expiry", "node.expiry"],
    "base_domain_contains_server": ["lab.test", "headscale.lab.test"],
    "malformed_node_expiry": ["ninety days"],
    "checksum_mismatch": ["checksum mismatch", "0" * 64],
    "retagged_release": ["did not match", PINNED_SHA256, "Nothing was changed on the host"],
    "malformed_release_pin": ["headscale_release_checksums", "0.29.3/amd64='not-a-sha'"],
    "config_rejected_by_headscale": ["not-a-prefix"],
    "policy_rejected_by_headscale": ["bogus"],
}


@pytest.fixture(scope="module")
def refusals(tmp_path_factory, host, host_state, local_release):
    """Run every refusal case once on this host, snapshotting the host around it."""
    # retagged_release needs a binary other than the official one: the local build.
    assert os.environ["TAILNET_HEADSCALE_BINARY_SHA256"] != PINNED_SHA256
    name = host.backend.host
    before = host_state()
    results_dir = tmp_path_factory.mktemp("refusals")
    run = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", name,
         os.path.join(SCENARIO_DIR, "refusals.yml")],
        env={**os.environ, "REFUSAL_RESULTS_DIR": str(results_dir), "REFUSAL_RELEASE_URL": local_release},
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    after = host_state()
    return before, after, json.loads((results_dir / f"{name}.json").read_text())


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_request_is_refused_naming_the_value(refusals, host, case):
    result = refusals[2][case]
    assert result["refused"], f"{case} was accepted"
    for word in EXPECTED[case]:
        assert word in result["msg"], f"{word!r} not in {result['msg']!r}"


def test_refused_requests_left_the_host_unchanged(refusals, host):
    before, after = refusals[0], refusals[1]
    assert after == before


def test_mismatched_binary_never_reached_the_host(refusals, host):
    patch_99 = re.sub(r"[0-9]+$", "99", os.environ["TAILNET_HEADSCALE_VERSION"])
    assert not host.file("/usr/local/lib/headscale/headscale-%s" % patch_99).exists

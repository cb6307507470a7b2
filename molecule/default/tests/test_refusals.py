"""Bad requests are refused with a message naming the bad value and the fix, and
change nothing. The cases and the words each message must hold live in one
place, refusals.yml; this test checks that every case there ran, and no other."""

import json
import os
import re
import subprocess

import pytest
import yaml

SCENARIO_DIR = os.path.join(os.path.dirname(__file__), "..")
with open(os.path.join(SCENARIO_DIR, "refusals.yml")) as _play:
    CASES = yaml.safe_load(_play)[0]["vars"]["refusal_cases"]
with open(os.path.join(SCENARIO_DIR, "..", "..", "roles", "server", "defaults", "main.yml")) as _defaults:
    # The sha256 the collection pins for this release's amd64 binary.
    PINNED_SHA256 = yaml.safe_load(_defaults)["headscale_release_checksums"][os.environ["TAILNET_HEADSCALE_VERSION"]]["amd64"]


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
    controller_files = sorted(p.name for p in results_dir.iterdir())
    return before, after, json.loads((results_dir / f"{name}.json").read_text()), controller_files


def test_every_case_of_the_scenario_ran_and_no_other(refusals, host):
    assert set(refusals[2]) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_request_is_refused_naming_the_value(refusals, host, case):
    result = refusals[2][case]
    assert result["refused"], f"{case} was accepted"
    assert result["expect"], f"{case} expects no words: it could not fail"
    for word in result["expect"]:
        assert str(word) in result["msg"], f"{word!r} not in {result['msg']!r}"


def test_refused_requests_left_the_host_unchanged(refusals, host):
    before, after = refusals[0], refusals[1]
    assert after == before


def test_refused_requests_wrote_nothing_on_the_controller(refusals, host):
    # Only the results file and the download cache; no secrets file, no missing/ directory.
    assert set(refusals[3]) <= {"downloads", "%s.json" % host.backend.host}


def test_mismatched_binary_never_reached_the_host(refusals, host):
    patch_99 = re.sub(r"[0-9]+$", "99", os.environ["TAILNET_HEADSCALE_VERSION"])
    assert not host.file("/usr/local/lib/headscale/headscale-%s" % patch_99).exists

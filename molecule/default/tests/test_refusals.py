"""Bad requests are refused with a message naming the bad value and the fix, and
change nothing. The cases and the words each message must hold live in one
place, refusals.yml; this test checks that every case there ran, and no other."""

import json
import os
import re
import subprocess

import pytest
import testinfra
import yaml
from testinfra.backend.ansible import AnsibleRunner

from conftest import state_of  # on sys.path: pytest puts the tests' directory there

SCENARIO_DIR = os.path.join(os.path.dirname(__file__), "..")
with open(os.path.join(SCENARIO_DIR, "refusals.yml")) as _play:
    CASES = yaml.safe_load(_play)[0]["vars"]["refusal_cases"]
with open(os.path.join(SCENARIO_DIR, "..", "..", "roles", "server", "defaults", "main.yml")) as _defaults:
    # The sha256 the collection pins for this release's amd64 binary.
    PINNED_SHA256 = yaml.safe_load(_defaults)["headscale_release_checksums"][os.environ["TAILNET_HEADSCALE_VERSION"]]["amd64"]


@pytest.fixture(scope="module")
def refusal_run(tmp_path_factory, local_release):
    """Every refusal case, once, on every host of the scenario (one playbook run, the hosts side by
    side), with each host's state before and after. Not a fixture of `host`: built once per module."""
    # retagged_release needs a binary other than the official one: the local build.
    assert os.environ["TAILNET_HEADSCALE_BINARY_SHA256"] != PINNED_SHA256
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    hosts = {name: testinfra.get_host("ansible://" + name, ansible_inventory=inventory)
             for name in AnsibleRunner.get_runner(inventory).get_hosts("all")}
    before = {name: state_of(each) for name, each in hosts.items()}
    results_dir = tmp_path_factory.mktemp("refusals")
    run = subprocess.run(
        ["ansible-playbook", "-i", inventory, os.path.join(SCENARIO_DIR, "refusals.yml")],
        env={**os.environ, "REFUSAL_RESULTS_DIR": str(results_dir), "REFUSAL_RELEASE_URL": local_release},
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    after = {name: state_of(each) for name, each in hosts.items()}
    return before, after, results_dir, sorted(p.name for p in results_dir.iterdir())


@pytest.fixture(scope="module")
def refusals(refusal_run, host):
    """This host's share of the refusal run: before, after, its results, the controller's files."""
    before, after, results_dir, controller_files = refusal_run
    name = host.backend.host
    return before[name], after[name], json.loads((results_dir / f"{name}.json").read_text()), controller_files


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
    # Only the hosts' results files and the download cache; no secrets file, no missing/ directory.
    assert {name for name in refusals[3] if not name.endswith(".json")} <= {"downloads"}
    assert "%s.json" % host.backend.host in refusals[3]


def test_mismatched_binary_never_reached_the_host(refusals, host):
    patch_99 = re.sub(r"[0-9]+$", "99", os.environ["TAILNET_HEADSCALE_VERSION"])
    assert not host.file("/usr/local/lib/headscale/headscale-%s" % patch_99).exists

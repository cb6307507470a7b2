"""Fixtures of the scenario; the client helpers and the versions are shared
(molecule/resources/clients.py, versions.py)."""

import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
from clients import Client  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
from versions import PINNED, PREVIOUS  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

# The scenario's two containers (its platforms, in order) share the cases, about half the time each;
# pytest-xdist (-n 2 --dist loadgroup, molecule.yml) gives each container its own worker, so the
# halves run side by side. Run without xdist (-p no:xdist), the same cases run one after the other,
# each on its own container.
HALVES = [
    ("test_an_upgrade_killed_at_any_task_is_finished_by_the_rerun",),
    ("test_a_config_headscale_cannot_start_with_is_rolled_back",
     "test_a_failing_config_change_killed_at_any_task_is_rolled_back_by_the_rerun",
     "test_two_upgrades_started_one_second_apart",
     "test_a_second_run_fails_naming_the_holder_after_its_timeout",
     "test_a_full_backup_disk_is_rolled_back_with_nothing_lost"),
]
with open(os.path.join(os.path.dirname(__file__), "..", "molecule.yml")) as _scenario:
    PLATFORMS = [platform["name"] for platform in yaml.safe_load(_scenario)["platforms"]]
assert len(PLATFORMS) == len(HALVES), "one container per half of the cases: %s" % PLATFORMS
CASES_OF = dict(zip(PLATFORMS, HALVES))


# tryfirst: xdist's loadgroup scheduling reads the xdist_group marks in its own hook of this name.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Each case on its own container only (testinfra parametrizes every test with every host)."""
    keep, drop = [], []
    for item in items:
        name = item.callspec.params["_testinfra_host"].backend.host if hasattr(item, "callspec") else None
        if item.originalname in CASES_OF.get(name, ()):
            item.add_marker(pytest.mark.xdist_group(name))
            keep.append(item)
        else:
            drop.append(item)
    assigned = {case for cases in HALVES for case in cases}
    unassigned = sorted({item.originalname for item in items} - assigned)
    assert not unassigned, "cases in no half of HALVES (tests/conftest.py): %s" % unassigned
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep

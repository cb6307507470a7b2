"""Every recorded fixture is read by a test (scripts/record-fixtures.py keeps only those)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.tailnet.headscale.tests.unit.plugins.modules.cli_cases import (
    FIXTURES, RECORD_FILES, VERSIONS, fixtures_in_use,
)

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_fixture_is_used(version):
    names, covered = fixtures_in_use(TESTS)
    with open(os.path.join(FIXTURES, version, "index.json")) as index:
        recorded = json.load(index)
    unused = sorted(e["name"] for e in recorded if e["name"] not in names and not covered(e))
    assert not unused, "recorded but read by no test: %s" % ", ".join(unused)
    files = dict((f, e["name"]) for e in recorded for f in (e["stdout_file"], e["stderr_file"]) if f)
    strays = sorted(set(os.listdir(os.path.join(FIXTURES, version))) - set(files) - set(RECORD_FILES))
    assert not strays, "files that no recorded call wrote: %s" % ", ".join(strays)

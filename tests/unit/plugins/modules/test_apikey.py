"""tailnet.headscale.apikey on recorded headscale CLI output: the cases are in cases/apikey.yaml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tailnet.headscale.tests.unit.plugins.modules.cli_cases import check_case, load


@pytest.mark.parametrize("module_name, case, version", load("apikey"))
def test_apikey(module_name, case, version, monkeypatch, tmp_path):
    check_case(module_name, case, version, monkeypatch, tmp_path)

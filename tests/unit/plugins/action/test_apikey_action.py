# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The controller side of tailnet.headscale.apikey (plugins/action/apikey.py): a secret that would reach nobody is
refused before the module runs (nothing minted), and a key whose secret could not be written after all is expired
again by the same call. The module is stubbed: these are the plugin's decisions; tests/integration/test_apikey.py
and refusals.yml run the real module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
from unittest import mock

from ansible_collections.tailnet.headscale.plugins.action import apikey

SECRET = "hskey-api-iXuyWiEhnt3J-m1--kJzaQSVfhlttGM8iAbiGsglm4wtolfmIOgOsXCWZf-2IFOcdDyjdEaImz7Qa"
MINTED = dict(changed=True, actions=["mint API key 1 (hskey-api-iXuyWiEhnt3J) valid for 90d"], expired=[],
              api_key=dict(id=1, prefix="hskey-api-iXuyWiEhnt3J", expiration="2027-03-02T06:05:10Z", key=SECRET),
              _ansible_no_log=True)


def run(args, register=None, answers=None):
    task = mock.MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    task.register = register
    task.delegate_to = None
    action = apikey.ActionModule(task, mock.MagicMock(), mock.MagicMock(check_mode=False), loader=None, templar=None,
                                 shared_loader_obj=None)
    calls = []
    answers = list(answers or [])

    def execute_module(module_name, module_args, task_vars):
        calls.append(dict(module_args))
        return copy.deepcopy(answers.pop(0))

    action._execute_module = execute_module
    return action.run(task_vars={}), calls


def test_an_unregistered_call_without_secrets_file_never_reaches_the_module():
    result, calls = run({"expiration": "90d"})
    assert result["failed"] and "reach nobody" in result["msg"] and "Nothing was minted" in result["msg"]
    assert calls == []


def test_an_unwritable_secrets_file_is_refused_before_the_module_runs(tmp_path):
    result, calls = run({"secrets_file": str(tmp_path / "missing" / "k.yml")})
    assert result["failed"] and "does not exist" in result["msg"] and calls == []


def test_the_secret_goes_to_the_file_and_out_of_the_result(tmp_path):
    path = tmp_path / "k.yml"
    result, calls = run({"secrets_file": str(path)}, answers=[MINTED])
    assert not result.get("failed") and SECRET not in repr(result) and not result.get("_ansible_no_log")
    assert SECRET in path.read_text() and os.stat(str(path)).st_mode & 0o777 == 0o600


def test_a_key_whose_secret_cannot_be_written_is_expired_again(tmp_path, monkeypatch):
    def fail(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(apikey, "write_private", fail)
    result, calls = run({"secrets_file": str(tmp_path / "k.yml"), "headscale_config": "/srv/hs/config.yaml"},
                        answers=[MINTED, dict(changed=True, expired=[{"id": 1}])])
    assert calls[1] == {"state": "absent", "id": 1, "headscale_config": "/srv/hs/config.yaml"}
    assert result["failed"] and "No space left on device" in result["msg"] and "was expired again" in result["msg"]
    assert SECRET not in repr(result)


def test_registered_without_secrets_file_keeps_the_secret_hidden():
    result, calls = run({}, register="key", answers=[MINTED])
    assert result["api_key"]["key"] == SECRET and result["_ansible_no_log"] is True

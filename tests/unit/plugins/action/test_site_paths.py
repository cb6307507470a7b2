# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Where a module call finds headscale (plugins/plugin_utils/site_paths.py): an argument
or module_defaults, else the host's headscale_binary_path / headscale_config_dir, else the
module's defaults. The last test runs real ansible-playbook on localhost, so the order
ansible-core merges module_defaults in is part of what is proven; no headscale is needed:
the module names the binary it was given when that binary is missing, and echoes its
arguments in the result's invocation (which ansible-core 2.21 adds only when asked:
ANSIBLE_INJECT_INVOCATION)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.tailnet.headscale.plugins.plugin_utils.site_paths import with_site_paths

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SITE = {"headscale_binary_path": "/opt/headscale", "headscale_config_dir": "/srv/headscale-config"}


def test_the_hosts_variables_fill_what_the_call_leaves_unset():
    args, filled = with_site_paths({"gather": "nodes"}, SITE)
    assert args == {"gather": "nodes", "headscale_binary": "/opt/headscale",
                    "headscale_config": "/srv/headscale-config/config.yaml"}
    assert filled == {"headscale_binary": "headscale_binary_path", "headscale_config": "headscale_config_dir"}


def test_an_argument_always_wins_even_when_it_is_the_modules_default():
    args, filled = with_site_paths({"headscale_binary": "headscale", "headscale_config": "/etc/headscale/config.yaml"}, SITE)
    assert args == {"headscale_binary": "headscale", "headscale_config": "/etc/headscale/config.yaml"}
    assert filled == {}


@pytest.mark.parametrize("host_vars", [{}, {"headscale_binary_path": "", "headscale_config_dir": None}])
def test_without_the_variables_the_modules_defaults_apply(host_vars):
    assert with_site_paths({"id": 12}, host_vars) == ({"id": 12}, {})


def test_a_trailing_slash_of_the_config_dir_is_not_doubled():
    assert with_site_paths({}, {"headscale_config_dir": "/srv/hs/"})[0] == {"headscale_config": "/srv/hs/config.yaml"}


INVENTORY = """\
hs1 ansible_connection=local headscale_binary_path=/site/bin/headscale headscale_config_dir=/site/etc
plain ansible_connection=local
"""

# Each task fails (no headscale binary here) after recording the arguments the module got.
# Three tasks cover the order (a task costs about a second): each of the first two has one
# option set by the caller and one left to the host's variables, through each action.
PLAYBOOK = """\
- hosts: hs1
  gather_facts: false
  ignore_errors: true
  tasks:
    - name: module_defaults, through the preauth_key action
      tailnet.headscale.preauth_key: {user: alice, state: absent}
      module_defaults:
        group/tailnet.headscale.headscale: {headscale_config: /md/config.yaml}
    - name: argument
      tailnet.headscale.node: {id: 12, state: absent, headscale_binary: /arg/headscale}
    - name: delegated to a host without the variables
      tailnet.headscale.info: {gather: users}
      delegate_to: plain
"""

EXPECTED = {
    "module_defaults, through the preauth_key action": ("/site/bin/headscale", "/md/config.yaml"),
    "argument": ("/arg/headscale", "/site/etc/config.yaml"),
    "delegated to a host without the variables": ("headscale", "/etc/headscale/config.yaml"),
}


def test_precedence_in_a_real_run(tmp_path):
    (tmp_path / "inventory").write_text(INVENTORY)
    (tmp_path / "play.yml").write_text(textwrap.dedent(PLAYBOOK))
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1", ANSIBLE_INJECT_INVOCATION="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "tmp"))
    done = subprocess.run([os.path.join(bin_dir, "ansible-playbook"), "-i", str(tmp_path / "inventory"),
                           str(tmp_path / "play.yml"), "-e", '{"ansible_python_interpreter": "%s"}' % sys.executable],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False, timeout=120)
    try:
        output = json.loads(done.stdout)
    except ValueError:
        raise AssertionError("no JSON from ansible-playbook: %s %s" % (done.stdout[-2000:], done.stderr[-2000:]))
    seen = {}
    for task in output["plays"][0]["tasks"]:
        result = task["hosts"]["hs1"]
        module_args = result["invocation"]["module_args"]
        seen[task["task"]["name"]] = (module_args["headscale_binary"], module_args["headscale_config"])
        # The module really ran with that binary: it looked for it and said so.
        assert "headscale binary '%s' not found" % module_args["headscale_binary"] in result["msg"], result
    assert seen == EXPECTED

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy role's fast path stops after one read of the host when it matches the record of the
last full run (templates/proxy-state.sh.j2, plugins/filter/state_converged.py). That is honest only
if the read covers every path the role writes: each file and directory a task of the full path
creates or removes, and each live file proxy-apply renames into place. This reads them from the
role's own task files and applier, so a path added there and not to the read fails here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "proxy")


def read(*path):
    with open(os.path.join(ROLE, *path)) as handle:
        return handle.read()


STATE = read("templates", "proxy-state.sh.j2")


def written_paths():
    """The dest/path of every task of the full path that writes on the host, loops expanded."""
    paths = []
    for name in ("converge.yml", "tls.yml"):
        for task in yaml.safe_load(read("tasks", name)):
            module = next((key for key in task if key.startswith("ansible.builtin.")
                           and key.split(".")[-1] in ("file", "copy", "template")), None)
            if module is None:
                continue
            target = task[module].get("dest") or task[module].get("path")
            for item in task.get("loop") or [None]:
                if isinstance(item, dict):
                    paths.append(target.replace("{{ item.dest }}", item["dest"]))
                elif item is not None:
                    paths.append(target.replace("{{ item }}", item))
                else:
                    paths.append(target)
    return paths


def as_in_script(path):
    """A task's path as the read writes it: Jinja expressions without their braces' spacing rules."""
    return re.sub(r"\{\{\s*(.*?)\s*\}\}", r"{{ \1 }}", path)


def live_paths():
    """The live files proxy-apply puts in place (its live_of)."""
    return re.findall(r"\) echo (\{\{ [^}]+ \}\})", read("templates", "proxy-apply.sh.j2"))


@pytest.mark.parametrize("path", sorted(set(written_paths())))
def test_every_path_the_full_path_writes_is_read(path):
    wanted = as_in_script(path).replace(" | quote", "")
    assert wanted in STATE, "%s is written by the proxy role but templates/proxy-state.sh.j2 does not read it" % path


@pytest.mark.parametrize("path", live_paths())
def test_every_live_file_proxy_apply_writes_is_read(path):
    assert path.replace(" | quote", "") in STATE


def test_the_paths_were_found():
    """A parse that found nothing would pass the tests above vacuously."""
    assert len(written_paths()) >= 8 and len(live_paths()) == 3


@pytest.mark.parametrize("line", ["nginx-package", "default-site", "reload-pending", "unit ", "nginx -t -q",
                                  "lab-certificate", "--- record"])
def test_the_read_covers_the_package_the_unit_nginx_t_and_the_record(line):
    assert line in STATE

# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: controller_run
short_description: A name for this ansible-playbook run that the controller can check later
version_added: 0.1.0
description:
  - Names the run that evaluates it - the controller's host name and boot, and the process ID and start
    time of its C(ansible-playbook) (or C(ansible)) process - prefixed with the input.
  - The server role records it with the host lock it takes; a later run from the same controller
    tells with P(tailnet.headscale.run_is_gone#filter) whether that run is still alive.
options:
  _input:
    description: A label put in front of the name, such as C(server).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Name this run
  ansible.builtin.set_fact:
    my_run: "{{ 'server' | tailnet.headscale.controller_run }}"
"""

RETURN = r"""
_value:
  description: C(LABEL@HOST/BOOT_ID/PID/START), for example C(server@admin/5f0c.../4242/88213).
  type: str
"""

import os
import socket

from ansible_collections.tailnet.headscale.plugins.module_utils import host_lock


def _stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[19])


def _is_ansible(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")[:3]
    except (IOError, OSError):
        return False
    return any(os.path.basename(arg.decode("utf-8", "replace")).startswith("ansible") for arg in argv)


def run_process(pid=None):
    """(pid, start) of the outermost ansible process above pid (workers are forks of it)."""
    pid = pid or os.getpid()
    found = None
    while pid > 1:
        try:
            parent, start = _stat(pid)
        except (IOError, OSError, ValueError, IndexError):
            break
        if _is_ansible(pid):
            found = (pid, start)
        elif found:
            break
        pid = parent
    return found or (os.getpid(), _stat(os.getpid())[1])


def boot_id():
    # A run name always has a boot part: "unknown" where the kernel does not tell it.
    return host_lock.boot_id(missing="unknown")


def controller_run(label):
    pid, start = run_process()
    return "%s@%s/%s/%d/%d" % (label, socket.gethostname(), boot_id(), pid, start)


class FilterModule(object):
    def filters(self):
        return {"controller_run": controller_run}

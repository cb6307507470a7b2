# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: run_is_gone
short_description: Whether a run named by controller_run has ended on this controller
version_added: 0.1.0
description:
  - True when the input names a run of this controller (same host name and boot) whose process no longer
    exists, or was replaced by another process with the same ID (another start time). Such a run was killed
    and its host lock can be ended.
  - False for a live run, an empty name, and a run of another controller or boot, which cannot be checked from here.
options:
  _input:
    description: A name returned by P(tailnet.headscale.controller_run#filter).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: End the lock of a killed run
  ansible.builtin.debug:
    msg: "{{ holder.run }} is gone"
  when: holder.run | tailnet.headscale.run_is_gone
"""

RETURN = r"""
_value:
  description: Whether the run has ended.
  type: bool
"""

import socket

from ansible_collections.tailnet.headscale.plugins.filter.controller_run import _stat, boot_id


def run_is_gone(run):
    try:
        host_boot, pid, start = (run or "").rsplit("@", 1)[1].rsplit("/", 2)
        host, boot = host_boot.split("/", 1)
        pid, start = int(pid), int(start)
    except (IndexError, ValueError):
        return False
    if host != socket.gethostname() or boot != boot_id():
        return False
    try:
        return _stat(pid)[1] != start
    except (IOError, OSError, ValueError, IndexError):
        return True


class FilterModule(object):
    def filters(self):
        return {"run_is_gone": run_is_gone}

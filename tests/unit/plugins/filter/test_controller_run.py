# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import subprocess
import sys

from ansible_collections.tailnet.headscale.plugins.filter.controller_run import boot_id, controller_run
from ansible_collections.tailnet.headscale.plugins.filter.run_is_gone import run_is_gone


def test_this_run_is_alive():
    assert run_is_gone(controller_run("server")) is False


def test_a_run_whose_process_ended_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    run = "server@%s/%s/%d/1" % (socket.gethostname(), boot_id(), child.pid)
    assert run_is_gone(run) is True


def test_a_reused_pid_is_gone():
    # This process, with another start time: the PID was reused by another process.
    assert run_is_gone("server@%s/%s/%d/1" % (socket.gethostname(), boot_id(), os.getpid())) is True


def test_runs_of_other_controllers_or_boots_and_garbage_are_not_judged():
    assert run_is_gone("server@elsewhere/%s/1/1" % boot_id()) is False
    assert run_is_gone("server@%s/another-boot/1/1" % socket.gethostname()) is False
    assert run_is_gone("") is False and run_is_gone("nonsense") is False


def test_without_a_boot_id_a_run_name_says_unknown_and_the_lock_records_nothing(monkeypatch):
    """One boot_id (module_utils/host_lock.py); each caller keeps its own word for "not told"."""
    from ansible_collections.tailnet.headscale.plugins.module_utils import host_lock

    assert boot_id() == host_lock.boot_id() != ""

    def no_proc(*args, **kwargs):
        raise IOError("no /proc here")

    monkeypatch.setattr(host_lock, "open", no_proc, raising=False)
    assert boot_id() == "unknown"
    assert host_lock.boot_id() == ""

# -*- coding: utf-8 -*-
# Test-only (molecule/faults): never shipped in the collection.
"""Count the tasks a run starts; SIGKILL the run's whole process group when task
number TAILNET_KILL_AT starts, as a crash or a kill -9 of ansible-playbook would."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: kill_at
type: aggregate
short_description: Test-only; kill ansible-playbook at a task boundary
description: Writes each started task (number, action, name) to TAILNET_TASK_LOG; kills the process group at task TAILNET_KILL_AT.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kill_at"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.started = 0
        self.kill_at = int(os.environ.get("TAILNET_KILL_AT") or 0)
        self.log = os.environ.get("TAILNET_TASK_LOG")

    def _start(self, task):
        self.started += 1
        if self.log:
            with open(self.log, "a") as f:
                f.write("%d\t%s\t%s\n" % (self.started, task.action, task.get_name()))
        if self.started == self.kill_at:
            os.killpg(os.getpgrp(), signal.SIGKILL)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.tailnet.headscale.plugins.module_utils import host_lock


@pytest.fixture
def lock(tmp_path):
    path = str(tmp_path / "lock")
    yield path
    # End any holder a test left behind.
    holder = host_lock.read_holder(path + ".holder")
    if holder:
        host_lock.release(holder["run"], lock_path=path)


def test_a_held_lock_makes_a_second_run_fail_naming_the_holder(lock):
    holder = host_lock.hold(0, "run-a", "ops on admin", 30, lock_path=lock)
    assert holder["pid"] != os.getpid() and host_lock.holder_alive(holder)
    with pytest.raises(host_lock.LockBusy) as busy:
        host_lock.acquire(0.5, "run-b", lock_path=lock)
    message = str(busy.value)
    assert "holder PID %d started %s, run run-a (ops on admin)" % (holder["pid"], holder["started"]) in message
    assert lock in message


def test_the_same_run_taking_it_again_keeps_its_holder(lock):
    first = host_lock.hold(0, "run-a", "", 30, lock_path=lock)
    again = host_lock.hold(0, "run-a", "", 30, lock_path=lock)
    assert again["already"] and again["pid"] == first["pid"]


def test_a_module_of_the_holding_run_is_let_through_and_others_wait(lock):
    host_lock.hold(0, "run-a", "", 30, lock_path=lock)
    with host_lock.HostLock(0.5, "run-a", lock_path=lock):
        pass
    with pytest.raises(host_lock.LockBusy):
        with host_lock.HostLock(0.5, "run-b", lock_path=lock):
            pass


def test_release_frees_the_lock_and_leaves_another_runs_holder_alone(lock):
    holder = host_lock.hold(0, "run-a", "", 30, lock_path=lock)
    assert host_lock.release("run-b", lock_path=lock) is False and host_lock.holder_alive(holder)
    assert host_lock.release("run-a", lock_path=lock) is True
    os.close(host_lock.acquire(1, "run-b", lock_path=lock))


def test_the_holder_of_a_run_declared_gone_is_ended(lock):
    holder = host_lock.hold(0, "run-dead", "", 30, lock_path=lock)
    os.close(host_lock.acquire(5, "run-b", break_run="run-dead", lock_path=lock))
    assert not host_lock.holder_alive(holder)


def test_a_holder_ends_by_itself_after_max_hold(lock):
    host_lock.hold(0, "run-a", "", 1, lock_path=lock)
    os.close(host_lock.acquire(5, "run-b", lock_path=lock))

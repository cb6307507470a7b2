# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tailnet.headscale.plugins.filter.tailscale_host_state import tailscale_host_state

DAEMON = "/usr/local/sbin/tailscaled"
EXPECTED = {
    "/usr/local/bin/tailscale": {"owner": "root", "group": "root", "mode": "0755", "sha256": "AA11", "read_at_start": False},
    DAEMON: {"owner": "root", "group": "root", "mode": "0755", "sha256": "bb22", "read_at_start": True},
    "/etc/default/tailscaled": {"owner": "root", "group": "root", "mode": "0644", "sha256": "cc33", "read_at_start": True},
}
# Files written at 1700000000 and 1700000005, the daemon started at 1700000010.
READ = """file /usr/local/bin/tailscale root:root 755 aa11 1700000000
file /usr/local/sbin/tailscaled root:root 755 bb22 1700000000
file /etc/default/tailscaled root:root 644 cc33 1700000005
unit enabled active no
started 1700000010
running /usr/local/sbin/tailscaled
version 1.80.3-t1234abcd
"""
CONVERGED = dict(converged=True, daemon_installed=True, restart_pending=False, restart_reason="")


def state(read=READ, version="1.80.3", fast_path=True, expected=None):
    return tailscale_host_state(read, DAEMON, EXPECTED if expected is None else expected, version, fast_path=fast_path)


def test_a_host_exactly_as_requested_is_converged():
    assert state() == CONVERGED


def test_no_version_asked_for_accepts_any():
    assert state(version="")["converged"] is True


@pytest.mark.parametrize("case, read", [
    ("a binary differs", READ.replace("bb22", "bb23")),
    ("a file's mode drifted", READ.replace("root:root 644", "root:root 666")),
    ("a file's owner drifted", READ.replace("tailscaled root:root 755", "tailscaled nobody:root 755")),
    ("a file is missing", READ.replace("/etc/default/tailscaled root:root 644 cc33 1700000005", "/etc/default/tailscaled missing")),
    ("a file line is absent", READ.replace("file /etc/default/tailscaled root:root 644 cc33 1700000005\n", "")),
    ("the unit is disabled", READ.replace("unit enabled", "unit disabled")),
    ("tailscaled is stopped", READ.replace("enabled active", "enabled inactive")),
    ("the unit file changed without a daemon reload", READ.replace("active no", "active yes")),
    ("tailscaled runs another executable", READ.replace("running /usr/local/sbin/tailscaled", "running /usr/sbin/tailscaled")),
    ("tailscaled is not running", READ.replace("running /usr/local/sbin/tailscaled", "running ")),
    ("another version", READ.replace("1.80.3-", "1.80.2-")),
    ("the read printed nothing", ""),
])
def test_anything_else_takes_the_full_path(case, read):
    assert state(read)["converged"] is False, case


def test_a_binary_replaced_under_the_running_daemon_owes_a_restart():
    result = state(READ.replace("running /usr/local/sbin/tailscaled", "running /usr/local/sbin/tailscaled (deleted)"))
    assert result == dict(converged=False, daemon_installed=True, restart_pending=True,
                          restart_reason="/usr/local/sbin/tailscaled was replaced while tailscaled ran")


def test_settings_written_after_the_daemon_started_owe_a_restart():
    """A run stopped between writing /etc/default/tailscaled and restarting: the file is as requested,
    the daemon still runs with the old flags."""
    result = state(READ.replace("cc33 1700000005", "cc33 1700000011"))
    assert result == dict(converged=False, daemon_installed=True, restart_pending=True,
                          restart_reason="/etc/default/tailscaled changed after tailscaled started")


@pytest.mark.parametrize("case, read", [
    ("written in the second it started", READ.replace("cc33 1700000005", "cc33 1700000010")),
    ("a file it does not read at start changed", READ.replace("aa11 1700000000", "aa11 1700000099")),
    ("no start time (never started)", READ.replace("started 1700000010", "started ")),
    ("a read without modification times", READ.replace(" 1700000000", "").replace(" 1700000005", "")),
])
def test_no_restart_owed(case, read):
    assert state(read)["restart_pending"] is False, case


def test_a_stopped_daemon_owes_no_restart_it_gets_started():
    read = READ.replace("running /usr/local/sbin/tailscaled", "running ").replace("cc33 1700000005", "cc33 1700000011")
    assert state(read)["restart_pending"] is False
    assert state(read)["converged"] is False


def test_fast_path_off_or_nothing_expected_takes_the_full_path():
    assert state(fast_path=False)["converged"] is False
    assert state(expected={})["converged"] is False


def test_a_fresh_host_has_no_daemon_installed():
    read = READ.replace("/usr/local/sbin/tailscaled root:root 755 bb22 1700000000", "/usr/local/sbin/tailscaled missing")
    assert state(read)["daemon_installed"] is False
    assert state("")["daemon_installed"] is False

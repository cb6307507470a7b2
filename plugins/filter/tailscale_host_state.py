# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: tailscale_host_state
short_description: What the client role's one read of a host says, and whether the install is exactly as requested
version_added: 0.1.0
description:
  - The fast path of the client role. The input is what C(roles/client/templates/tailscale-state.sh.j2)
    printed in one remote call - owner, mode, sha256 and modification time of every file the role installs,
    the unit's enabled, active and reload state, the daemon's running executable, when it started, and its
    version.
  - C(converged) is true only when every expected file is there with exactly the expected owner, mode and
    sha256, tailscaled is enabled and active with no pending daemon reload and no restart owed, and
    the version is the one asked for. Anything else - a missing or unreadable line included - is false, and
    the role takes its full path, which repairs the host.
  - The role installs its own files only with O(tailscale_install_method=binary); with C(apt) it passes
    C(fast_path=false), because the package manager owns those files.
options:
  _input:
    description: The state script's output.
    type: str
    required: true
  daemon:
    description: The path of tailscaled, the executable the unit must be running.
    type: str
    required: true
  expected_files:
    description:
      - Path to C({owner, group, mode, sha256}) for every file the role would write, as it would write it.
      - C(read_at_start=true) marks a file tailscaled reads only when it starts (its binary, unit and settings);
        one written after the daemon started means a restart is owed.
    type: dict
    required: true
  version:
    description: The version asked for (C(tailscale_version)); empty accepts any version.
    type: str
    default: ""
  fast_path:
    description: False makes C(converged) false whatever the host says (C(tailscale_fast_path=false)).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Compare the host with the request
  ansible.builtin.set_fact:
    host_state: "{{ state_read.stdout | tailnet.headscale.tailscale_host_state('/usr/local/sbin/tailscaled', expected_files, tailscale_version) }}"
"""

RETURN = r"""
_value:
  description: The host's state.
  type: dict
  contains:
    converged:
      description: Nothing to install, configure, enable or start.
      type: bool
    daemon_installed:
      description: The daemon's executable is on the host (a dry run on a fresh host has no unit to start).
      type: bool
    restart_pending:
      description:
        - A restart of tailscaled is owed - it runs an executable that has since been replaced, or a file it
          reads at start was written after it started - as a run stopped between a change and its restart leaves it.
        - C(converged) is false then, so the role's full path applies the restart before the node is read.
      type: bool
    restart_reason:
      description: Why the restart is owed, for the run's output; empty when none is.
      type: str
"""


def _parse(output):
    files, fields = {}, {}
    for line in (output or "").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "file":
            files[words[1]] = words[2:]
        elif words:
            fields[words[0]] = words[1:]
    return files, fields


def _file_matches(found, want):
    if len(found) < 3:
        return False
    owner, mode, sha256 = found[:3]
    return (owner == "%s:%s" % (want["owner"], want["group"])
            and mode == str(want["mode"]).lstrip("0")
            and sha256 == str(want["sha256"]).lower())


def _epoch(words):
    try:
        return int(words[0])
    except (IndexError, TypeError, ValueError):
        return None


def _restart_reason(files, fields, running, daemon, expected_files):
    # readlink of a running executable that was replaced since it started.
    if running == daemon + " (deleted)":
        return "%s was replaced while tailscaled ran" % daemon
    started = _epoch(fields.get("started", []))
    if running != daemon or started is None:
        return ""
    # Seconds on both sides: a file written in the second the daemon started is not counted, and the
    # role writes its files before it starts or restarts tailscaled.
    changed = sorted(path for path, want in expected_files.items()
                     if want.get("read_at_start") and (_epoch(files.get(path, [])[3:]) or 0) > started)
    if changed:
        return "%s changed after tailscaled started" % ", ".join(changed)
    return ""


def tailscale_host_state(output, daemon, expected_files, version="", fast_path=True):
    files, fields = _parse(output)
    unit = fields.get("unit", [])
    running = " ".join(fields.get("running", []))
    reported = (fields.get("version") or [""])[0].split("-")[0]
    daemon_installed = files.get(daemon, ["missing"]) != ["missing"]
    restart_reason = _restart_reason(files, fields, running, daemon, expected_files or {})
    converged = (
        bool(fast_path)
        and bool(expected_files)
        and all(_file_matches(files.get(path, []), want) for path, want in expected_files.items())
        and unit == ["enabled", "active", "no"]
        and running == daemon
        and not restart_reason
        and (not version or reported == version)
    )
    return dict(converged=converged, daemon_installed=daemon_installed, restart_pending=bool(restart_reason),
                restart_reason=restart_reason)


class FilterModule(object):
    def filters(self):
        return {"tailscale_host_state": tailscale_host_state}

# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # How every module reaches headscale: its CLI over the local unix socket.
    DOCUMENTATION = r"""
options:
  headscale_binary:
    description:
      - Path or name of the headscale binary on the server host.
      - Where it comes from, first found wins - this option in the task's arguments or through
        C(module_defaults); else the variable C(headscale_binary_path) of the host the module runs on
        (the delegated host under C(delegate_to)), the server role's own, so an ad-hoc
        C(ansible hs1 -m ...) works on a site with another path; else C(headscale) on PATH.
    type: path
    default: headscale
  headscale_config:
    description:
      - headscale configuration file; it tells the CLI where the unix socket is.
      - Where it comes from, first found wins - this option in the task's arguments or through
        C(module_defaults); else C(config.yaml) in the variable C(headscale_config_dir) of the host
        the module runs on (the delegated host under C(delegate_to)); else C(/etc/headscale/config.yaml).
    type: path
    default: /etc/headscale/config.yaml
attributes:
  action_group:
    description: Use C(group/tailnet.headscale.headscale) in C(module_defaults) to set O(headscale_binary) and
      O(headscale_config) once for every module of the collection.
    support: full
    membership:
      - tailnet.headscale.headscale
notes:
  - Runs on the headscale host and drives the server with its CLI over the local unix socket,
    so no API key is needed; the task needs root or membership of the server role's
    C(headscale_admin_group).
  - Supports headscale 0.28.x and 0.29.x; the version is detected once per run.
  - Failures carry headscale's own message and the command that failed, with pre-auth key
    secrets redacted.
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the server.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""

    # The modules that change headscale's state: the host lock (docs/operations.md, "One run at a time").
    HOST_LOCK = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait for the host lock (C(/run/tailnet-headscale.lock)) that every run of the server role and
        every changing call of this collection's modules takes, before failing with nothing changed and a message
        naming the holder (its PID, start time and run).
      - The lock is taken only by a call that changes something, and never in check mode. A call that finds the
        lock busy and has nothing to change does not wait. A call that had to wait reads the server again under
        the lock and plans anew, since the run it waited for may have changed what it read.
    type: int
    default: 600
  lock_run:
    description:
      - The run that holds the host lock on behalf of this call. When it is the live holder's run, the call
        goes through without taking the lock. The server role passes its own run for the users and keys it declares.
      - Leave it unset otherwise; a call naming a run that does not hold the lock takes the lock as usual.
    type: str
notes:
  - Root and the members of the server role's C(headscale_admin_group) take the host lock. The role makes the lock
    file C(0660) root:I(admin group) and has systemd-tmpfiles recreate it so at boot. A changing call that cannot
    open the lock (neither root nor in that group, or the role was not given the group) warns and goes ahead without it.
"""

# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: state_converged
short_description: Whether a host is exactly as the last full run of a role left it, for the same inputs
version_added: 0.1.0
description:
  - The fast path of the server and proxy roles. The input is what a role's state script printed in one remote
    call - the state of everything the role manages, one line each (owner, mode and sha256 of every file,
    units, health, C(nginx -t)) - then a line C(--- record), then the record the last full run wrote (its
    fingerprint of the inputs, then the state it left).
  - True only when the record's fingerprint is O(fingerprint) and the state now is line for line the state recorded.
    Any drift, any change of input, a missing, empty or partial record, or no record marker at all is False;
    the role takes its full path, which repairs the host and records again.
options:
  _input:
    description: The state script's output.
    type: str
    required: true
  fingerprint:
    description: The hash of this run's inputs (variables, rendered files, collection version).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Compare the installed state with the record of the last full run
  ansible.builtin.set_fact:
    converged: "{{ state_read.stdout | tailnet.headscale.state_converged(fingerprint) }}"
"""

RETURN = r"""
_value:
  description: Whether nothing needs doing.
  type: bool
"""

MARKER = "--- record"


def state_lines(output):
    """The state part of the output, one entry per line (surrounding blank space ignored)."""
    return (output or "").split(MARKER)[0].strip().splitlines()


def state_converged(output, fingerprint):
    output = output or ""
    if MARKER not in output or not fingerprint:
        return False
    record = output.split(MARKER, 1)[1].strip().splitlines()
    return len(record) > 1 and record[0] == fingerprint and record[1:] == state_lines(output)


class FilterModule(object):
    def filters(self):
        return {"state_converged": state_converged}

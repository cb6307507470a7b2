# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: duration_seconds
short_description: A headscale duration in seconds, by the collection's one duration parser
version_added: 0.1.0
description:
  - Parses a duration the way headscale does (prometheus C(model.ParseDuration) - V(90d), V(12h), V(1h30m),
    units from biggest to smallest, each once), with the parser the modules use (module_utils/validation.py).
  - Returns V(-1) for a value headscale would not parse, so an assert can refuse it.
options:
  _input:
    description: The duration.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a key lifetime above a day
  ansible.builtin.assert:
    that: 60 <= (tailscale_preauth_key_expiration | tailnet.headscale.duration_seconds) <= 86400
"""

RETURN = r"""
_value:
  description: Seconds (a float for V(ms)), or V(-1) when the value is not a duration.
  type: float
"""

from ansible_collections.tailnet.headscale.plugins.module_utils.validation import parse_duration


def duration_seconds(value):
    try:
        return parse_duration(value)
    except ValueError:
        return -1


class FilterModule(object):
    def filters(self):
        return {"duration_seconds": duration_seconds}

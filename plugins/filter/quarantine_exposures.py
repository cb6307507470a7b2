# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: quarantine_exposures
short_description: Policy rules that would give a quarantined node access
version_added: 0.1.0
description:
  - Lists the entries of a headscale ACL policy (C(acls), C(grants), C(ssh)) through which a node
    carrying the quarantine tag could reach, or be reached by, other nodes. An empty list means the
    tag is given no access at all.
  - Matched - as a source or a destination - are C(*), the quarantine tag itself,
    C(autogroup:tagged), and addresses (or C(hosts) aliases of addresses) inside the tailnet's
    prefixes, which may be a quarantined node's address. Users, groups, C(autogroup:member) and
    C(autogroup:self) never contain tagged nodes.
options:
  _input:
    description: The policy (the server role's C(headscale_policy)).
    type: dict
    required: true
  tag:
    description: The quarantine tag, such as C(tag:quarantine).
    type: str
    required: true
  prefixes:
    description: The tailnet's address prefixes (headscale's C(prefixes.v4) and C(prefixes.v6)).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a policy that would let quarantined nodes talk
  ansible.builtin.assert:
    that: headscale_policy | tailnet.headscale.quarantine_exposures('tag:quarantine', ['100.64.0.0/10']) | length == 0
"""

RETURN = r"""
_value:
  description: One line per entry that exposes the tag, such as C(acls[0].src '*').
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tailnet.headscale.plugins.module_utils import quarantine


def quarantine_exposures(policy, tag, prefixes):
    try:
        return quarantine.quarantine_exposures(policy, tag, prefixes)
    except ValueError as error:
        raise AnsibleFilterError("quarantine_exposures: %s" % error)


class FilterModule(object):
    def filters(self):
        return {"quarantine_exposures": quarantine_exposures}

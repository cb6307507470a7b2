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

import ipaddress

from ansible.errors import AnsibleFilterError

RULE_SECTIONS = ("acls", "grants", "ssh")
ALWAYS_EXPOSING = ("*", "autogroup:tagged")


def _network(text):
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        return None


def _alias(entry, side):
    """The alias part of an entry: destinations of acls carry ':ports' (tag:web:443, [fd7a::1]:22)."""
    if side != "dst" or entry.startswith("autogroup:") and entry.count(":") == 1:
        return entry
    alias, sep, ports = entry.rpartition(":")
    if sep and (ports == "*" or ports.replace(",", "").replace("-", "").isdigit()):
        return alias
    return entry


def quarantine_exposures(policy, tag, prefixes):
    if not isinstance(policy, dict):
        raise AnsibleFilterError("quarantine_exposures: the policy must be a mapping, got %r" % (policy,))
    tailnet = [_network(p) for p in prefixes]
    if None in tailnet:
        raise AnsibleFilterError("quarantine_exposures: prefixes %r are not all networks" % (prefixes,))
    hosts = policy.get("hosts") or {}

    def exposes(alias):
        if alias in ALWAYS_EXPOSING or alias == tag:
            return True
        network = _network(str(hosts.get(alias, alias)))
        return network is not None and any(
            network.version == t.version and network.overlaps(t) for t in tailnet)

    found = []
    for section in RULE_SECTIONS:
        for index, rule in enumerate(policy.get(section) or []):
            for side in ("src", "dst"):
                for entry in rule.get(side) or []:
                    if exposes(_alias(str(entry), side if section == "acls" else "src")):
                        found.append("%s[%d].%s '%s'" % (section, index, side, entry))
    return found


class FilterModule(object):
    def filters(self):
        return {"quarantine_exposures": quarantine_exposures}

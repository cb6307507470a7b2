# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Policy rules through which a quarantined node could reach or be reached: the one implementation,
used by the server role before it writes a policy (filter quarantine_exposures) and by the audit
(module_utils/audit.py) on the policy a server runs with."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

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
    """Entries of POLICY that would give a node tagged TAG access (see the filter's documentation).
    ValueError when POLICY is not a mapping or PREFIXES are not all networks."""
    if not isinstance(policy, dict):
        raise ValueError("the policy must be a mapping, got %r" % (policy,))
    tailnet = [_network(p) for p in prefixes]
    if None in tailnet:
        raise ValueError("prefixes %r are not all networks" % (prefixes,))
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

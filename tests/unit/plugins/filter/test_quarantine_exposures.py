# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which policy entries would let a quarantined node reach, or be reached by, anything."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tailnet.headscale.plugins.filter.quarantine_exposures import quarantine_exposures

TAG = "tag:quarantine"
PREFIXES = ["100.64.0.0/10", "fd7a:115c:a1e0::/48"]


def exposures(**policy):
    return quarantine_exposures(policy, TAG, PREFIXES)


def test_a_policy_that_names_only_users_groups_and_other_tags_exposes_nothing():
    assert exposures(
        hosts={"lan": "10.20.0.0/16"},
        acls=[{"action": "accept", "src": ["group:admins", "alice@", "tag:web", "autogroup:member"],
               "dst": ["tag:web:443", "lan:*", "autogroup:internet:*", "autogroup:self:*"]}],
        ssh=[{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["root"]}],
    ) == []


@pytest.mark.parametrize("rule,found", [
    ({"src": ["*"], "dst": ["tag:web:*"]}, ["acls[0].src '*'"]),
    ({"src": ["tag:web"], "dst": ["*:*"]}, ["acls[0].dst '*:*'"]),
    ({"src": [TAG], "dst": ["tag:web:22"]}, ["acls[0].src 'tag:quarantine'"]),
    ({"src": ["tag:web"], "dst": [TAG + ":80"]}, ["acls[0].dst 'tag:quarantine:80'"]),
    ({"src": ["autogroup:tagged"], "dst": ["tag:web:22"]}, ["acls[0].src 'autogroup:tagged'"]),
    ({"src": ["100.64.0.0/10"], "dst": ["tag:web:22"]}, ["acls[0].src '100.64.0.0/10'"]),
    ({"src": ["tag:web"], "dst": ["[fd7a:115c:a1e0::7]:22"]}, ["acls[0].dst '[fd7a:115c:a1e0::7]:22'"]),
    ({"src": ["printer"], "dst": ["tag:web:22"]}, ["acls[0].src 'printer'"]),
])
def test_entries_that_can_match_a_quarantined_node_are_named(rule, found):
    assert exposures(hosts={"printer": "100.64.0.9"}, acls=[dict(rule, action="accept")]) == found


def test_grants_and_ssh_rules_are_checked_too():
    assert exposures(
        grants=[{"src": ["autogroup:tagged"], "dst": ["tag:web"], "ip": ["*"]}],
        ssh=[{"action": "accept", "src": ["tag:web"], "dst": [TAG], "users": ["root"]}],
    ) == ["grants[0].src 'autogroup:tagged'", "ssh[0].dst 'tag:quarantine'"]


def test_bad_prefixes_are_refused_naming_them():
    with pytest.raises(AnsibleFilterError, match="not-a-net"):
        quarantine_exposures({}, TAG, ["not-a-net"])

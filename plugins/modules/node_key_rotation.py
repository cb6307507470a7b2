#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: node_key_rotation
short_description: Enforce a maximum node key age on headscale nodes
version_added: 0.1.0
description:
  - Expires every selected node whose node key is older than O(max_key_age). An expired node must
    re-authenticate; when it does, its client generates a B(new) node key and headscale keeps its
    node ID and IP addresses. Nodes already expired and waiting for their owner are left alone, so a
    scheduled run is idempotent - it reports C(changed) only when it expires a key.
  - "headscale does not timestamp node keys. The age comes from what it keeps: from headscale 0.29 on,
    each registration of a user-owned node sets its expiry to I(now + node.expiry), so the key was
    issued at I(expiry - node.expiry) (source C(expiry)). Tagged nodes never expire and headscale 0.28
    has no C(node.expiry); for those the module keeps a ledger on the server host of the key each run
    saw. A key seen for the first time dates from the node's creation (source C(created), an
    overestimate: rotating early is the safe mistake); a key that changed since the previous run dates
    from this run (source C(observed), an underestimate by at most one run interval - schedule runs
    often compared to O(max_key_age)). A node expired for its age that logs in again with the B(same)
    key (C(tailscale up) without C(--force-reauth) keeps it, and headscale accepts that) keeps its old
    age (source C(reused)) and is expired again."
  - To force one node to re-authenticate now, use M(tailnet.headscale.node) with O(tailnet.headscale.node#module:state=expired).
author:
  - tailnet.headscale developers (@tailnet-headscale)
extends_documentation_fragment:
  - tailnet.headscale.headscale
  - tailnet.headscale.headscale.attributes
  - tailnet.headscale.headscale.host_lock
attributes:
  diff_mode:
    details: The diff lists the nodes whose keys are expired, before and after.
options:
  max_key_age:
    description:
      - The oldest a node key may be, as a headscale duration (V(90d), V(12h), V(2w), V(1h30m)).
      - Keep it below headscale's C(node.expiry), or keys expire on their own before this policy
        acts on them.
    type: str
    required: true
  users:
    description: Only nodes owned by these users. Default - every user.
    type: list
    elements: str
  tags:
    description: Only nodes carrying at least one of these tags. Default - tagged or not.
    type: list
    elements: str
  exclude:
    description: Names of nodes never to expire (for example the admin's own jump host).
    type: list
    elements: str
    default: []
  node_expiry:
    description:
      - headscale's C(node.expiry), used to date keys from their expiry.
      - Default - read from O(headscale_config). A duration, or V(0) when the server sets no default expiry.
    type: str
  ledger_file:
    description: Where the module keeps the node keys it saw on the server host (root only).
    type: path
    default: /var/lib/tailnet-headscale/node-keys.json
notes:
  - Devices renew their key with C(tailscale up --force-reauth) (plus C(--authkey) for unattended
    hosts); a plain C(tailscale up) after expiry logs in with the old key again.
  - A node key that was rotated by the device itself (C(tailscale up --force-reauth)) is seen as new on
    the next run.
  - Reading O(headscale_config) uses PyYAML when the host has it, otherwise a reader for the block form
    C(node:) / C(expiry:) that headscale's example configuration and the server role write.
seealso:
  - module: tailnet.headscale.node
  - module: tailnet.headscale.info
"""

EXAMPLES = r"""
# Scheduled (playbooks/rotate_node_keys.yml): every key older than 90 days must be renewed.
- name: Expire node keys older than 90 days
  tailnet.headscale.node_key_rotation:
    max_key_age: 90d
  register: rotation

- name: Tell the owners who must log in again
  ansible.builtin.debug:
    msg: "{{ rotation.rotated | map(attribute='name') | list }}"
  when: rotation.changed

# Servers are enrolled by the client role; rotate their keys monthly, never the bastion's.
- name: Expire server node keys older than 30 days
  tailnet.headscale.node_key_rotation:
    max_key_age: 30d
    tags: [tag:server]
    exclude: [bastion]

# Ad hoc, what would be rotated: ansible hs1 -b -C -m tailnet.headscale.node_key_rotation -a max_key_age=90d
"""

RETURN = r"""
rotated:
  description: The nodes whose keys this run expired (or would, in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{id: 3, name: alice-laptop, user: alice, key_issued_at: "2026-08-01T09:00:00Z", key_age_days: 113.2, key_age_seconds: 9780480, source: expiry}]
awaiting_reauth:
  description: Names of selected nodes that are expired and have not re-authenticated yet.
  returned: always
  type: list
  elements: str
  sample: [bob-phone]
nodes:
  description: Every selected node with its key's age and where the age comes from.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Node ID.
      type: int
    name:
      description: Node name.
      type: str
    user:
      description: Owner, null for tagged nodes on headscale 0.29.
      type: str
    node_key:
      description: The node's current public node key.
      type: str
    key_issued_at:
      description: When the current key was issued, as far as the data tells (UTC).
      type: str
    key_age_days:
      description: Age of the key in days, to six decimals (0.001389 for two minutes).
      type: float
    key_age_seconds:
      description: Age of the key in whole seconds, for short maximum ages.
      type: int
    source:
      description: V(expiry), V(created), V(observed) or V(reused) - see the description.
      type: str
    status:
      description: V(current), V(rotated) (expired by this run) or V(awaiting_reauth).
      type: str
cli_calls:
  description: Number of headscale CLI commands this run made.
  returned: always
  type: int
  sample: 3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import (
    COMMON_ARGUMENT_SPEC,
    LOCK_ARGUMENT_SPEC,
    HeadscaleClient,
    HeadscaleError,
    fail_from_error,
    under_lock,
    iso,
    utcnow,
)
from ansible_collections.tailnet.headscale.plugins.module_utils.node_keys import (
    KeyLedger,
    configured_node_expiry,
    key_issued_at,
    ledger_entry,
)
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import (
    duration_problem,
    parse_duration,
    tags_problems,
    user_name_problem,
)


class NodeKeyRotation(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = None

    def fail(self, msg, **result):
        self.module.fail_json(msg=msg, cli_calls=self.client.calls if self.client else 0, **result)

    def durations(self):
        p = self.params
        problems = [duration_problem("max_key_age", p["max_key_age"])] + tags_problems(p["tags"])
        problems += [user_name_problem(user, "users item") for user in p["users"] or []]
        if p["node_expiry"] is not None:
            problems.append(duration_problem("node_expiry", p["node_expiry"], allow_zero=True))
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail("; ".join(problems))
        max_age = parse_duration(p["max_key_age"])
        if p["node_expiry"] is not None:
            node_expiry = parse_duration(p["node_expiry"]) or None
        else:
            node_expiry = configured_node_expiry(self.client.config)
        if self.client.version[:2] < (0, 29):
            # 0.28 has no node.expiry: an expiry there was set by hand or by the client.
            node_expiry = None
        return max_age, node_expiry

    def selected(self, node):
        p = self.params
        if node["name"] in p["exclude"]:
            return False
        if p["users"] is not None and node["user"] not in p["users"]:
            return False
        if p["tags"] is not None and not set(p["tags"]) & set(node["tags"]):
            return False
        return True

    def run(self):
        self.client = HeadscaleClient(self.module)
        self.module.exit_json(**under_lock(self.module, self.client, self.attempt))

    def attempt(self):
        """Read, plan and change: the result. Run again (from scratch) if the host lock was taken only after waiting."""
        p = self.params
        try:
            ledger = KeyLedger(p["ledger_file"])
        except ValueError as error:
            self.fail("ledger_file %s is not valid JSON (%s); remove it to start a new ledger" % (p["ledger_file"], error))
        try:
            max_age, node_expiry = self.durations()
            if p["users"]:
                known = set(u["name"] for u in self.client.users())
                missing = [u for u in p["users"] if u not in known]
                if missing:
                    self.fail("users %s do not exist on this headscale server" % ", ".join(repr(u) for u in missing))
            now = utcnow()
            nodes = self.client.nodes()
            report, rotated, awaiting, seen = [], [], [], {}
            before, after = {}, {}
            for node in nodes:
                previous = ledger.get(node["id"])
                issued, source = key_issued_at(node, now, node_expiry, previous)
                still_rotated = bool(previous) and previous.get("rotated") and previous["node_key"] == node["node_key"]
                seen[str(node["id"])] = ledger_entry(node, issued, source, rotated=still_rotated)
                if not self.selected(node):
                    continue
                age = (now - issued).total_seconds()
                entry = dict(id=node["id"], name=node["name"], user=node["user"], node_key=node["node_key"],
                             key_issued_at=iso(issued), key_age_days=round(age / 86400.0, 6), key_age_seconds=int(age), source=source)
                if node["expired"]:
                    entry["status"] = "awaiting_reauth"
                    awaiting.append(node["name"])
                elif age > max_age:
                    entry["status"] = "rotated"
                    before[node["name"]] = dict(expired=False, expiry=node["expiry"])
                    seen[str(node["id"])] = ledger_entry(node, issued, source, rotated=True)
                    if not self.module.check_mode:
                        node = self.client.expire_node(node["id"])
                    after[node["name"]] = dict(expired=True, expiry=node["expiry"] if not self.module.check_mode else iso(now))
                    rotated.append(entry)
                else:
                    entry["status"] = "current"
                report.append(entry)
        except HeadscaleError as error:
            fail_from_error(self.module, error, cli_calls=self.client.calls)
        # The ledger is bookkeeping, not a change to the tailnet: writing it does not set changed.
        if not self.module.check_mode and ledger.replace(seen):
            self.client.before_change()
            ledger.save()
        return dict(
            changed=bool(rotated),
            rotated=rotated,
            awaiting_reauth=awaiting,
            nodes=report,
            cli_calls=self.client.calls,
            diff=dict(before=before, after=after),
        )


def main():
    argument_spec = dict(
        max_key_age=dict(type="str", required=True, no_log=False),
        users=dict(type="list", elements="str"),
        tags=dict(type="list", elements="str"),
        exclude=dict(type="list", elements="str", default=[]),
        node_expiry=dict(type="str"),
        ledger_file=dict(type="path", default="/var/lib/tailnet-headscale/node-keys.json"),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    argument_spec.update(LOCK_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    NodeKeyRotation(module).run()


if __name__ == "__main__":
    main()

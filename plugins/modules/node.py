#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: node
short_description: Approve, reject, rename, tag, expire and delete headscale nodes
version_added: 0.1.0
description:
  - V(registered) approves a pending interactive registration (the auth ID a device shows after
    C(tailscale up)) for O(user). Verify it against what the device owner reports over another
    channel, so a hijacked or mistyped auth ID cannot register a stranger's device - O(expected_machine_key)
    (any login, including the first), or O(expected_node_key) (a device re-authenticating after its key
    expired shows its old node key while it waits; the module checks that the registration comes from the
    machine that held that key). On a mismatch the task fails with C(changed=true) and the actions taken -
    a node this registration created is deleted again, and a node that existed before keeps its ID, addresses
    and owner but is expired (and its tags restored), so nothing it presented is trusted.
    Approvals are recorded in O(registrations_file), so re-running the same approval reports C(changed=false).
  - V(rejected) turns a pending registration down (headscale 0.29 and later).
  - V(present) applies O(rename_to), O(tags) and O(approved_routes) to an existing node. With
    O(expected_node_key), the node's key is checked first and nothing changes on a mismatch.
  - Approval of a node that registered with a quarantine pre-auth key (see the server role's
    C(headscale_quarantine_tag)) takes O(state=present) with O(quarantine_tag), O(expected_node_key) and
    the O(tags) the node should carry instead. The quarantine tag is replaced only when the node's key is
    the one its owner reported out of band.
  - V(expired) expires the node's key - the device must re-authenticate, and comes back with a new
    node key but the same node ID and addresses.
  - V(absent) expires the node, so a connected client learns that it is logged out, waits 3 seconds when the node
    is online (headscale sends changes to clients in batches), then deletes it.
  - Existing nodes are selected by exactly one of O(id), O(name) or O(node_key).
author:
  - tailnet.headscale developers (@tailnet-headscale)
extends_documentation_fragment:
  - tailnet.headscale.headscale
  - tailnet.headscale.headscale.attributes
  - tailnet.headscale.headscale.host_lock
options:
  state:
    description: What to do; see the description.
    type: str
    choices: [registered, rejected, present, expired, absent]
    default: present
  auth_id:
    description:
      - The pending registration's ID, the last part of the URL C(tailscale up) prints
        (C(hskey-authreq-...) on headscale 0.29). With O(state=registered) or O(state=rejected).
    type: str
  user:
    description: Owner of the node being registered (O(state=registered)).
    type: str
  expected_node_key:
    description:
      - The node key the device owner reported out of band (C(Self.PublicKey) of
        C(tailscale status --json)), with or without the C(nodekey:) prefix.
      - With O(state=registered), for a device re-authenticating after expiry - it shows the key it had
        before, and the registration must come from the machine that held it. A device that was never
        registered shows an all-zero key, which is refused; use O(expected_machine_key) for it.
      - With O(state=present), the node's current key; the task fails before changing anything on a mismatch.
    type: str
  expected_machine_key:
    description:
      - The machine key the device owner reported out of band (C(mkey:) and 64 hex digits, or the hex
        digits alone), with O(state=registered). A device keeps its machine key for its whole life, and it is
        known before the first registration; docs/operations.md shows how the owner reads it.
    type: str
  quarantine_tag:
    description:
      - Release a node from quarantine (O(state=present)). Needs O(expected_node_key) and O(tags);
        O(tags) replace the node's tags, so they must not include this tag.
      - A node that carries neither this tag nor O(tags) is refused, so an approval cannot retag a
        node that was never quarantined.
    type: str
  id:
    description: Select an existing node by its ID.
    type: int
  name:
    description: Select an existing node by its name (headscale's given name).
    type: str
  node_key:
    description: Select an existing node by its node key.
    type: str
  rename_to:
    description: New name for the node (O(state=present)).
    type: str
  tags:
    description:
      - ACL tags the node should carry, each starting with C(tag:) (O(state=present)). The tags must
        be owned in the policy's C(tagOwners).
    type: list
    elements: str
  approved_routes:
    description: Subnet routes (CIDR) approved for the node (O(state=present)); V([]) removes all.
    type: list
    elements: str
  registrations_file:
    description:
      - Where approvals made by this module are recorded on the server host (root only).
      - The file stays bounded - each registration drops the approvals of nodes that no longer exist once
        headscale has forgotten their auth id (15 minutes), and rejections after a day.
    type: path
    default: /var/lib/tailnet-headscale/registrations.json
seealso:
  - module: tailnet.headscale.info
"""

EXAMPLES = r"""
# The device owner ran `tailscale up --login-server https://hs.example.com`, got
# https://hs.example.com/register/hskey-authreq-AbC..., and read their node key with
# its machine key (docs/operations.md, "Approve a device"), then sent both to the admin.
- name: Approve alice's new laptop, verifying its machine key
  tailnet.headscale.node:
    state: registered
    auth_id: hskey-authreq-AbCdEfGhIjKlMnOpQrStUvWx
    user: alice
    expected_machine_key: mkey:5b0e...

# The laptop's key expired; while it waits for approval it shows its old node key in
# `tailscale status --json`, and the module checks the registration comes from that machine.
- name: Approve alice's laptop again after its key expired
  tailnet.headscale.node:
    state: registered
    auth_id: hskey-authreq-ZyXwVuTsRqPoNmLkJiHgFeDc
    user: alice
    expected_node_key: nodekey:7c3f...

- name: Tag a server and approve its subnet route
  tailnet.headscale.node:
    name: db1
    tags: [tag:server]
    approved_routes: [10.20.0.0/24]

# The server joined with a pre-auth key minted with tags [tag:quarantine]; its owner
# read Self.PublicKey of `tailscale status --json` on it and sent it over.
- name: Release web3 from quarantine once its node key is verified
  tailnet.headscale.node:
    name: web3
    quarantine_tag: tag:quarantine
    expected_node_key: nodekey:9a1e...
    tags: [tag:web]

- name: Force a lost laptop to re-authenticate
  tailnet.headscale.node:
    name: alice-laptop
    state: expired

- name: Remove a decommissioned node
  tailnet.headscale.node:
    id: 12
    state: absent

# Ad hoc: ansible hs1 -b -m tailnet.headscale.node -a "state=registered auth_id=... user=alice"
"""

RETURN = r"""
node:
  description: The node after the run; null when it was deleted or does not exist.
  returned: always
  type: dict
  sample:
    id: 3
    name: alice-laptop
    hostname: alice-laptop
    user: alice
    node_key: "nodekey:7c3f..."
    ip_addresses: [100.64.0.3, "fd7a:115c:a1e0::3"]
    tags: []
    online: true
    expiry: "2027-05-21T07:00:00Z"
    expired: false
actions:
  description:
    - What was done (or would be, in check mode).
    - Also returned when the task fails, for example after a failed verification
      (C(delete node 9 (laptop\), created by this registration)).
  returned: always
  type: list
  elements: str
  sample: ["register auth id hskey-authreq-AbC... to user alice"]
cli_calls:
  description: Number of headscale CLI commands this run made.
  returned: always
  type: int
  sample: 3
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import (
    COMMON_ARGUMENT_SPEC,
    LOCK_ARGUMENT_SPEC,
    HeadscaleClient,
    HeadscaleError,
    fail_from_error,
    under_lock,
    iso,
    parse_timestamp,
    read_private_json,
    utcnow,
    write_private_json,
)
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import (
    flag_like_problem,
    node_name_problem,
    route_problem,
    tag_problem,
    tags_problems,
    user_name_problem,
)

NODE_KEY_RE = re.compile(r"^(nodekey:)?[0-9a-f]{64}$")
MACHINE_KEY_RE = re.compile(r"^(mkey:)?[0-9a-f]{64}$")
AUTH_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# How long state=absent lets headscale tell a connected client it expired before deleting it.
EXPIRY_DELIVERY_SECONDS = 3
# What `tailscale status --json` shows as Self.PublicKey before a device's first registration.
ZERO_NODE_KEY = "nodekey:" + "0" * 64


def normalize_node_key(value):
    return value if value.startswith("nodekey:") else "nodekey:" + value


def normalize_machine_key(value):
    return value if value.startswith("mkey:") else "mkey:" + value


def verification_problem(node, expected_node_key, expected_machine_key, anchor):
    """Why NODE, just registered, is not the device its owner described; None when it is.

    anchor: the node that carried expected_node_key before the registration. A device that
    re-authenticates after expiry shows that old key while it waits, and comes back with a new
    one: what proves it is the same device is its machine key, which never changes.
    """
    if expected_machine_key and node["machine_key"] != expected_machine_key:
        return "expected machine key %s, the device presented %s" % (expected_machine_key, node["machine_key"])
    if expected_node_key:
        if anchor is not None:
            if node["machine_key"] != anchor["machine_key"]:
                return ("expected the device that had node key %s (node %d, %s, machine key %s), "
                        "the device presented machine key %s and node key %s"
                        % (expected_node_key, anchor["id"], anchor["name"], anchor["machine_key"],
                           node["machine_key"], node["node_key"]))
        elif node["node_key"] != expected_node_key:
            return "expected node key %s, the device presented %s" % (expected_node_key, node["node_key"])
    return None


# headscale forgets an auth id 15 minutes after it was handed out (module_utils/registrations.py):
# a record older than that can only answer a rerun that would fail anyway.
REGISTRATION_KEPT = 15 * 60
# A rejection is kept longer, so that a rerun of the same rejection still reports changed=false.
REJECTION_KEPT = 24 * 3600


class Registry(object):
    """Approvals this module made: auth id -> node. headscale forgets an auth id once used."""

    def __init__(self, path):
        self.path = path
        self.data = read_private_json(path) or {}

    def prune(self, now, live_node_ids=None, keep=None):
        """Drop the records nothing can ask for again: approvals of nodes not in LIVE_NODE_IDS (when given)
        older than REGISTRATION_KEPT, rejections older than REJECTION_KEPT. KEEP (an auth id) stays.
        Returns whether a record was dropped: the file then needs writing."""
        def age(record):
            at = parse_timestamp(record.get("at")) if isinstance(record, dict) and record.get("at") else None
            return (now - at).total_seconds() if at is not None else float("inf")

        stale = []
        for auth_id, record in self.data.items():
            if auth_id == keep:
                continue
            if not isinstance(record, dict):
                stale.append(auth_id)
            elif record.get("rejected"):
                if age(record) > REJECTION_KEPT:
                    stale.append(auth_id)
            elif live_node_ids is not None and record.get("node_id") not in live_node_ids and age(record) > REGISTRATION_KEPT:
                stale.append(auth_id)
        for auth_id in stale:
            del self.data[auth_id]
        return bool(stale)

    def save(self):
        write_private_json(self.path, self.data)


class NodeModule(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = None
        self.actions = []
        self.before = None

    def fail(self, msg, changed=False):
        self.module.fail_json(msg=msg, changed=changed, actions=self.actions, cli_calls=self.client.calls if self.client else 0)

    def validate(self):
        p = self.params
        if p["id"] is not None and p["id"] <= 0:
            self.fail("id must be a positive node ID, got %d" % p["id"])
        for option in ("expected_node_key", "node_key"):
            if p[option] is not None and not NODE_KEY_RE.match(p[option]):
                self.fail("%s %r is not a node key (nodekey: followed by 64 hex digits)" % (option, p[option]))
        if p["expected_machine_key"] is not None and not MACHINE_KEY_RE.match(p["expected_machine_key"]):
            self.fail("expected_machine_key %r is not a machine key (mkey: followed by 64 hex digits)" % p["expected_machine_key"])
        if p["expected_node_key"] is not None and normalize_node_key(p["expected_node_key"]) == ZERO_NODE_KEY:
            self.fail("expected_node_key is all zeros: every device shows that before its first registration, so it "
                      "proves nothing. Ask the owner for the device's machine key instead and pass it as "
                      "expected_machine_key (docs/operations.md, 'Approve a device', shows the command)")
        if p["auth_id"] is not None and (not AUTH_ID_RE.match(p["auth_id"]) or p["auth_id"].startswith("-")):
            self.fail("auth_id %r is not a registration ID: give the last part of the /register/ URL "
                      "(letters, digits, '-' and '_', not starting with '-')" % p["auth_id"])
        problems = tags_problems(p["tags"]) + [
            tag_problem(p["quarantine_tag"], "quarantine_tag") if p["quarantine_tag"] is not None else None,
            user_name_problem(p["user"], "user") if p["user"] is not None else None,
            node_name_problem(p["rename_to"], "rename_to") if p["rename_to"] is not None else None,
            flag_like_problem(p["name"], "name"),
        ] + [route_problem(route) for route in p["approved_routes"] or []]
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail("; ".join(problems))
        selectors = [o for o in ("id", "name", "node_key") if p[o] is not None]
        if p["state"] in ("registered", "rejected"):
            if p["auth_id"] is None:
                self.fail("state=%s needs auth_id" % p["state"])
            if selectors:
                self.fail("state=%s works on auth_id; %s selects an existing node" % (p["state"], selectors[0]))
        else:
            if len(selectors) != 1:
                self.fail("state=%s needs exactly one of id, name or node_key (got %s)"
                          % (p["state"], ", ".join(selectors) or "none"))
            if p["auth_id"] is not None:
                self.fail("auth_id is only used with state=registered or state=rejected")
        if p["state"] == "registered" and not p["user"]:
            self.fail("state=registered needs user: the owner of the node being approved")
        if p["state"] != "present" and any(p[o] is not None for o in ("rename_to", "tags", "approved_routes", "quarantine_tag")):
            self.fail("rename_to, tags, approved_routes and quarantine_tag apply with state=present")
        if p["state"] in ("expired", "absent") and p["expected_node_key"] is not None:
            self.fail("expected_node_key applies with state=registered or state=present")
        if p["state"] != "registered" and p["expected_machine_key"] is not None:
            self.fail("expected_machine_key applies with state=registered")
        if p["quarantine_tag"] is not None:
            if p["expected_node_key"] is None:
                self.fail("quarantine_tag needs expected_node_key: the key the node's owner reported out of band")
            if not p["tags"]:
                self.fail("quarantine_tag needs tags: what the node carries once released")
            if p["quarantine_tag"] in p["tags"]:
                self.fail("tags %s include the quarantine tag %s" % (",".join(p["tags"]), p["quarantine_tag"]))

    def select(self, nodes):
        p = self.params
        if p["id"] is not None:
            found = [n for n in nodes if n["id"] == p["id"]]
        elif p["name"] is not None:
            found = [n for n in nodes if n["name"] == p["name"]]
        else:
            found = [n for n in nodes if n["node_key"] == normalize_node_key(p["node_key"])]
        return found[0] if found else None

    # --- registration -------------------------------------------------------

    def register(self):
        p = self.params
        registry = Registry(p["registrations_file"])
        users = [u["name"] for u in self.client.users()]
        if p["user"] not in users:
            self.fail("user %r does not exist on this headscale server" % p["user"])
        expected = normalize_node_key(p["expected_node_key"]) if p["expected_node_key"] else None
        expected_machine = normalize_machine_key(p["expected_machine_key"]) if p["expected_machine_key"] else None
        record = registry.data.get(p["auth_id"])
        nodes = self.client.nodes()
        # Bookkeeping, not a change to the tailnet: it does not set changed.
        if registry.prune(utcnow(), set(n["id"] for n in nodes), keep=p["auth_id"]) and not self.module.check_mode:
            self.client.before_change()
            registry.save()
        if record:
            if record.get("rejected"):
                self.fail("auth id %s was rejected earlier; the device must start a new login" % p["auth_id"])
            node = next((n for n in nodes if n["id"] == record["node_id"]), None)
            if node is None:
                self.fail("auth id %s registered node %d, which no longer exists" % (p["auth_id"], record["node_id"]))
            if node["user"] != p["user"]:
                self.fail("auth id %s registered node %s to user %s, not %s"
                          % (p["auth_id"], node["name"], node["user"], p["user"]))
            known_keys = (node["node_key"], record["node_key"], record.get("verified_node_key"))
            if expected and expected not in known_keys:
                self.fail("auth id %s registered node %s with key %s, not the expected %s"
                          % (p["auth_id"], node["name"], record["node_key"], expected))
            if expected_machine and node["machine_key"] != expected_machine:
                self.fail("auth id %s registered node %s with machine key %s, not the expected %s"
                          % (p["auth_id"], node["name"], node["machine_key"], expected_machine))
            return False, node
        before = dict((n["id"], n) for n in nodes)
        # A device re-authenticating after expiry shows its old node key while it waits.
        anchor = next((n for n in nodes if n["node_key"] == expected), None) if expected else None
        self.actions.append("register auth id %s to user %s" % (p["auth_id"], p["user"]))
        if self.module.check_mode:
            return True, None
        try:
            node = self.client.register_node(p["auth_id"], p["user"])
        except HeadscaleError as error:
            if "registration cache" in error.message or "no pending" in error.message:
                self.fail("auth id %s is not pending on this server (unknown, expired, or already used): %s"
                          % (p["auth_id"], error.message))
            raise
        problem = verification_problem(node, expected, expected_machine, anchor)
        if problem:
            self.contain(node, before.get(node["id"]), problem)
        registry.data[p["auth_id"]] = dict(node_id=node["id"], user=p["user"], node_key=node["node_key"],
                                           machine_key=node["machine_key"], verified_node_key=expected,
                                           at=iso(utcnow()))
        registry.save()
        return True, node

    def contain(self, node, previous, problem):
        """The registration just made is not the device its owner described: take back the trust it got,
        without destroying anything that existed before this call, then fail."""
        what = "node key mismatch for auth id %s: %s" % (self.params["auth_id"], problem)
        if previous is None:
            # Created by this call: rejecting it destroys nothing that was there before.
            self.actions.append("delete node %d (%s), created by this registration" % (node["id"], node["hostname"]))
            self.client.delete_node(node["id"])
            self.fail("%s; node %d (%s), new with this registration, was deleted again. The device must run "
                      "`tailscale up` again for a new auth id" % (what, node["id"], node["hostname"]), changed=True)
        # An existing device re-authenticated: it keeps its id, addresses and owner, but nothing it
        # presented is trusted. Expire it and put its tags back (a quarantined node stays quarantined).
        self.actions.append("expire node %d (%s)" % (node["id"], node["name"]))
        node = self.client.expire_node(node["id"])
        if previous["tags"] and node["tags"] != previous["tags"]:
            self.actions.append("restore tags %s of node %d" % (",".join(previous["tags"]), node["id"]))
            node = self.client.tag_node(node["id"], previous["tags"])
        self.fail("%s; node %d (%s) existed before and keeps its id, addresses and owner, but it is expired: "
                  "it must re-authenticate, and be approved with the right key"
                  % (what, node["id"], node["name"]), changed=True)

    def reject(self):
        p = self.params
        registry = Registry(p["registrations_file"])
        record = registry.data.get(p["auth_id"])
        if record and record.get("rejected"):
            return False, None
        if record:
            self.fail("auth id %s was already approved (node %d); delete the node instead" % (p["auth_id"], record["node_id"]))
        self.actions.append("reject auth id %s" % p["auth_id"])
        if not self.module.check_mode:
            self.client.reject_registration(p["auth_id"])
            registry.prune(utcnow(), keep=p["auth_id"])
            registry.data[p["auth_id"]] = dict(rejected=True, at=iso(utcnow()))
            registry.save()
        return True, None

    # --- existing nodes -----------------------------------------------------

    def manage(self):
        p = self.params
        node = self.select(self.client.nodes())
        self.before = node
        if p["state"] == "absent":
            if node is None:
                return False, None
            # Expire first: headscale tells a connected client its key expired, so the device stops
            # believing it is Running. A node deleted outright keeps its stale peers on the client.
            if not node["expired"]:
                self.actions.append("expire node %d (%s)" % (node["id"], node["name"]))
            self.actions.append("delete node %d (%s)" % (node["id"], node["name"]))
            if not self.module.check_mode:
                if not node["expired"]:
                    self.client.expire_node(node["id"])
                    if node["online"]:
                        # headscale sends changes to connected clients in batches (every 800 ms by
                        # default); a node deleted before its batch goes out never hears of the expiry.
                        time.sleep(EXPIRY_DELIVERY_SECONDS)
                self.client.delete_node(node["id"])
            return True, None
        if node is None:
            self.fail("no node with %s" % ", ".join("%s=%s" % (o, p[o]) for o in ("id", "name", "node_key") if p[o] is not None))
        if p["state"] == "expired":
            if node["expired"]:
                return False, node
            self.actions.append("expire node %d (%s)" % (node["id"], node["name"]))
            if not self.module.check_mode:
                node = self.client.expire_node(node["id"])
            return True, node
        if p["expected_node_key"] is not None and node["node_key"] != normalize_node_key(p["expected_node_key"]):
            self.fail("node key mismatch for node %d (%s): expected %s, it has %s; nothing was changed"
                      % (node["id"], node["name"], normalize_node_key(p["expected_node_key"]), node["node_key"]))
        wanted_tags = sorted(set(p["tags"] or []))
        if p["quarantine_tag"] is not None and p["quarantine_tag"] not in node["tags"] and node["tags"] != wanted_tags:
            self.fail("node %d (%s) is not in quarantine (tags: %s) and does not carry %s; nothing was changed"
                      % (node["id"], node["name"], ",".join(node["tags"]) or "none", p["quarantine_tag"]))
        changed = False
        if p["rename_to"] is not None and p["rename_to"] != node["name"]:
            self.actions.append("rename node %d from %s to %s" % (node["id"], node["name"], p["rename_to"]))
            changed = True
            if not self.module.check_mode:
                node = self.client.rename_node(node["id"], p["rename_to"])
        if p["tags"] is not None and sorted(set(p["tags"])) != node["tags"]:
            if p["quarantine_tag"] in node["tags"]:
                self.actions.append("release node %d (%s) from %s with tags %s"
                                    % (node["id"], node["name"], p["quarantine_tag"], ",".join(wanted_tags)))
            else:
                self.actions.append("set tags of node %d to %s" % (node["id"], ",".join(wanted_tags) or "none"))
            changed = True
            if not self.module.check_mode:
                node = self.client.tag_node(node["id"], sorted(set(p["tags"])))
        if p["approved_routes"] is not None and sorted(set(p["approved_routes"])) != node["approved_routes"]:
            self.actions.append("approve routes %s on node %d" % (",".join(sorted(set(p["approved_routes"]))) or "none", node["id"]))
            changed = True
            if not self.module.check_mode:
                node = self.client.approve_routes(node["id"], sorted(set(p["approved_routes"])))
        return changed, node

    def attempt(self):
        """Read, plan and change. Run again (from scratch) if the host lock was taken only after waiting."""
        self.actions, self.before = [], None
        try:
            if self.params["state"] == "registered":
                return self.register()
            if self.params["state"] == "rejected":
                return self.reject()
            return self.manage()
        except HeadscaleError as error:
            fail_from_error(self.module, error, actions=self.actions, cli_calls=self.client.calls)

    def run(self):
        self.validate()
        self.client = HeadscaleClient(self.module)
        changed, node = under_lock(self.module, self.client, self.attempt)
        self.module.exit_json(
            changed=changed,
            node=node,
            actions=self.actions,
            cli_calls=self.client.calls,
            diff=dict(before=self.before or {}, after=node or {}),
        )


def main():
    argument_spec = dict(
        state=dict(type="str", choices=["registered", "rejected", "present", "expired", "absent"], default="present"),
        auth_id=dict(type="str"),
        user=dict(type="str"),
        expected_node_key=dict(type="str", no_log=False),
        expected_machine_key=dict(type="str", no_log=False),
        id=dict(type="int"),
        name=dict(type="str"),
        node_key=dict(type="str", no_log=False),
        rename_to=dict(type="str"),
        tags=dict(type="list", elements="str"),
        approved_routes=dict(type="list", elements="str"),
        quarantine_tag=dict(type="str"),
        registrations_file=dict(type="path", default="/var/lib/tailnet-headscale/registrations.json"),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    argument_spec.update(LOCK_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    NodeModule(module).run()


if __name__ == "__main__":
    main()

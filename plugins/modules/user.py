#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: user
short_description: Manage headscale users
version_added: 0.1.0
description:
  - Create and remove users of a headscale server, one at a time (O(name)) or a whole declared
    list in one call (O(users)), which lists users once and changes only what differs.
  - Runs on the headscale host and talks to the server through its CLI over the local unix
    socket, so it needs root or membership of the role's admin group.
author:
  - tailnet.headscale developers (@tailnet-headscale)
extends_documentation_fragment:
  - tailnet.headscale.headscale
  - tailnet.headscale.headscale.attributes
  - tailnet.headscale.headscale.host_lock
options:
  name:
    description:
      - Name of the user. Mutually exclusive with O(users).
    type: str
  state:
    description:
      - V(present) creates the user when missing, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  display_name:
    description:
      - Display name, set when the user is created.
      - headscale cannot change it afterwards; a different value on an existing user is reported
        as a warning, not changed.
    type: str
  email:
    description:
      - Email address, set when the user is created (same limits as O(display_name)).
    type: str
  remove_nodes:
    description:
      - With O(state=absent), delete the user's nodes first. Without it, removing a user that still
        has nodes fails and changes nothing.
    type: bool
    default: false
  users:
    description:
      - A declared list of users, reconciled in one call. Each item takes O(name), O(state),
        O(display_name), O(email) and O(remove_nodes) as above.
    type: list
    elements: dict
seealso:
  - module: tailnet.headscale.preauth_key
  - module: tailnet.headscale.info
"""

EXAMPLES = r"""
- name: Ensure alice exists
  tailnet.headscale.user:
    name: alice
    display_name: Alice Example
    email: alice@example.com

- name: Remove bob and his devices
  tailnet.headscale.user:
    name: bob
    state: absent
    remove_nodes: true

- name: Reconcile the users declared in inventory, in one call
  tailnet.headscale.user:
    users: "{{ headscale_users }}"
"""

RETURN = r"""
user:
  description: The user after the run (O(name) form); null when absent.
  returned: success, when O(name) is given
  type: dict
  sample: {id: 1, name: alice, display_name: Alice Example, email: alice@example.com, provider: "", created_at: "2026-11-22T06:00:00Z"}
users:
  description: All users of the server after the run (O(users) form).
  returned: success, when O(users) is given
  type: list
  elements: dict
  sample: [{id: 1, name: alice, display_name: "", email: "", provider: "", created_at: "2026-11-22T06:00:00Z"}]
actions:
  description: What was done (or would be, in check mode), one line per change.
  returned: always
  type: list
  elements: str
  sample: ["create user alice"]
cli_calls:
  description: Number of headscale CLI commands this run made.
  returned: always
  type: int
  sample: 2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import (
    COMMON_ARGUMENT_SPEC,
    LOCK_ARGUMENT_SPEC,
    HeadscaleClient,
    HeadscaleError,
    fail_from_error,
    under_lock,
)
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import (
    text_problem,
    user_name_problem,
)

USER_OPTIONS = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    display_name=dict(type="str"),
    email=dict(type="str"),
    remove_nodes=dict(type="bool", default=False),
)


def _problems(item, where):
    """What is wrong with one declared user, before anything is asked of headscale."""
    problems = []
    if item["state"] == "present":
        problems.append(user_name_problem(item["name"], "name"))
    elif not isinstance(item["name"], str) or not item["name"]:
        problems.append("name %r is not a user name: give the name of the user to remove" % (item["name"],))
    problems.append(text_problem(item["display_name"], "display_name"))
    problems.append(text_problem(item["email"], "email"))
    problems = [where + p for p in problems if p]
    return problems


def _desired_items(module):
    if module.params["users"] is None:
        item = dict((k, module.params[k]) for k in USER_OPTIONS)
        problems = _problems(item, "")
        if problems:
            module.fail_json(msg="; ".join(problems), actions=[])
        return [item]
    items = []
    seen = set()
    for index, raw in enumerate(module.params["users"]):
        if not isinstance(raw, dict):
            module.fail_json(msg="users[%d] must be a dict with at least a name, got %r" % (index, raw))
        unknown = set(raw) - set(USER_OPTIONS)
        if unknown:
            module.fail_json(msg="users[%d] has unknown option(s) %s" % (index, ", ".join(sorted(unknown))))
        item = dict((k, raw.get(k, spec.get("default"))) for k, spec in USER_OPTIONS.items())
        if not item["name"] or not isinstance(item["name"], str):
            module.fail_json(msg="users[%d] has no name (got %r): give each item a name, e.g. {name: alice}"
                             % (index, item["name"]))
        if item["state"] not in ("present", "absent"):
            module.fail_json(msg="users[%d] (%s) has state %r; use present or absent" % (index, item["name"], item["state"]))
        problems = _problems(item, "users[%d]: " % index)
        if problems:
            module.fail_json(msg="; ".join(problems), actions=[])
        if item["name"] in seen:
            module.fail_json(msg="user %r is declared twice in users" % item["name"])
        seen.add(item["name"])
        items.append(item)
    return items


def plan(current_users, items, nodes_by_user):
    """Compare declared users with the server: (actions, warnings, errors)."""
    by_name = dict((u["name"], u) for u in current_users)
    actions, warnings, errors = [], [], []
    for item in items:
        user = by_name.get(item["name"])
        if item["state"] == "present":
            if user is None:
                actions.append(("create", item))
                continue
            for field in ("display_name", "email"):
                if item[field] is not None and item[field] != user[field]:
                    warnings.append(
                        "user %s has %s %r, not %r: headscale cannot change it after creation"
                        % (item["name"], field, user[field], item[field])
                    )
        elif user is not None:
            nodes = nodes_by_user.get(item["name"], [])
            if nodes and not item["remove_nodes"]:
                errors.append(
                    "user %s still has %d node(s) (%s): set remove_nodes=true to delete them with the user"
                    % (item["name"], len(nodes), ", ".join(n["name"] for n in nodes))
                )
                continue
            actions.append(("destroy", dict(item, id=user["id"], nodes=nodes)))
    return actions, warnings, errors


def main():
    argument_spec = dict(
        name=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        display_name=dict(type="str"),
        email=dict(type="str"),
        remove_nodes=dict(type="bool", default=False),
        users=dict(type="list", elements="dict"),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    argument_spec.update(LOCK_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("name", "users")],
        required_one_of=[("name", "users")],
        supports_check_mode=True,
    )
    items = _desired_items(module)
    client = HeadscaleClient(module)
    before, after, result = under_lock(module, client, lambda: _reconcile(module, client, items))

    names = [i["name"] for i in items]
    if module.params["users"] is None:
        result["user"] = next((u for u in after if u["name"] == names[0]), None)
        result["diff"] = dict(
            before=next((u for u in before if u["name"] == names[0]), None) or {},
            after=result["user"] or {},
        )
    else:
        result["users"] = after
        result["diff"] = dict(
            before=dict((u["name"], u) for u in before if u["name"] in names),
            after=dict((u["name"], u) for u in after if u["name"] in names),
        )
    result["cli_calls"] = client.calls
    module.exit_json(**result)


def _reconcile(module, client, items):
    """Read, plan and change: (before, after, result). Run again if the host lock was taken only after waiting."""
    result = dict(changed=False, actions=[])
    try:
        before = client.users()
        needs_nodes = any(i["state"] == "absent" and i["name"] in [u["name"] for u in before] for i in items)
        nodes_by_user = {}
        if needs_nodes:
            for node in client.nodes():
                nodes_by_user.setdefault(node["user"], []).append(node)
        actions, warnings, errors = plan(before, items, nodes_by_user)
        if errors:
            module.fail_json(msg="; ".join(errors), actions=[], cli_calls=client.calls)
        for warning in warnings:
            module.warn(warning)
        result["actions"] = [
            "%s user %s%s" % (kind, item["name"], " and its %d node(s)" % len(item["nodes"]) if kind == "destroy" and item["nodes"] else "")
            for kind, item in actions
        ]
        result["changed"] = bool(actions)
        if actions and not module.check_mode:
            for kind, item in actions:
                if kind == "create":
                    client.create_user(item["name"], item["display_name"], item["email"])
                else:
                    for node in item["nodes"]:
                        client.delete_node(node["id"])
                    client.destroy_user(item["id"])
            after = client.users()
        else:
            after = _simulate(before, actions)
    except HeadscaleError as error:
        fail_from_error(module, error, actions=result["actions"], cli_calls=client.calls)
    return before, after, result


def _simulate(before, actions):
    """The user list check mode predicts (new users have no id yet)."""
    after = [u for u in before if not any(k == "destroy" and i["name"] == u["name"] for k, i in actions)]
    for kind, item in actions:
        if kind == "create":
            after.append(dict(id=None, name=item["name"], display_name=item["display_name"] or "",
                              email=item["email"] or "", provider="", created_at=None))
    return after


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: preauth_key
short_description: Mint, find and revoke headscale pre-auth keys
version_added: 0.1.0
description:
  - Pre-auth keys let a device join the tailnet without an interactive login. headscale mints the
    secret, stores it hashed and shows it only once, so this module is idempotent by the key's
    B(properties) - V(present) looks for a usable key (unexpired, unused if single-use) with the
    same user, tags and flags and reports C(changed=false) when one exists; otherwise it mints one
    and returns its secret.
  - O(fresh=true) always mints a new key, the way to enrol one host with its own single-use key.
  - V(absent) revokes (expires) every unexpired key of O(user) and/or carrying all of O(tags),
    whatever its flags, or the key O(id); O(delete=true) also removes them.
  - O(keys) reconciles a whole declared list with one listing of the server's keys.
  - Defaults are the safe ones - single-use, not ephemeral, valid for one hour.
  - A result that holds a secret is hidden from Ansible's output automatically; register it to use
    the secret, or set O(secrets_file) to have new secrets written to a 0600 file on the controller
    and left out of the result.
author:
  - tailnet.headscale developers (@tailnet-headscale)
extends_documentation_fragment:
  - tailnet.headscale.headscale
  - tailnet.headscale.headscale.attributes
  - tailnet.headscale.headscale.host_lock
options:
  user:
    description:
      - Name of the user that owns the key. A key needs a user, O(tags), or both.
    type: str
  tags:
    description:
      - ACL tags the enrolled node gets, each starting with C(tag:).
    type: list
    elements: str
  reusable:
    description: The key can enrol more than one device.
    type: bool
    default: false
  ephemeral:
    description: Nodes enrolled with the key are removed once they go offline.
    type: bool
    default: false
  expiration:
    description:
      - How long a newly minted key stays valid, as a duration such as V(30m), V(1h), V(7d).
    type: str
    default: 1h
  fresh:
    description:
      - Always mint a new key, even when a usable one exists (O(state=present) only).
    type: bool
    default: false
  state:
    description:
      - V(present) ensures a usable matching key exists; V(absent) revokes matching keys (or O(id)).
    type: str
    choices: [present, absent]
    default: present
  id:
    description:
      - The key to revoke, by its ID (see M(tailnet.headscale.info)). Only with O(state=absent).
    type: int
  all:
    description:
      - With O(state=absent), revoke every unexpired key on the server, whoever owns it (incident
        response when the list of leaked keys is unknown).
    type: bool
    default: false
  delete:
    description:
      - With O(state=absent), delete the keys after expiring them.
    type: bool
    default: false
  keys:
    description:
      - A declared list of keys, reconciled in one call. Each item takes O(user), O(tags),
        O(reusable), O(ephemeral), O(expiration), O(fresh) and O(state) as above.
      - An item with O(fresh=true) mints one key of its own, so a list of such items mints one key per item in a
        single call (the client role's join mints the keys of a whole batch of hosts this way). C(created) lists
        the minted keys in the order of their items. When every item is fresh, the server's keys are not read.
    type: list
    elements: dict
  secrets_file:
    description:
      - Path on the B(controller) where the secrets of keys minted by this run are written (mode 0600,
        YAML, replacing the file). The secrets are then left out of the result. Nothing is written
        when no key was minted.
    type: path
seealso:
  - module: tailnet.headscale.user
  - module: tailnet.headscale.info
"""

EXAMPLES = r"""
- name: Mint a single-use, one-hour key for this host's enrolment
  tailnet.headscale.preauth_key:
    user: alice
    fresh: true
  delegate_to: hs1
  register: enrolment
  # The result is hidden from output anyway; use enrolment.preauth_key.key.

- name: Keep one reusable, tagged key for CI runners (reports changed=false while it is usable)
  tailnet.headscale.preauth_key:
    tags: [tag:ci]
    reusable: true
    ephemeral: true
    expiration: 7d
    secrets_file: "{{ playbook_dir }}/secrets/ci-key.yml"

- name: Incident response - revoke every key of bob
  tailnet.headscale.preauth_key:
    user: bob
    state: absent

- name: A key leaked and nobody knows which - revoke them all
  tailnet.headscale.preauth_key:
    state: absent
    all: true

- name: Revoke and delete one key by ID
  tailnet.headscale.preauth_key:
    id: 42
    state: absent
    delete: true

- name: Mint one single-use key for each of three hosts in one call (created[i] is the key of item i)
  tailnet.headscale.preauth_key:
    keys:
      - {user: alice, fresh: true, expiration: 10m}
      - {user: alice, fresh: true, expiration: 10m}
      - {tags: ["tag:server"], fresh: true, expiration: 10m}
  register: enrolment_keys

- name: Reconcile the keys declared in inventory, secrets to a controller file
  tailnet.headscale.preauth_key:
    keys: "{{ headscale_preauth_keys }}"
    secrets_file: /root/.headscale-new-keys.yml
"""

RETURN = r"""
preauth_key:
  description:
    - The matching or newly minted key (single form). C(key) holds the secret only when the key was
      minted by this run and O(secrets_file) is not set.
  returned: success, with O(state=present) and no O(keys)
  type: dict
  sample:
    id: 7
    user: alice
    user_id: 1
    prefix: hskey-auth-uacb5mf5dVCn
    reusable: false
    ephemeral: false
    used: false
    tags: []
    expiration: "2026-11-22T08:00:00Z"
    created_at: "2026-11-22T07:00:00Z"
    expired: false
    usable: true
created:
  description: Keys minted by this run (secrets under C(key) unless O(secrets_file) is set).
  returned: always
  type: list
  elements: dict
  sample: []
revoked:
  description:
    - Keys expired (and deleted, with O(delete)) by this run, as they were before; C(usable) tells the keys
      that could still enrol a node from those already used up.
  returned: always
  type: list
  elements: dict
  sample: []
kept_tag_only:
  description:
    - With O(state=absent) and O(user), the usable keys that belong to no user (tag-only keys, C(user=null))
      and were therefore left alone. Revoke them by O(tags) if they leaked too.
  returned: when O(state=absent) selects by O(user)
  type: list
  elements: dict
  sample: [{id: 7, prefix: hskey-auth-uacb5mf5dVCn, user: null, tags: ["tag:quarantine"], usable: true}]
actions:
  description: What was done (or would be, in check mode), one line per change.
  returned: always
  type: list
  elements: str
  sample: ["mint single-use key for alice"]
cli_calls:
  description: Number of headscale CLI commands this run made.
  returned: always
  type: int
  sample: 3
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import (
    COMMON_ARGUMENT_SPEC,
    LOCK_ARGUMENT_SPEC,
    HeadscaleClient,
    HeadscaleError,
    fail_from_error,
    under_lock,
)
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import (
    KEY_EXPIRATION_MINIMUM,
    duration_problem,
    tags_problems,
    user_name_problem,
)

KEY_OPTIONS = dict(
    user=None,
    tags=[],
    reusable=False,
    ephemeral=False,
    expiration="1h",
    fresh=False,
    state="present",
)


def describe(item):
    flags = ["reusable" if item["reusable"] else "single-use"]
    if item["ephemeral"]:
        flags.append("ephemeral")
    owner = []
    if item["user"]:
        owner.append("for %s" % item["user"])
    if item["tags"]:
        owner.append("tagged %s" % ",".join(item["tags"]))
    return "%s key %s" % (" ".join(flags), " ".join(owner))


def validate(item, where, fail):
    problems = []
    if item["user"] is not None:
        problems.append(user_name_problem(item["user"], "user"))
    problems.extend(tags_problems(item["tags"]))
    if item["state"] == "present":
        problems.append(duration_problem("expiration", item["expiration"], minimum=KEY_EXPIRATION_MINIMUM))
    for option in ("reusable", "ephemeral", "fresh"):
        try:
            item[option] = boolean(item[option], strict=True)
        except TypeError:
            problems.append("%s %r is not a boolean: use true or false" % (option, item[option]))
    if item["state"] not in ("present", "absent"):
        problems.append("state %r: use present or absent" % (item["state"],))
    if item["fresh"] is True and item["state"] == "absent":
        problems.append("fresh=true mints a key: it needs state=present")
    problems = [p for p in problems if p]
    if problems:
        fail(where + "; ".join(problems))
    if not item["user"] and not item["tags"]:
        fail("%sa pre-auth key needs a user, tags, or both" % where)
    item["tags"] = sorted(set(item["tags"]))


def matches(key, item):
    if item["state"] == "absent":
        # Revocation is for incidents: every key of the user and/or with the tags.
        return (not item["user"] or key["user"] == item["user"]) and set(item["tags"]) <= set(key["tags"])
    return (
        key["user"] == (item["user"] or None)
        and key["tags"] == item["tags"]
        and key["reusable"] == item["reusable"]
        and key["ephemeral"] == item["ephemeral"]
    )


def desired_items(module):
    def fail(msg):
        module.fail_json(msg=msg)

    params = module.params
    if params["keys"] is None:
        item = dict((k, params[k]) for k in KEY_OPTIONS)
        item["tags"] = list(params["tags"] or [])
        validate(item, "", fail)
        return [item]
    items = []
    for index, raw in enumerate(params["keys"]):
        if not isinstance(raw, dict):
            fail("keys[%d] must be a dict, got %r" % (index, raw))
        unknown = set(raw) - set(KEY_OPTIONS)
        if unknown:
            fail("keys[%d] has unknown option(s) %s" % (index, ", ".join(sorted(unknown))))
        item = dict((k, raw.get(k, default)) for k, default in KEY_OPTIONS.items())
        # A string is refused by validate(), not split into characters.
        item["tags"] = list(item["tags"] or []) if isinstance(item["tags"], (list, tuple, type(None))) else item["tags"]
        validate(item, "keys[%d]: " % index, fail)
        items.append(item)
    return items


def reconcile(module, client, items):
    """Read, plan and change: (result, items, to_mint, to_revoke). Run again if the host lock was taken only after waiting."""
    params = module.params
    result = dict(changed=False, actions=[], created=[], revoked=[])
    try:
        # Items that each mint a key of their own look for nothing on the server.
        only_fresh = bool(items) and all(i["state"] == "present" and (params["fresh"] or i["fresh"]) for i in items)
        keys = [] if only_fresh and params["id"] is None and not params["all"] else client.preauth_keys()
        users = dict((u["name"], u) for u in client.users()) if any(i["user"] for i in items) else {}
        for item in items:
            if item["user"] and item["user"] not in users:
                if item["state"] == "present":
                    module.fail_json(msg="user %r does not exist on this headscale server: create it first "
                                     "(tailnet.headscale.user) or name an existing user" % item["user"],
                                     actions=[], created=[], revoked=[], cli_calls=client.calls)

        to_mint, to_revoke = [], []
        if params["id"] is not None:
            key = next((k for k in keys if k["id"] == params["id"]), None)
            if key is None:
                module.fail_json(msg="no pre-auth key with id %d on this headscale server: list the keys with "
                                 "tailnet.headscale.info (gather=preauth_keys)" % params["id"],
                                 actions=[], created=[], revoked=[], cli_calls=client.calls)
            if not key["expired"] or params["delete"]:
                to_revoke.append(key)
        if params["all"]:
            to_revoke.extend(k for k in keys if not k["expired"] or params["delete"])
        for item in items:
            found = [k for k in keys if matches(k, item)]
            if item["state"] == "present":
                usable = [k for k in found if k["usable"]]
                if params["fresh"] or item["fresh"] or not usable:
                    to_mint.append(item)
                else:
                    item["found"] = usable[0]
            else:
                to_revoke.extend(k for k in found if not k["expired"] or params["delete"])

        if any(i["state"] == "absent" and i["user"] for i in items):
            revoking = set(k["id"] for k in to_revoke)
            result["kept_tag_only"] = [k for k in keys if k["user"] is None and k["usable"] and k["id"] not in revoking]
        verb = "expire and delete" if params["delete"] else "expire"
        result["actions"] = ["mint %s" % describe(i) for i in to_mint] + \
            ["%s key %d (%s)" % (verb, k["id"], k["prefix"]) for k in to_revoke]
        result["changed"] = bool(to_mint or to_revoke)
        if not module.check_mode:
            for item in to_mint:
                user_id = users[item["user"]]["id"] if item["user"] else None
                minted = client.create_preauth_key(user_id, item["reusable"], item["ephemeral"], item["expiration"], item["tags"])
                item["found"] = minted
                result["created"].append(minted)
            for key in to_revoke:
                if not key["expired"]:
                    client.expire_preauth_key(key["id"])
                if params["delete"]:
                    client.delete_preauth_key(key["id"])
                result["revoked"].append(key)
        else:
            result["revoked"] = to_revoke
    except HeadscaleError as error:
        fail_from_error(module, error, actions=result["actions"], created=result["created"], cli_calls=client.calls)
    return result, items, to_mint, to_revoke


def main():
    argument_spec = dict(
        user=dict(type="str"),
        tags=dict(type="list", elements="str"),
        reusable=dict(type="bool", default=False),
        ephemeral=dict(type="bool", default=False),
        expiration=dict(type="str", default="1h"),
        fresh=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        id=dict(type="int"),
        delete=dict(type="bool", default=False),
        all=dict(type="bool", default=False),
        keys=dict(type="list", elements="dict", no_log=False),
        secrets_file=dict(type="path"),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    argument_spec.update(LOCK_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("keys", "user"), ("keys", "tags"), ("keys", "id"), ("id", "user"), ("id", "tags"), ("fresh", "keys")],
        required_if=[("fresh", True, ("user", "tags"), True)],
        supports_check_mode=True,
    )
    params = module.params
    if params["id"] is not None:
        if params["id"] <= 0:
            module.fail_json(msg="id must be a positive key ID, got %d" % params["id"])
        if params["state"] != "absent":
            module.fail_json(msg="id %d selects a key to revoke: it needs state=absent" % params["id"])
    if params["fresh"] and params["state"] != "present":
        module.fail_json(msg="fresh=true mints a key: it needs state=present")
    # Checked here, not by mutually_exclusive, so that all=false goes with anything.
    selectors = [name for name in ("user", "tags", "id", "keys") if params[name] is not None]
    if params["all"] and selectors:
        module.fail_json(msg="parameters are mutually exclusive: all=true revokes every key, and %s selects some"
                         % ", ".join(selectors))
    if params["state"] == "absent" and not params["all"] and not selectors:
        module.fail_json(msg="state=absent needs one of user, tags, id, keys, or all=true: which keys to revoke")
    if params["all"] and params["state"] != "absent":
        module.fail_json(msg="all=true revokes every key: it needs state=absent")
    if params["delete"] and params["state"] != "absent":
        module.fail_json(msg="delete=true removes revoked keys: it needs state=absent")

    wanted = [] if params["id"] is not None or params["all"] else desired_items(module)
    client = HeadscaleClient(module)
    # Each attempt plans on fresh copies of the wanted items (planning notes the key it found in each).
    result, items, to_mint, to_revoke = under_lock(module, client, lambda: reconcile(module, client, [dict(i) for i in wanted]))

    if params["keys"] is None and params["id"] is None and params["state"] == "present":
        result["preauth_key"] = items[0].get("found")
    result["diff"] = dict(
        before=dict(keys=[dict((f, v) for f, v in k.items() if f != "key") for k in to_revoke]),
        after=dict(minted=[describe(i) for i in to_mint], revoked=[k["id"] for k in to_revoke]),
    )
    result["cli_calls"] = client.calls
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apikey
short_description: Mint, expire and age out headscale API keys
version_added: 0.2.0
description:
  - API keys let a headscale UI (headplane, say), a script or the inventory plugin
    C(tailnet.headscale.headscale) use headscale's REST API.
    Each one can do B(everything) the CLI can, so they get what pre-auth keys get - the secret is shown once and
    never logged, revocation, and a maximum age enforced on a schedule.
  - V(present) mints a new key. headscale gives API keys no name or property to match, so every V(present) call
    mints one - run it when a consumer needs a key, not on every play. The secret is written to O(secrets_file),
    a 0600 file on the B(controller), and left out of the result; a call that sets no O(secrets_file) and does not
    register its result is refused before anything is minted, since the secret would reach nobody.
  - V(absent) expires the key O(prefix) or O(id), every unexpired key older than O(max_age) (the scheduled
    rotation policy), or with O(all=true) every unexpired key (a leak of unknown extent). O(delete=true) also
    removes them from the list.
  - Every result lists the keys in C(api_keys) (prefixes and dates only); M(tailnet.headscale.info) with
    O(tailnet.headscale.info#module:gather=api_keys) lists them without changing anything.
author:
  - tailnet.headscale developers (@tailnet-headscale)
extends_documentation_fragment:
  - tailnet.headscale.headscale
  - tailnet.headscale.headscale.attributes
  - tailnet.headscale.headscale.host_lock
options:
  state:
    description:
      - V(present) mints a key; V(absent) expires the selected keys.
    type: str
    choices: [present, absent]
    default: present
  expiration:
    description:
      - How long a newly minted key stays valid, as a duration such as V(30d) or V(12h). At least a minute.
    type: str
    default: 90d
  prefix:
    description:
      - The key to expire, by its prefix as C(headscale apikeys list) and this module show it - the 12 characters
        after C(hskey-api-), with or without C(hskey-api-) in front and C(-***) after. Never the whole key.
        Only with O(state=absent).
    type: str
  id:
    description: The key to expire, by its ID. Only with O(state=absent).
    type: int
  max_age:
    description:
      - With O(state=absent), expire every unexpired key created longer ago than this duration (e.g. V(30d)).
        Run it on a schedule to enforce a maximum key age.
    type: str
  all:
    description: With O(state=absent), expire every unexpired key (incident response).
    type: bool
    default: false
  delete:
    description: With O(state=absent), delete the keys after expiring them.
    type: bool
    default: false
  secrets_file:
    description:
      - Path on the B(controller) where the secret of the key this call mints is written (mode 0600, YAML,
        replacing the file). The secret is then left out of the result. Checked before anything is minted;
        if the file cannot be written after all, the new key is expired again.
    type: path
seealso:
  - module: tailnet.headscale.info
  - module: tailnet.headscale.preauth_key
"""

EXAMPLES = r"""
- name: Mint an API key for the headscale UI, secret to a 0600 file on the controller
  tailnet.headscale.apikey:
    expiration: 90d
    secrets_file: "{{ playbook_dir }}/secrets/headplane-apikey.yml"

- name: Revoke a leaked key by its prefix
  tailnet.headscale.apikey:
    state: absent
    prefix: hskey-api-ZA0DliLd7clf

- name: Scheduled - no API key lives longer than 30 days
  tailnet.headscale.apikey:
    state: absent
    max_age: 30d

- name: List the keys
  tailnet.headscale.info:
    gather: [api_keys]
  register: keys
"""

RETURN = r"""
api_key:
  description:
    - The key this call minted (O(state=present)). C(key) holds its secret only when O(secrets_file) is not set;
      the result is then hidden from Ansible's output.
  returned: success, with O(state=present)
  type: dict
  sample: {id: 3, prefix: hskey-api-ZA0DliLd7clf, expiration: "2027-03-02T06:00:00Z", created_at: "2026-12-02T06:00:00Z",
           expired: false, age_seconds: 0, last_seen: null}
expired:
  description: The keys this call expired (and deleted, with O(delete)), as they were before.
  returned: always
  type: list
  elements: dict
  sample: []
api_keys:
  description: Every API key on the server after this call (in check mode, as it is now), prefixes only.
  returned: always
  type: list
  elements: dict
  sample: [{id: 1, prefix: hskey-api-JN7bq9ZTTvva, expired: false, age_seconds: 86400}]
actions:
  description: What was done (or would be, in check mode), one line per change.
  returned: always
  type: list
  elements: str
  sample: ["expire API key 1 (hskey-api-JN7bq9ZTTvva)"]
cli_calls:
  description: Number of headscale CLI commands this run made.
  returned: always
  type: int
  sample: 2
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import (
    API_KEY_PREFIX_RE,
    COMMON_ARGUMENT_SPEC,
    LOCK_ARGUMENT_SPEC,
    HeadscaleClient,
    HeadscaleError,
    api_key_prefix,
    fail_from_error,
    under_lock,
)
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import (
    KEY_EXPIRATION_MINIMUM,
    duration_problem,
    parse_duration,
)

_WHOLE_KEY_RE = re.compile(r"hskey-api-[A-Za-z0-9_-]{12}-[A-Za-z0-9_-]{8,}")


def prefix_problem(value):
    """None, or why VALUE is not an API key prefix. A whole key (secret included) is refused without echoing it."""
    if _WHOLE_KEY_RE.search(value or ""):
        return ("prefix holds a whole API key, secret included: pass only its prefix (hskey-api- and the 12 "
                "characters after it, as `headscale apikeys list` shows). Treat that key as leaked: it is now in "
                "this task's arguments")
    bare = api_key_prefix(value)
    if not API_KEY_PREFIX_RE.match(bare) or bare.startswith("-"):
        return ("prefix %r is not an API key prefix: give the 12 characters after hskey-api- as "
                "`headscale apikeys list` or tailnet.headscale.info gather=api_keys shows them, e.g. "
                "hskey-api-ZA0DliLd7clf" % (value,))
    return None


def check_params(module):
    params = module.params
    problems = []
    state = params["state"]
    selectors = [name for name in ("prefix", "id", "max_age") if params[name] is not None]
    if params["all"]:
        selectors.append("all")
    if state != "absent":
        for name in selectors + (["delete"] if params["delete"] else []):
            problems.append("%s selects keys to expire: it needs state=absent" % name)
    elif not selectors:
        problems.append("state=absent needs one of prefix, id, max_age or all=true: which keys to expire")
    elif len(selectors) > 1:
        problems.append("parameters are mutually exclusive: %s" % ", ".join(selectors))
    if params["prefix"] is not None:
        problems.append(prefix_problem(params["prefix"]))
    if params["id"] is not None and params["id"] <= 0:
        problems.append("id must be a positive API key ID, got %d" % params["id"])
    if params["max_age"] is not None:
        problem = duration_problem("max_age", params["max_age"], allow_zero=True)
        if not problem and parse_duration(params["max_age"]) == 0:
            problem = "max_age %r is zero: it would expire every key; say all=true if that is meant" % (params["max_age"],)
        problems.append(problem)
    if state == "present":
        problems.append(duration_problem("expiration", params["expiration"], minimum=KEY_EXPIRATION_MINIMUM))
    if params["secrets_file"] and state != "present":
        problems.append("secrets_file receives a new key's secret: it needs state=present")
    problems = [p for p in problems if p]
    if problems:
        module.fail_json(msg="; ".join(problems), changed=False, actions=[], expired=[])


def plan(module, client):
    """Read, plan and change: the result. Run again if the host lock was taken only after waiting."""
    params = module.params
    result = dict(changed=False, actions=[], expired=[])
    try:
        keys = client.api_keys()
        result["api_keys"] = keys
        to_expire = []
        if params["state"] == "absent":
            if params["prefix"] is not None or params["id"] is not None:
                if params["prefix"] is not None:
                    wanted = "prefix %s" % params["prefix"]
                    key = next((k for k in keys if api_key_prefix(k["prefix"]) == api_key_prefix(params["prefix"])), None)
                else:
                    wanted = "id %d" % params["id"]
                    key = next((k for k in keys if k["id"] == params["id"]), None)
                if key is None:
                    module.fail_json(msg="no API key with %s on this headscale server: list them with "
                                     "tailnet.headscale.info gather=api_keys" % wanted,
                                     changed=False, actions=[], expired=[], api_keys=keys, cli_calls=client.calls)
                selected = [key]
            elif params["max_age"] is not None:
                limit = parse_duration(params["max_age"])
                selected = [k for k in keys if k["age_seconds"] is not None and k["age_seconds"] > limit]
            else:
                selected = list(keys)
            to_expire = [k for k in selected if not k["expired"] or params["delete"]]
            verb = "expire and delete" if params["delete"] else "expire"
            result["actions"] = ["%s API key %d (%s)" % (verb, k["id"], k["prefix"]) for k in to_expire]
        else:
            result["actions"] = ["mint an API key valid for %s" % params["expiration"]]
        result["changed"] = bool(result["actions"])
        result["diff"] = dict(before=dict(api_keys=[k["prefix"] for k in keys if not k["expired"]]),
                              after=dict(api_keys=[k["prefix"] for k in keys if not k["expired"] and k not in to_expire]
                                         + (["(new key)"] if params["state"] == "present" else [])))
        if module.check_mode:
            result["expired"] = to_expire
            return result
        if params["state"] == "present":
            entry, secret, listing = client.create_api_key(params["expiration"])
            entry["key"] = secret
            result["api_key"] = entry
            result["api_keys"] = listing
            result["actions"] = ["mint API key %d (%s) valid for %s" % (entry["id"], entry["prefix"], params["expiration"])]
        for key in to_expire:
            if not key["expired"]:
                client.expire_api_key(key["id"])
            if params["delete"]:
                client.delete_api_key(key["id"])
            result["expired"].append(key)
        if to_expire:
            result["api_keys"] = client.api_keys()
        if result.get("api_key"):
            result["diff"]["after"]["api_keys"][-1] = result["api_key"]["prefix"]
    except HeadscaleError as error:
        fail_from_error(module, error, actions=result["actions"], expired=result["expired"], cli_calls=client.calls)
    return result


def main():
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        expiration=dict(type="str", default="90d"),
        prefix=dict(type="str", no_log=False),
        id=dict(type="int"),
        max_age=dict(type="str"),
        all=dict(type="bool", default=False),
        delete=dict(type="bool", default=False),
        secrets_file=dict(type="path", no_log=False),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    argument_spec.update(LOCK_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_params(module)
    client = HeadscaleClient(module)
    result = under_lock(module, client, lambda: plan(module, client))
    result["cli_calls"] = client.calls
    if (result.get("api_key") or {}).get("key"):
        # The secret is in the result: the action plugin moves it to secrets_file, or the result stays hidden.
        result["_ansible_no_log"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()

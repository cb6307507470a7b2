#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: info
short_description: Read a headscale server's version, health, users, nodes and pre-auth keys
version_added: 0.1.0
description:
  - Read-only facts about a headscale server for ad-hoc use and reports. Pre-auth keys are listed
    with their public prefix only; headscale never shows a secret again after minting it.
author:
  - tailnet.headscale developers (@tailnet-headscale)
extends_documentation_fragment:
  - tailnet.headscale.headscale
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
  diff_mode:
    description: Read-only; there is nothing to diff.
    support: none
options:
  gather:
    description:
      - What to read. Each item costs one CLI call.
      - V(pending_registrations) reads the journal instead (C(journalctl), two calls), so it needs
        headscale running under systemd as the server role installs it, and is not in the default.
      - V(api_keys) lists the API keys (prefixes and dates, never secrets; see M(tailnet.headscale.apikey)); not in
        the default.
    type: list
    elements: str
    choices: [version, health, users, nodes, preauth_keys, api_keys, pending_registrations]
    default: [version, health, users, nodes, preauth_keys]
notes:
  - V(health) never fails the task. When headscale does not answer, it reports C(healthy=false)
    with headscale's message in C(error); the other items still fail, since there is nothing to read.
"""

EXAMPLES = r"""
- name: Report on the tailnet
  tailnet.headscale.info:
  register: tailnet

- name: Nodes whose key has expired
  ansible.builtin.debug:
    msg: "{{ tailnet.nodes | selectattr('expired') | map(attribute='name') | list }}"

# Ad hoc: ansible hs1 -b -m tailnet.headscale.info -a gather=nodes
# Who is waiting for approval: ansible hs1 -b -m tailnet.headscale.info -a gather=pending_registrations
"""

RETURN = r"""
version:
  description: Version of the headscale binary.
  returned: when V(version) is gathered
  type: str
  sample: 0.29.3
health:
  description:
    - headscale's own health report (database connectivity), with C(healthy).
    - When headscale does not answer, C(healthy=false) and C(error), headscale's message.
  returned: when V(health) is gathered
  type: dict
  sample: {database_connectivity: true, healthy: true}
pending_registrations:
  description:
    - Auth ids headscale issued to devices that ran C(tailscale up) within the last 15 minutes (how long
      headscale keeps them) and that no module of this collection approved or rejected, oldest first.
    - C(client_address) comes from the registration audit record (C(journalctl -t tailnet-headscale));
      null when none was found.
  returned: when V(pending_registrations) is gathered
  type: list
  elements: dict
  sample:
    - auth_id: hskey-authreq-AbCdEfGhIjKlMnOpQrStUvWx
      first_seen: "2026-11-22T06:51:08Z"
      seconds_left: 712
      expires_at: "2026-11-22T07:06:08Z"
      client_address: 192.0.2.10
users:
  description: Users.
  returned: when V(users) is gathered
  type: list
  elements: dict
  sample: [{id: 1, name: alice, display_name: "", email: "", provider: "", created_at: "2026-11-22T06:00:00Z"}]
nodes:
  description:
    - Nodes, with C(node_key) (compare with the owner's C(tailscale status --json)), C(ip_addresses),
      C(tags), C(online), C(expiry) and C(expired).
  returned: when V(nodes) is gathered
  type: list
  elements: dict
  sample: []
preauth_keys:
  description: Pre-auth keys without secrets (C(prefix) only), with C(usable) and C(expired).
  returned: when V(preauth_keys) is gathered
  type: list
  elements: dict
  sample: []
api_keys:
  description: API keys without secrets (C(prefix) only), with C(created_at), C(expiration), C(expired) and C(age_seconds).
  returned: when V(api_keys) is gathered
  type: list
  elements: dict
  sample: [{id: 1, prefix: hskey-api-JN7bq9ZTTvva, expired: false, age_seconds: 86400}]
cli_calls:
  description: Number of headscale CLI commands this run made.
  returned: always
  type: int
  sample: 5
"""

from ansible.module_utils.basic import AnsibleModule

import datetime
import time

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import (
    AUDIT_IDENTIFIER,
    COMMON_ARGUMENT_SPEC,
    HeadscaleClient,
    HeadscaleError,
    fail_from_error,
)
from ansible_collections.tailnet.headscale.plugins.module_utils.registrations import (
    REGISTRATION_LIFETIME,
    journal_entries,
    pending_registrations,
)

CHOICES = ["version", "health", "users", "nodes", "preauth_keys", "api_keys", "pending_registrations"]
DEFAULT = ["version", "health", "users", "nodes", "preauth_keys"]


def health(client):
    """headscale's health report; a server that does not answer is unhealthy, not an error."""
    try:
        report = dict(client.health() or {})
    except HeadscaleError as error:
        return dict(healthy=False, error=error.message)
    report["healthy"] = all(value for value in report.values() if isinstance(value, bool))
    return report


def utc(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_pending(module):
    journalctl = module.get_bin_path("journalctl", required=False)
    if not journalctl:
        raise HeadscaleError("journalctl not found: gather=pending_registrations reads the journal of a headscale "
                             "running under systemd")
    since = "--since=@%d" % int(time.time() - REGISTRATION_LIFETIME - 60)
    texts = []
    for selector in ("--unit=headscale.service", "--identifier=" + AUDIT_IDENTIFIER):
        rc, out, err = module.run_command([journalctl, selector, since, "--output=json", "--no-pager"])
        if rc != 0:
            raise HeadscaleError("journalctl %s failed: %s" % (selector, (err or out).strip()))
        texts.append(out)
    now = time.time()
    pending = pending_registrations(journal_entries(texts[0]), journal_entries(texts[1]), now)
    for entry in pending:
        entry["expires_at"] = utc(entry["first_seen"] + REGISTRATION_LIFETIME)
        entry["first_seen"] = utc(entry["first_seen"])
    return pending


def main():
    argument_spec = dict(gather=dict(type="list", elements="str", choices=CHOICES, default=list(DEFAULT)))
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = HeadscaleClient(module)
    result = dict(changed=False)
    readers = dict(
        version=lambda: client.version_string,
        health=lambda: health(client),
        users=client.users,
        nodes=client.nodes,
        preauth_keys=client.preauth_keys,
        api_keys=client.api_keys,
        pending_registrations=lambda: read_pending(module),
    )
    try:
        for item in module.params["gather"]:
            result[item] = readers[item]()
    except HeadscaleError as error:
        fail_from_error(module, error, cli_calls=client.calls)
    result["cli_calls"] = client.calls
    module.exit_json(**result)


if __name__ == "__main__":
    main()

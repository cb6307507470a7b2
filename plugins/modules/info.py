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
    type: list
    elements: str
    choices: [version, health, users, nodes, preauth_keys]
    default: [version, health, users, nodes, preauth_keys]
"""

EXAMPLES = r"""
- name: Report on the tailnet
  tailnet.headscale.info:
  register: tailnet

- name: Nodes whose key has expired
  ansible.builtin.debug:
    msg: "{{ tailnet.nodes | selectattr('expired') | map(attribute='name') | list }}"

# Ad hoc: ansible hs1 -b -m tailnet.headscale.info -a gather=nodes
"""

RETURN = r"""
version:
  description: Version of the headscale binary.
  returned: when V(version) is gathered
  type: str
  sample: 0.29.3
health:
  description: headscale's own health report (database connectivity).
  returned: when V(health) is gathered
  type: dict
  sample: {database_connectivity: true}
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
cli_calls:
  description: Number of headscale CLI commands this run made.
  returned: always
  type: int
  sample: 5
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import (
    COMMON_ARGUMENT_SPEC,
    HeadscaleClient,
    HeadscaleError,
    fail_from_error,
)

CHOICES = ["version", "health", "users", "nodes", "preauth_keys"]


def main():
    argument_spec = dict(gather=dict(type="list", elements="str", choices=CHOICES, default=list(CHOICES)))
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = HeadscaleClient(module)
    result = dict(changed=False)
    readers = dict(
        version=lambda: client.version_string,
        health=client.health,
        users=client.users,
        nodes=client.nodes,
        preauth_keys=client.preauth_keys,
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

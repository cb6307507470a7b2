#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit
short_description: Audit a headscale server's security and report findings
version_added: 0.2.0
description:
  - Inspects a headscale server installed by the server role and reports findings - pre-auth keys,
    nodes, pending registrations and bursts, config drift from the hardened baseline, the unit's
    sandboxing, file modes and owners, the version against the collection's pin, backups and the
    proxy's TLS certificate. docs/hardening.md ("What the audit checks") lists every check.
  - Each finding has a stable C(id), a C(severity), the C(evidence), and the C(fix) with a C(doc)
    link to the runbook section that resolves it.
  - Read-only - it changes nothing, takes no host lock and runs the same in check mode.
  - On the controller it can write a self-contained HTML report (O(report)) with charts of node
    key ages and last-seen times (needs matplotlib on the controller).
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
  fail_on:
    description:
      - Fail the task when a finding of this severity or above exists (the findings are still returned, and
        the report still written), so a schedule or a CI job can act on it. Unset - never fail for findings.
    type: str
    choices: [info, low, medium, high, critical]
  skip:
    description: Ids of checks not to report (accepted risks). Unknown ids are refused.
    type: list
    elements: str
    default: []
  report:
    description:
      - Path on the controller of a self-contained HTML report to write (findings table, charts). Unset - none.
      - Written by the action plugin on the controller, before the task fails for O(fail_on).
    type: path
  config_data:
    description:
      - headscale's configuration, parsed. The action plugin reads O(headscale_config) on the host and parses it on
        the controller, so the host needs no PyYAML; leave it unset.
      - Unset and not filled by the action plugin - the module reads O(headscale_config) itself with PyYAML.
    type: dict
  pinned_version:
    description:
      - The headscale version this collection installs; an older one is the finding C(version-behind).
      - Default - the host's C(headscale_version), else the server role's default (the one pin).
    type: str
  quarantine_tag:
    description:
      - The server role's C(headscale_quarantine_tag) (default - the host's variable). Unset - no quarantine checks.
    type: str
  backup_dir:
    description: Where the server role keeps backups (default - the host's C(headscale_backup_dir)). Empty - no backup checks.
    type: path
    default: /var/backups/headscale
  tls_certificate:
    description: The proxy's certificate on this host; no TLS check when the file does not exist.
    type: path
    default: /etc/nginx/tailnet-headscale/server.crt
  unit:
    description: headscale's systemd unit. Empty - no unit checks (headscale not under systemd).
    type: str
    default: headscale.service
  ledger_file:
    description: The node key ledger of tailnet.headscale.node_key_rotation (read only), which dates tagged nodes' keys.
    type: path
    default: /var/lib/tailnet-headscale/node-keys.json
  max_key_lifetime:
    description: A usable pre-auth key whose expiration is further than this from its creation is C(preauth-key-long-lived).
    type: str
    default: 7d
  unused_key_age:
    description: A usable pre-auth key never used this long after its creation is C(preauth-key-unused).
    type: str
    default: 1d
  max_node_key_age:
    description:
      - A node key older than this is C(node-key-old). Default - the host's C(headscale_max_node_key_age), else V(90d).
    type: str
  node_unseen_age:
    description: An offline node last seen longer ago than this is C(node-not-seen).
    type: str
    default: 30d
  quarantine_max_age:
    description: A node carrying O(quarantine_tag) longer than this after enrolling is C(node-quarantined-long).
    type: str
    default: 24h
  backup_max_age:
    description: A newest backup older than this is C(backup-old).
    type: str
    default: 7d
  tls_min_days:
    description: A proxy certificate with fewer days left is C(tls-expiring).
    type: int
    default: 21
  max_unit_exposure:
    description:
      - C(systemd-analyze security) exposure above which the unit is C(unit-exposure). The server role's unit
        scores below it even where user namespaces are unavailable (containers).
    type: float
    default: 2.5
notes:
  - Durations are written as headscale writes them (V(90d), V(24h), V(30m)).
  - C(managed-file-changed) compares what the server role recorded after its last full run
    (C(.tailnet-headscale-converged) next to the config); files over 8 MB (the binary) by owner, group and mode only.
  - The registration checks read the journal (C(journalctl -t tailnet-headscale), the server role's
    registration watch) of the last 24 h.
"""

EXAMPLES = r"""
- name: Audit the server, fail on high findings, and write a report on the controller
  tailnet.headscale.audit:
    fail_on: high
    report: "{{ playbook_dir }}/audit-{{ inventory_hostname }}.html"
  register: audit

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ audit.summary.splitlines() }}"

# The whole thing as a playbook: ansible-playbook -i inventory tailnet.headscale.audit -e audit_report=report.html
"""

RETURN = r"""
findings:
  description: The findings, most severe first.
  returned: always
  type: list
  elements: dict
  sample:
    - id: preauth-key-reusable
      severity: high
      title: A usable reusable pre-auth key
      subject: preauth key 4 (alice)
      evidence: reusable, usable, expires 2026-12-31T00:00:00Z
      fix: "expire it: tailnet.headscale.preauth_key state=absent; mint single-use keys (reusable: false)"
      doc: docs/operations.md#runbook-a-pre-auth-key-leaked
counts:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {info: 0, low: 1, medium: 0, high: 1, critical: 0}
summary:
  description: A one-screen text summary for a terminal.
  returned: always
  type: str
  sample: "audit: 1 finding(s): 1 high"
checks:
  description: The ids of the checks that ran (every check, less O(skip)).
  returned: always
  type: list
  elements: str
  sample: [preauth-key-reusable, node-key-old]
facts:
  description:
    - What the checks read - nodes, pre-auth keys (prefixes only), node key ages, unit, files, the server role's
      managed files, backups, TLS - which the HTML report draws its charts from; and C(timings), seconds per phase.
  returned: always
  type: dict
  sample: {version: 0.29.3, node_key_ages: {"1": 86400.0}}
thresholds:
  description: The thresholds the checks used, durations in seconds.
  returned: always
  type: dict
  sample: {max_node_key_age: 7776000, tls_min_days: 21.0}
report:
  description: The HTML report written on the controller.
  returned: when O(report) is set
  type: str
  sample: /home/admin/audit-hs1.html
seconds:
  description: How long the audit took on the host (collecting and checking), in seconds.
  returned: always
  type: float
  sample: 0.82
cli_calls:
  description: Number of headscale CLI commands this run made.
  returned: always
  type: int
  sample: 3
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import (
    COMMON_ARGUMENT_SPEC,
    HeadscaleClient,
    HeadscaleError,
    fail_from_error,
    parse_timestamp,
)
from ansible_collections.tailnet.headscale.plugins.module_utils import audit
from ansible_collections.tailnet.headscale.plugins.module_utils.audit_facts import collect

THRESHOLDS = ("max_key_lifetime", "unused_key_age", "max_node_key_age", "node_unseen_age", "quarantine_max_age",
              "backup_max_age", "tls_min_days", "max_unit_exposure")


def main():
    started = time.time()
    argument_spec = dict(
        fail_on=dict(type="str", choices=list(audit.SEVERITIES)),
        skip=dict(type="list", elements="str", default=[]),
        report=dict(type="path"),
        config_data=dict(type="dict"),
        pinned_version=dict(type="str"),
        quarantine_tag=dict(type="str"),
        backup_dir=dict(type="path", default="/var/backups/headscale"),
        tls_certificate=dict(type="path", default="/etc/nginx/tailnet-headscale/server.crt"),
        unit=dict(type="str", default="headscale.service"),
        ledger_file=dict(type="path", default="/var/lib/tailnet-headscale/node-keys.json"),
        max_key_lifetime=dict(type="str", default="7d", no_log=False),
        unused_key_age=dict(type="str", default="1d", no_log=False),
        max_node_key_age=dict(type="str", no_log=False),
        node_unseen_age=dict(type="str", default="30d"),
        quarantine_max_age=dict(type="str", default="24h"),
        backup_max_age=dict(type="str", default="7d"),
        tls_min_days=dict(type="int", default=21),
        max_unit_exposure=dict(type="float", default=2.5),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    unknown = sorted(set(p["skip"]) - set(audit.CHECK_IDS))
    if unknown:
        module.fail_json(msg="skip: unknown check id(s) %s; the checks are %s" % (", ".join(unknown), ", ".join(audit.CHECK_IDS)))
    thresholds = dict((name, p[name]) for name in THRESHOLDS)
    try:
        audit.thresholds_in_seconds(thresholds)
    except ValueError as error:
        module.fail_json(msg=str(error))
    client = HeadscaleClient(module)
    try:
        facts, warnings = collect(module, client, p)
    except HeadscaleError as error:
        fail_from_error(module, error, cli_calls=client.calls)
    for warning in warnings:
        module.warn(warning)
    now = parse_timestamp(facts["now"])
    findings = audit.run_checks(facts, thresholds, now=now, skip=p["skip"])
    ages = audit.node_key_ages(facts, now)
    shown = dict(
        now=facts["now"], version=facts["version"], pinned_version=facts["pinned_version"],
        nodes=facts["nodes"], preauth_keys=facts["preauth_keys"], unit=facts["unit"], files=facts["files"],
        backups=facts["backups"], tls=facts["tls"], registrations=facts["registrations"], timings=facts["timings"],
        managed_files=facts["managed_files"],
        node_key_ages=dict((str(node_id), age) for node_id, (age, dummy) in ages.items()),
    )
    result = dict(changed=False, findings=findings, counts=audit.counts(findings), checks=[c for c in audit.CHECK_IDS if c not in p["skip"]],
                  summary=audit.summary_text(findings), facts=shown, thresholds=audit.thresholds_in_seconds(thresholds),
                  cli_calls=client.calls)
    result["seconds"] = round(time.time() - started, 3)
    failing = audit.at_or_above(findings, p["fail_on"])
    if failing:
        module.fail_json(msg="%d finding(s) at or above %s: %s" % (len(failing), p["fail_on"], ", ".join(sorted(set(f["id"] for f in failing)))),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

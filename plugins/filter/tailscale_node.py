# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: tailscale_node
short_description: What a tailscale client is, compared with what the client role was asked for
version_added: 0.1.0
description:
  - Reads a client's C(tailscale status --json) and C(tailscale debug prefs) and compares them with the
    request of the C(tailnet.headscale.client) role. The role decides from the result whether the host
    needs a key, a re-authentication, an approval out of quarantine, only new settings, or nothing.
  - A node is quarantined when it is logged in to this server and carries exactly the quarantine tag.
    With a quarantine tag given, both that state and the requested tags count as the requested
    identity, so a host waiting for (or released by) an approval is not re-registered.
options:
  _input:
    description: The parsed output of C(tailscale status --json); empty when tailscaled does not answer.
    type: dict
    required: true
  prefs:
    description: The parsed output of C(tailscale debug prefs); empty when tailscaled does not answer.
    type: dict
    required: true
  wanted:
    description:
      - The request. Keys C(login_server), C(user), C(tags) (what the node carries once enrolled and
        approved), C(quarantine_tag) (empty when the role does not enrol into quarantine),
        C(hostname), C(accept_routes), C(accept_dns), C(advertise_routes), C(exit_node).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Compare the node with the request
  ansible.builtin.set_fact:
    node: "{{ status | tailnet.headscale.tailscale_node(prefs, {'login_server': 'https://hs.example.com', 'tags': ['tag:web']}) }}"
"""

RETURN = r"""
_value:
  description: The node's state and the comparison.
  type: dict
  contains:
    backend_state: {description: tailscale's backend state (C(Running), C(NeedsLogin), ...), type: str}
    node_key: {description: The node key, empty while the client has none (all zeros)., type: str}
    node_name: {description: The name the node registers with (requested hostname, else the host's)., type: str}
    control_url: {description: The control server the client is configured for., type: str}
    owner: {description: Login name of the node's owner., type: str}
    tags: {description: The node's tags, sorted., type: list, elements: str}
    registered_here: {description: Logged in to the requested server., type: bool}
    registered_elsewhere: {description: Logged in to another control server., type: bool}
    identity_differs: {description: Logged in here with other tags or owner than requested (or quarantined)., type: bool}
    quarantined: {description: Logged in here and carrying exactly the quarantine tag., type: bool}
    needs_login: {description: Its key expired or was expired on the server., type: bool}
    needs_approval: {description: Waiting in C(NeedsMachineAuth)., type: bool}
    differences: {description: Settings that differ from the request., type: list, elements: str}
    report: {description: The differing settings with what they are and what is wanted., type: str}
"""

import json
import re

from ansible.errors import AnsibleFilterError

ZERO_KEY = "nodekey:" + "0" * 64
SETTINGS = ("hostname", "accept_routes", "accept_dns", "advertise_routes", "exit_node", "running")


def _strip_prefix(ip):
    return re.sub(r"/[0-9]+$", "", ip)


def tailscale_node(status, prefs, wanted):
    if not isinstance(status, dict) or not isinstance(prefs, dict) or not isinstance(wanted, dict):
        raise AnsibleFilterError("tailscale_node needs the status, the prefs and the request as dicts")
    if not prefs:
        prefs = {"LoggedOut": True}
    login_server = (wanted.get("login_server") or "").rstrip("/")
    wanted_tags = sorted(set(wanted.get("tags") or []))
    quarantine_tag = wanted.get("quarantine_tag") or ""
    user = wanted.get("user") or ""

    me = status.get("Self") or {}
    backend = status.get("BackendState") or "NoState"
    node_key = me.get("PublicKey") or ""
    has_key = bool(node_key) and node_key != ZERO_KEY
    control_url = (prefs.get("ControlURL") or "").rstrip("/")
    owner = ((status.get("User") or {}).get(str(me.get("UserID", 0))) or {}).get("LoginName") or ""
    tags = sorted(me.get("Tags") or [])
    logged_in = not prefs.get("LoggedOut", True) and has_key
    here = logged_in and control_url == login_server
    quarantined = bool(here and quarantine_tag and tags == [quarantine_tag])
    # A tagged node belongs to its tags; an untagged one to its user.
    identity_differs = bool(here and not quarantined and (
        tags != wanted_tags or (not wanted_tags and owner.split("@")[0] != user)))

    exit_ips = [_strip_prefix(ip) for ip in ((status.get("ExitNodeStatus") or {}).get("TailscaleIPs") or [])]
    wanted_exit = wanted.get("exit_node") or ""
    have = {
        "hostname": prefs.get("Hostname") or "",
        "accept_routes": bool(prefs.get("RouteAll", False)),
        "accept_dns": bool(prefs.get("CorpDNS", True)),
        "advertise_routes": sorted(prefs.get("AdvertiseRoutes") or []),
        # An exit node chosen by IP is kept as its node ID once tailscaled resolves it.
        "exit_node": (prefs.get("ExitNodeIP") or (wanted_exit if wanted_exit and wanted_exit in exit_ips else "")
                      or prefs.get("ExitNodeID") or ""),
        "running": bool(prefs.get("WantRunning", False)) and backend == "Running",
    }
    want = {
        "hostname": wanted.get("hostname") or "",
        "accept_routes": bool(wanted.get("accept_routes", False)),
        "accept_dns": bool(wanted.get("accept_dns", True)),
        "advertise_routes": sorted(set(wanted.get("advertise_routes") or [])),
        "exit_node": wanted_exit,
        "running": True,
    }
    differences = [k for k in SETTINGS if have[k] != want[k]]
    return {
        "backend_state": backend,
        "node_key": node_key if has_key else "",
        "node_name": (want["hostname"] or me.get("HostName") or "").lower(),
        "control_url": control_url,
        "owner": owner,
        "tags": tags,
        "registered_here": here,
        "registered_elsewhere": logged_in and not here,
        "identity_differs": identity_differs,
        "quarantined": quarantined,
        "needs_login": here and backend == "NeedsLogin",
        "needs_approval": backend == "NeedsMachineAuth",
        "differences": differences,
        "report": "; ".join("%s %s (want %s)" % (k, json.dumps(have[k]), json.dumps(want[k])) for k in differences),
    }


class FilterModule(object):
    def filters(self):
        return {"tailscale_node": tailscale_node}

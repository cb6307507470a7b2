# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How old a node key is, from what headscale keeps.

headscale does not timestamp node keys. What it keeps that tells their age:

* expiry: from 0.29 on, every (re-)registration of a user-owned node sets
  its expiry to "now + node.expiry" (the server config), so the key was
  issued at expiry - node.expiry;
* created_at: when the node first registered, the birth of its first key.

Tagged nodes never expire and headscale 0.28 has no node.expiry, so for those
the age comes from a ledger this collection keeps on the server host: the
node key each run saw, and since when. A key the ledger has not seen before
dates from the node's creation (first sighting, an overestimate: rotating
early is the safe mistake) or from the run that first saw it (a key that
changed since the last run, underestimated by at most one run interval).
A node expired for its age that logs in again with the SAME key keeps its
old age, and is expired again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

try:
    import yaml

    HAS_YAML = True
except ImportError:  # a minimal Debian has no python3-yaml
    HAS_YAML = False

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import (
    iso,
    parse_timestamp,
    read_private_json,
    write_private_json,
)
# The one duration parser, shared with the modules and the roles' filters.
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import parse_duration


def _node_expiry_from_text(text):
    if HAS_YAML:
        data = yaml.safe_load(text) or {}
        node = data.get("node") if isinstance(data, dict) else None
        return node.get("expiry") if isinstance(node, dict) else None
    # Without PyYAML: the block form headscale's example config and the server
    # role write ("node:" at the top level, "expiry:" one level below it).
    in_node, child_indent = False, None
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped.strip():
            continue
        indent = len(stripped) - len(stripped.lstrip())
        if indent == 0:
            in_node = stripped == "node:"
            child_indent = None
            continue
        if in_node:
            child_indent = indent if child_indent is None else child_indent
            if indent == child_indent and stripped.strip().startswith("expiry:"):
                return stripped.split(":", 1)[1].strip().strip("'\"")
    return None


def configured_node_expiry(config_path):
    """Seconds of headscale's node.expiry in CONFIG_PATH; None when unset, 0, or unreadable."""
    try:
        with open(config_path) as config:
            value = _node_expiry_from_text(config.read())
        seconds = parse_duration(value) if value not in (None, "") else 0
    except (IOError, OSError, ValueError):
        return None
    except Exception:  # pylint: disable=broad-except  # a YAML error: same as unset
        return None
    return seconds or None


class KeyLedger(object):
    """node id -> the node key a run saw and since when (root-only JSON)."""

    def __init__(self, path):
        self.path = path
        self.entries = (read_private_json(path) or {}).get("nodes", {})

    def get(self, node_id):
        return self.entries.get(str(node_id))

    def replace(self, entries):
        changed = entries != self.entries
        self.entries = entries
        return changed

    def save(self):
        write_private_json(self.path, dict(nodes=self.entries))


def key_issued_at(node, now, node_expiry_seconds, ledger_entry):
    """(issued_at, source) of NODE's current key; source says which data decided."""
    same_key = bool(ledger_entry) and ledger_entry.get("node_key") == node["node_key"]
    if same_key and ledger_entry.get("rotated") and not node["expired"]:
        # Expired for its age, then logged in again WITHOUT a new key (`tailscale up`
        # without --force-reauth keeps it, and headscale accepts that): still old.
        return parse_timestamp(ledger_entry["issued_at"]), "reused"
    expiry = parse_timestamp(node["expiry"])
    if not node["tags"] and expiry is not None and node_expiry_seconds:
        issued = expiry - datetime.timedelta(seconds=node_expiry_seconds)
        # An expiry set by hand (or asked for by the client) says nothing of the key.
        if issued <= now:
            return issued, "expiry"
    if same_key:
        return parse_timestamp(ledger_entry["issued_at"]), ledger_entry.get("source", "ledger")
    if ledger_entry:
        return now, "observed"
    return parse_timestamp(node["created_at"]), "created"


def ledger_entry(node, issued_at, source, rotated=False):
    entry = dict(node_key=node["node_key"], issued_at=iso(issued_at), source=source)
    if rotated:
        # Remembered until the node shows another key, to catch the same key coming back.
        entry["rotated"] = True
    return entry

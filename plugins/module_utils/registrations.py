# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pending interactive registrations, from the journal.

headscale's CLI cannot list the auth ids it has handed out. What it does leave:
  - headscale's own line "starting node registration using auth id: ID" (info level), when a
    device asks to log in interactively;
  - the registration audit record the server role's watcher writes for each request
    (journalctl -t tailnet-headscale, "event=registration-request remote=ADDR path=/machine/register"),
    which carries the client's address;
  - the audit record of this collection's modules when an auth id is approved or rejected
    ("action=auth.register target=registration:ID result=ok").
An auth id is pending from its first line until headscale forgets it (15 minutes), unless one of
these modules consumed it first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# headscale's registration cache keeps an auth id this long (state.registerCacheExpiration).
REGISTRATION_LIFETIME = 15 * 60
# The audit record of the request that got an auth id follows headscale's line within this many seconds
# (headscale logs a request when it completes; a long-poll that completes later is logged later).
_PAIRING_WINDOW = 5

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r"starting node registration using auth id: (\S+)")
_CONSUMED = re.compile(r"action=(?:auth\.register|auth\.reject|nodes\.register) target=registration:(\S+) result=ok")
_REQUEST = re.compile(r"event=registration-request remote=(\S+) path=/machine/register\b")


def journal_entries(text):
    """(seconds since the epoch, message) of `journalctl -o json` output, in order."""
    entries = []
    for line in (text or "").splitlines():
        try:
            entry = json.loads(line)
            seconds = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
        except (ValueError, KeyError, TypeError):
            continue
        message = entry.get("MESSAGE")
        if isinstance(message, list):  # journalctl spells messages with escape codes as byte arrays
            message = bytearray(message).decode("utf-8", "replace")
        if isinstance(message, str):
            entries.append((seconds, _ANSI.sub("", message)))
    return entries


def pending_registrations(headscale_entries, audit_entries, now, lifetime=REGISTRATION_LIFETIME):
    """Auth ids headscale issued within LIFETIME seconds before NOW (seconds since the epoch) that no
    module of this collection approved or rejected; oldest first. Each: auth_id, first_seen and
    seconds_left (seconds since the epoch; the caller formats them), client_address (None when no
    audit record of the request was found)."""
    consumed = set()
    requests = []
    for seconds, message in audit_entries:
        match = _CONSUMED.search(message)
        if match:
            consumed.add(match.group(1))
        match = _REQUEST.search(message)
        if match:
            requests.append([seconds, match.group(1), False])
    pending = {}
    for seconds, message in headscale_entries:
        match = _STARTED.search(message)
        if not match or now - seconds > lifetime or match.group(1) in consumed:
            continue
        auth_id = match.group(1)
        if auth_id in pending:
            continue
        address = None
        for request in requests:
            if not request[2] and seconds - 1 <= request[0] <= seconds + _PAIRING_WINDOW:
                request[2] = True
                address = request[1]
                break
        pending[auth_id] = dict(auth_id=auth_id, first_seen=seconds, seconds_left=max(0, int(seconds + lifetime - now)),
                                client_address=address)
    return sorted(pending.values(), key=lambda entry: entry["first_seen"])

"""Pending interactive registrations read from the journal (module_utils/registrations.py);
messages as headscale 0.29.3 and the collection's audit write them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.tailnet.headscale.plugins.module_utils.registrations import (
    REGISTRATION_LIFETIME,
    journal_entries,
    pending_registrations,
)

NOW = 1795000000.0
STARTED = "\x1b[32mINF\x1b[0m starting node registration using auth id: %s"
REQUEST = "event=registration-request remote=%s path=/machine/register status=200"
APPROVED = ("module=node by=root action=auth.register target=registration:%s result=ok "
            "command='headscale -c /etc/headscale/config.yaml -o json auth register --auth-id %s --user alice'")


def test_journal_json_lines_with_byte_array_messages_are_read_and_colours_dropped():
    raw = [
        {"__REALTIME_TIMESTAMP": "1795000000500000", "MESSAGE": list(bytearray((STARTED % "hskey-authreq-A").encode()))},
        {"__REALTIME_TIMESTAMP": "1795000001000000", "MESSAGE": "plain"},
        {"MESSAGE": "no timestamp"},
    ]
    text = "\n".join(json.dumps(entry) for entry in raw) + "\nnot json\n"
    assert journal_entries(text) == [(1795000000.5, "INF starting node registration using auth id: hskey-authreq-A"),
                                     (1795000001.0, "plain")]


def test_an_unconsumed_auth_id_is_pending_with_its_address_and_time_left():
    pending = pending_registrations([(NOW - 60, STARTED % "hskey-authreq-A")],
                                    [(NOW - 59.9, REQUEST % "192.0.2.7")], NOW)
    assert pending == [dict(auth_id="hskey-authreq-A", first_seen=NOW - 60,
                            seconds_left=REGISTRATION_LIFETIME - 60, client_address="192.0.2.7")]


def test_approved_rejected_and_forgotten_auth_ids_are_not_pending():
    headscale = [(NOW - 1000, STARTED % "old"), (NOW - 300, STARTED % "approved"), (NOW - 200, STARTED % "rejected"),
                 (NOW - 100, STARTED % "waiting")]
    audit = [(NOW - 250, APPROVED % ("approved", "approved")),
             (NOW - 150, "module=node by=root action=auth.reject target=registration:rejected result=ok"),
             (NOW - 140, "module=node by=root action=auth.register target=registration:waiting result=failed")]
    assert [p["auth_id"] for p in pending_registrations(headscale, audit, NOW)] == ["waiting"]


def test_each_request_record_pairs_with_one_registration_and_a_missing_one_is_null():
    headscale = [(NOW - 30, STARTED % "first"), (NOW - 29, STARTED % "second"), (NOW - 5, STARTED % "third")]
    audit = [(NOW - 29.9, REQUEST % "192.0.2.1"), (NOW - 28.8, REQUEST % "192.0.2.2")]
    pending = pending_registrations(headscale, audit, NOW)
    assert [(p["auth_id"], p["client_address"]) for p in pending] == [
        ("first", "192.0.2.1"), ("second", "192.0.2.2"), ("third", None)]


def test_an_auth_id_seen_twice_counts_from_its_first_line():
    pending = pending_registrations([(NOW - 100, STARTED % "a"), (NOW - 10, STARTED % "a")], [], NOW)
    assert [(p["auth_id"], p["first_seen"]) for p in pending] == [("a", NOW - 100)]

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of headscale's log lines the registration audit turns into records
(roles/server/files/registration-watch.py); lines as headscale 0.29.3 writes them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "server", "files", "registration-watch.py")
SPEC = importlib.util.spec_from_file_location("registration_watch", SCRIPT)
watch = importlib.util.module_from_spec(SPEC)
# Without a __pycache__ next to the script: it would ship in the role (and the tarball).
dont_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
try:
    SPEC.loader.exec_module(watch)
finally:
    sys.dont_write_bytecode = dont_write_bytecode

PREFIX = "2026-11-22T12:01:45Z INF http request bytes=16 elapsed=0.086613 "


@pytest.mark.parametrize("line,record", [
    (PREFIX + "method=POST path=/machine/register proto=HTTP/2.0 remote=203.0.113.9 status=200",
     {"remote": "203.0.113.9", "path": "/machine/register", "status": "200"}),
    # Without a proxy the address carries the port; IPv6 in brackets.
    (PREFIX + "method=POST path=/machine/register proto=HTTP/2.0 remote=[2001:db8::7]:41234 status=200",
     {"remote": "2001:db8::7", "path": "/machine/register", "status": "200"}),
    (PREFIX + "method=GET path=/register/hskey-authreq-AbC proto=HTTP/1.1 remote=198.51.100.4:5000 status=400",
     {"remote": "198.51.100.4", "path": "/register/hskey-authreq-AbC", "status": "400"}),
    # Colour codes, should a terminal-style writer be configured.
    ("\x1b[90m2026-11-22T12:01:45Z\x1b[0m \x1b[32mINF\x1b[0m http request \x1b[36mpath=\x1b[0m/machine/register "
     "\x1b[36mremote=\x1b[0m192.0.2.1:80 \x1b[36mstatus=\x1b[0m200",
     {"remote": "192.0.2.1", "path": "/machine/register", "status": "200"}),
])
def test_registration_requests_become_records(line, record):
    assert watch.registration(line) == record


@pytest.mark.parametrize("line", [
    PREFIX + "method=GET path=/health proto=HTTP/1.1 remote=127.0.0.1:38742 status=200",
    PREFIX + "method=POST path=/machine/map proto=HTTP/2.0 remote=203.0.113.9 status=200",
    "2026-11-22T12:01:32Z INF starting headscale commit=unknown version=v0.29.3",
    "",
])
def test_other_lines_are_ignored(line):
    assert watch.registration(line) is None

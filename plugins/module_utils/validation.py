# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules a value must follow before anything is sent to headscale.

One place for each rule, shared by the modules (argument checks) and the
roles (filter plugins the preflight asserts consume): user names, node names,
tags, durations, CIDR routes. Each check returns None for a good value, or a
message that names the value, says why (headscale's own reason where
headscale has one) and how to fix it. Nothing here talks to headscale.

The rules are ports of headscale 0.29's own:
  * user names: hscontrol/util/dns.go ValidateUsername;
  * node names: tailscale's dnsname.ValidLabel (types.ValidateGivenName);
  * tags: policy/v2 Tag.Validate and grpcv1 validateTag (lowercase, no space);
  * durations: prometheus model.ParseDuration (what --expiration and
    node.expiry take).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re

from ansible.module_utils.common.text.converters import to_text

# --- durations ----------------------------------------------------------------

# prometheus/common model.ParseDuration: units from biggest to smallest, each once.
_DURATION_UNITS = (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1), ("ms", 0.001))
_DURATION_PART_RE = re.compile(r"([0-9]+)([a-z]+)")
_MAX_DURATION_SECONDS = (1 << 63) / 1e9
DURATION_HINT = "use a number with a unit, biggest unit first, e.g. 30m, 12h, 1h30m, 7d, 2w"


def parse_duration(text):
    """'90d' -> seconds, as headscale parses it (prometheus model.ParseDuration).
    '0' is 0. Raises ValueError naming the value and the fix."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ValueError("%r is not a duration: %s" % (text, DURATION_HINT))
    value = to_text(text)
    if value == "0":
        return 0
    if value == "":
        raise ValueError("'' (empty) is not a duration: %s" % DURATION_HINT)
    if value != value.strip():
        raise ValueError("%r is not a duration: it has surrounding blanks; %s" % (text, DURATION_HINT))
    if value.startswith("-"):
        raise ValueError("%r is negative: headscale takes no negative durations; %s" % (text, DURATION_HINT))
    position = 0
    last_unit = -1
    seconds = 0
    units = [pair[0] for pair in _DURATION_UNITS]
    for match in _DURATION_PART_RE.finditer(value):
        if match.start() != position:
            break
        number, unit = match.groups()
        if unit not in units:
            raise ValueError("%r has the unknown unit %r: headscale knows %s; %s"
                             % (text, unit, ", ".join(units), DURATION_HINT))
        index = units.index(unit)
        if index <= last_unit:
            raise ValueError("%r is not a duration headscale parses: units must go from biggest to smallest, "
                             "each once; %s" % (text, DURATION_HINT))
        last_unit = index
        seconds += int(number) * _DURATION_UNITS[index][1]
        position = match.end()
    if position != len(value) or position == 0:
        raise ValueError("%r is not a duration: %s" % (text, DURATION_HINT))
    if seconds > _MAX_DURATION_SECONDS:
        raise ValueError("%r is out of range: headscale takes at most about 292 years" % (text,))
    return seconds


def duration_problem(name, value, minimum=None, allow_zero=False):
    """None, or what is wrong with duration VALUE of option NAME."""
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        return "%s: %s" % (name, error)
    if seconds == 0 and not allow_zero:
        return "%s %r is zero: it would be dead at birth; give a positive duration such as 1h" % (name, value)
    if minimum and 0 < seconds < minimum[0]:
        return "%s %r is shorter than %s: %s" % (name, value, minimum[1], minimum[2])
    return None


# A pre-auth key must live long enough for a device to use it.
KEY_EXPIRATION_MINIMUM = (60, "a minute", "the key would expire before a device could use it; give e.g. 30m or 1h")


# --- names --------------------------------------------------------------------

def _shown(value):
    # repr() shows blanks, newlines and control characters for what they are.
    return repr(to_text(value)) if isinstance(value, str) else repr(value)


def _is_letter(char):
    return char.isalpha()


def _is_digit(char):
    return char.isdecimal()


USER_NAME_HINT = ("a user name is at least 2 characters, starts with a letter, and holds only letters, digits, "
                  "'-', '.', '_' and at most one '@', e.g. alice or alice@example.com")


def user_name_problem(value, option="user"):
    """None, or why headscale 0.29 would refuse VALUE as a user name
    (util.ValidateUsername), leading with headscale's own words."""
    if not isinstance(value, str):
        return "%s %s is not a name: %s" % (option, _shown(value), USER_NAME_HINT)
    reason = None
    raw = to_text(value).encode("utf-8")
    if len(raw) < 2:
        reason = "username must be at least 2 characters long"
    # Go tests the first byte, read as a rune (Latin-1).
    elif not _is_letter(chr(raw[0])):
        reason = "username must start with a letter"
    else:
        ats = 0
        for char in to_text(value):
            if _is_letter(char) or _is_digit(char) or char in "-._":
                continue
            if char == "@":
                ats += 1
                if ats > 1:
                    reason = "username cannot contain more than one '@'"
                    break
                continue
            reason = "username contains invalid character: %r" % char
            break
    if reason is None:
        return None
    # headscale applies this rule on rename and to OIDC users; 0.29's `users create` does not yet,
    # so a name that breaks it could be created and then never renamed back.
    return "%s %s breaks headscale's user name rule (%s): %s" % (option, _shown(value), reason, USER_NAME_HINT)


NODE_NAME_HINT = "a node name is a DNS label: 1 to 63 of a-z, A-Z, 0-9 and '-', starting and ending with a letter or digit, e.g. web-1"
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def node_name_problem(value, option="rename_to"):
    """None, or why headscale 0.29 would refuse VALUE as a node's given name
    (dnsname.ValidLabel), leading with its own words."""
    if not isinstance(value, str):
        return "%s %s is not a name: %s" % (option, _shown(value), NODE_NAME_HINT)
    label = to_text(value)
    reason = None
    if not label:
        reason = "empty DNS label"
    elif len(label.encode("utf-8")) > 63:
        reason = "too long, max length is 63 bytes"
    elif label[0] not in _ALNUM:
        reason = "not a valid DNS label: must start with a letter or number"
    elif label[-1] not in _ALNUM:
        reason = "not a valid DNS label: must end with a letter or number"
    else:
        bad = [c for c in label if c not in _ALNUM and c != "-"]
        if bad:
            reason = "not a valid DNS label: contains invalid character %r" % bad[0]
    if reason is None:
        return None
    return "%s %s is refused by headscale (%s): %s" % (option, _shown(value), reason, NODE_NAME_HINT)


# --- tags -----------------------------------------------------------------------

TAG_RE = re.compile(r"^tag:[a-z][a-z0-9_-]*$")
TAG_HINT = "a tag is 'tag:' then a lowercase letter, then lowercase letters, digits, '-' or '_', e.g. tag:server"


def tag_problem(value, option="tag"):
    """None, or why VALUE is not a tag headscale takes on keys and nodes."""
    if isinstance(value, str) and TAG_RE.match(to_text(value)):
        return None
    text = to_text(value) if isinstance(value, str) else ""
    if not text.startswith("tag:"):
        reason = "tag must start with 'tag:'"
    elif text[4:5].lower() not in "abcdefghijklmnopqrstuvwxyz" or not text[4:5]:
        reason = "tag names must start with a letter, after 'tag:'"
    elif text.lower() != text:
        reason = "tag should be lowercase"
    else:
        reason = "tag contains a character headscale's CLI cannot carry (blank, comma or punctuation)"
    return "%s %s is refused (%s): %s" % (option, _shown(value), reason, TAG_HINT)


def tags_problems(values, option="tags"):
    if values is None:
        return []
    if not isinstance(values, list):
        return ["%s must be a list of tags, got %s: %s" % (option, _shown(values), TAG_HINT)]
    return [p for p in (tag_problem(v, option) for v in values) if p]


# --- other values ----------------------------------------------------------------

def flag_like_problem(value, option):
    """A value the CLI would take for a flag (it begins with '-')."""
    if isinstance(value, str) and to_text(value).startswith("-"):
        return ("%s %s begins with '-', and headscale's CLI would read it as a flag: "
                "give a value that starts with a letter or digit" % (option, _shown(value)))
    return None


def route_problem(value, option="approved_routes"):
    """None, or why VALUE is not a subnet route (CIDR) headscale approves."""
    try:
        network = ipaddress.ip_network(to_text(value), strict=True)
    except (ValueError, TypeError) as error:
        return "%s item %s is not a CIDR route (%s): give a network such as 10.20.0.0/24 or 0.0.0.0/0" % (
            option, _shown(value), error)
    if to_text(value) != to_text(network):
        return "%s item %s is not in canonical form: write it as %s" % (option, _shown(value), network)
    return None


def text_problem(value, option):
    """Free text (display names, emails) that must not carry control characters."""
    if value is None:
        return None
    text = to_text(value)
    if text != text.strip():
        return "%s %s has leading or trailing blanks: remove them" % (option, _shown(value))
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return "%s %s contains a control character (newline, tab...): give it on one line" % (option, _shown(value))
    return flag_like_problem(value, option)


# --- controller files ------------------------------------------------------------

def secrets_file_problem(path):
    """None, or why the secrets of new keys could not be written to PATH on the
    controller. Checked before anything is minted: a key whose secret is lost
    is a live credential nobody holds."""
    if path in (None, ""):
        return None
    full = os.path.abspath(os.path.expanduser(path))
    directory = os.path.dirname(full)
    if os.path.isdir(full):
        return ("secrets_file %s is a directory on the controller: name a file in it, e.g. %s. "
                "Nothing was minted." % (path, os.path.join(full, "preauth-keys.yml")))
    if os.path.lexists(directory) and not os.path.isdir(directory):
        return ("secrets_file %s: %s is not a directory on the controller. Choose a path in a directory. "
                "Nothing was minted." % (path, directory))
    if not os.path.isdir(directory):
        return ("secrets_file %s: its directory %s does not exist on the controller. Create it "
                "(mkdir -m 0700 %s) or choose another path. Nothing was minted." % (path, directory, directory))
    if not os.access(directory, os.W_OK | os.X_OK):
        return ("secrets_file %s: its directory %s is not writable on the controller by uid %d. Make it "
                "writable or choose another path. Nothing was minted." % (path, directory, os.getuid()))
    if os.path.lexists(full) and not os.path.isfile(full):
        return ("secrets_file %s exists on the controller and is not a regular file: remove it or choose "
                "another path. Nothing was minted." % path)
    return None


def secret_source_problem(path, option):
    """None, or why the controller file PATH cannot be read as a secret (OPTION names the
    variable). The file's content is never read into the message; a value that does not look
    like a path is not shown either, in case it is the secret itself."""
    if not isinstance(path, str) or not path.strip():
        return ("%s is empty: give the path of a file on the controller that holds the secret alone "
                "(mode 0600)" % option)
    shown = path if ("/" in path or path.startswith("~")) else "(value not shown: it is no path, it may be the secret itself)"
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(full):
        return ("%s %s does not exist on the controller: write the secret to that file (mode 0600) or point "
                "%s at the file that holds it" % (option, shown, option))
    if not os.path.isfile(full):
        return "%s %s is not a regular file on the controller: point %s at the file that holds the secret" % (
            option, shown, option)
    if not os.access(full, os.R_OK):
        return ("%s %s is not readable on the controller by uid %d: make it readable by the user that runs "
                "Ansible (chmod 0600, chown)" % (option, shown, os.getuid()))
    if os.path.getsize(full) == 0 or not _has_text(full):
        return "%s %s is empty on the controller: write the secret into it" % (option, shown)
    return None


def _has_text(path):
    with open(path, "rb") as handle:
        return bool(handle.read(65536).strip())

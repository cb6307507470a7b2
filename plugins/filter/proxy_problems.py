# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: proxy_problems
short_description: What is wrong with the proxy role's settings, one line per problem
version_added: 0.1.0
description:
  - Checks the proxy role's variables (C(headscale_proxy_*)) before anything changes on the host, and
    returns one message per bad value. Each message names the variable, the value, and what to set
    instead. An empty list means the settings can be applied.
  - Covers what the role's argument spec cannot say - ranges, host names, addresses, nginx rates,
    openssl subjectAltName forms - so a value nginx or openssl would refuse halfway through a run is
    refused before the first change.
options:
  _input:
    description: The proxy role's variables, by name (C(headscale_proxy_server_name) and so on).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse bad proxy settings
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ {'headscale_proxy_port': headscale_proxy_port} | tailnet.headscale.proxy_problems }}"
"""

RETURN = r"""
_value:
  description: One message per problem, such as C(headscale_proxy_hsts_max_age '-1' is negative ...).
  type: list
  elements: str
"""

import ipaddress
import json
import re

from ansible.errors import AnsibleFilterError

KNOWN_PROTOCOLS = ("TLSv1.2", "TLSv1.3")
RATE = re.compile(r"^[1-9][0-9]*r/[sm]$")
LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
LOOPBACK_NAMES = ("localhost",)


def _host_name(text, wildcard=False):
    """A DNS name as nginx's server_name and a certificate's DNS SAN take it."""
    if not isinstance(text, str) or not text or len(text) > 253:
        return False
    labels = text.rstrip(".").split(".")
    if wildcard and labels[0] == "*" and len(labels) > 1:
        labels = labels[1:]
    return all(LABEL.match(label) for label in labels)


def _integer(value):
    """The value as an int, or None: true/false and fractions are not counts."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r"^[+-]?[0-9]+$", value.strip()):
        return int(value)
    return None


def _listen_address(text):
    """An address nginx's `listen ADDRESS:PORT` takes: *, an IPv4 literal or [IPv6]."""
    if text == "*":
        return True
    if not isinstance(text, str):
        return False
    if text.startswith("[") and text.endswith("]"):
        try:
            return ipaddress.ip_address(text[1:-1]).version == 6
        except ValueError:
            return False
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def _loopback_upstream(text):
    if not isinstance(text, str):
        return False
    host, sep, port = text.rpartition(":")
    if not sep or _integer(port) is None or not 1 <= int(port) <= 65535:
        return False
    if host in LOOPBACK_NAMES:
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _san(text):
    """openssl's subjectAltName entry forms the lab CA accepts: DNS:name or IP:address."""
    if not isinstance(text, str) or ":" not in text:
        return False
    kind, value = text.split(":", 1)
    if kind == "DNS":
        return _host_name(value, wildcard=True)
    if kind == "IP":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return False
        return True
    return False


def _count(problems, variables, name, minimum, what):
    if name not in variables:
        return
    value = variables[name]
    number = _integer(value)
    if number is None:
        problems.append("%s '%s' is not a whole number: set %s." % (name, value, what))
    elif number < minimum:
        problems.append("%s '%s' is below %d: set %s." % (name, value, minimum, what))


def proxy_problems(variables):
    if not isinstance(variables, dict):
        raise AnsibleFilterError("proxy_problems: expected the proxy variables as a mapping, got %r" % (variables,))
    problems = []
    get = variables.get

    if "headscale_proxy_server_name" in variables and not _host_name(get("headscale_proxy_server_name")):
        problems.append(
            "headscale_proxy_server_name '%s' is not a host name: set it to the name in headscale_server_url "
            "(https://NAME), e.g. headscale.example.com" % get("headscale_proxy_server_name"))

    if "headscale_proxy_port" in variables:
        port = _integer(get("headscale_proxy_port"))
        if port is None or not 1 <= port <= 65535:
            problems.append("headscale_proxy_port '%s' is not a TCP port (1-65535): tailscale clients reach "
                            "https://NAME on 443." % get("headscale_proxy_port"))

    if "headscale_proxy_listen_addresses" in variables:
        addresses = get("headscale_proxy_listen_addresses")
        if not isinstance(addresses, list) or not addresses:
            problems.append("headscale_proxy_listen_addresses %r is empty or not a list: nginx would listen "
                            "nowhere; set e.g. ['0.0.0.0', '[::]']." % (addresses,))
        else:
            for address in addresses:
                if not _listen_address(address):
                    problems.append(
                        "headscale_proxy_listen_addresses entry '%s' is not an IPv4 address, an IPv6 address in "
                        "brackets or *: set e.g. 0.0.0.0 or [::] (the port is headscale_proxy_port)." % (address,))
            duplicates = sorted(set(a for a in addresses if isinstance(a, str) and addresses.count(a) > 1))
            if duplicates:
                problems.append("headscale_proxy_listen_addresses lists %s more than once: nginx refuses a "
                                "duplicate listen; list each address once." % ", ".join(duplicates))

    if "headscale_proxy_upstream" in variables and not _loopback_upstream(get("headscale_proxy_upstream")):
        problems.append(
            "headscale_proxy_upstream '%s' is not a loopback address:port: headscale must listen on 127.0.0.1 "
            "(or [::1]) behind this proxy, e.g. 127.0.0.1:8080" % get("headscale_proxy_upstream"))

    for name in ("headscale_proxy_registration_rate", "headscale_proxy_api_rate"):
        if name in variables and not (isinstance(get(name), str) and RATE.match(get(name))):
            problems.append("%s '%s' is not an nginx rate such as 30r/m or 5r/s." % (name, get(name)))

    _count(problems, variables, "headscale_proxy_hsts_max_age", 0,
           "the seconds browsers keep to https (0 or more; 63072000 is two years)")
    _count(problems, variables, "headscale_proxy_registration_burst", 0, "0 or more requests")
    _count(problems, variables, "headscale_proxy_api_burst", 0, "0 or more requests")
    _count(problems, variables, "headscale_proxy_connections_per_address", 1,
           "1 or more connections (a tailscale client holds a few)")

    if "headscale_proxy_tls_protocols" in variables:
        protocols = get("headscale_proxy_tls_protocols")
        if (not isinstance(protocols, list) or not protocols
                or any(p not in KNOWN_PROTOCOLS for p in protocols)):
            problems.append("headscale_proxy_tls_protocols %s may only list %s: older protocols are broken."
                            % (_json(protocols), " and ".join(KNOWN_PROTOCOLS)))

    lab_ca = get("headscale_proxy_lab_ca", False)
    certificate = get("headscale_proxy_tls_certificate", "") or ""
    key = get("headscale_proxy_tls_certificate_key", "") or ""
    if "headscale_proxy_lab_ca" in variables and bool(lab_ca) == bool(certificate and key):
        problems.append(
            "Set headscale_proxy_tls_certificate and headscale_proxy_tls_certificate_key (files on the controller) "
            "for a real server, or headscale_proxy_lab_ca: true for a lab; not both and not neither "
            "(certificate '%s', key '%s', lab CA %s)." % (certificate, key, lab_ca))

    extra = get("headscale_proxy_lab_ca_extra_names", [])
    if not isinstance(extra, list):
        problems.append("headscale_proxy_lab_ca_extra_names %r is not a list: set e.g. ['IP:192.0.2.10']." % (extra,))
    else:
        for name in extra:
            if not _san(name):
                problems.append(
                    "headscale_proxy_lab_ca_extra_names entry '%s' is not a subjectAltName the lab CA can issue: "
                    "write DNS:host.example or IP:192.0.2.10." % (name,))
    return problems


def _json(value):
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


class FilterModule(object):
    def filters(self):
        return {"proxy_problems": proxy_problems}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which proxy settings the role refuses before its first change, and what each refusal says."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.tailnet.headscale.plugins.filter.proxy_problems import proxy_problems

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "proxy")


def defaults():
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        values = yaml.safe_load(handle)
    values["headscale_proxy_server_name"] = "headscale.example.com"
    values["headscale_proxy_lab_ca"] = True
    return values


def problems(**changes):
    values = defaults()
    values.update(changes)
    return proxy_problems(values)


def test_the_defaults_with_a_lab_ca_pass():
    assert problems() == []


def test_a_real_certificate_passes():
    assert problems(headscale_proxy_lab_ca=False, headscale_proxy_tls_certificate="/c.pem",
                    headscale_proxy_tls_certificate_key="/k.pem") == []


@pytest.mark.parametrize("name,value,words", [
    ("headscale_proxy_hsts_max_age", -1, "headscale_proxy_hsts_max_age '-1' is below 0"),
    ("headscale_proxy_hsts_max_age", "-1", "headscale_proxy_hsts_max_age '-1' is below 0"),
    ("headscale_proxy_hsts_max_age", "two years", "headscale_proxy_hsts_max_age 'two years' is not a whole number"),
    ("headscale_proxy_hsts_max_age", 1.5, "headscale_proxy_hsts_max_age '1.5' is not a whole number"),
    ("headscale_proxy_hsts_max_age", True, "headscale_proxy_hsts_max_age 'True' is not a whole number"),
    ("headscale_proxy_port", 0, "headscale_proxy_port '0' is not a TCP port (1-65535)"),
    ("headscale_proxy_port", -443, "headscale_proxy_port '-443' is not a TCP port"),
    ("headscale_proxy_port", 65536, "headscale_proxy_port '65536' is not a TCP port"),
    ("headscale_proxy_port", "https", "headscale_proxy_port 'https' is not a TCP port"),
    ("headscale_proxy_listen_addresses", [], "headscale_proxy_listen_addresses [] is empty"),
    ("headscale_proxy_listen_addresses", "0.0.0.0", "is empty or not a list"),
    ("headscale_proxy_listen_addresses", ["256.1.1.1"], "entry '256.1.1.1' is not an IPv4 address"),
    ("headscale_proxy_listen_addresses", ["0.0.0.0:443"], "entry '0.0.0.0:443' is not an IPv4 address"),
    ("headscale_proxy_listen_addresses", ["::"], "entry '::' is not an IPv4 address, an IPv6 address in brackets"),
    ("headscale_proxy_listen_addresses", ["[fe80::zz]"], "entry '[fe80::zz]'"),
    ("headscale_proxy_listen_addresses", ["0.0.0.0; include /etc/shadow"], "entry '0.0.0.0; include /etc/shadow'"),
    ("headscale_proxy_listen_addresses", ["0.0.0.0", "0.0.0.0"], "lists 0.0.0.0 more than once"),
    ("headscale_proxy_upstream", "172.30.78.10:8080", "'172.30.78.10:8080' is not a loopback address:port"),
    ("headscale_proxy_upstream", "127.0.0.1", "'127.0.0.1' is not a loopback address:port"),
    ("headscale_proxy_upstream", "127.0.0.1:0", "'127.0.0.1:0' is not a loopback"),
    ("headscale_proxy_upstream", "127.0.0.1:99999", "'127.0.0.1:99999' is not a loopback"),
    ("headscale_proxy_upstream", "127.0.0.1.example.com:8080", "is not a loopback"),
    ("headscale_proxy_upstream", "::1:8080", "'::1:8080' is not a loopback"),
    ("headscale_proxy_registration_rate", "lots", "headscale_proxy_registration_rate 'lots' is not an nginx rate"),
    ("headscale_proxy_registration_rate", "0r/s", "'0r/s' is not an nginx rate"),
    ("headscale_proxy_api_rate", "10r/h", "headscale_proxy_api_rate '10r/h' is not an nginx rate"),
    ("headscale_proxy_registration_burst", -1, "headscale_proxy_registration_burst '-1' is below 0"),
    ("headscale_proxy_api_burst", "x", "headscale_proxy_api_burst 'x' is not a whole number"),
    ("headscale_proxy_connections_per_address", 0, "headscale_proxy_connections_per_address '0' is below 1"),
    ("headscale_proxy_tls_protocols", ["TLSv1.1"], 'headscale_proxy_tls_protocols ["TLSv1.1"] may only list'),
    ("headscale_proxy_tls_protocols", [], "headscale_proxy_tls_protocols [] may only list"),
    ("headscale_proxy_server_name", "", "headscale_proxy_server_name '' is not a host name"),
    ("headscale_proxy_server_name", "https://headscale.example.com", "'https://headscale.example.com' is not a host"),
    ("headscale_proxy_server_name", "-bad.example.com", "'-bad.example.com' is not a host name"),
    ("headscale_proxy_server_name", "a" * 64 + ".example.com", "is not a host name"),
    ("headscale_proxy_server_name", "head scale", "'head scale' is not a host name"),
    ("headscale_proxy_lab_ca_extra_names", ["not-a-san"],
     "headscale_proxy_lab_ca_extra_names entry 'not-a-san' is not a subjectAltName the lab CA can issue: "
     "write DNS:host.example or IP:192.0.2.10"),
    ("headscale_proxy_lab_ca_extra_names", ["IP:192.0.2.300"], "entry 'IP:192.0.2.300'"),
    ("headscale_proxy_lab_ca_extra_names", ["DNS:"], "entry 'DNS:'"),
    ("headscale_proxy_lab_ca_extra_names", ["DNS:a,b"], "entry 'DNS:a,b'"),
    ("headscale_proxy_lab_ca_extra_names", ["email:a@b.c"], "entry 'email:a@b.c'"),
    ("headscale_proxy_lab_ca_extra_names", "IP:192.0.2.1", "is not a list"),
])
def test_a_bad_value_is_refused_naming_it_and_the_fix(name, value, words):
    found = problems(**{name: value})
    assert len(found) == 1 and words in found[0], found


@pytest.mark.parametrize("name,value", [
    ("headscale_proxy_hsts_max_age", 0),
    ("headscale_proxy_hsts_max_age", "31536000"),
    ("headscale_proxy_port", 8443),
    ("headscale_proxy_listen_addresses", ["[::1]", "127.0.0.1", "*"]),
    ("headscale_proxy_upstream", "[::1]:8080"),
    ("headscale_proxy_upstream", "localhost:8080"),
    ("headscale_proxy_upstream", "127.0.0.2:8080"),
    ("headscale_proxy_tls_protocols", ["TLSv1.2", "TLSv1.3"]),
    ("headscale_proxy_lab_ca_extra_names", ["IP:192.0.2.10", "DNS:*.lab.example", "IP:2001:db8::1", "DNS:lab"]),
    ("headscale_proxy_registration_rate", "5r/s"),
])
def test_a_good_value_passes(name, value):
    assert problems(**{name: value}) == []


@pytest.mark.parametrize("changes", [
    {"headscale_proxy_lab_ca": False},
    {"headscale_proxy_tls_certificate": "/c.pem", "headscale_proxy_tls_certificate_key": "/k.pem"},
    {"headscale_proxy_lab_ca": False, "headscale_proxy_tls_certificate": "/c.pem"},
])
def test_exactly_one_certificate_source(changes):
    found = problems(**changes)
    assert len(found) == 1 and "not both and not neither" in found[0], found


def test_every_problem_is_reported_at_once():
    found = problems(headscale_proxy_port=0, headscale_proxy_hsts_max_age=-1)
    assert len(found) == 2, found


def test_the_input_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="mapping"):
        proxy_problems(["headscale_proxy_port"])


def test_every_role_option_reaches_the_filter():
    """A variable added to the argument spec but not to _headscale_proxy_settings would go unchecked."""
    with open(os.path.join(ROLE, "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    with open(os.path.join(ROLE, "vars", "main.yml")) as handle:
        settings = yaml.safe_load(handle)["_headscale_proxy_settings"]
    assert sorted(settings) == sorted(options)
    assert all(value == "{{ %s }}" % name for name, value in settings.items())

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OIDC in the server role: the preflight's refusals (plugins/filter/config_problems.py) and the
oidc block written for each headscale version (plugins/filter/oidc_config.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.tailnet.headscale.plugins.filter.config_problems import config_problems
from ansible_collections.tailnet.headscale.plugins.filter.oidc_config import oidc_config

SHA = "8dc183758024ed7095cf610fedea0790233613c71353bc8be2715d82ba29b92c"
CONFIG = {
    "server_url": "https://headscale.example.com", "listen_addr": "127.0.0.1:8080",
    "noise": {"private_key_path": "/var/lib/headscale/noise_private.key"},
    "node": {"expiry": "180d"},
    "database": {"type": "sqlite", "sqlite": {"path": "/var/lib/headscale/db.sqlite"}},
    "unix_socket_permission": "0770",
}
SECRET = "s3cr3t-Value-never-shown"


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "oidc-secret"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    return str(path)


def settings(secret_file, **over):
    base = {
        "headscale_version": "0.29.3", "headscale_release_checksums": {"0.29.3": {"amd64": SHA}},
        "headscale_oidc_issuer": "https://login.example.com/",
        "headscale_oidc_client_id": "headscale",
        "headscale_oidc_client_secret_file": secret_file,
        "headscale_oidc_allowed_domains": ["example.com"],
    }
    base.update(over)
    return base


def problems(secret_file, config=None, **over):
    merged = dict(CONFIG)
    merged.update(config or {})
    found = config_problems(merged, settings(secret_file, **over))
    for problem in found:
        assert SECRET not in problem
    return found


def test_a_complete_oidc_request_passes(secret_file):
    assert problems(secret_file) == []


def test_oidc_off_is_no_problem():
    assert config_problems(dict(CONFIG), {"headscale_version": "0.29.3"}) == []


@pytest.mark.parametrize("config,over,words", [
    # A secret inline, in headscale_config or an undeclared variable: refused, never shown.
    ({"oidc": {"client_secret": SECRET}}, {},
     ["headscale_config.oidc.client_secret", "value not shown", "headscale_oidc_client_secret_file"]),
    ({}, {"headscale_oidc_client_secret": SECRET}, ["headscale_oidc_client_secret is set inline", "value not shown"]),
    # An http issuer: lab only, by name.
    ({}, {"headscale_oidc_issuer": "http://login.example.com/"},
     ["'http://login.example.com/'", "not https", "headscale_oidc_allow_insecure_issuer"]),
    ({}, {"headscale_oidc_issuer": "ldap://login.example.com"}, ["'ldap://login.example.com'", "https://"]),
    ({}, {"headscale_oidc_issuer": "https://"}, ["no host"]),
    ({}, {"headscale_oidc_issuer": "https://u@login.example.com"}, ["user"]),
    # No allow-list: anyone at the provider could join.
    ({}, {"headscale_oidc_allowed_domains": []},
     ["no allow-list", "'https://login.example.com/'", "headscale_oidc_allowed_domains", "headscale_oidc_allow_any_user"]),
    ({}, {"headscale_oidc_allowed_domains": ["@example.com"]}, ["'@example.com'", "bare email domain"]),
    ({}, {"headscale_oidc_allowed_users": ["alice"]}, ["headscale_oidc_allowed_users", "'alice'", "email address"]),
    ({}, {"headscale_oidc_allowed_groups": "admins"}, ["headscale_oidc_allowed_groups must be a list"]),
    ({}, {"headscale_oidc_allowed_groups": [" admins"]}, ["headscale_oidc_allowed_groups", "blanks"]),
    ({}, {"headscale_oidc_client_id": ""}, ["headscale_oidc_client_id is empty", "/oidc/callback"]),
    ({}, {"headscale_oidc_pkce": "yes"}, ["headscale_oidc_pkce 'yes'"]),
    # Keys the role writes, set in headscale_config instead.
    ({"oidc": {"issuer": "https://other.example.com"}}, {}, ["headscale_config.oidc.issuer", "headscale_oidc_issuer"]),
    ({"oidc": {"client_secret_path": "/etc/x"}}, {}, ["headscale_config.oidc.client_secret_path", "value not shown"]),
    ({"oidc": {"allowed_users": ["a@example.com"]}}, {}, ["headscale_oidc_allowed_users"]),
    ({"oidc": {"pkce": {"enabled": False}}}, {}, ["headscale_config.oidc.pkce.enabled", "headscale_oidc_pkce"]),
    ({"oidc": {"expiry": "1d"}}, {}, ["oidc.expiry", "node.expiry"]),
])
def test_refusals_name_the_value_and_the_variable(secret_file, config, over, words):
    found = problems(secret_file, config, **over)
    assert found, "expected a refusal"
    text = " ".join(found)
    for word in words:
        assert word in text


def test_the_opt_ins_accept_what_they_name(secret_file):
    assert problems(secret_file, headscale_oidc_issuer="http://127.0.0.1:9998/",
                    headscale_oidc_allow_insecure_issuer=True) == []
    assert problems(secret_file, headscale_oidc_allowed_domains=[], headscale_oidc_allow_any_user=True) == []
    assert problems(secret_file, headscale_oidc_allowed_domains=[], headscale_oidc_allowed_groups=["/headscale"]) == []


def test_other_oidc_keys_pass_through_headscale_config(secret_file):
    assert problems(secret_file, {"oidc": {"scope": ["openid", "email"], "pkce": {"method": "S256"},
                                           "email_verified_required": True}}) == []


@pytest.mark.parametrize("make,words", [
    (lambda d: os.path.join(d, "missing"), ["does not exist on the controller", "headscale_oidc_client_secret_file"]),
    (lambda d: d, ["not a regular file"]),
    (lambda d: open(os.path.join(d, "empty"), "w").close() or os.path.join(d, "empty"), ["is empty on the controller"]),
])
def test_a_missing_or_empty_secret_file_is_refused(secret_file, tmp_path, make, words):
    found = problems(secret_file, headscale_oidc_client_secret_file=make(str(tmp_path)))
    assert len(found) == 1
    for word in words:
        assert word in found[0]


def test_an_unreadable_secret_file_is_refused(secret_file, monkeypatch):
    # The tests may run as root, who reads every file: the controller's answer is stood in for.
    from ansible_collections.tailnet.headscale.plugins.module_utils import validation
    monkeypatch.setattr(validation.os, "access", lambda path, mode: path != secret_file)
    found = problems(secret_file)
    assert len(found) == 1 and "not readable on the controller" in found[0] and secret_file in found[0]


def test_a_secret_given_where_the_path_goes_is_not_shown(secret_file):
    found = problems(secret_file, headscale_oidc_client_secret_file=SECRET)
    assert "value not shown" in found[0]


def test_oidc_variables_without_an_issuer_are_refused(secret_file):
    found = problems(secret_file, headscale_oidc_issuer="")
    assert any("headscale_oidc_client_secret_file is set but headscale_oidc_issuer is empty" in p for p in found)


def test_an_empty_secret_variable_is_no_inline_secret(secret_file):
    assert problems(secret_file, headscale_oidc_client_secret="") == []


BLOCK_SETTINGS = {
    "headscale_oidc_issuer": "https://login.example.com/", "headscale_oidc_client_id": "headscale",
    "headscale_oidc_pkce": True, "headscale_oidc_allowed_domains": ["example.com"],
    "headscale_oidc_allowed_groups": [], "headscale_oidc_allowed_users": ["bob@other.test"],
    "secret_path": "/etc/headscale/oidc_client_secret", "node_expiry": "90d",
}


def test_the_block_for_headscale_0_29_takes_expiry_from_node_expiry():
    block = oidc_config(dict(BLOCK_SETTINGS, headscale_version="0.29.3"))["oidc"]
    assert block == {
        "issuer": "https://login.example.com/", "client_id": "headscale",
        "client_secret_path": "/etc/headscale/oidc_client_secret", "pkce": {"enabled": True},
        "use_expiry_from_token": False, "allowed_domains": ["example.com"], "allowed_users": ["bob@other.test"],
    }
    # 0.29 refuses to start with oidc.expiry set (removed in favour of node.expiry).
    assert "expiry" not in block


def test_the_block_for_headscale_0_28_carries_node_expiry_as_oidc_expiry():
    block = oidc_config(dict(BLOCK_SETTINGS, headscale_version="0.28.0"))["oidc"]
    assert block["expiry"] == "90d"


def test_no_secret_ever_in_the_block():
    block = oidc_config(dict(BLOCK_SETTINGS, headscale_version="0.29.3"))["oidc"]
    assert "client_secret" not in block


def test_pkce_off_only_when_asked():
    assert oidc_config(dict(BLOCK_SETTINGS, headscale_version="0.29.3", headscale_oidc_pkce=False))["oidc"]["pkce"] == {
        "enabled": False}


def test_oidc_off_writes_nothing():
    assert oidc_config(dict(BLOCK_SETTINGS, headscale_oidc_issuer="")) == {}

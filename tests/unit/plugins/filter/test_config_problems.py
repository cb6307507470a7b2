# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server role's preflight decisions (plugins/filter/config_problems.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.tailnet.headscale.plugins.filter.config_problems import DEFAULTS, config_problems

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "server")
SHA = "8dc183758024ed7095cf610fedea0790233613c71353bc8be2715d82ba29b92c"
# The role's hardened configuration, as vars/main.yml renders it for a default host.
CONFIG = {
    "server_url": "https://headscale.example.com", "listen_addr": "127.0.0.1:8080",
    "metrics_listen_addr": "127.0.0.1:9090", "grpc_listen_addr": "127.0.0.1:50443",
    "noise": {"private_key_path": "/var/lib/headscale/noise_private.key"},
    "derp": {"server": {"enabled": True, "stun_listen_addr": "127.0.0.1:3478",
                        "private_key_path": "/var/lib/headscale/derp_server_private.key"}},
    "node": {"expiry": "180d"},
    "database": {"type": "sqlite", "sqlite": {"path": "/var/lib/headscale/db.sqlite"}},
    "dns": {"base_domain": "tailnet.internal"},
    "unix_socket_permission": "0770",
}
SETTINGS = {"headscale_version": "0.29.3", "headscale_release_checksums": {"0.29.3": {"amd64": SHA}}}


def merge(base, over):
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def problems(config=None, **settings):
    return config_problems(merge(CONFIG, config or {}), dict(SETTINGS, **settings))


def test_the_role_defaults_pass():
    assert problems() == []


def test_every_setting_the_filter_knows_is_a_role_variable_with_the_same_default():
    with open(os.path.join(ROLE, "defaults", "main.yml")) as f:
        defaults = yaml.safe_load(f)
    for name, value in DEFAULTS.items():
        # headscale_oidc_client_secret is no role variable: it is known only to be refused.
        if name not in ("headscale_version", "headscale_release_checksums", "headscale_oidc_client_secret"):
            assert defaults[name] == value, name


@pytest.mark.parametrize("config,settings,words", [
    ({"server_url": "https://"}, {}, ["'https://'", "no host"]),
    ({"server_url": "https://host/path"}, {}, ["'/path'", "https://host"]),
    ({"server_url": "https://host/"}, {}, ["https://host"]),
    ({"server_url": "https://host?x=1"}, {}, ["query"]),
    ({"server_url": "https://host:99999"}, {}, ["port"]),
    ({"server_url": "http://host"}, {}, ["headscale_allow_insecure_server_url"]),
    ({"server_url": "ftp://host"}, {}, ["server_url must start with https:// or http://"]),
    ({"server_url": ""}, {}, ["headscale_server_url is empty"]),
    ({"listen_addr": "0.0.0.0:8080"}, {}, ["'0.0.0.0:8080'", "headscale_allow_public_listeners"]),
    ({"grpc_listen_addr": "[::]:50443"}, {}, ["'[::]:50443'"]),
    ({"derp": {"server": {"stun_listen_addr": "0.0.0.0:3478"}}}, {}, ["stun_listen_addr"]),
    ({"metrics_listen_addr": "0.0.0.0:9090"}, {}, ["headscale_allow_public_metrics"]),
    ({"dns_config": {}}, {}, ["'dns_config'", "under dns"]),
    ({"oidc": {"expiry": "1d"}}, {}, ["oidc.expiry", "node.expiry"]),
    ({"dns": {"base_domain": "example.com"}}, {}, ["example.com", "headscale.example.com", "server_url cannot"]),
    ({"node": {"expiry": "ninety days"}}, {}, ["ninety days"]),
    ({"node": {"expiry": "30m1h"}}, {}, ["biggest to smallest"]),
    ({"database": {"type": "postgres"}}, {}, ["'postgres'", "headscale_allow_unsupported_database"]),
    ({"noise": {"private_key_path": "../../etc/shadow"}}, {}, ["noise.private_key_path", "'../../etc/shadow'", "/var/lib/headscale/"]),
    ({"noise": {"private_key_path": "/var/lib/headscale/../../etc/shadow"}}, {}, ["'..'"]),
    ({"derp": {"server": {"private_key_path": "/etc/derp.key"}}}, {}, ["derp.server.private_key_path"]),
    ({"database": {"sqlite": {"path": "/tmp/db.sqlite"}}}, {}, ["database.sqlite.path"]),
    ({"unix_socket_permission": "0777"}, {}, ["'0777'", "headscale_allow_open_socket_permission"]),
    ({"unix_socket_permission": "0775"}, {}, ["'0775'"]),
    ({"unix_socket_permission": 511}, {}, ["511", "quotes"]),
    ({}, {"headscale_backup_keep": -1}, ["headscale_backup_keep -1"]),
    ({}, {"headscale_backup_keep": "many"}, ["'many'", "whole number"]),
    ({}, {"headscale_health_timeout": 0}, ["headscale_health_timeout 0"]),
    ({}, {"headscale_quarantine_tag": "quarantine"}, ["'quarantine'", "tag:"]),
    ({}, {"headscale_users": [{"name": " alice "}]}, ["headscale_users[0]", "' alice '"]),
    ({}, {"headscale_users": ["alice"]}, ["headscale_users[0]", "{name: alice}"]),
    ({}, {"headscale_preauth_keys": [{"user": "alice", "expiration": "0s"}],
          "headscale_preauth_keys_secrets_file": "/tmp/k.yml"}, ["dead at birth"]),
    ({}, {"headscale_preauth_keys": [{"tags": ["server"]}], "headscale_preauth_keys_secrets_file": "/tmp/k.yml"},
     ["'server'"]),
    ({}, {"headscale_preauth_keys": [{"user": "alice"}]}, ["headscale_preauth_keys_secrets_file is empty"]),
    ({}, {"headscale_preauth_keys": [{"user": "alice"}], "headscale_preauth_keys_secrets_file": "/nonexistent/k.yml"},
     ["/nonexistent", "does not exist"]),
    ({}, {"headscale_version": "v0.29.3"}, ["'v0.29.3'"]),
    ({}, {"headscale_binary_src": "/tmp/hs"}, ["headscale_binary_sha256 is empty"]),
    ({}, {"headscale_binary_sha256": "abc"}, ["'abc'"]),
    ({}, {"headscale_release_checksums": {"0.29.3": {"amd64": "not-a-sha"}}}, ["0.29.3/amd64='not-a-sha'"]),
    ({}, {"headscale_audit_timer": True, "headscale_audit_skip": ["node-key-old", "no-such-check"]},
     ["headscale_audit_skip", "no-such-check"]),
    ({}, {"headscale_audit_timer": True, "headscale_audit_thresholds": {"max_node_key_age": "ninety days"}},
     ["headscale_audit_thresholds", "max_node_key_age"]),
    ({}, {"headscale_audit_timer": True, "headscale_audit_thresholds": {"max_age": "1d"}},
     ["unknown threshold(s) max_age"]),
    ({}, {"headscale_audit_timer_interval": 0}, ["headscale_audit_timer_interval"]),
])
def test_a_bad_request_is_named_with_its_fix(config, settings, words):
    found = problems(config, **settings)
    assert len(found) == 1, found
    for word in words:
        assert word in found[0], found


def test_opt_ins_accept_what_they_name():
    assert problems({"unix_socket_permission": "0777", "database": {"type": "postgres"}, "listen_addr": "0.0.0.0:80",
                     "metrics_listen_addr": "0.0.0.0:9090", "server_url": "http://h"},
                    headscale_allow_open_socket_permission=True, headscale_allow_unsupported_database=True,
                    headscale_allow_public_listeners=True, headscale_allow_public_metrics=True,
                    headscale_allow_insecure_server_url=True) == []


def test_the_audit_settings_are_checked_only_when_the_timer_is_on():
    assert problems({}, headscale_audit_skip=["no-such-check"], headscale_audit_thresholds={"x": 1}) == []


def test_every_problem_is_reported_at_once():
    assert len(problems({"server_url": "https://", "unix_socket_permission": "0777"}, headscale_backup_keep=0)) == 3


def test_unknown_settings_are_a_bug_in_the_caller():
    with pytest.raises(AnsibleFilterError, match="headscale_colour"):
        config_problems(CONFIG, {"headscale_colour": "red"})


LITESTREAM = dict(
    headscale_litestream=True, headscale_litestream_binary_sha256=SHA, headscale_litestream_sftp_host="10.0.0.2",
    headscale_litestream_sftp_user="replica", headscale_litestream_sftp_key_file="/ctl/key",
    headscale_litestream_sftp_host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    headscale_litestream_age_recipient="age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
)


def test_replication_with_every_setting_passes():
    assert problems(**LITESTREAM) == []
    assert problems(**dict(LITESTREAM, headscale_recover=True, headscale_recover_age_identity="/ctl/id")) == []


@pytest.mark.parametrize("settings,words", [
    (dict(headscale_litestream_binary_sha256=""), ["no sha256 is pinned for litestream 0.5.3", "headscale_litestream_binary_sha256"]),
    (dict(headscale_litestream_sftp_host=""), ["headscale_litestream_sftp_host is empty"]),
    (dict(headscale_litestream_sftp_key_file=""), ["headscale_litestream_sftp_key_file is empty"]),
    (dict(headscale_litestream_sftp_host_key="10.0.0.2 ssh-ed25519"), ["headscale_litestream_sftp_host_key", "trusts no other host"]),
    (dict(headscale_litestream_age_recipient="AGE-SECRET-KEY-1XYZ"), ["not an age public key"]),
    (dict(headscale_litestream_sync_interval="soon"), ["'soon'", "1s"]),
    (dict(headscale_litestream_sftp_port=70000), ["headscale_litestream_sftp_port 70000"]),
    (dict(headscale_recover=True), ["headscale_recover_age_identity is empty"]),
])
def test_a_bad_replication_setting_is_named_with_its_fix(settings, words):
    found = " | ".join(problems(**dict(LITESTREAM, **settings)))
    for word in words:
        assert word in found, (word, found)


# The replication settings without any SFTP one (those keep their empty defaults), and the S3 ones.
S3 = {name: value for name, value in LITESTREAM.items() if not name.startswith("headscale_litestream_sftp_")}
S3.update(
    headscale_litestream_replica_type="s3",
    headscale_litestream_s3_bucket="headscale-replica", headscale_litestream_s3_endpoint="https://s3.example.com:9000",
    headscale_litestream_s3_access_key_id="AKIAEXAMPLE", headscale_litestream_s3_secret_access_key="wJalr/K7MDENG+bPxRfiCY",
)


def test_an_s3_replica_needs_no_sftp_setting():
    assert problems(**S3) == []
    # AWS itself (no endpoint), credentials from an instance role (none given).
    assert problems(**dict(S3, headscale_litestream_s3_endpoint="", headscale_litestream_s3_access_key_id="",
                           headscale_litestream_s3_secret_access_key="")) == []
    assert problems(**dict(S3, headscale_litestream_s3_endpoint="http://10.0.0.3:8333",
                           headscale_litestream_s3_allow_http=True)) == []
    assert problems(**dict(S3, headscale_litestream_s3_path="backups/hs-1.example")) == []


@pytest.mark.parametrize("settings,words", [
    (dict(headscale_litestream_replica_type="ftp"), ["headscale_litestream_replica_type 'ftp'", "sftp, s3"]),
    (dict(headscale_litestream_s3_bucket=""), ["headscale_litestream_s3_bucket ''", "bucket name"]),
    (dict(headscale_litestream_s3_bucket="Head_Scale"), ["'Head_Scale'"]),
    (dict(headscale_litestream_s3_bucket="a..b"), ["'a..b'"]),
    (dict(headscale_litestream_s3_path="/headscale"), ["headscale_litestream_s3_path '/headscale'", "no leading"]),
    (dict(headscale_litestream_s3_path="a/../b"), ["'a/../b'"]),
    (dict(headscale_litestream_s3_path="a b"), ["'a b'"]),
    (dict(headscale_litestream_s3_region="US East"), ["headscale_litestream_s3_region 'US East'"]),
    (dict(headscale_litestream_s3_endpoint="http://10.0.0.3:8333"), ["is http", "headscale_litestream_s3_allow_http"]),
    (dict(headscale_litestream_s3_endpoint="s3.example.com"), ["'s3.example.com' is not the URL"]),
    (dict(headscale_litestream_s3_endpoint="https://s3.example.com/bucket"), ["no path"]),
    (dict(headscale_litestream_s3_endpoint="https://s3.example.com:port"), ["is not the URL"]),
    (dict(headscale_litestream_s3_secret_access_key=""), ["go together"]),
    (dict(headscale_litestream_s3_access_key_id=""), ["go together"]),
    (dict(headscale_litestream_s3_secret_access_key="has space"), ["headscale_litestream_s3_secret_access_key holds"]),
    (dict(headscale_litestream_s3_secret_access_key="dollar$sign"), ["headscale_litestream_s3_secret_access_key holds"]),
])
def test_a_bad_s3_setting_is_named_with_its_fix(settings, words):
    found = " | ".join(problems(**dict(S3, **settings)))
    for word in words:
        assert word in found, (word, found)


def test_s3_secrets_are_never_echoed():
    found = " | ".join(problems(**dict(S3, headscale_litestream_s3_secret_access_key="sec ret",
                                       headscale_litestream_s3_endpoint="https://key:pw@s3.example.com")))
    assert "sec ret" not in found and "pw@" not in found and "not shown" in found


def test_recover_without_replication_is_refused():
    assert "headscale_recover is true but headscale_litestream is false" in " ".join(problems(headscale_recover=True))

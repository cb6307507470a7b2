# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: config_problems
short_description: Everything wrong with a server role request, before the host is touched
version_added: 0.1.0
description:
  - The server role's preflight in Python. Given the effective headscale configuration (the role's
    hardened defaults with C(headscale_config) merged over them) and the role's variables, lists every
    problem found, each naming the variable, the bad value and the fix. An empty list means the
    request can go ahead.
  - Checked are the binary pins (C(headscale_version), C(headscale_binary_sha256),
    C(headscale_release_checksums)), C(server_url) (https, a host, no path), listeners and metrics off
    loopback, keys headscale removed, a C(dns.base_domain) that would shadow the server, C(node.expiry),
    the database type, key and database paths outside the state directory, C(unix_socket_permission),
    backup and timing numbers, the quarantine tag, declared users and pre-auth keys (the modules' own
    rules) and the controller file for new keys' secrets.
  - OIDC (C(headscale_oidc_*)) - a client secret given inline (in C(headscale_config.oidc.client_secret) or a
    C(headscale_oidc_client_secret) variable; never shown), an C(http://) issuer without
    C(headscale_oidc_allow_insecure_issuer), no allow-list without C(headscale_oidc_allow_any_user), a
    secret file missing, unreadable or empty on the controller, and oidc keys the role writes set in
    C(headscale_config) instead.
  - User names, tags and durations follow the same rules as the modules (module_utils/validation.py).
options:
  _input:
    description: The effective headscale configuration.
    type: dict
    required: true
  settings:
    description:
      - The role's variables, by name (C(headscale_version), C(headscale_allow_public_listeners), ...).
        Variables left out take the role's defaults.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse what the role cannot apply safely
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join(' ') }}"
  vars:
    _problems: "{{ _headscale_config_effective | tailnet.headscale.config_problems({'headscale_backup_keep': 5}) }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when there is none.
  type: list
  elements: str
"""

import posixpath
import re
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError

from ansible_collections.tailnet.headscale.plugins.module_utils import audit
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import (
    KEY_EXPIRATION_MINIMUM,
    duration_problem,
    secret_source_problem,
    secrets_file_problem,
    tag_problem,
    tags_problems,
    text_problem,
    user_name_problem,
)

STATE_DIR = "/var/lib/headscale"
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$")
LOOPBACK_RE = re.compile(r"^(127\.[0-9.]+|localhost|\[::1\]|::1)$")
# Keys headscale removed, with what replaces them.
REMOVED_KEYS = (
    ("randomize_client_port", 'set "randomizeClientPort": true at the top level of headscale_policy'),
    ("oidc.expiry", "set node.expiry instead"),
    ("acl_policy_path", "use headscale_policy (the role sets policy.path) or policy.path"),
    ("dns_config", "move its keys under dns (magic_dns, base_domain, nameservers.global, search_domains)"),
)
SQLITE_TYPES = ("sqlite", "sqlite3")
DEFAULTS = dict(
    headscale_version="",
    headscale_binary_sha256="",
    headscale_binary_src="",
    headscale_release_checksums={},
    headscale_allow_insecure_server_url=False,
    headscale_allow_public_listeners=False,
    headscale_allow_public_metrics=False,
    headscale_allow_unsupported_database=False,
    headscale_allow_open_socket_permission=False,
    headscale_backup_keep=5,
    headscale_health_timeout=30,
    headscale_registration_alert_threshold=5,
    headscale_registration_alert_window=600,
    headscale_quarantine_tag="",
    headscale_users=[],
    headscale_preauth_keys=[],
    headscale_preauth_keys_secrets_file="",
    headscale_oidc_issuer="",
    headscale_oidc_client_id="",
    headscale_oidc_client_secret_file="",
    headscale_oidc_pkce=True,
    headscale_oidc_allowed_domains=[],
    headscale_oidc_allowed_groups=[],
    headscale_oidc_allowed_users=[],
    headscale_oidc_allow_any_user=False,
    headscale_oidc_allow_insecure_issuer=False,
    # Not a role variable: a secret given inline this way is refused.
    headscale_oidc_client_secret="",
    headscale_audit_timer=False,
    headscale_audit_timer_interval=300,
    headscale_audit_top_clients=10,
    headscale_audit_thresholds={},
    headscale_audit_skip=[],
    headscale_litestream=False,
    headscale_litestream_version="0.5.3",
    headscale_litestream_binary_sha256="",
    headscale_litestream_binary_src="",
    headscale_litestream_release_checksums={},
    headscale_litestream_replica_type="sftp",
    headscale_litestream_sftp_host="",
    headscale_litestream_sftp_port=22,
    headscale_litestream_sftp_user="",
    headscale_litestream_sftp_path="/headscale",
    headscale_litestream_sftp_key_file="",
    headscale_litestream_sftp_host_key="",
    headscale_litestream_s3_bucket="",
    headscale_litestream_s3_path="headscale",
    headscale_litestream_s3_region="us-east-1",
    headscale_litestream_s3_endpoint="",
    headscale_litestream_s3_access_key_id="",
    headscale_litestream_s3_secret_access_key="",
    headscale_litestream_s3_ca_file="",
    headscale_litestream_s3_allow_http=False,
    headscale_litestream_sync_interval="1s",
    headscale_litestream_age_recipient="",
    headscale_recover=False,
    headscale_recover_age_identity="",
)
# headscale's oidc keys the role writes from its headscale_oidc_* variables: set in headscale_config
# they would bypass the role's checks (and the secret's file), so they are refused there.
OIDC_MANAGED_KEYS = (
    ("issuer", "headscale_oidc_issuer"),
    ("client_id", "headscale_oidc_client_id"),
    ("client_secret_path", "headscale_oidc_client_secret_file (the role copies it to the host and sets the path)"),
    ("allowed_domains", "headscale_oidc_allowed_domains"),
    ("allowed_groups", "headscale_oidc_allowed_groups"),
    ("allowed_users", "headscale_oidc_allowed_users"),
    ("pkce.enabled", "headscale_oidc_pkce"),
)
INLINE_SECRET_FIX = ("a secret in the inventory ends up in config.yaml, in -vvv output and in every backup of the "
                     "config. Write it to a file on the controller (mode 0600, e.g. ansible-vault encrypted) and set "
                     "headscale_oidc_client_secret_file to its path")
AGE_RECIPIENT_RE = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")
SSH_PUBLIC_KEY_RE = re.compile(r"^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$")
GO_DURATION_RE = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
S3_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
S3_PATH_RE = re.compile(r"^(?!.*(^|/)\.\.?(/|$))[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
S3_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# What a systemd EnvironmentFile line carries unquoted and unchanged.
S3_CREDENTIAL_RE = re.compile(r"^[\x21\x23\x25\x26\x28-\x5b\x5d-\x7e]+$")


def _get(config, path, default=None):
    node = config
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _is_loopback(address):
    host = re.sub(r":[0-9]*$", "", str(address).strip())
    return bool(LOOPBACK_RE.match(host))


def pin_problems(s):
    problems = []
    version = s["headscale_version"]
    if not isinstance(version, str) or not VERSION_RE.match(version):
        problems.append("headscale_version %r is not a release number such as 0.29.3 (no leading v)." % (version,))
    sha = s["headscale_binary_sha256"]
    if s["headscale_binary_src"] and not sha:
        problems.append("headscale_binary_src is set (%r) but headscale_binary_sha256 is empty; set "
                        "headscale_binary_sha256 to the file's sha256 (sha256sum FILE) so it can be verified."
                        % (s["headscale_binary_src"],))
    if sha and not SHA256_RE.match(str(sha)):
        problems.append("headscale_binary_sha256 '%s' is not a sha256 (64 hex digits)." % (sha,))
    checksums = s["headscale_release_checksums"]
    malformed = []
    if not isinstance(checksums, dict):
        malformed.append("(not a mapping of version to pins)=%r" % (checksums,))
        checksums = {}
    for pinned_version, pins in checksums.items():
        if not isinstance(pins, dict):
            malformed.append("%s/(not a mapping of architecture to sha256)='%s'" % (pinned_version, pins))
            continue
        for arch, pin in pins.items():
            if not SHA256_RE.match(str(pin)):
                malformed.append("%s/%s='%s'" % (pinned_version, arch, pin))
    if malformed:
        problems.append("headscale_release_checksums has pins that are not a sha256 (64 hex digits) per "
                        "architecture: %s" % " ".join(malformed))
    return problems


def server_url_problems(config, s):
    url = _get(config, "server_url")
    url = "" if url is None else str(url)
    if not url:
        return ["headscale_server_url is empty: set it to the https:// URL clients will reach, "
                "e.g. https://headscale.example.com"]
    if not (url.startswith("https://") or (s["headscale_allow_insecure_server_url"] and url.startswith("http://"))):
        if url.startswith("http://"):
            return ["server_url '%s' is not https: clients would send registration traffic in clear text. Use an "
                    "https:// URL (a TLS proxy in front of headscale), or for a lab only set "
                    "headscale_allow_insecure_server_url: true" % url]
        # headscale's own words first.
        return ["server_url '%s': headscale refuses it (server_url must start with https:// or http://). Use the "
                "https:// URL clients will reach, e.g. https://headscale.example.com" % url]
    parts = urlsplit(url)
    problems = []
    try:
        parts.port
    except ValueError as error:
        problems.append("server_url '%s' has a bad port (%s): use https://HOST or https://HOST:PORT" % (url, error))
    if not parts.hostname:
        problems.append("server_url '%s' has no host: clients could not reach it; use e.g. https://headscale.example.com"
                        % url)
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        problems.append("server_url '%s' has more than a scheme, host and port (%s): headscale serves at the root "
                        "of its URL and builds client URLs by appending to it; use %s://%s" % (
                            url, "a path '%s'" % parts.path if parts.path else "a query, fragment or user",
                            parts.scheme, parts.netloc.rpartition("@")[2] or "HOST"))
    return problems


def listener_problems(config, s):
    problems = []
    listeners = [("listen_addr", _get(config, "listen_addr", "")), ("grpc_listen_addr", _get(config, "grpc_listen_addr", ""))]
    if _get(config, "derp.server.enabled", False):
        listeners.append(("derp.server.stun_listen_addr", _get(config, "derp.server.stun_listen_addr", "")))
    public = ["%s '%s'" % (name, str(addr).strip()) for name, addr in listeners
              if str(addr or "").strip() and not _is_loopback(addr)]
    if public and not s["headscale_allow_public_listeners"]:
        problems.append("%s listens off loopback: keep it on 127.0.0.1 behind the TLS proxy, or set "
                        "headscale_allow_public_listeners: true to accept the exposure" % ", ".join(public))
    metrics = str(_get(config, "metrics_listen_addr", "") or "")
    if metrics.strip() and not _is_loopback(metrics) and not s["headscale_allow_public_metrics"]:
        problems.append("metrics_listen_addr '%s' is off loopback: metrics disclose the tailnet's users and nodes. "
                        "Keep it on 127.0.0.1 (scrape through a tunnel), or set headscale_allow_public_metrics: true"
                        % metrics)
    return problems


def removed_key_problems(config):
    present = ["'%s' (%s)" % (path, fix) for path, fix in REMOVED_KEYS if _get(config, path, KeyError) is not KeyError]
    if present:
        return ["headscale_config uses keys headscale removed: %s" % " ".join(present)]
    return []


def dns_problems(config):
    url = str(_get(config, "server_url") or "")
    base = str(_get(config, "dns.base_domain") or "").lower()
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    if base and host and (host == base or host.endswith("." + base)):
        reason = ("server_url cannot use the same domain as base_domain" if host == base
                  else "server_url cannot be part of base_domain")
        return ["dns.base_domain '%s' contains the server_url host '%s': headscale refuses it (%s in a way that "
                "could make the DERP and headscale server unreachable): MagicDNS would shadow the control server "
                "and clients could not reach it. Pick a base_domain outside it, e.g. tailnet.internal"
                % (base, host, reason)]
    return []


def node_expiry_problems(config):
    expiry = _get(config, "node.expiry")
    if expiry in (None, ""):
        return []
    problem = duration_problem("node.expiry", expiry, allow_zero=True)
    if problem:
        return ["%s (headscale would ignore it and never expire node keys)" % problem]
    return []


def _inside_state_dir(path):
    if not isinstance(path, str) or not path.startswith("/"):
        return False
    if ".." in path.split("/"):
        return False
    return posixpath.normpath(path).startswith(STATE_DIR + "/")


def storage_problems(config, s):
    problems = []
    db_type = str(_get(config, "database.type", "sqlite") or "sqlite")
    if db_type not in SQLITE_TYPES and not s["headscale_allow_unsupported_database"]:
        problems.append("database.type '%s' is not supported by this role: its backups, rollbacks and restores "
                        "cover the sqlite file only. Keep database.type: sqlite, or set "
                        "headscale_allow_unsupported_database: true and back the database up yourself" % db_type)
    paths = [("noise.private_key_path", _get(config, "noise.private_key_path"))]
    if _get(config, "derp.server.enabled", False) or _get(config, "derp.server.private_key_path"):
        paths.append(("derp.server.private_key_path", _get(config, "derp.server.private_key_path")))
    if db_type in SQLITE_TYPES:
        paths.append(("database.sqlite.path", _get(config, "database.sqlite.path")))
    for name, path in paths:
        if path is None:
            continue
        if not _inside_state_dir(path):
            problems.append("%s '%s' is outside %s or contains '..': headscale may write only its state directory "
                            "(ProtectSystem=strict), and backups cover only what is in it. Use a path under %s/, "
                            "e.g. %s/%s" % (name, path, STATE_DIR, STATE_DIR, STATE_DIR,
                                            posixpath.basename(str(path)) or "file"))
    mode = _get(config, "unix_socket_permission", "0770")
    if not isinstance(mode, str) or not re.match(r"^0?[0-7]{3}$", mode):
        problems.append("unix_socket_permission %r is not an octal mode in quotes such as \"0770\": headscale reads "
                        "it as an octal string, and an unquoted or malformed value becomes another mode" % (mode,))
    elif int(mode, 8) & ~0o770 and not s["headscale_allow_open_socket_permission"]:
        problems.append("unix_socket_permission '%s' lets users outside headscale's group use the CLI socket, "
                        "which has full control of the tailnet. Use \"0770\" (root and headscale_admin_group), or "
                        "set headscale_allow_open_socket_permission: true to accept the exposure" % mode)
    return problems


def number_problems(s):
    problems = []
    for name, minimum, meaning in (("headscale_backup_keep", 1, "how many backups to keep"),
                                   ("headscale_health_timeout", 1, "seconds headscale has to become healthy"),
                                   ("headscale_registration_alert_threshold", 1, "requests before a warning"),
                                   ("headscale_registration_alert_window", 1, "seconds"),
                                   ("headscale_audit_timer_interval", 10, "seconds between scheduled audits"),
                                   ("headscale_audit_top_clients", 1, "client addresses the metrics name")):
        value = s[name]
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                value = int(str(value), 10)
            except ValueError:
                problems.append("%s %r is not a whole number (%s): give e.g. %s"
                                % (name, s[name], meaning, DEFAULTS[name]))
                continue
        if value < minimum:
            problems.append("%s %r is below %d (%s): give e.g. %s" % (name, s[name], minimum, meaning, DEFAULTS[name]))
    return problems


def object_problems(s):
    problems = []
    tag = s["headscale_quarantine_tag"]
    if tag:
        problem = tag_problem(tag, "headscale_quarantine_tag")
        if problem:
            problems.append(problem)
    users = s["headscale_users"]
    if not isinstance(users, list):
        problems.append("headscale_users must be a list of {name: ...} items, got %r" % (users,))
        users = []
    for index, item in enumerate(users):
        where = "headscale_users[%d]: " % index
        if not isinstance(item, dict):
            problems.append(where + "must be a mapping with at least a name, e.g. {name: alice}, got %r" % (item,))
            continue
        if item.get("state", "present") == "present":
            found = [user_name_problem(item.get("name"), "name")]
        else:
            found = [None if item.get("name") else "name %r is empty: give the user to remove" % (item.get("name"),)]
        found += [text_problem(item.get(field), field) for field in ("display_name", "email")]
        problems.extend(where + p for p in found if p)
    keys = s["headscale_preauth_keys"]
    if not isinstance(keys, list):
        problems.append("headscale_preauth_keys must be a list of key items, got %r" % (keys,))
        keys = []
    for index, item in enumerate(keys):
        where = "headscale_preauth_keys[%d]: " % index
        if not isinstance(item, dict):
            problems.append(where + "must be a mapping such as {user: alice, expiration: 1h}, got %r" % (item,))
            continue
        found = []
        if item.get("user") is not None:
            found.append(user_name_problem(item.get("user"), "user"))
        found += tags_problems(item.get("tags"))
        if item.get("state", "present") == "present":
            found.append(duration_problem("expiration", item.get("expiration", "1h"), minimum=KEY_EXPIRATION_MINIMUM))
        if not item.get("user") and not item.get("tags"):
            found.append("a pre-auth key needs a user, tags, or both")
        problems.extend(where + p for p in found if p)
    secrets_file = s["headscale_preauth_keys_secrets_file"]
    if keys and not secrets_file:
        problems.append("headscale_preauth_keys declares %d key(s) but headscale_preauth_keys_secrets_file is empty: "
                        "set it to a controller path where the secrets of newly minted keys are written (mode 0600); "
                        "headscale shows a secret only once." % len(keys))
    elif keys:
        problem = secrets_file_problem(secrets_file)
        if problem:
            problems.append("headscale_preauth_keys_" + problem)
    return problems


def _string_list_problem(name, value, check):
    if not isinstance(value, list):
        return ["%s must be a list of strings, got %r" % (name, value)]
    problems = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or item != item.strip():
            problems.append("%s has an entry %r that is not a non-empty string without blanks around it" % (name, item))
        elif check:
            problem = check(item)
            if problem:
                problems.append("%s entry '%s' %s" % (name, item, problem))
    return problems


def _domain_problem(item):
    if "@" in item or "/" in item or " " in item:
        return "is not a bare email domain: give e.g. example.com (headscale compares the part after the @)"
    return None


def _user_problem(item):
    if item.count("@") != 1 or item.startswith("@") or item.endswith("@") or " " in item:
        return "is not an email address: headscale compares the email the provider vouches for, e.g. alice@example.com"
    return None


def oidc_problems(config, s):
    problems = []
    oidc = _get(config, "oidc", {}) or {}
    if not isinstance(oidc, dict):
        return ["headscale_config.oidc must be a mapping, got %r" % (oidc,)]
    # Secrets given inline: never shown, wherever they are.
    if oidc.get("client_secret") not in (None, ""):
        problems.append("headscale_config.oidc.client_secret is set inline (value not shown): " + INLINE_SECRET_FIX
                        + ", and remove oidc.client_secret from headscale_config.")
    if s["headscale_oidc_client_secret"] not in (None, ""):
        problems.append("headscale_oidc_client_secret is set inline (value not shown) and is no variable of this "
                        "role: " + INLINE_SECRET_FIX + ", and remove headscale_oidc_client_secret.")
    for key, fix in OIDC_MANAGED_KEYS:
        if _get(oidc, key, KeyError) is not KeyError:
            shown = "(value not shown)" if key == "client_secret_path" else repr(_get(oidc, key))
            problems.append("headscale_config.oidc.%s is set (%s): the role writes it, with its checks, from %s; "
                            "remove it from headscale_config and set that instead." % (key, shown, fix))
    issuer = s["headscale_oidc_issuer"]
    if issuer in (None, ""):
        for name in ("headscale_oidc_client_id", "headscale_oidc_client_secret_file"):
            if s[name] not in (None, ""):
                problems.append("%s is set but headscale_oidc_issuer is empty, so OIDC is off: set "
                                "headscale_oidc_issuer to the provider's https:// issuer URL to turn it on, or remove %s."
                                % (name, name))
        return problems
    issuer = str(issuer)
    try:
        parts = urlsplit(issuer)
        host = parts.hostname
        parts.port
    except ValueError as error:
        parts, host = None, None
        problems.append("headscale_oidc_issuer '%s' is not a URL (%s): give the provider's issuer, e.g. "
                        "https://login.example.com/realms/main" % (issuer, error))
    if parts is not None:
        if parts.scheme == "http" and not s["headscale_oidc_allow_insecure_issuer"]:
            problems.append("headscale_oidc_issuer '%s' is not https: the discovery document, keys and tokens that "
                            "decide who joins the tailnet would travel in clear text and could be forged on the way. "
                            "Use the provider's https:// issuer, or for a lab only set "
                            "headscale_oidc_allow_insecure_issuer: true" % issuer)
        elif parts.scheme not in ("https", "http"):
            problems.append("headscale_oidc_issuer '%s' is not an https:// URL: give the provider's issuer, e.g. "
                            "https://login.example.com/realms/main (its /.well-known/openid-configuration names it)"
                            % issuer)
        elif not host:
            problems.append("headscale_oidc_issuer '%s' has no host: give the provider's issuer, e.g. "
                            "https://login.example.com" % issuer)
        if parts.query or parts.fragment or "@" in parts.netloc:
            problems.append("headscale_oidc_issuer '%s' has a query, fragment or user: give the issuer exactly as "
                            "the provider's /.well-known/openid-configuration names it" % issuer)
    client_id = s["headscale_oidc_client_id"]
    if not isinstance(client_id, str) or not client_id.strip():
        problems.append("headscale_oidc_client_id is empty: give the client id the provider issued for headscale "
                        "(its redirect URI is the server_url followed by /oidc/callback)")
    problem = secret_source_problem(s["headscale_oidc_client_secret_file"], "headscale_oidc_client_secret_file")
    if problem:
        problems.append(problem)
    if not isinstance(s["headscale_oidc_pkce"], bool):
        problems.append("headscale_oidc_pkce %r is not true or false (PKCE binds the login to the device that "
                        "started it: keep it true unless the provider cannot do it)" % (s["headscale_oidc_pkce"],))
    problems += _string_list_problem("headscale_oidc_allowed_domains", s["headscale_oidc_allowed_domains"], _domain_problem)
    problems += _string_list_problem("headscale_oidc_allowed_groups", s["headscale_oidc_allowed_groups"], None)
    problems += _string_list_problem("headscale_oidc_allowed_users", s["headscale_oidc_allowed_users"], _user_problem)
    lists = [s[name] for name in ("headscale_oidc_allowed_domains", "headscale_oidc_allowed_groups",
                                  "headscale_oidc_allowed_users")]
    if not any(isinstance(value, list) and value for value in lists) and not s["headscale_oidc_allow_any_user"]:
        problems.append("OIDC at '%s' has no allow-list: anyone with an account at the provider could enrol devices "
                        "into the tailnet. Set headscale_oidc_allowed_domains, headscale_oidc_allowed_groups or "
                        "headscale_oidc_allowed_users, or set headscale_oidc_allow_any_user: true if every account "
                        "of that provider may join" % issuer)
    return problems


def audit_problems(s):
    """The scheduled audit's skip list and thresholds, checked as the audit module checks its own."""
    if not s["headscale_audit_timer"]:
        return []
    problems = []
    skip = s["headscale_audit_skip"]
    unknown = sorted(set(skip if isinstance(skip, list) else [skip]) - set(audit.CHECK_IDS))
    if unknown:
        problems.append("headscale_audit_skip names unknown check id(s) %s: the checks are %s"
                        % (", ".join(map(str, unknown)), ", ".join(audit.CHECK_IDS)))
    thresholds = s["headscale_audit_thresholds"]
    if not isinstance(thresholds, dict):
        return problems + ["headscale_audit_thresholds must be a mapping such as {max_node_key_age: 90d}, got %r" % (thresholds,)]
    unknown = sorted(set(thresholds) - set(audit.DEFAULT_THRESHOLDS))
    if unknown:
        problems.append("headscale_audit_thresholds names unknown threshold(s) %s: they are %s"
                        % (", ".join(map(str, unknown)), ", ".join(sorted(audit.DEFAULT_THRESHOLDS))))
    try:
        audit.thresholds_in_seconds(dict((k, v) for k, v in thresholds.items() if k in audit.DEFAULT_THRESHOLDS))
    except (ValueError, TypeError) as error:
        problems.append("headscale_audit_thresholds: %s" % error)
    return problems


def sftp_replica_problems(s):
    problems = []
    for name, example in (("headscale_litestream_sftp_host", "backup.example.com"),
                          ("headscale_litestream_sftp_user", "headscale-replica"),
                          ("headscale_litestream_sftp_path", "/headscale"),
                          ("headscale_litestream_sftp_key_file", "files/litestream_ed25519 (a 0600 file on the controller)")):
        if not s[name]:
            problems.append("headscale_litestream is on but %s is empty: set it, e.g. %s." % (name, example))
    if not SSH_PUBLIC_KEY_RE.match(str(s["headscale_litestream_sftp_host_key"] or "")):
        problems.append("headscale_litestream_sftp_host_key must be the replica host's public key, e.g. the content of "
                        "its /etc/ssh/ssh_host_ed25519_key.pub (ssh-ed25519 AAAA...): litestream trusts no other host.")
    try:
        port = int(str(s["headscale_litestream_sftp_port"]), 10)
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        problems.append("headscale_litestream_sftp_port %r is not a TCP port." % (s["headscale_litestream_sftp_port"],))
    return problems


def s3_replica_problems(s):
    problems = []
    bucket = str(s["headscale_litestream_s3_bucket"] or "")
    if not S3_BUCKET_RE.match(bucket) or ".." in bucket:
        problems.append("headscale_litestream_s3_bucket %r is not a bucket name (3-63 lower-case letters, digits, dots "
                        "and hyphens, e.g. headscale-replica); create the bucket on the store first." % (bucket,))
    path = str(s["headscale_litestream_s3_path"] or "")
    if not S3_PATH_RE.match(path):
        problems.append("headscale_litestream_s3_path %r is not a key prefix such as headscale or backups/headscale "
                        "(no leading or trailing slash, no spaces, no ..)." % (path,))
    if not S3_REGION_RE.match(str(s["headscale_litestream_s3_region"] or "")):
        problems.append("headscale_litestream_s3_region %r is not a region such as us-east-1 (stores other than AWS "
                        "usually accept us-east-1)." % (s["headscale_litestream_s3_region"],))
    endpoint = str(s["headscale_litestream_s3_endpoint"] or "")
    shown = endpoint if "@" not in endpoint else "(not shown: it holds credentials)"
    if endpoint:
        try:
            parts = urlsplit(endpoint)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment or parts.username:
            problems.append("headscale_litestream_s3_endpoint %r is not the URL of an S3 endpoint such as "
                            "https://s3.example.com:9000 (scheme, host, port; no path, no credentials)." % (shown,))
        elif parts.scheme == "http" and not s["headscale_litestream_s3_allow_http"]:
            problems.append("headscale_litestream_s3_endpoint %r is http: the database would cross the network in clear. "
                            "Use https (with headscale_litestream_s3_ca_file for a private CA), or set "
                            "headscale_litestream_s3_allow_http: true for a network you trust." % (shown,))
    key_id, secret = s["headscale_litestream_s3_access_key_id"], s["headscale_litestream_s3_secret_access_key"]
    if bool(key_id) != bool(secret):
        problems.append("headscale_litestream_s3_access_key_id and headscale_litestream_s3_secret_access_key go "
                        "together: set both (vault the secret), or neither to let litestream find credentials itself "
                        "(an instance role).")
    for name, value in (("headscale_litestream_s3_access_key_id", key_id),
                        ("headscale_litestream_s3_secret_access_key", secret)):
        if value and not S3_CREDENTIAL_RE.match(str(value)):
            # The value is a secret: never echoed.
            problems.append("%s holds whitespace, quotes, a backslash, a $ or a control character, which the "
                            "credentials file cannot carry; check the value (it is not shown here)." % name)
    return problems


def litestream_problems(config, s):
    """Replication (headscale_litestream) and recovery (headscale_recover): every input it needs, checked
    before anything changes."""
    problems = []
    if s["headscale_recover"] and not s["headscale_litestream"]:
        problems.append("headscale_recover is true but headscale_litestream is false: recovery restores the "
                        "Litestream replica; set headscale_litestream and its replica's settings "
                        "(to restore a backup directory instead, use headscale_restore_from).")
    if not s["headscale_litestream"]:
        return problems
    if str(_get(config, "database.type", "sqlite")) not in SQLITE_TYPES:
        problems.append("headscale_litestream replicates sqlite only; database.type is %r: turn headscale_litestream off."
                        % (_get(config, "database.type"),))
    version = s["headscale_litestream_version"]
    if not isinstance(version, str) or not VERSION_RE.match(version):
        problems.append("headscale_litestream_version %r is not a release number such as 0.5.3 (no leading v)." % (version,))
    sha = s["headscale_litestream_binary_sha256"]
    if sha and not SHA256_RE.match(str(sha)):
        problems.append("headscale_litestream_binary_sha256 '%s' is not a sha256 (64 hex digits)." % (sha,))
    recorded = (s["headscale_litestream_release_checksums"] or {}).get(version, {}) or {}
    if not sha and not recorded:
        problems.append("no sha256 is pinned for litestream %s: set headscale_litestream_binary_sha256 to the "
                        "binary's sha256 (sha256sum litestream), or record it per architecture in "
                        "headscale_litestream_release_checksums; the role installs no binary it cannot verify." % (version,))
    if s["headscale_litestream_binary_src"] and not sha:
        problems.append("headscale_litestream_binary_src is set (%r) but headscale_litestream_binary_sha256 is empty; "
                        "set it to the file's sha256 (sha256sum FILE)." % (s["headscale_litestream_binary_src"],))
    replica_type = s["headscale_litestream_replica_type"]
    if replica_type == "sftp":
        problems.extend(sftp_replica_problems(s))
    elif replica_type == "s3":
        problems.extend(s3_replica_problems(s))
    else:
        problems.append("headscale_litestream_replica_type %r is not one of sftp, s3." % (replica_type,))
    if not AGE_RECIPIENT_RE.match(str(s["headscale_litestream_age_recipient"] or "")):
        problems.append("headscale_litestream_age_recipient %r is not an age public key (age1..., from age-keygen): "
                        "the noise and DERP private keys leave the host only encrypted to it."
                        % (s["headscale_litestream_age_recipient"],))
    if not GO_DURATION_RE.match(str(s["headscale_litestream_sync_interval"])):
        problems.append("headscale_litestream_sync_interval %r is not a duration such as 1s or 500ms."
                        % (s["headscale_litestream_sync_interval"],))
    if s["headscale_recover"] and not s["headscale_recover_age_identity"]:
        problems.append("headscale_recover is true but headscale_recover_age_identity is empty: set it to the controller "
                        "file with the age identity of headscale_litestream_age_recipient, which decrypts the keys.")
    return problems


def config_problems(config, settings):
    if not isinstance(config, dict):
        raise AnsibleFilterError("config_problems: the configuration must be a mapping, got %r" % (config,))
    if not isinstance(settings, dict):
        raise AnsibleFilterError("config_problems: the settings must be a mapping, got %r" % (settings,))
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise AnsibleFilterError("config_problems: unknown settings %s" % ", ".join(sorted(unknown)))
    s = dict(DEFAULTS)
    s.update(settings)
    return (pin_problems(s) + server_url_problems(config, s) + listener_problems(config, s)
            + removed_key_problems(config) + dns_problems(config) + node_expiry_problems(config)
            + storage_problems(config, s) + number_problems(s) + object_problems(s) + oidc_problems(config, s)
            + audit_problems(s) + litestream_problems(config, s))


class FilterModule(object):
    def filters(self):
        return {"config_problems": config_problems}

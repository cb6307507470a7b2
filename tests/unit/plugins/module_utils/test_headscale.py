"""The shared headscale client, on output recorded from the real binaries
(fixtures/<version>/, recorded with headscale 0.28.0 and 0.29.3)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest

from ansible_collections.tailnet.headscale.plugins.module_utils import headscale as hs

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
VERSIONS = ["0.28.0", "0.29.3"]


def fixture(version, name):
    with open(os.path.join(FIXTURES, version, name)) as f:
        return f.read()


def fixture_json(version, name):
    return json.loads(fixture(version, name))


@pytest.fixture(autouse=True)
def audit_log(monkeypatch):
    """The audit records the client writes, kept here instead of the journal."""
    lines = []
    monkeypatch.setattr(hs, "write_audit", lines.append)
    return lines


class FakeModule:
    """Stands in for AnsibleModule: answers run_command from canned outputs."""

    def __init__(self, answers=None, params=None):
        self.answers = answers or {}
        self.params = params or {}
        self.commands = []

    def get_bin_path(self, name, required=False):
        return "/usr/local/bin/" + name

    def run_command(self, argv, environ_update=None):
        self.commands.append((argv, environ_update))
        for pattern, answer in self.answers.items():
            if pattern in " ".join(argv):
                return answer
        raise AssertionError("unexpected command %s" % argv)


def camel_case_future(value):
    """What headscale's next release prints: camelCase keys, string IDs."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
            out[camel] = str(item) if key == "id" else camel_case_future(item)
        return out
    if isinstance(value, list):
        return [camel_case_future(v) for v in value]
    return value


@pytest.mark.parametrize("version", VERSIONS)
def test_users_normalise_with_omitted_empty_fields(version):
    users = [hs.normalize_user(u) for u in fixture_json(version, "users_list.json")]
    alice = next(u for u in users if u["name"] == "alice")
    bob = next(u for u in users if u["name"] == "bob")
    assert alice["email"] == "alice@example.com"
    assert isinstance(alice["id"], int)
    assert bob["display_name"] == "" and bob["email"] == ""
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", alice["created_at"])


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_lists_are_null(version):
    assert json.loads(fixture(version, "users_list_empty.json")) is None
    module = FakeModule({"users list": (0, fixture(version, "users_list_empty.json"), "")})
    assert hs.HeadscaleClient(module).users() == []


@pytest.mark.parametrize("version", VERSIONS)
def test_preauth_keys_show_prefix_only_and_flags_default_false(version):
    keys = [hs.normalize_preauth_key(k) for k in fixture_json(version, "preauthkeys_list.json")]
    for key in keys:
        assert key["prefix"].startswith("hskey-auth-") and not key["prefix"].endswith("***")
        assert len(key["prefix"]) == len("hskey-auth-") + 12
        assert isinstance(key["reusable"], bool) and isinstance(key["used"], bool)
    assert any(k["reusable"] and k["ephemeral"] for k in keys)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_used_single_use_key_is_not_usable(version):
    keys = [hs.normalize_preauth_key(k) for k in fixture_json(version, "preauthkeys_list_after_use.json")]
    used = [k for k in keys if k["used"] and not k["reusable"]]
    assert used and not any(k["usable"] for k in used)


@pytest.mark.parametrize("version", VERSIONS)
def test_expired_key_is_not_usable(version):
    keys = [hs.normalize_preauth_key(k) for k in fixture_json(version, "preauthkeys_list_after_expire_delete.json")]
    assert any(k["expired"] and not k["usable"] for k in keys)


@pytest.mark.parametrize("version", VERSIONS)
def test_nodes_normalise(version):
    nodes = [hs.normalize_node(n) for n in fixture_json(version, "nodes_list_all.json")]
    node = next(n for n in nodes if n["hostname"] == "fixture-node")
    assert node["node_key"].startswith("nodekey:")
    assert node["user"] == "alice"
    assert node["register_method"] == "authkey"
    assert node["ip_addresses"][0].startswith("100.64.")


def test_go_zero_time_means_no_expiry():
    assert hs.parse_timestamp({"seconds": -62135596800}) is None
    assert hs.parse_timestamp({"seconds": 1893456000}).year == 2030


@pytest.mark.parametrize("text", ["2026-12-02T06:04:40.830770866Z", "2026-12-02T06:04:40Z", "2026-12-02T06:04:40.5Z"])
def test_the_rest_apis_utc_timestamps_parse_as_strptime_would(text):
    """The fast path for the REST API's RFC 3339 'Z' form gives what the general (strptime) path gives."""
    general = hs.parse_timestamp(text.replace("Z", "+00:00"))
    fast = hs.parse_timestamp(text)
    assert fast == general and fast.utcoffset() == general.utcoffset() and hs.iso(fast) == hs.iso(general)
    assert fast.microsecond == {"830770866": 830770, "": 0, "5": 500000}[text[20:-1]]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_rest_apis_nodes_normalise(version):
    """GET /api/v1/node (camelCase, string IDs, REGISTER_METHOD_* names) normalises to the shape of the CLI JSON."""
    rest = dict((n["name"], n) for n in (hs.normalize_node(n) for n in fixture_json(version, "api_nodes.json")["nodes"]))
    assert rest["tagged-node"]["register_method"] == "authkey" and rest["tagged-node"]["id"] == 4
    assert rest["fixture-node"]["user"] == "alice" and rest["fixture-node"]["node_key"].startswith("nodekey:")


@pytest.mark.parametrize("version", VERSIONS)
def test_next_releases_camel_case_and_string_ids_give_the_same_shape(version):
    raw = fixture_json(version, "nodes_list_all.json")
    assert [hs.normalize_node(n) for n in camel_case_future(raw)] == [hs.normalize_node(n) for n in raw]
    raw_keys = fixture_json(version, "preauthkeys_list.json")
    now = hs.utcnow()
    assert [hs.normalize_preauth_key(k, now) for k in camel_case_future(raw_keys)] == \
        [hs.normalize_preauth_key(k, now) for k in raw_keys]


@pytest.mark.parametrize("version,name,expected", [
    ("0.28.0", "users_create_alice_duplicate.stderr.txt", "UNIQUE constraint failed"),
    ("0.29.3", "users_create_alice_duplicate.stderr.txt", "UNIQUE constraint failed"),
    ("0.28.0", "server_down_users_list.stderr.txt", "Could not connect: context deadline exceeded"),
    ("0.29.3", "server_down_users_list.stderr.txt", "context deadline exceeded"),
    ("0.28.0", "preauthkeys_create_tag_without_prefix.stderr.txt", "tag must start with the string 'tag:'"),
])
def test_errors_carry_headscales_own_message(version, name, expected):
    module = FakeModule({"": (1, "", fixture(version, name))})
    with pytest.raises(hs.HeadscaleError) as caught:
        hs.HeadscaleClient(module).run("users", "list")
    assert expected in caught.value.message
    assert not caught.value.message.startswith("20")  # no log timestamp
    assert caught.value.cmd.startswith("/usr/local/bin/headscale -c /etc/headscale/config.yaml -o json")


def test_cobra_usage_text_is_trimmed_to_the_error_line():
    stderr = fixture("0.28.0", "nodes_expire_missing_identifier.stderr.txt")
    module = FakeModule({"": (1, "", stderr)})
    with pytest.raises(hs.HeadscaleError) as caught:
        hs.HeadscaleClient(module).run("nodes", "expire")
    assert "identifier" in caught.value.message
    assert "Usage" not in caught.value.message


@pytest.mark.parametrize("version", VERSIONS)
def test_secrets_are_redacted_from_commands_and_messages(version):
    secret = fixture_json(version, "preauthkeys_create_single.json")["key"]
    assert len(secret) > 40
    redacted = hs.redact("tailscale up --authkey=%s failed" % secret)
    assert secret not in redacted
    assert secret[:len("hskey-auth-") + 13] in redacted


def test_json_output_is_requested_as_two_words_with_the_config_and_c_locale():
    module = FakeModule({"users list": (0, "null", "")})
    hs.HeadscaleClient(module, config="/etc/hs.yaml").users()
    argv, env = module.commands[0]
    assert argv[:5] == ["/usr/local/bin/headscale", "-c", "/etc/hs.yaml", "-o", "json"]
    assert env["LC_ALL"] == "C"


def test_destructive_commands_always_pass_force():
    module = FakeModule({"destroy": (0, "{}", ""), "delete": (0, "{}", "")})
    client = hs.HeadscaleClient(module)
    client.destroy_user(3)
    client.delete_node(7)
    assert all(command[0][-1] == "--force" for command in module.commands)


@pytest.mark.parametrize("version,expected", [
    ("0.28.0", ["nodes", "register", "--key", "AUTHID", "--user", "alice"]),
    ("0.29.3", ["auth", "register", "--auth-id", "AUTHID", "--user", "alice"]),
])
def test_registration_approval_uses_each_versions_command(version, expected):
    register = "nodes_register.json" if version == "0.28.0" else "auth_register.json"
    module = FakeModule({
        " version": (0, fixture(version, "version.json"), ""),
        "register": (0, fixture(version, register), ""),
    })
    node = hs.HeadscaleClient(module).register_node("AUTHID", "alice")
    assert module.commands[-1][0][5:] == expected
    assert node["node_key"].startswith("nodekey:")


def test_version_is_detected_once():
    module = FakeModule({" version": (0, fixture("0.29.3", "version.json"), "")})
    client = hs.HeadscaleClient(module)
    assert client.version == (0, 29, 3)
    assert client.version == (0, 29, 3)
    assert client.calls == 1


def test_unsupported_version_is_refused_by_name():
    module = FakeModule({" version": (0, json.dumps({"version": "v0.27.1"}), "")})
    with pytest.raises(hs.HeadscaleError) as caught:
        hs.HeadscaleClient(module).version  # pylint: disable=expression-not-assigned
    assert "v0.27.1" in caught.value.message and "0.29.x" in caught.value.message


def test_every_change_is_audited_with_its_outcome_and_reads_are_not(audit_log):
    module = FakeModule({"users list": (0, "null", ""), "nodes expire": (0, "{}", ""),
                         "users create": (1, "", '{"error": "user already exists"}')})
    module._name = "tailnet.headscale.user"
    client = hs.HeadscaleClient(module)
    client.users()
    client.expire_node(4)
    with pytest.raises(hs.HeadscaleError):
        client.create_user("alice")
    assert len(audit_log) == 2, audit_log
    assert audit_log[0].startswith("module=tailnet.headscale.user by=")
    assert "action=nodes.expire target=node:4 result=ok command='nodes expire --identifier 4'" in audit_log[0]
    assert ("action=users.create target=user:alice result=failed command='users create alice'"
            " error='user already exists'") in audit_log[1]


@pytest.mark.parametrize("args, action, target", [
    (["users", "create", "alice", "--display-name", "Alice"], "users.create", "user:alice"),
    (["users", "destroy", "--identifier", "3"], "users.destroy", "user:3"),
    (["users", "rename", "--identifier", "3", "--new-name", "bob"], "users.rename", "user:3"),
    (["preauthkeys", "create", "--expiration", "1h", "--user", "2", "--reusable"], "preauthkeys.create", "user:2"),
    (["preauthkeys", "create", "--expiration", "1h", "--tags", "tag:web"], "preauthkeys.create", "tags:tag:web"),
    (["preauthkeys", "expire", "--id", "7"], "preauthkeys.expire", "preauthkey:7"),
    (["auth", "register", "--auth-id", "hskey-authreq-abc", "--user", "alice"], "auth.register",
     "registration:hskey-authreq-abc"),
    (["nodes", "register", "--key", "abc", "--user", "alice"], "nodes.register", "registration:abc"),
    (["nodes", "rename", "--identifier", "5", "web-two"], "nodes.rename", "node:5"),
    (["nodes", "delete", "--identifier", "5"], "nodes.delete", "node:5"),
    (["policy", "set", "--file", "/etc/headscale/policy.hujson"], "policy.set", "policy"),
])
def test_each_audit_record_names_the_action_and_its_target(audit_log, args, action, target):
    module = FakeModule({" ".join(args[:2]): (0, "{}", "")})
    module._name = "tailnet.headscale.node"
    hs.HeadscaleClient(module).run(*args)
    assert " action=%s target=%s result=ok " % (action, target) in audit_log[0], audit_log


@pytest.mark.parametrize("version", VERSIONS)
def test_a_minted_secret_never_reaches_the_audit_trail(audit_log, version):
    created = fixture(version, "preauthkeys_create_single.json")
    module = FakeModule({"preauthkeys create": (0, created, "")})
    key = hs.HeadscaleClient(module).create_preauth_key(user_id=1)
    assert key["key"] and audit_log
    assert key["key"] not in " ".join(audit_log)

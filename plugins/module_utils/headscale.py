# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one place that talks to headscale.

Every module of this collection goes through HeadscaleClient: it runs the
headscale CLI over the local unix socket (no API key to manage), parses its
JSON and normalises it to one internal shape. Differences between headscale
versions (command names, flags, JSON spelling) are handled here and only here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import pwd
import re
import syslog
import tempfile

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.tailnet.headscale.plugins.module_utils.host_lock import LockBusy, LockWaited, ModuleLock

SUPPORTED_MINORS = ((0, 28), (0, 29))
DEFAULT_CONFIG = "/etc/headscale/config.yaml"
DEFAULT_BINARY = "headscale"

# Go's zero time, which headscale prints for "no expiry" in some versions.
GO_ZERO_TIME_SECONDS = -62135596800

REGISTER_METHODS = {0: "unspecified", 1: "authkey", 2: "cli", 3: "oidc",
                    # The REST API spells them out.
                    "REGISTER_METHOD_UNSPECIFIED": "unspecified", "REGISTER_METHOD_AUTH_KEY": "authkey",
                    "REGISTER_METHOD_CLI": "cli", "REGISTER_METHOD_OIDC": "oidc"}

# A pre-auth key is hskey-auth-<12 char prefix>-<secret>, an API key hskey-api-<12 char prefix>-<secret>;
# lists show the prefix only.
_KEY_SECRET_RE = re.compile(r"(hskey-(?:auth|api)-[A-Za-z0-9_-]{12}-)[A-Za-z0-9_-]{8,}")
API_KEY_PREFIX_RE = re.compile(r"\A[A-Za-z0-9_-]{7,32}\Z")
_RPC_ERROR_RE = re.compile(r"rpc error: code = (\w+) desc = (.*)", re.S)
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])([A-Z])")
# A zerolog line: "2026-11-22T06:51:08Z FTL path/file.go:124 > message key=value"
_LOG_LINE_RE = re.compile(r"^\S+ (?:FTL|ERR|WRN|INF|DBG|TRC) (?:\S+ )?> (.*)$")

# Every change this collection makes lands in the host's journal under this
# identifier (journalctl -t tailnet-headscale): what, who, and how it ended.
AUDIT_IDENTIFIER = "tailnet-headscale"
# Commands that only read; every other command changes the server and is audited.
_READ_ONLY_COMMANDS = (("users", "list"), ("nodes", "list"), ("preauthkeys", "list"), ("version",), ("health",),
                       ("policy", "get"), ("apikeys", "list"))

COMMON_ARGUMENT_SPEC = dict(
    headscale_binary=dict(type="path", default=DEFAULT_BINARY),
    headscale_config=dict(type="path", default=DEFAULT_CONFIG),
)

# The modules that change headscale's state take the host lock (module_utils/host_lock.py).
LOCK_ARGUMENT_SPEC = dict(
    lock_timeout=dict(type="int", default=600),
    lock_run=dict(type="str"),
)


class HeadscaleError(Exception):
    """A headscale command failed; message is headscale's own, cmd is redacted."""

    def __init__(self, message, cmd=None, rc=None, code=None):
        super(HeadscaleError, self).__init__(message)
        self.message = message
        self.cmd = cmd
        self.rc = rc
        self.code = code


def redact(text):
    """Hide pre-auth key secrets, keeping the public prefix headscale lists."""
    if text is None:
        return text
    return _KEY_SECRET_RE.sub(r"\1***", to_native(text))


_SNAKE = {}


def _snake(key):
    # The next headscale release switches its JSON to camelCase. The same few keys come back for every
    # node (the inventory plugin normalises thousands): each is converted once.
    if key not in _SNAKE:
        _SNAKE[key] = _CAMEL_RE.sub(r"_\1", key).lower()
    return _SNAKE[key]


def _snake_keys(value):
    # Called on every node of a list thousands long: scalars (most values) are not recursed into.
    if isinstance(value, dict):
        return {_SNAKE.get(k) or _snake(k): _snake_keys(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def changes_server(args):
    words = tuple(to_native(a) for a in args if not to_native(a).startswith("-"))
    return not any(words[:len(command)] == command for command in _READ_ONLY_COMMANDS)


# The flag naming the object a command acts on, and what that object is
# ("users destroy --identifier 3" acts on user:3).
_TARGET_FLAGS = (("--identifier", None), ("--id", None), ("--prefix", None), ("--auth-id", "registration"),
                 ("--key", "registration"), ("--user", "user"), ("--tags", "tags"))


def audit_action_target(args):
    """What a command does and to what, as an admin would filter for them:
    ("nodes.delete", "node:5"), ("users.create", "user:alice"), ("policy.set", "policy")."""
    args = [to_native(a) for a in args]
    words = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
    noun = words[0] if words else ""
    kind = {"users": "user", "nodes": "node", "preauthkeys": "preauthkey", "apikeys": "apikey"}.get(noun, noun)
    action = ".".join(words[:2])
    for flag, flag_kind in _TARGET_FLAGS:
        if flag in args[:-1]:
            return action, "%s:%s" % (flag_kind or kind, args[args.index(flag) + 1])
    if len(words) > 2:  # "users create alice"
        return action, "%s:%s" % (kind, words[2])
    return action, kind


def audit_line(module_name, args, outcome, detail=None):
    """One audit record: module, who ran it, the action and its target, the
    (redacted) command and its outcome."""
    who = os.environ.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name
    action, target = audit_action_target(args)
    line = "module=%s by=%s action=%s target=%s result=%s command=%r" % (
        module_name, who, action, redact(target), outcome, redact(" ".join(to_native(a) for a in args)))
    if detail:
        line += " error=%r" % redact(detail)[:300]
    return line


def write_audit(line):
    syslog.openlog(AUDIT_IDENTIFIER, syslog.LOG_PID, syslog.LOG_AUTH)
    syslog.syslog(syslog.LOG_NOTICE, line)
    syslog.closelog()


def read_private_json(path):
    """A state file the modules keep on the server host; None when it does not exist yet."""
    if not os.path.exists(path):
        return None
    with open(path) as state:
        return json.load(state)


def write_private_json(path, data):
    """Replace PATH atomically with DATA as JSON, readable by root only (directory 0700 if new)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory)
    with os.fdopen(fd, "w") as state:
        json.dump(data, state, indent=1, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


_RFC3339_UTC_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z\Z")


def parse_timestamp(value):
    """{seconds, nanos} (or an RFC 3339 string) to an aware UTC datetime; None for 'never'."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        seconds = int(value.get("seconds", 0))
        if seconds <= GO_ZERO_TIME_SECONDS:
            return None
        nanos = int(value.get("nanos", 0))
        return datetime.datetime(1970, 1, 1, tzinfo=_UTC) + datetime.timedelta(seconds=seconds, microseconds=nanos // 1000)
    text = to_native(value)
    if text.startswith("0001-01-01"):
        return None
    utc = _RFC3339_UTC_RE.match(text)
    if utc:
        # The REST API's form (2026-12-02T06:04:40.830770866Z), without strptime's cost.
        fields = [int(part) for part in utc.groups()[:6]]
        return datetime.datetime(*fields, microsecond=int((utc.group(7) or "0")[:6].ljust(6, "0")), tzinfo=_UTC)
    text = re.sub(r"\.(\d{6})\d*", r".\1", text.replace("Z", "+00:00"))
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.datetime.strptime(text.replace("+00:00", "+0000"), fmt)
        except ValueError:
            continue
    raise ValueError("unrecognised timestamp %r" % (value,))


class _UTCZone(datetime.tzinfo):
    def utcoffset(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return "UTC"

    def dst(self, dt):
        return datetime.timedelta(0)


_UTC = _UTCZone()


def utcnow():
    return datetime.datetime.now(_UTC)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def _int(value):
    # IDs are JSON numbers today and strings in headscale's next release.
    return int(value) if value not in (None, "") else None


def normalize_user(raw):
    raw = _snake_keys(raw or {})
    return dict(
        id=_int(raw.get("id")),
        name=raw.get("name", ""),
        display_name=raw.get("display_name", ""),
        email=raw.get("email", ""),
        provider=raw.get("provider", ""),
        created_at=iso(parse_timestamp(raw.get("created_at"))),
    )


def normalize_preauth_key(raw, now=None):
    raw = _snake_keys(raw or {})
    now = now or utcnow()
    expiration = parse_timestamp(raw.get("expiration"))
    user = normalize_user(raw["user"]) if raw.get("user") else None
    key = dict(
        id=_int(raw.get("id")),
        user=user["name"] if user else None,
        user_id=user["id"] if user else None,
        # Lists only ever show the prefix; the secret is returned once, at creation.
        prefix=redact(raw.get("key", "")).replace("-***", ""),
        reusable=bool(raw.get("reusable", False)),
        ephemeral=bool(raw.get("ephemeral", False)),
        used=bool(raw.get("used", False)),
        tags=sorted(raw.get("acl_tags") or raw.get("tags") or []),
        expiration=iso(expiration),
        created_at=iso(parse_timestamp(raw.get("created_at"))),
    )
    key["expired"] = expiration is not None and expiration <= now
    key["usable"] = not key["expired"] and (key["reusable"] or not key["used"])
    return key


def normalize_node(raw, now=None):
    raw = _snake_keys(raw or {})
    now = now or utcnow()
    expiry = parse_timestamp(raw.get("expiry"))
    user = raw.get("user")  # already snake_case: only its name and id are kept
    tags = sorted(set((raw.get("tags") or []) + (raw.get("forced_tags") or []) + (raw.get("valid_tags") or [])))
    pre_auth_key = raw.get("pre_auth_key")
    return dict(
        id=_int(raw.get("id")),
        name=raw.get("given_name") or raw.get("name", ""),
        hostname=raw.get("name", ""),
        user=user.get("name", "") if user else None,
        user_id=_int(user.get("id")) if user else None,
        node_key=raw.get("node_key", ""),
        machine_key=raw.get("machine_key", ""),
        ip_addresses=raw.get("ip_addresses") or [],
        tags=tags,
        online=bool(raw.get("online", False)),
        register_method=REGISTER_METHODS.get(raw.get("register_method", 0), str(raw.get("register_method"))),
        pre_auth_key_id=_int(pre_auth_key.get("id")) if pre_auth_key else None,
        approved_routes=sorted(raw.get("approved_routes") or []),
        available_routes=sorted(raw.get("available_routes") or []),
        created_at=iso(parse_timestamp(raw.get("created_at"))),
        last_seen=iso(parse_timestamp(raw.get("last_seen"))),
        expiry=iso(expiry),
        expired=expiry is not None and expiry <= now,
    )


def api_key_prefix(text):
    """The prefix headscale's `apikeys expire --prefix` takes, from the prefix as `apikeys list` shows it
    (hskey-api-PREFIX-***) or as given (PREFIX, hskey-api-PREFIX)."""
    text = to_native(text or "")
    if text.startswith("hskey-api-"):
        text = text[len("hskey-api-"):]
    for tail in ("-***", "***"):
        if text.endswith(tail):
            text = text[:-len(tail)]
    return text


def normalize_api_key(raw, now=None):
    raw = _snake_keys(raw or {})
    now = now or utcnow()
    expiration = parse_timestamp(raw.get("expiration"))
    created = parse_timestamp(raw.get("created_at"))
    key = dict(
        id=_int(raw.get("id")),
        # Lists only ever show the prefix; the secret is printed once, by `apikeys create`.
        prefix=redact(raw.get("prefix", "")).replace("-***", "").replace("***", ""),
        expiration=iso(expiration),
        created_at=iso(created),
        last_seen=iso(parse_timestamp(raw.get("last_seen"))),
    )
    key["expired"] = expiration is not None and expiration <= now
    key["age_seconds"] = int((now - created).total_seconds()) if created else None
    return key


def parse_version(text):
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text or "")
    if not match:
        return None
    return tuple(int(part) for part in match.groups())


class HeadscaleClient(object):
    """Runs `headscale -c CONFIG -o json ...` and returns normalised data.

    module: the AnsibleModule (run_command is used: argument list, no shell).
    """

    def __init__(self, module, binary=None, config=None):
        self.module = module
        self.binary = binary or module.params.get("headscale_binary") or DEFAULT_BINARY
        self.config = config or module.params.get("headscale_config") or DEFAULT_CONFIG
        self.calls = 0
        self.module_name = getattr(module, "_name", None) or "unknown"
        # Replaceable in tests; the journal otherwise.
        self.audit = write_audit
        self._version = None
        self._binary_path = None
        # Taken (if free) before the call reads anything; waited for before its first change. Never in check mode.
        self.lock = None
        self._lock_warned = False
        params = getattr(module, "params", None) or {}
        if "lock_timeout" in params and not getattr(module, "check_mode", False):
            self.lock = ModuleLock(params["lock_timeout"], params.get("lock_run"), label="tailnet.headscale.%s call (PID %d)"
                                   % (self.module_name.split(".")[-1], os.getpid()))
            self.lock.start()

    def before_change(self):
        """Call before anything changes (a CLI command that changes the server, a state file written)."""
        if self.lock is not None:
            if self.lock.unavailable and not self._lock_warned:
                self._lock_warned = True
                self.module.warn("%s; this call goes ahead without it. Run it with become to serialise it with "
                                 "the server role and other calls." % self.lock.unavailable)
            self.lock.before_change()

    # --- running the CLI -------------------------------------------------

    def _argv(self, args, force):
        if self._binary_path is None:
            found = self.module.get_bin_path(self.binary, required=False)
            if not found:
                raise HeadscaleError("headscale binary %r not found: is headscale installed here, or is headscale_binary wrong?"
                                     % self.binary)
            self._binary_path = found
        # Global flags first (some subcommands reject -c after them); "-o", "json"
        # as two words, or headscale does not silence its log lines.
        argv = [self._binary_path, "-c", self.config, "-o", "json"] + [to_native(a) for a in args]
        if force:
            # Without --force a destructive command prompts, reads EOF, and
            # exits 0 having done nothing.
            argv.append("--force")
        return argv

    def run(self, *args, **kwargs):
        """Run one CLI command; return its parsed JSON (None for `null`)."""
        force = kwargs.pop("force", False)
        argv = self._argv(args, force)
        audited = changes_server(args)
        if audited:
            self.before_change()
        self.calls += 1
        rc, out, err = self.module.run_command(argv, environ_update=dict(LC_ALL="C", LANG="C"))
        shown = redact(" ".join(argv))
        if rc != 0:
            message, code = self._error_message(err, out)
            if audited:
                self.audit(audit_line(self.module_name, args, "failed", message))
            raise HeadscaleError(message, cmd=shown, rc=rc, code=code)
        if audited:
            self.audit(audit_line(self.module_name, args, "ok"))
        out = (out or "").strip()
        if not out:
            return None
        try:
            return json.loads(out)
        except ValueError:
            raise HeadscaleError("headscale printed something that is not JSON: %s" % redact(out[:500]), cmd=shown, rc=rc)

    @staticmethod
    def _error_message(err, out):
        err = redact((err or "").strip())
        message = err
        try:
            # 0.29 prints every error as {"error": "..."}; 0.28 only some.
            message = json.loads(err)["error"]
        except (ValueError, KeyError, TypeError):
            lines = [line for line in err.splitlines() if line.strip()]
            # Cobra appends usage text after "Error: ..."; the log format puts the message last.
            errors = [line for line in lines if line.startswith("Error:")]
            if errors:
                message = errors[0][len("Error:"):].strip()
            elif lines:
                log_line = _LOG_LINE_RE.match(lines[-1])
                message = log_line.group(1) if log_line else lines[-1]
            elif out:
                message = redact(out.strip())
            else:
                message = "headscale failed without a message"
        match = _RPC_ERROR_RE.search(message)
        code = match.group(1) if match else None
        return message.strip(), code

    # --- version -----------------------------------------------------------

    @property
    def version(self):
        """The (major, minor, patch) of the local headscale binary, detected once."""
        if self._version is None:
            data = self.run("version")
            text = data.get("version") if isinstance(data, dict) else to_native(data)
            version = parse_version(text)
            if version is None:
                raise HeadscaleError("cannot tell the headscale version from %r" % (text,))
            if version[:2] not in SUPPORTED_MINORS:
                raise HeadscaleError(
                    "headscale %s is not supported by this collection (supported: %s)"
                    % (text, ", ".join("%d.%d.x" % minor for minor in SUPPORTED_MINORS))
                )
            self._version = version
        return self._version

    @property
    def version_string(self):
        return "%d.%d.%d" % self.version

    def health(self):
        return self.run("health") or {}

    # --- users -------------------------------------------------------------

    def users(self):
        return [normalize_user(u) for u in self.run("users", "list") or []]

    def user(self, name):
        for user in self.users():
            if user["name"] == name:
                return user
        return None

    def create_user(self, name, display_name=None, email=None):
        args = ["users", "create", name]
        if display_name:
            args += ["--display-name", display_name]
        if email:
            args += ["--email", email]
        return normalize_user(self.run(*args))

    def rename_user(self, user_id, new_name):
        return normalize_user(self.run("users", "rename", "--identifier", str(user_id), "--new-name", new_name))

    def destroy_user(self, user_id):
        self.run("users", "destroy", "--identifier", str(user_id), force=True)

    # --- pre-auth keys -----------------------------------------------------

    def preauth_keys(self):
        now = utcnow()
        return [normalize_preauth_key(k, now) for k in self.run("preauthkeys", "list") or []]

    def create_preauth_key(self, user_id=None, reusable=False, ephemeral=False, expiration="1h", tags=None):
        """Mint a key; the returned dict has the secret under 'key' (shown only once)."""
        args = ["preauthkeys", "create", "--expiration", expiration]
        if user_id is not None:
            # Both supported versions take the numeric user ID here.
            args += ["--user", str(user_id)]
        if reusable:
            args.append("--reusable")
        if ephemeral:
            args.append("--ephemeral")
        if tags:
            args += ["--tags", ",".join(tags)]
        raw = self.run(*args)
        key = normalize_preauth_key(raw)
        key["key"] = raw.get("key")
        return key

    def expire_preauth_key(self, key_id):
        self.run("preauthkeys", "expire", "--id", str(key_id))

    def delete_preauth_key(self, key_id):
        self.run("preauthkeys", "delete", "--id", str(key_id))

    # --- API keys ----------------------------------------------------------

    def api_keys(self):
        now = utcnow()
        return [normalize_api_key(k, now) for k in self.run("apikeys", "list") or []]

    def create_api_key(self, expiration):
        """Mint an API key; returns (its entry in a fresh listing, the secret - printed only this once, that
        listing). Both supported versions print the bare secret as a JSON string and nothing else."""
        secret = self.run("apikeys", "create", "--expiration", expiration)
        if not isinstance(secret, str) or not secret.startswith("hskey-api-"):
            raise HeadscaleError("headscale minted an API key but printed %r instead of its secret: expire the newest "
                                 "key (tailnet.headscale.apikey state=absent)" % redact(to_native(secret))[:80])
        prefix = redact(secret).replace("-***", "")
        listing = self.api_keys()
        entry = next((k for k in listing if k["prefix"] == prefix), None)
        if entry is None:
            raise HeadscaleError("headscale minted API key %s but does not list it" % prefix)
        return dict(entry), secret, listing

    def expire_api_key(self, key_id):
        self.run("apikeys", "expire", "--id", str(key_id))

    def delete_api_key(self, key_id):
        self.run("apikeys", "delete", "--id", str(key_id))

    # --- nodes -------------------------------------------------------------

    def nodes(self, user=None):
        args = ["nodes", "list"]
        if user:
            args += ["--user", user]
        now = utcnow()
        return [normalize_node(n, now) for n in self.run(*args) or []]

    def register_node(self, auth_id, user):
        """Approve a pending interactive registration for USER (by name)."""
        if self.version[:2] >= (0, 29):
            raw = self.run("auth", "register", "--auth-id", auth_id, "--user", user)
        else:
            raw = self.run("nodes", "register", "--key", auth_id, "--user", user)
        return normalize_node(raw)

    def reject_registration(self, auth_id):
        if self.version[:2] < (0, 29):
            raise HeadscaleError("headscale %s cannot reject a pending registration (added in 0.29)" % self.version_string)
        self.run("auth", "reject", "--auth-id", auth_id)

    def expire_node(self, node_id):
        return normalize_node(self.run("nodes", "expire", "--identifier", str(node_id)))

    def rename_node(self, node_id, name):
        return normalize_node(self.run("nodes", "rename", "--identifier", str(node_id), name))

    def tag_node(self, node_id, tags):
        return normalize_node(self.run("nodes", "tag", "--identifier", str(node_id), "--tags", ",".join(tags)))

    def approve_routes(self, node_id, routes):
        return normalize_node(self.run("nodes", "approve-routes", "--identifier", str(node_id), "--routes", ",".join(routes)))

    def delete_node(self, node_id):
        self.run("nodes", "delete", "--identifier", str(node_id), force=True)


def under_lock(module, client, body):
    """Run body() - read, plan, change - the way the host lock asks (host_lock.ModuleLock): once more if the lock
    was taken only after another run released it, and refused with nothing changed, naming the holder, if that
    run kept it for the whole lock_timeout."""
    try:
        try:
            return body()
        except LockWaited:
            return body()
    except LockBusy as busy:
        module.fail_json(msg=str(busy), changed=False, holder=busy.holder, cli_calls=client.calls)


def fail_from_error(module, error, **result):
    """fail_json with headscale's own message and the (redacted) command."""
    msg = error.message
    if error.cmd:
        msg = "%s (command: %s)" % (msg, error.cmd)
    module.fail_json(msg=msg, cmd=error.cmd, rc=error.rc, **result)

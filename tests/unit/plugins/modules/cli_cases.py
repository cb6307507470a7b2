# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run a module on recorded headscale CLI output, from cases written in YAML.

In the manner of community.general's tests/unit/plugins/modules/uthelper.py:
each file cases/<module>.yaml holds the cases of one module, and each case
runs once per headscale version it names (both by default):

    module: user
    cases:
      - id: create a missing user
        input: {name: carol}            # the module's parameters
        check: false                    # check mode (default false)
        now: "2026-11-22T07:00:00Z"     # what utcnow() returns (default NOW)
        files:                          # state files the module reads, made in a
          registrations_file: {}        # temporary directory; the option points there
        run:                            # every CLI call the module must make, in order
          - cmd: users list             # argv after "headscale -c CONFIG -o json"
            fixture: users_list         # recorded rc, stdout and stderr (fixtures/<version>/index.json)
          - cmd: users create carol
            out: {id: 3, name: carol}   # or made up inline: rc (0), out (JSON or text), err
          - argv: [/usr/bin/journalctl, --unit=headscale.service]
                                        # a command that is not headscale: its whole argv
            out: ""                     # (get_bin_path finds journalctl in /usr/bin)
        output:                         # a subset of the module's result, compared exactly
                                        # ("{tmp}": the case's temporary directory)
          changed: true
          actions: [create user carol]
        warnings: []                    # module.warn() calls (compared when given)
        sleeps: [3]                     # the module's time.sleep() calls, in seconds (compared
                                        # when given; never slept, so units stay fast). The
                                        # module's time.time() is `now`.
        files_after:                    # the state files after the run (subset; null: not written)
          registrations_file: {}
        action: true                    # run the result through the module's action plugin too

Where `action` is true, output is compared with what the action plugin makes
of the module's result (the plugin gets it from a stubbed _execute_module).

Any mapping in a case whose keys are all headscale versions is replaced by
the value for the version being run (for example `cmd: {0.28.0: ..., 0.29.3:
...}`). In a list (a run step) a mapping that does not name the version drops
out; anywhere else that is an error (`versions: [0.29.3]` limits a case). The
commands a case lists are the exact commands the module may run: one more,
one fewer or one different fails the case.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import copy
import importlib
import json
import os
import re
import shlex
import time
from unittest import mock

import pytest
import yaml

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.tailnet.headscale.plugins.module_utils import headscale as hs
from ansible_collections.tailnet.headscale.plugins.module_utils import host_lock

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
FIXTURES = os.path.join(os.path.dirname(HERE), "module_utils", "fixtures")
VERSIONS = ("0.28.0", "0.29.3")
# Ten minutes after the fixtures were recorded (2026-11-22, 06:47 and 06:50 UTC):
# the keys they minted with a 1 h expiry are still valid then.
NOW = "2026-11-22T07:00:00Z"
BINARY = "/usr/bin/headscale"
# Options whose value is a file the module reads or writes.
FILE_OPTIONS = ("registrations_file", "ledger_file", "headscale_config", "secrets_file")


class _Clock(object):
    """The time module as a module sees it in a case: time() is the case's now, sleep() is recorded."""

    def __init__(self, now, sleeps):
        self._now = now
        self.sleep = sleeps.append

    def time(self):
        return calendar.timegm(self._now.utctimetuple())


class ModuleExit(Exception):
    def __init__(self, result):
        super(ModuleExit, self).__init__(result)
        self.result = result


def _index(version):
    with open(os.path.join(FIXTURES, version, "index.json")) as index:
        return dict((entry["name"], entry) for entry in json.load(index))


_INDEXES = {}


def recorded(version, name):
    """rc, stdout and stderr of recorded call NAME of VERSION."""
    if version not in _INDEXES:
        _INDEXES[version] = _index(version)
    entry = _INDEXES[version].get(name)
    if entry is None:
        raise AssertionError("no recorded call %r for headscale %s" % (name, version))

    def read(filename):
        if not filename:
            return ""
        with open(os.path.join(FIXTURES, version, filename)) as f:
            return f.read()

    return entry["rc"], read(entry["stdout_file"]), read(entry["stderr_file"])


def for_version(value, version, in_list=False):
    """VALUE with every {version: x} mapping replaced by x. In a list, a mapping
    that does not name VERSION drops out (a step only one version takes);
    anywhere else that is an error: `versions:` runs a case on fewer versions."""
    if isinstance(value, dict):
        if value and all(str(k) in VERSIONS for k in value):
            picked = dict((str(k), v) for k, v in value.items())
            if version in picked:
                return for_version(picked[version], version)
            if in_list:
                return OMIT
            raise AssertionError("%r names no value for headscale %s" % (value, version))
        return dict((key, for_version(item, version)) for key, item in value.items())
    if isinstance(value, list):
        return [item for item in (for_version(item, version, True) for item in value) if item is not OMIT]
    return value


OMIT = object()


def load(module_name):
    """pytest params (case, version) of cases/MODULE_NAME.yaml."""
    with open(os.path.join(CASES, module_name + ".yaml")) as f:
        spec = yaml.safe_load(f)
    assert spec["module"] == module_name
    params = []
    seen = set()
    for case in spec["cases"]:
        assert case["id"] not in seen, "case id %r is used twice" % case["id"]
        seen.add(case["id"])
        unknown = set(case) - set(("id", "input", "check", "now", "files", "run", "output", "warnings",
                                   "files_after", "versions", "binary_missing", "action", "sleeps"))
        assert not unknown, "case %r has unknown keys %s" % (case["id"], sorted(unknown))
        for version in case.get("versions", VERSIONS):
            params.append(pytest.param(spec["module"], for_version(case, version), version,
                                       id="%s-%s" % (case["id"], version)))
    return params


def expected_calls(case, version, prefix):
    calls = []
    for step in case.get("run") or []:
        unknown = set(step) - set(("cmd", "argv", "fixture", "rc", "out", "err"))
        assert not unknown, "run step %r has unknown keys %s (a comma in a flow mapping?)" % (step.get("cmd"), sorted(unknown))
        assert ("cmd" in step) != ("argv" in step), "run step %r needs cmd or argv, not both" % step
        if "argv" in step:
            assert "fixture" not in step, "recorded calls are headscale's: argv %r takes out/rc/err" % step["argv"]
            argv = step["argv"]
        else:
            argv = step["cmd"] if isinstance(step["cmd"], list) else shlex.split(step["cmd"])
        if "fixture" in step:
            rc, out, err = recorded(version, step["fixture"])
        else:
            out = step.get("out", "")
            if not isinstance(out, str):
                out = json.dumps(out)
            rc, err = step.get("rc", 0), step.get("err", "")
        calls.append((([] if "argv" in step else prefix) + [str(a) for a in argv], rc, out, err))
    return calls


def assert_subset(expected, actual, path="result"):
    if isinstance(expected, dict):
        assert isinstance(actual, dict), "%s: expected a dict, got %r" % (path, actual)
        for key, value in expected.items():
            assert key in actual, "%s: no key %r in %r" % (path, key, sorted(actual))
            assert_subset(value, actual[key], "%s.%s" % (path, key))
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), \
            "%s: expected %d items, got %r" % (path, len(expected), actual)
        for index, (want, got) in enumerate(zip(expected, actual)):
            assert_subset(want, got, "%s[%d]" % (path, index))
    else:
        assert expected == actual, "%s: expected %r, got %r" % (path, expected, actual)


def _set_module_args(monkeypatch, args):
    try:  # ansible-core 2.19 and later
        from ansible.module_utils.testing import patch_module_args
    except ImportError:
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
        return None
    return patch_module_args(args)


def run_case(module_name, case, version, monkeypatch, tmp_path):
    """Run the module on the case; return its result (failed ones included)."""
    module = importlib.import_module("ansible_collections.tailnet.headscale.plugins.modules." + module_name)
    args = copy.deepcopy(case.get("input") or {})
    for option, content in (case.get("files") or {}).items():
        assert option in FILE_OPTIONS, "files: %s is not a file option" % option
        path = str(tmp_path / option)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        args[option] = path
    for option in FILE_OPTIONS:
        if option in args and not os.path.isabs(args[option]):
            args[option] = str(tmp_path / args[option])
    args["_ansible_check_mode"] = bool(case.get("check", False))
    args["_ansible_diff"] = True

    binary = args.get("headscale_binary", BINARY)
    prefix = [binary if os.path.isabs(binary) else BINARY, "-c", args.get("headscale_config", hs.DEFAULT_CONFIG), "-o", "json"]
    calls = expected_calls(case, version, prefix)
    ran = []
    warnings = []
    audit = []
    sleeps = []

    def run_command(self, argv, environ_update=None, **kwargs):
        ran.append(list(argv))
        index = len(ran) - 1
        assert index < len(calls), "unexpected command #%d: %s" % (index + 1, " ".join(argv))
        want, rc, out, err = calls[index]
        assert list(argv) == want, "command #%d:\n  ran      %s\n  expected %s" % (index + 1, argv, want)
        if want[:len(prefix)] == prefix:  # headscale's messages are matched in English
            assert environ_update == dict(LC_ALL="C", LANG="C"), "headscale ran with environ_update %r" % environ_update
        return rc, out, err

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if case.get("binary_missing"):
            return None
        if os.path.isabs(name):
            return name
        return "/usr/bin/journalctl" if name == "journalctl" else BINARY

    def exit_json(self, **result):
        result.setdefault("changed", False)
        raise ModuleExit(result)

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        raise ModuleExit(result)

    now = hs.parse_timestamp(case.get("now", NOW))
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning: warnings.append(warning))
    monkeypatch.setattr(hs, "write_audit", audit.append)
    # A module that waits (node: EXPIRY_DELIVERY_SECONDS between expire and delete) records the
    # wait instead of sleeping it (a case states it with `sleeps:`); its clock is `now`.
    if getattr(module, "time", None) is time:
        monkeypatch.setattr(module, "time", _Clock(now, sleeps))
    for namespace in (hs, module):
        if hasattr(namespace, "utcnow"):
            monkeypatch.setattr(namespace, "utcnow", lambda: now)

    # The host lock a changing call takes (module_utils/host_lock.py): a file of the case's own, let go after it.
    monkeypatch.setattr(host_lock, "LOCK_PATH", str(tmp_path / "host.lock"))
    locks = []
    start = host_lock.ModuleLock.start
    monkeypatch.setattr(host_lock.ModuleLock, "start", lambda self: (locks.append(self), start(self))[1])

    patcher = _set_module_args(monkeypatch, args)
    try:
        with pytest.raises(ModuleExit) as exited:
            if patcher is None:
                module.main()
            else:
                with patcher:
                    module.main()
    finally:
        for lock in locks:
            lock.close()
    result = exited.value.result
    assert len(ran) == len(calls), "the module ran %d command(s), the case expects %d: missing %s" % (
        len(ran), len(calls), [" ".join(c[0][len(prefix):]) for c in calls[len(ran):]])
    result["_audit"] = audit
    result["_warnings"] = warnings
    result["_sleeps"] = sleeps
    result["_files"] = dict((option, args[option]) for option in FILE_OPTIONS if option in args)
    return result


def run_action(module_name, case, result):
    """What plugins/action/MODULE_NAME.py makes of the module's RESULT."""
    plugin = importlib.import_module("ansible_collections.tailnet.headscale.plugins.action." + module_name)
    task = mock.MagicMock()
    task.args = dict(case.get("input") or {}, **result["_files"])
    task.async_val = 0
    task.check_mode = bool(case.get("check", False))
    play_context = mock.MagicMock(check_mode=bool(case.get("check", False)))
    action = plugin.ActionModule(task, mock.MagicMock(), play_context, loader=None, templar=None, shared_loader_obj=None)
    calls = []

    def execute_module(**kwargs):
        calls.append(kwargs)
        return dict((k, copy.deepcopy(v)) for k, v in result.items() if not k.startswith("_"))

    action._execute_module = execute_module
    out = action.run(task_vars={})
    assert [c["module_name"] for c in calls] == ["tailnet.headscale." + module_name]
    out.update((k, v) for k, v in result.items() if k.startswith("_"))
    return out


def check_case(module_name, case, version, monkeypatch, tmp_path):
    result = run_case(module_name, case, version, monkeypatch, tmp_path)
    if case.get("action"):
        result = run_action(module_name, case, result)
    # "{tmp}" in an expected string is the case's temporary directory.
    output = json.loads(json.dumps(case.get("output") or {}).replace("{tmp}", str(tmp_path)))
    if not output.get("failed"):
        assert not result.get("failed"), "the module failed: %s" % result.get("msg")
    assert_subset(output, result)
    if "cli_calls" not in output and not result.get("failed") and "cli_calls" in result:
        assert result["cli_calls"] == len(case.get("run") or [])
    if "warnings" in case:
        assert result["_warnings"] == case["warnings"]
    if "sleeps" in case:
        assert result["_sleeps"] == case["sleeps"], "slept %r, the case expects %r" % (result["_sleeps"], case["sleeps"])
    for option, want in (case.get("files_after") or {}).items():
        path = result["_files"][option]
        if want is None:
            assert not os.path.exists(path), "%s was written" % option
            continue
        with open(path) as f:
            assert_subset(want, yaml.safe_load(f), option)
        if option == "secrets_file":
            assert os.stat(path).st_mode & 0o777 == 0o600
    # Every command that changes the server is audited, and only those.
    changing = [c for c in (case.get("run") or []) if "cmd" in c and hs.changes_server(
        c["cmd"] if isinstance(c["cmd"], list) else shlex.split(c["cmd"]))]
    assert len(result["_audit"]) == len(changing)
    if case.get("check"):
        assert not changing, "check mode ran a command that changes the server"
    return result


# Files of fixtures/<version>/ that are not recorded calls: the record, for reading.
RECORD_FILES = ("index.json", "COMMANDS.md", "config.yaml.txt", "policy.json.txt", "help")


def _fixture_names(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "fixture":
                yield from (item.values() if isinstance(item, dict) else [item])
            else:
                yield from _fixture_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _fixture_names(item)


def fixtures_in_use(tests_dir):
    """(names the cases and test files under TESTS_DIR name, a test of whether
    a recorded call is read by a test that goes through every one of a kind)."""
    names = set()
    for case_file in os.listdir(CASES):
        with open(os.path.join(CASES, case_file)) as f:
            names.update(_fixture_names(yaml.safe_load(f)))
    words = set()
    for root, dirs, files in os.walk(tests_dir):
        dirs[:] = [d for d in dirs if d != "fixtures"]
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(root, name)) as f:
                    words.update(re.findall(r"[\w.-]+", f.read()))
    names.update(w.split(".")[0] for w in words if w.endswith((".json", ".txt")))
    from ansible_collections.tailnet.headscale.tests.unit.plugins.module_utils.test_recorded_output import covered
    return names, covered

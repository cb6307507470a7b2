# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller side of tailnet.headscale.preauth_key: keeps minted secrets out of
Ansible's output, and writes them to a 0600 file on the controller on request.
Like every module of the collection, it takes the site's headscale paths from the
host's variables where the call does not set them (plugin_utils/site_paths.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import secrets_file_problem
from ansible_collections.tailnet.headscale.plugins.plugin_utils.site_paths import HeadscaleAction

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None


UNDELIVERED = ("this call would mint {what} whose secret would reach nobody: headscale shows a secret only once, "
               "and a task that neither registers its result nor sets secrets_file (an ad-hoc call, say) "
               "throws it away, leaving a live key no one holds. Set secrets_file=PATH to have the secret "
               "written to a 0600 file on the controller (or register the result in a playbook). "
               "Nothing was minted.")


def write_private(path, text):
    """Write TEXT to PATH atomically, readable by the owner only."""
    problem = secrets_file_problem(path)
    if problem:
        raise AnsibleActionFail(problem)
    path = os.path.abspath(os.path.expanduser(path))
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".preauth-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, to_bytes(text))
        os.close(fd)
        os.rename(tmp, path)
    except Exception:
        os.unlink(tmp)
        raise
    return path


def _mints(result):
    return [a[len("mint "):] for a in result.get("actions") or [] if a.startswith("mint ")]


class ActionModule(HeadscaleAction):
    MODULE = "tailnet.headscale.preauth_key"
    _supports_async = False

    def _module(self, args, task_vars, check_mode=None):
        saved = self._task.check_mode
        if check_mode is not None:
            self._task.check_mode = check_mode
        try:
            return self._execute_module(module_name=self.MODULE, module_args=args,
                                        task_vars=task_vars)
        finally:
            self._task.check_mode = saved

    def run_module(self, result, args, task_vars):
        secrets_file = args.get("secrets_file") or None
        problem = secrets_file_problem(secrets_file)
        if problem:
            result.update(failed=True, changed=False, msg=problem, created=[], revoked=[], actions=[])
            return result
        undelivered = not secrets_file and not self._task.register and args.get("state") != "absent"
        if undelivered:
            # Ask the module what it would do, in check mode; refuse a mint before it happens.
            preview = self._module(args, task_vars, check_mode=True)
            if preview.get("failed") or self._task.check_mode:
                result.update(preview)
                if not preview.get("failed") and _mints(preview):
                    result.update(failed=True, msg=UNDELIVERED.format(what=" and ".join(_mints(preview))))
                return result
            if _mints(preview):
                result.update(failed=True, changed=False, msg=UNDELIVERED.format(what=" and ".join(_mints(preview))),
                              created=[], revoked=[], actions=[])
                return result
        result.update(self._module(args, task_vars))
        minted = [k for k in result.get("created", []) if k.get("key")]
        if minted and undelivered:
            # The server changed between the preview and the run: a key was minted
            # after all. It is this call's own key and nobody holds its secret: expire it.
            for key in minted:
                revoke = dict(state="absent", id=key["id"])
                revoke.update((k, args[k]) for k in ("headscale_binary", "headscale_config", "lock_run", "lock_timeout") if args.get(k))
                self._module(revoke, task_vars)
                key.pop("key", None)
            result.update(failed=True, msg=UNDELIVERED.format(what="a key") + " (A key minted meanwhile was expired again.)")
        if minted and secrets_file and not result.get("failed"):
            entries = [dict((f, k.get(f)) for f in ("id", "user", "tags", "reusable", "ephemeral", "expiration", "key"))
                       for k in minted]
            try:
                result["secrets_file"] = write_private(
                    secrets_file, "# headscale pre-auth keys minted by Ansible; each secret is shown only once.\n"
                    + yaml.safe_dump(entries, default_flow_style=False, sort_keys=False))
            except (OSError, IOError) as error:
                raise AnsibleActionFail("cannot write secrets_file %s: %s" % (secrets_file, to_native(error)))
            for key in result.get("created", []):
                key.pop("key", None)
            if result.get("preauth_key"):
                result["preauth_key"].pop("key", None)
        if any(k.get("key") for k in result.get("created", [])) or (result.get("preauth_key") or {}).get("key"):
            # A secret is in the result: hide it from every callback. A
            # registered variable still holds it for the tasks that need it.
            result["_ansible_no_log"] = True
        return result

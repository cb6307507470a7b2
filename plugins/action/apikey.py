# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller side of tailnet.headscale.apikey: the secret of a new API key goes to a 0600 file on the
controller (secrets_file) or stays in a registered, hidden result - never to nobody. Everything that could
keep it from its reader is checked before the module mints anything, and a key whose secret could not be
written after all is expired again, so a refusal or a failure leaves no live key that nobody holds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.tailnet.headscale.plugins.action.preauth_key import write_private
from ansible_collections.tailnet.headscale.plugins.module_utils.validation import secrets_file_problem
from ansible_collections.tailnet.headscale.plugins.plugin_utils.site_paths import HeadscaleAction

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

UNDELIVERED = ("this call would mint an API key whose secret would reach nobody: headscale shows a secret only once, "
               "and a task that neither registers its result nor sets secrets_file (an ad-hoc call, say) throws it "
               "away, leaving a live, all-powerful key no one holds. Set secrets_file=PATH to have the secret written "
               "to a 0600 file on the controller (or register the result in a playbook). Nothing was minted.")

PASSED_ON = ("headscale_binary", "headscale_config", "lock_run", "lock_timeout")


class ActionModule(HeadscaleAction):
    MODULE = "tailnet.headscale.apikey"
    _supports_async = False

    def run_module(self, result, args, task_vars):
        state = args.get("state") or "present"
        secrets_file = args.get("secrets_file") or None
        empty = dict(changed=False, actions=[], expired=[])
        if state == "present":
            problem = secrets_file_problem(secrets_file)
            if problem:
                result.update(empty, failed=True, msg=problem)
                return result
            if not secrets_file and not self._task.register:
                result.update(empty, failed=True, msg=UNDELIVERED)
                return result
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        minted = result.get("api_key") or {}
        if minted.get("key") and secrets_file:
            entry = dict((f, minted.get(f)) for f in ("id", "prefix", "expiration", "key"))
            try:
                result["secrets_file"] = write_private(
                    secrets_file, "# headscale API key minted by Ansible; its secret is shown only once.\n"
                    + yaml.safe_dump([entry], default_flow_style=False, sort_keys=False))
            except Exception as error:  # pylint: disable=broad-except
                # Nobody holds the secret: the key this call minted is expired again before the call fails.
                revoke = dict(state="absent", id=minted["id"])
                revoke.update((k, args[k]) for k in PASSED_ON if args.get(k) is not None)
                undone = self._execute_module(module_name=self.MODULE, module_args=revoke, task_vars=task_vars)
                minted.pop("key", None)
                result.update(failed=True, msg="cannot write secrets_file %s: %s. The API key minted by this call (%s) "
                              "was %s." % (secrets_file, to_native(error), minted.get("prefix"),
                                           "expired again" if not undone.get("failed") else
                                           "NOT expired again (%s): expire it by hand" % undone.get("msg")))
                return result
            minted.pop("key", None)
        if minted.get("key"):
            # The secret is in the result: hide it from every callback; the registered variable still holds it.
            result["_ansible_no_log"] = True
        else:
            result.pop("_ansible_no_log", None)
        return result

# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller side shared by every module of the collection: where headscale is.

A module call names the binary and the config with its options headscale_binary
and headscale_config. Where the call does not set them (neither in its arguments
nor through module_defaults, which ansible-core has merged into the task's
arguments by the time an action plugin runs), they come from the variables of
the host the module runs on, the same ones the server role installed with:
headscale_binary_path, and headscale_config_dir + /config.yaml. Where the host
has neither, the module's own defaults apply (headscale on PATH,
/etc/headscale/config.yaml). So an ad-hoc `ansible hs1 -m tailnet.headscale.node`
works on a site with other paths, as a playbook with module_defaults does."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

display = Display()

# option of the modules -> (variable of the server role, how the option follows from it)
SOURCES = (
    ("headscale_binary", "headscale_binary_path", lambda value: value),
    ("headscale_config", "headscale_config_dir", lambda value: value.rstrip("/") + "/config.yaml"),
)


def with_site_paths(args, host_vars):
    """(ARGS with the path options the caller left unset filled from HOST_VARS, {option: variable} filled).

    An option set by the caller (even to the module's default) always wins; an unset
    or empty variable fills nothing."""
    args = dict(args)
    filled = {}
    for option, variable, option_value in SOURCES:
        if args.get(option) is not None:
            continue
        value = host_vars.get(variable)
        if value:
            args[option] = option_value(str(value))
            filled[option] = variable
    return args, filled


class HeadscaleAction(ActionBase):
    """Run the module named MODULE with the site's paths filled in (see with_site_paths)."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = True
    MODULE = None

    def _host_vars(self, task_vars):
        """The variables of the host the module runs on, templated: the delegated host's under delegate_to."""
        variables = task_vars or {}
        if self._task.delegate_to:
            variables = (variables.get("ansible_delegated_vars") or {}).get(self._task.delegate_to) or {}
        found = {}
        for dummy, variable, dummy2 in SOURCES:
            if variables.get(variable) is not None:
                templar = self._templar
                if variables is not task_vars and hasattr(templar, "copy_with_new_env"):
                    templar = templar.copy_with_new_env(available_variables=variables)
                found[variable] = templar.template(variables[variable])
        return found

    def _site_args(self, task_vars):
        args, filled = with_site_paths(self._task.args, self._host_vars(task_vars))
        for option, variable in sorted(filled.items()):
            display.vvv("%s: %s=%s from the host's %s" % (self.MODULE, option, args[option], variable))
        return args

    def run(self, tmp=None, task_vars=None):
        result = super(HeadscaleAction, self).run(tmp, task_vars)
        return self.run_module(result, self._site_args(task_vars), task_vars)

    def run_module(self, result, args, task_vars):
        """RESULT completed by the module run with ARGS; a module with more to do on the controller overrides it."""
        # As ansible.builtin.normal does.
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_name=self.MODULE, module_args=args,
                                                         task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

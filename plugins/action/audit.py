# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller side of tailnet.headscale.audit: the site's paths and the audit's inputs from the host's
variables (the server role's own) where the call does not set them, and the HTML report, written on
the controller (plugin_utils/audit_report.py) from what the module returned."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os

import yaml

from ansible.module_utils.common.text.converters import to_native
from ansible.utils.display import Display

from ansible_collections.tailnet.headscale.plugins.plugin_utils.site_paths import HeadscaleAction

display = Display()

# option of the audit -> variable of the server role it follows
AUDIT_SOURCES = (
    ("pinned_version", "headscale_version"),
    ("quarantine_tag", "headscale_quarantine_tag"),
    ("backup_dir", "headscale_backup_dir"),
    ("max_node_key_age", "headscale_max_node_key_age"),
)
ROLE_DEFAULTS = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "server", "defaults", "main.yml")


def role_default(variable):
    """The server role's default of VARIABLE (the collection's one pin of headscale_version lives there)."""
    try:
        with open(ROLE_DEFAULTS) as defaults:
            return (yaml.safe_load(defaults) or {}).get(variable)
    except (IOError, OSError):
        return None


class ActionModule(HeadscaleAction):
    MODULE = "tailnet.headscale.audit"

    def _audit_args(self, args, task_vars):
        variables = task_vars or {}
        if self._task.delegate_to:
            variables = (variables.get("ansible_delegated_vars") or {}).get(self._task.delegate_to) or {}
        args = dict(args)
        for option, variable in AUDIT_SOURCES:
            if args.get(option) is not None:
                continue
            if variables.get(variable) is not None:
                args[option] = to_native(self._templar.template(variables[variable]))
            elif option == "pinned_version":
                args[option] = role_default(variable)
            if args.get(option) is not None:
                display.vvv("%s: %s=%s from %s" % (self.MODULE, option, args[option], variable))
        return args

    def _config_data(self, args, task_vars):
        """headscale's config, read on the host (slurp) and parsed here: many hosts have no PyYAML, the controller
        always has it. None when it cannot be read; the module then tries itself and says why not."""
        path = args.get("headscale_config") or "/etc/headscale/config.yaml"
        read = self._execute_module(module_name="ansible.builtin.slurp", module_args=dict(src=path), task_vars=task_vars)
        if read.get("failed") or "content" not in read:
            return None
        try:
            data = yaml.safe_load(base64.b64decode(read["content"]))
        except yaml.YAMLError:
            return None
        return data if isinstance(data, dict) else None

    def run_module(self, result, args, task_vars):
        args = self._audit_args(args, task_vars)
        if args.get("config_data") is None:
            config = self._config_data(args, task_vars)
            if config is not None:
                args["config_data"] = config
        result = super(ActionModule, self).run_module(result, args, task_vars)
        path = args.get("report")
        if path and "findings" in result:
            # Imported here: matplotlib is needed only for a report.
            from ansible_collections.tailnet.headscale.plugins.plugin_utils.audit_report import write_report

            host = task_vars.get("inventory_hostname", "") if task_vars else ""
            try:
                result["report"] = write_report(os.path.expanduser(path), result, host)
            except Exception as error:  # pylint: disable=broad-except  # the audit stands; say why there is no report
                result["failed"] = True
                result["msg"] = "%s; and the report %s could not be written: %s" % (
                    result.get("msg", "audit done"), path, to_native(error))
        return result

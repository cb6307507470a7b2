# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller side of tailnet.headscale.preauth_key: keeps minted secrets out of
Ansible's output, and writes them to a 0600 file on the controller on request."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.action import ActionBase

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None


def write_private(path, text):
    """Write TEXT to PATH atomically, readable by the owner only."""
    path = os.path.abspath(os.path.expanduser(path))
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise AnsibleActionFail("secrets_file directory %s does not exist on the controller" % directory)
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


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        secrets_file = args.get("secrets_file")
        result.update(self._execute_module(module_name="tailnet.headscale.preauth_key", module_args=args,
                                           task_vars=task_vars))
        minted = [k for k in result.get("created", []) if k.get("key")]
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

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server role's fast path skips a host whose fingerprint matches the last
full run: every input that decides what the role writes must reach it
(roles/server/vars/main.yml, _headscale_fingerprint). The expressions are taken
from vars/main.yml and rendered by ansible-core's own templating."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.collection_loader import AnsibleCollectionConfig

try:
    from ansible.plugins.loader import init_plugin_loader
except ImportError:  # pragma: no cover - ansible-core < 2.15 loads plugins on import
    init_plugin_loader = None

try:  # ansible-core >= 2.19 templates only strings marked as trusted
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core trusts every string
    def trust_as_template(value):
        return value

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "server")

# Declared options that do not reach the fingerprint, and why. Anything else
# declared in argument_specs must reach it.
NOT_IN_FINGERPRINT = {
    "headscale_fast_path": "the switch itself: turning it back on must find the record of the full run",
    "headscale_users": "reconciled on every run (tasks/objects.yml), fast path or not",
    "headscale_preauth_keys": "reconciled on every run (tasks/objects.yml), fast path or not",
    "headscale_preauth_keys_secrets_file": "used by the pre-auth key reconciliation of every run",
}


# Lookups such as ansible.builtin.varnames load through the collection loader,
# which ansible-test units has installed already and plain pytest has not.
if init_plugin_loader is not None and AnsibleCollectionConfig.collection_finder is None:
    init_plugin_loader()


def load(*path):
    with open(os.path.join(ROLE, *path)) as handle:
        return yaml.safe_load(handle)


SPECS = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
DEFAULTS = load("defaults", "main.yml")
VARS = load("vars", "main.yml")


def trusted(value):
    """Role variables as ansible-core loads them: templates in every string."""
    if isinstance(value, dict):
        return dict((key, trusted(item)) for key, item in value.items())
    if isinstance(value, list):
        return [trusted(item) for item in value]
    if isinstance(value, str):
        return trust_as_template(value)
    return value


def sample(name, spec):
    """A value for an option without a default."""
    return {"str": "https://headscale.example.test", "path": "/srv/x"}.get(spec.get("type", "str"), name)


def render(expression, **overrides):
    variables = dict(DEFAULTS)
    variables.update((name, sample(name, spec)) for name, spec in SPECS.items() if name not in DEFAULTS)
    variables.update(
        _headscale_fingerprint_excluded=VARS["_headscale_fingerprint_excluded"],
        _headscale_fingerprint_names=VARS["_headscale_fingerprint_names"],
        _headscale_fingerprint_variables=VARS["_headscale_fingerprint_variables"],
        # Another role's variables and the inventory's own are in scope too.
        headscale_proxy_port=443,
        headscale_site_note="set by an inventory",
        unrelated_variable="not ours",
    )
    variables.update(overrides)
    templar = Templar(loader=DataLoader(), variables=trusted(variables))
    return templar.template(trust_as_template(expression))


def test_every_declared_option_reaches_the_fingerprint():
    names = render("{{ _headscale_fingerprint_names }}")
    missing = sorted(set(SPECS) - set(names) - set(NOT_IN_FINGERPRINT))
    assert missing == [], "declared in argument_specs but not in the fingerprint: %s" % missing


def test_only_the_documented_exceptions_are_left_out():
    names = render("{{ _headscale_fingerprint_names }}")
    assert sorted(set(SPECS) - set(names)) == sorted(NOT_IN_FINGERPRINT)
    assert "headscale_proxy_port" not in names
    assert "unrelated_variable" not in names


def test_an_undeclared_headscale_variable_reaches_it_too():
    assert "headscale_site_note" in render("{{ _headscale_fingerprint_names }}")


@pytest.mark.parametrize("name", sorted(set(SPECS) - set(NOT_IN_FINGERPRINT)))
def test_a_changed_value_changes_the_fingerprinted_variables(name):
    before = render("{{ _headscale_fingerprint_variables }}")
    changed = {"changed": before[name]}
    after = render("{{ _headscale_fingerprint_variables }}", **{name: changed})
    assert after[name] == changed
    assert after != before


def test_the_fingerprint_hashes_the_variables_the_files_and_the_collection_version():
    expression = VARS["_headscale_fingerprint"]
    for part in ("_headscale_fingerprint_variables", "_headscale_managed_files_rendered",
                 "_headscale_collection_version", "_headscale_oidc_secret_sha256"):
        assert part in expression


def tasks_text():
    tasks = os.path.join(ROLE, "tasks")
    return dict((name, open(os.path.join(tasks, name)).read()) for name in sorted(os.listdir(tasks)))


def test_every_template_and_file_is_managed_through_the_list_or_only_run():
    managed = set(item["src"] for item in VARS["_headscale_managed_files"].values())
    run_only = set()
    for text in tasks_text().values():
        # Rendered or read at run time and run, never installed (read-state.sh.j2, configtest-candidate.py).
        run_only.update(re.findall(r"lookup\('ansible\.builtin\.(?:template|file)', '([^']+)'\)", text))
    shipped = set(os.listdir(os.path.join(ROLE, "templates"))) | set(os.listdir(os.path.join(ROLE, "files")))
    assert sorted(shipped - managed - run_only) == []
    assert managed & run_only == set()


def test_every_installed_template_or_file_comes_from_the_list():
    # The binaries and the operator's secret files are the copies that are not: the binaries' versions and
    # pins are variables, and read-state.sh.j2 checks headscale's checksum. The OIDC client secret's sha256 is
    # in the fingerprint (_headscale_oidc_secret_sha256) and read-state.sh.j2 checks it on the host. The SFTP
    # key of the replica and the S3 endpoint's CA are the operator's files: their paths are inputs of the
    # fingerprint, their content is not (a file replaced under the same path is installed by the next full
    # run: headscale_fast_path false).
    controller_files = ('"{{ _headscale_controller_binary }}"', '"{{ _headscale_litestream_controller_binary }}"',
                        '"{{ headscale_litestream_sftp_key_file }}"', '"{{ headscale_oidc_client_secret_file }}"',
                        '"{{ headscale_litestream_s3_ca_file }}"')
    for name, text in tasks_text().items():
        for module, src in re.findall(r"(ansible\.builtin\.(?:template|copy)):\n(?:\s+#.*\n)?\s+src: (.*)", text):
            assert src.startswith(('"{{ _headscale_managed_files.', '"{{ _headscale_managed_files[')) \
                or src in controller_files, \
                "%s: %s from %s is not in _headscale_managed_files" % (name, module, src)

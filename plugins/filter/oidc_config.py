# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: oidc_config
short_description: The oidc block the server role writes into headscale's config.yaml
version_added: 0.1.0
description:
  - Turns the server role's C(headscale_oidc_*) variables into headscale's C(oidc:) settings for the
    version being installed, or an empty mapping when C(headscale_oidc_issuer) is empty (OIDC off).
  - The client secret is never part of it, only C(client_secret_path), the file the role copies to the host.
  - PKCE is on unless C(headscale_oidc_pkce) is false (headscale's default method, S256).
  - The expiry of OIDC nodes is C(node.expiry). headscale 0.29 applies C(node.expiry) to every node and
    refuses C(oidc.expiry); headscale 0.28 reads C(oidc.expiry) for OIDC nodes (and ignores C(node.expiry)),
    so for 0.28 the block carries C(oidc.expiry) set to C(node.expiry). C(use_expiry_from_token) is written
    false, so the provider's token lifetime does not decide how long a node key lives.
  - Inputs are checked by P(tailnet.headscale.config_problems#filter) first; this filter only shapes them.
options:
  _input:
    description:
      - The role's variables by name - C(headscale_oidc_issuer), C(headscale_oidc_client_id), C(headscale_oidc_pkce),
        C(headscale_oidc_allowed_domains), C(headscale_oidc_allowed_groups), C(headscale_oidc_allowed_users) - and
        C(secret_path) (the file on the host), C(headscale_version) and C(node_expiry).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The oidc block for headscale 0.28
  ansible.builtin.debug:
    msg: >-
      {{ {'headscale_oidc_issuer': 'https://login.example.com', 'headscale_oidc_client_id': 'headscale',
          'headscale_oidc_allowed_domains': ['example.com'], 'secret_path': '/etc/headscale/oidc_client_secret',
          'headscale_version': '0.28.0', 'node_expiry': '90d'} | tailnet.headscale.oidc_config }}
"""

RETURN = r"""
_value:
  description: "C({'oidc': {...}}) to merge over the configuration, or C({}) when OIDC is off."
  type: dict
"""

import re


def _version(text):
    match = re.match(r"^v?([0-9]+)\.([0-9]+)", str(text or ""))
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def oidc_config(settings):
    issuer = settings.get("headscale_oidc_issuer") or ""
    if not issuer:
        return {}
    oidc = {
        "issuer": issuer,
        "client_id": settings.get("headscale_oidc_client_id") or "",
        "client_secret_path": settings["secret_path"],
        "pkce": {"enabled": bool(settings.get("headscale_oidc_pkce", True))},
        "use_expiry_from_token": False,
    }
    for name in ("allowed_domains", "allowed_groups", "allowed_users"):
        values = settings.get("headscale_oidc_" + name) or []
        if values:
            oidc[name] = list(values)
    # headscale 0.29 removed oidc.expiry (node.expiry covers every node); 0.28 has only oidc.expiry.
    if _version(settings.get("headscale_version")) < (0, 29) and settings.get("node_expiry") not in (None, ""):
        oidc["expiry"] = settings["node_expiry"]
    return {"oidc": oidc}


class FilterModule(object):
    def filters(self):
        return {"oidc_config": oidc_config}

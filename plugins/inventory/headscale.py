# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: headscale
short_description: The nodes of a headscale tailnet as an Ansible inventory
version_added: 0.2.0
description:
  - Reads every node of a headscale server from its REST API (C(GET /api/v1/node), one request however many
    nodes), normally through the collection's TLS proxy (the C(tailnet.headscale.proxy) role).
  - Each node becomes a host named by its given name, with C(ansible_host) set to its tailnet IPv4 address (IPv6
    with O(ansible_host=ipv6)), in the groups C(user_<user>), C(tag_<tag>) (C(tag:web) gives C(tag_web)) and
    C(online) or C(offline). Group names are sanitised to letters, digits and C(_).
  - The API key is read from a file (O(api_key_file)) or an environment variable (O(api_key_env)), never from the
    inventory file itself, and never printed. Mint one with M(tailnet.headscale.apikey).
  - Configuration files must end in C(headscale.yml) or C(headscale.yaml).
author:
  - tailnet.headscale developers (@tailnet-headscale)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; the file is read by it only with this value.
    required: true
    type: str
    choices: [tailnet.headscale.headscale]
  url:
    description:
      - Base URL of the headscale server, e.g. V(https://hs.example.com) (the proxy); C(/api/v1/node) is added.
    required: true
    type: str
  api_key_file:
    description:
      - File holding the API key, alone or as the C(key) of the first entry of the YAML file
        M(tailnet.headscale.apikey) writes with its O(tailnet.headscale.apikey#module:secrets_file).
      - The file must not be readable by group or others.
    type: path
  api_key_env:
    description:
      - Name of the environment variable holding the API key, used when O(api_key_file) is not set.
    type: str
    default: HEADSCALE_API_KEY
  ca_path:
    description: PEM bundle of the CAs to trust for O(url), e.g. the lab CA or the site's own.
    type: path
  validate_certs:
    description:
      - Verify the server's TLS certificate. V(false) is allowed for a first look at a lab, and warns, since the
        API key is then sent to whoever answers.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the server.
    type: int
    default: 30
  ansible_host:
    description: Which tailnet address becomes C(ansible_host).
    type: str
    choices: [ipv4, ipv6]
    default: ipv4
  filters:
    description:
      - Jinja2 conditions on a node's variables (those the notes list, before O(compose)); a node is kept only if
        every one is true, e.g. V(headscale_online) or V("'tag:web' in headscale_tags").
    type: list
    elements: str
    default: []
notes:
  - Host variables - C(ansible_host), C(headscale_id), C(headscale_given_name), C(headscale_hostname),
    C(headscale_user), C(headscale_tags), C(headscale_ipv4), C(headscale_ipv6), C(headscale_online),
    C(headscale_last_seen), C(headscale_expiry), C(headscale_expired), C(headscale_register_method).
  - Nodes that belong to tags rather than a person are listed by headscale under the user C(tagged-devices);
    they are in the group C(user_tagged_devices).
  - Handles the JSON of headscale 0.28.x and 0.29.x.
seealso:
  - module: tailnet.headscale.apikey
"""

EXAMPLES = r"""
# tailnet.headscale.yml - every node, reached at its 100.x address
plugin: tailnet.headscale.headscale
url: https://hs.example.com
api_key_file: ~/.config/headscale/inventory-apikey.yml
ca_path: /etc/ssl/certs/site-ca.pem

# Only online nodes tagged tag:web, grouped by OS from a tag naming convention
# plugin: tailnet.headscale.headscale
# url: https://hs.example.com
# filters:
#   - headscale_online
#   - "'tag:web' in headscale_tags"
# keyed_groups:
#   - key: headscale_user
#     prefix: owner
# compose:
#   ansible_user: "'admin'"
"""

import json
import os
import re
import socket

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import normalize_node, redact

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

# Keys that would put the API key itself in the inventory file: refused, whatever their value.
INLINE_KEY_OPTIONS = ("api_key", "apikey", "key", "token", "api_token")
_UNSAFE_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")


def group_name(prefix, value):
    return _UNSAFE_GROUP_CHARS.sub("_", "%s_%s" % (prefix, value))


def host_vars(node, address="ipv4"):
    """The variables of one normalised node."""
    ipv4 = next((a for a in node["ip_addresses"] if ":" not in a), None)
    ipv6 = next((a for a in node["ip_addresses"] if ":" in a), None)
    variables = dict(
        headscale_id=node["id"],
        headscale_given_name=node["name"],
        headscale_hostname=node["hostname"],
        headscale_user=node["user"],
        headscale_tags=node["tags"],
        headscale_ipv4=ipv4,
        headscale_ipv6=ipv6,
        headscale_online=node["online"],
        headscale_last_seen=node["last_seen"],
        headscale_expiry=node["expiry"],
        headscale_expired=node["expired"],
        headscale_register_method=node["register_method"],
    )
    chosen = ipv6 if address == "ipv6" else ipv4
    if chosen:
        variables["ansible_host"] = chosen
    return variables


def groups_of(node):
    groups = ["online" if node["online"] else "offline"]
    if node["user"]:
        groups.append(group_name("user", node["user"]))
    groups.extend(group_name("tag", tag[len("tag:"):] if tag.startswith("tag:") else tag) for tag in node["tags"])
    return groups


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "tailnet.headscale.headscale"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("headscale.yml", "headscale.yaml"))

    # --- the API key -----------------------------------------------------------

    def _api_key(self):
        path = self.get_option("api_key_file")
        if path:
            path = os.path.expanduser(path)
            try:
                mode = os.stat(path).st_mode
                with open(path) as handle:
                    text = handle.read()
            except (IOError, OSError) as error:
                raise AnsibleError("cannot read api_key_file %s: %s" % (path, to_native(error.strerror or error)))
            if mode & 0o077:
                raise AnsibleError("api_key_file %s is readable by group or others (mode %04o): an API key can do "
                                   "anything on the server; chmod 0600 it" % (path, mode & 0o777))
            key = text.strip()
            if not key.startswith("hskey-api-"):
                # The YAML list tailnet.headscale.apikey writes to its secrets_file.
                try:
                    data = yaml.safe_load(text)
                    key = data[0]["key"] if isinstance(data, list) else data["key"]
                except Exception:  # pylint: disable=broad-except
                    raise AnsibleError("api_key_file %s holds neither an API key nor the YAML tailnet.headscale.apikey "
                                       "writes (a list whose first entry has key)" % path)
            where = "api_key_file %s" % path
        else:
            variable = self.get_option("api_key_env")
            key = os.environ.get(variable, "").strip()
            where = "environment variable %s" % variable
            if not key:
                raise AnsibleError("no API key: set api_key_file in the inventory file, or the environment variable %s "
                                   "(mint a key with tailnet.headscale.apikey)" % variable)
        if not key or any(c.isspace() for c in key):
            raise AnsibleError("the API key in %s is empty or holds whitespace" % where)
        return to_text(key), where

    # --- the one request ---------------------------------------------------------

    def _fetch(self):
        url = self.get_option("url").rstrip("/")
        if not re.match(r"^https?://", url):
            raise AnsibleError("url %r: give the server's base URL, e.g. https://hs.example.com" % url)
        validate = self.get_option("validate_certs")
        if not validate and url.startswith("https://"):
            self.display.warning("headscale inventory: validate_certs is false, so the API key goes to whoever answers "
                                 "at %s. Set ca_path to the CA bundle instead." % url)
        key, where = self._api_key()
        endpoint = url + "/api/v1/node"
        try:
            response = open_url(endpoint, headers={"Authorization": "Bearer " + key, "Accept": "application/json"},
                                validate_certs=validate, ca_path=self.get_option("ca_path"),
                                timeout=self.get_option("timeout"), follow_redirects="none", use_proxy=True)
            body = response.read()
        except HTTPError as error:
            if error.code == 401:
                raise AnsibleError("headscale at %s refused the API key from %s (401 Unauthorized): it is wrong, expired "
                                   "or revoked. Mint a new one with tailnet.headscale.apikey" % (url, where))
            if error.code == 429:
                raise AnsibleError("headscale at %s is rate-limiting this address (429 Too Many Requests): retry later, "
                                   "or raise the proxy's limit for the API" % url)
            raise AnsibleError("headscale at %s answered %s %s for GET /api/v1/node" % (url, error.code, error.reason))
        except (URLError, socket.error, IOError) as error:
            reason = getattr(error, "reason", error)
            raise AnsibleError("cannot reach headscale at %s: %s" % (url, redact(to_native(reason)).replace(key, "***")))
        try:
            data = json.loads(to_text(body))
            return data["nodes"] or []
        except (ValueError, KeyError, TypeError):
            raise AnsibleError("headscale at %s answered GET /api/v1/node with something that is not its node list: %r"
                               % (url, to_native(body[:200])))

    # --- the inventory --------------------------------------------------------------

    def _keep(self, variables):
        for condition in self.get_option("filters"):
            # Constructable's own evaluation, as `groups` uses it (a string "True" on ansible-core before 2.19).
            kept = self._compose(condition, variables)
            if isinstance(kept, str):
                kept = kept.strip() == "True"
            if not kept:
                return False
        return True

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        raw = self._read_config_data(path)
        inline = [name for name in INLINE_KEY_OPTIONS if name in (raw or {})]
        if inline:
            raise AnsibleParserError("%s sets %s: an API key never goes into an inventory file. Put it in a 0600 file "
                                     "(api_key_file) or an environment variable (api_key_env)" % (path, ", ".join(inline)))
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        nodes = None
        if use_cache:
            try:
                nodes = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if nodes is None:
            nodes = self._fetch()
        if update_cache:
            self._cache[cache_key] = nodes
        self._populate(nodes)

    def _populate(self, raw_nodes):
        strict = self.get_option("strict")
        for raw in raw_nodes:
            node = normalize_node(raw)
            variables = host_vars(node, self.get_option("ansible_host"))
            if not self._keep(variables):
                continue
            host = self.inventory.add_host(node["name"])
            for name, value in variables.items():
                self.inventory.set_variable(host, name, value)
            for group in groups_of(node):
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            variables = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)

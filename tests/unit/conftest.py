# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install ansible-core's collection loader once, before any test imports this collection.

tests/unit/roles/server/test_fingerprint.py needs the loader (lookups load through it) and
installs it if nobody has. Installed after the module tests have imported
ansible_collections.tailnet.headscale the plain way, it finds that package without its
collection metadata and every later module test fails with "collection metadata was not
loaded" (make units runs both in one process). Installed first, every import goes through it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

from ansible.utils.collection_loader import AnsibleCollectionConfig

# The tests load the roles' own scripts (roles/*/files/*.py) from where they ship: no __pycache__ may be
# left next to them, or it ships in the role and the tarball (wherever PYTHONDONTWRITEBYTECODE is unset).
sys.dont_write_bytecode = True

try:
    from ansible.plugins.loader import init_plugin_loader
except ImportError:  # pragma: no cover - ansible-core < 2.15 loads plugins on import
    init_plugin_loader = None

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".collections"))

if init_plugin_loader is not None and AnsibleCollectionConfig.collection_finder is None:
    init_plugin_loader([COLLECTIONS])

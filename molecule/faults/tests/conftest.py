"""Fixtures of the scenario; the client helpers and the versions are shared
(molecule/resources/clients.py, versions.py)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
from clients import Client  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
from versions import PINNED, PREVIOUS  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

"""Fixtures of the scenario; the client helpers are shared (molecule/resources/clients.py)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "resources"))
# The shared fixtures, imported so pytest registers them here.
from clients import clients  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

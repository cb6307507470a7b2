# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' filters for tags and durations are the modules' rules, not copies."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tailnet.headscale.plugins.filter.duration_seconds import duration_seconds
from ansible_collections.tailnet.headscale.plugins.filter.tag_problems import tag_problems


@pytest.mark.parametrize("value,seconds", [("10m", 600), ("1h30m", 5400), ("90s", 90), ("30d", 30 * 86400),
                                           ("ten", -1), ("30m1h", -1), ("-1h", -1), ("", -1)])
def test_duration_seconds(value, seconds):
    assert duration_seconds(value) == seconds


def test_tag_problems_name_the_variable_and_the_tag():
    assert tag_problems(["tag:web", "tag:db-1"], "tailscale_tags") == []
    problems = tag_problems(["web", "tag:Web"], "tailscale_tags")
    assert len(problems) == 2
    assert "tailscale_tags 'web'" in problems[0] and "e.g. tag:server" in problems[0]
    assert "lowercase" in problems[1]

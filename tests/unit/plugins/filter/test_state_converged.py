# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tailnet.headscale.plugins.filter.state_converged import state_converged, state_lines

STATE = "x86_64\nfile /etc/headscale/config.yaml root:headscale:640 abc\nunit enabled active\nhealth ok"


def output(state=STATE, record=None):
    return "%s\n--- record\n%s\n" % (state, "" if record is None else record)


def test_same_inputs_and_same_state_is_converged():
    assert state_converged(output(record="fp1\n" + STATE), "fp1") is True


def test_surrounding_blank_space_does_not_matter():
    assert state_converged("\n" + STATE + "\n\n--- record\n\nfp1\n" + STATE + "\n\n", "fp1") is True


@pytest.mark.parametrize("case, out, fingerprint", [
    ("another input", output(record="fp1\n" + STATE), "fp2"),
    ("a file drifted", output(state=STATE.replace("abc", "abd"), record="fp1\n" + STATE), "fp1"),
    ("a line more now", output(state=STATE + "\nextra", record="fp1\n" + STATE), "fp1"),
    ("a line fewer now", output(state=STATE.rsplit("\n", 1)[0], record="fp1\n" + STATE), "fp1"),
    ("no record yet", output(), "fp1"),
    ("a record with the fingerprint only", output(record="fp1"), "fp1"),
    ("no record marker", STATE, "fp1"),
    ("nothing read", "", "fp1"),
    ("no fingerprint", output(record="\n" + STATE), ""),
])
def test_anything_else_takes_the_full_path(case, out, fingerprint):
    assert state_converged(out, fingerprint) is False, case


def test_state_lines_are_the_part_before_the_record():
    assert state_lines(output(record="fp1\nother")) == STATE.splitlines()

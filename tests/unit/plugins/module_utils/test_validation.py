# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared rules (module_utils/validation.py): headscale 0.29's own, ported."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.tailnet.headscale.plugins.module_utils import validation as v


@pytest.mark.parametrize("text,seconds", [
    ("90d", 90 * 86400), ("12h", 43200), ("1h30m", 5400), ("2w", 14 * 86400), ("1y", 365 * 86400),
    ("45s", 45), ("0", 0), ("1y2w3d4h5m6s7ms", 365 * 86400 + 14 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6 + 0.007),
    ("0s", 0), (0, 0),
])
def test_durations_parse_as_prometheus_does(text, seconds):
    assert v.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text,words", [
    ("30m1h", ["biggest to smallest"]), ("1h1h", ["biggest to smallest"]), ("1x", ["unknown unit 'x'"]),
    ("-1h", ["negative"]), ("", ["empty"]), (" 1h", ["blanks"]), ("1.5h", ["'1.5h'"]), ("1H", ["'1H'"]),
    ("300y", ["out of range"]), (True, ["True"]), (None, ["None"]), ("h", ["'h'"]), ("90", ["'90'"]),
])
def test_bad_durations_name_the_value_and_the_fix(text, words):
    with pytest.raises(ValueError) as error:
        v.parse_duration(text)
    for word in words:
        assert word in str(error.value)
    assert "e.g." in str(error.value) or "range" in str(error.value)


def test_zero_and_too_short_key_lifetimes_are_refused():
    assert "dead at birth" in v.duration_problem("expiration", "0s", minimum=v.KEY_EXPIRATION_MINIMUM)
    assert "shorter than a minute" in v.duration_problem("expiration", "30s", minimum=v.KEY_EXPIRATION_MINIMUM)
    assert v.duration_problem("expiration", "1m", minimum=v.KEY_EXPIRATION_MINIMUM) is None
    assert v.duration_problem("node_expiry", "0", allow_zero=True) is None


@pytest.mark.parametrize("name", ["alice", "al", "alice@example.com", "a.b-c_d", "Zoë", "b0b"])
def test_user_names_headscale_accepts(name):
    assert v.user_name_problem(name) is None


@pytest.mark.parametrize("name,reason", [
    ("", "at least 2 characters"), ("a", "at least 2 characters"), (" alice ", "start with a letter"),
    ("alice ", "invalid character: ' '"), ("al\nice", "invalid character: '\\n'"), ("-bad-", "start with a letter"),
    ("1alice", "start with a letter"), ("a@b@c", "more than one '@'"), ("al/ice", "invalid character: '/'"),
    ("al\x00ice", "invalid character"), ("   ", "start with a letter"), (5, "not a name"),
])
def test_user_names_headscale_refuses_lead_with_its_reason(name, reason):
    problem = v.user_name_problem(name)
    assert reason in problem and repr(name) in problem and "e.g. alice" in problem


@pytest.mark.parametrize("name,good", [
    ("web-1", True), ("a", True), ("A1", True), ("x" * 63, True), ("x" * 64, False), ("-web", False),
    ("web-", False), ("--help", False), ("web_1", False), ("web 1", False), ("", False), ("wéb", False),
])
def test_node_names_are_dns_labels(name, good):
    assert (v.node_name_problem(name) is None) is good


@pytest.mark.parametrize("tag,good", [
    ("tag:server", True), ("tag:web-1", True), ("tag:a_b", True), ("server", False), ("tag:", False),
    ("tag:Server", False), ("tag:1web", False), ("tag:a,b", False), ("tag:a b", False), ("TAG:a", False),
    (None, False), ("tag:-x", False),
])
def test_one_tag_rule(tag, good):
    assert (v.tag_problem(tag) is None) is good


def test_tags_must_be_a_list():
    assert "must be a list" in v.tags_problems("tag:a")[0]
    assert v.tags_problems(None) == [] and v.tags_problems(["tag:a"]) == []


@pytest.mark.parametrize("route,good", [
    ("10.20.0.0/24", True), ("0.0.0.0/0", True), ("::/0", True), ("10.20.0.1/24", False), ("10.20.0.0", False),
    ("not-a-cidr", False), ("-10.0.0.0/8", False),
])
def test_routes(route, good):
    assert (v.route_problem(route) is None) is good


@pytest.mark.parametrize("value,word", [
    (" Alice", "blanks"), ("Al\nice", "control character"), ("-x", "flag"), ("Alice\t", "blanks"),
])
def test_free_text(value, word):
    assert word in v.text_problem(value, "display_name")


def test_secrets_file_is_checked_on_the_controller(tmp_path):
    assert v.secrets_file_problem(str(tmp_path / "keys.yml")) is None
    assert "does not exist" in v.secrets_file_problem(str(tmp_path / "missing" / "keys.yml"))
    assert "is a directory" in v.secrets_file_problem(str(tmp_path))
    (tmp_path / "file").write_text("")
    assert "is not a directory" in v.secrets_file_problem(str(tmp_path / "file" / "keys.yml"))
    os.symlink(str(tmp_path / "nowhere"), str(tmp_path / "link"))
    assert "not a regular file" in v.secrets_file_problem(str(tmp_path / "link"))
    assert v.secrets_file_problem("") is None

"""Dating node keys from what headscale keeps (module_utils/node_keys.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

import pytest

from ansible_collections.tailnet.headscale.plugins.module_utils import node_keys
from ansible_collections.tailnet.headscale.plugins.module_utils.headscale import iso, parse_timestamp

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
NOW = parse_timestamp("2026-11-22T12:00:00Z")
DAY = datetime.timedelta(days=1)


def node(**fields):
    base = dict(id=7, name="laptop", tags=[], node_key="nodekey:" + "a" * 64,
                expiry=None, expired=False, created_at="2026-01-01T00:00:00Z")
    base.update(fields)
    return base


@pytest.mark.parametrize("text,seconds", [
    ("90d", 90 * 86400), ("12h", 43200), ("1h30m", 5400), ("2w", 14 * 86400), ("1y", 365 * 86400),
    ("45s", 45), ("0", 0),
])
def test_durations_in_headscales_notation(text, seconds):
    assert node_keys.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["90 days", "90", "-1d", "d", "", "1.5h"])
def test_bad_durations_are_named(text):
    with pytest.raises(ValueError, match=repr(text).replace(".", r"\.")):
        node_keys.parse_duration(text)


@pytest.mark.parametrize("has_yaml", [True, False], ids=["pyyaml", "without-pyyaml"])
@pytest.mark.parametrize("text,expected", [
    ("node:\n  expiry: 180d\n  ephemeral:\n    inactivity_timeout: 30m\n", "180d"),
    ("node:\n    ephemeral:\n        inactivity_timeout: 30m\n    expiry: '90d'  # rotate\n", "90d"),
    ("oidc:\n  expiry: 30d\nnode:\n  ephemeral:\n    expiry: 5d\n", None),
    ("server_url: https://hs\n", None),
])
def test_node_expiry_is_read_from_the_config(monkeypatch, has_yaml, text, expected):
    if has_yaml and not node_keys.HAS_YAML:
        pytest.skip("PyYAML missing")
    monkeypatch.setattr(node_keys, "HAS_YAML", has_yaml)
    assert node_keys._node_expiry_from_text(text) == expected


def test_node_expiry_of_the_recorded_029_config(tmp_path):
    with open(os.path.join(FIXTURES, "0.29.3", "config.yaml.txt")) as recorded:
        config = tmp_path / "config.yaml"
        config.write_text(recorded.read() + "\nnode:\n  expiry: 180d\n")
    assert node_keys.configured_node_expiry(str(config)) == 180 * 86400
    assert node_keys.configured_node_expiry(str(tmp_path / "missing.yaml")) is None


def test_a_user_owned_key_is_dated_from_its_expiry():
    issued, source = node_keys.key_issued_at(node(expiry=iso(NOW + 170 * DAY)), NOW, 180 * 86400, None)
    assert (issued, source) == (NOW - 10 * DAY, "expiry")


def test_an_expiry_set_beyond_the_default_says_nothing_of_the_key():
    issued, source = node_keys.key_issued_at(node(expiry=iso(NOW + 400 * DAY)), NOW, 180 * 86400, None)
    assert source == "created" and issued == parse_timestamp("2026-01-01T00:00:00Z")


def test_tagged_nodes_fall_back_to_creation_then_to_the_ledger():
    tagged = node(tags=["tag:server"], expiry=iso(NOW + 170 * DAY))
    issued, source = node_keys.key_issued_at(tagged, NOW, 180 * 86400, None)
    assert source == "created"
    entry = node_keys.ledger_entry(tagged, issued, source)
    assert node_keys.key_issued_at(tagged, NOW + DAY, 180 * 86400, entry) == (issued, "created")


def test_a_key_that_changed_since_the_last_run_dates_from_this_run():
    old = node_keys.ledger_entry(node(), parse_timestamp("2026-01-01T00:00:00Z"), "created")
    rotated = node(node_key="nodekey:" + "b" * 64)
    assert node_keys.key_issued_at(rotated, NOW, None, old) == (NOW, "observed")


def test_a_rotated_key_that_comes_back_unchanged_keeps_its_age():
    old = parse_timestamp("2026-01-01T00:00:00Z")
    entry = node_keys.ledger_entry(node(), old, "created", rotated=True)
    relogged = node(expiry=iso(NOW + 180 * DAY), expired=False)
    assert node_keys.key_issued_at(relogged, NOW, 180 * 86400, entry) == (old, "reused")
    renewed = node(node_key="nodekey:" + "c" * 64, expiry=iso(NOW + 180 * DAY), expired=False)
    assert node_keys.key_issued_at(renewed, NOW, 180 * 86400, entry) == (NOW, "expiry")


def test_the_ledger_round_trips_root_only(tmp_path):
    path = str(tmp_path / "state" / "keys.json")
    ledger = node_keys.KeyLedger(path)
    assert ledger.replace({"7": node_keys.ledger_entry(node(), NOW, "observed")})
    ledger.save()
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    again = node_keys.KeyLedger(path)
    assert again.get(7)["issued_at"] == "2026-11-22T12:00:00Z"
    assert not again.replace(dict(again.entries))

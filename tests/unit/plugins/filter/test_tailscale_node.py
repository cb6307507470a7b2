# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the client role must do on a host, decided from recorded `tailscale status --json`
and `tailscale debug prefs` output (fixtures/tailscale, recorded from tailscale 1.102)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tailnet.headscale.plugins.filter.tailscale_node import tailscale_node

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tailscale")
SERVER = "http://172.30.77.10:8080"
PREFS = {"ControlURL": SERVER, "LoggedOut": False, "WantRunning": True, "Hostname": "",
         "RouteAll": False, "CorpDNS": True, "AdvertiseRoutes": None, "ExitNodeID": "", "ExitNodeIP": ""}


def load(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


def wanted(**changes):
    request = dict(login_server=SERVER, user="ops", tags=[], quarantine_tag="", hostname="",
                   accept_routes=False, accept_dns=True, advertise_routes=[], exit_node="")
    request.update(changes)
    return request


def prefs(**changes):
    result = dict(PREFS)
    result.update(changes)
    return result


def tagged(status, tags):
    status = copy.deepcopy(status)
    status["Self"]["Tags"] = tags
    return status


def test_a_node_as_requested_needs_nothing():
    node = tailscale_node(load("status_running_user.json"), prefs(), wanted(user="alice"))
    assert node["registered_here"] and not node["registered_elsewhere"] and not node["identity_differs"]
    assert node["differences"] == [] and node["report"] == ""
    assert node["node_key"] == load("status_running_user.json")["Self"]["PublicKey"]
    assert node["node_name"] == "fixture-node" and node["owner"] == "alice@example.com"


def test_a_host_without_tailscaled_is_not_registered():
    node = tailscale_node({}, {}, wanted())
    assert node["backend_state"] == "NoState" and node["node_key"] == ""
    assert not node["registered_here"] and not node["registered_elsewhere"] and not node["identity_differs"]


def test_a_logged_out_client_shows_no_key():
    # After a refused key: NeedsLogin, an all-zero key, prefs LoggedOut.
    node = tailscale_node(load("status_needs_login_zero_key.json"), prefs(LoggedOut=True, WantRunning=False), wanted())
    assert node["node_key"] == "" and not node["registered_here"] and not node["needs_login"]


def test_an_expired_node_needs_a_login():
    status = dict(load("status_running_user.json"), BackendState="NeedsLogin")
    node = tailscale_node(status, prefs(), wanted(user="alice"))
    assert node["registered_here"] and node["needs_login"] and node["differences"] == ["running"]


def test_another_server_is_elsewhere():
    node = tailscale_node(load("status_running_user.json"), prefs(ControlURL="https://other.example/"), wanted(user="alice"))
    assert node["registered_elsewhere"] and not node["registered_here"]
    assert node["control_url"] == "https://other.example"


def test_another_owner_differs():
    node = tailscale_node(load("status_running_user.json"), prefs(), wanted(user="bob"))
    assert node["identity_differs"]


@pytest.mark.parametrize("tags, quarantine_tag, differs, quarantined", [
    (["tag:web"], "", False, False),
    (["tag:db"], "", True, False),
    (["tag:quarantine"], "", True, False),
    # With an approval, the quarantine is the other accepted identity.
    (["tag:quarantine"], "tag:quarantine", False, True),
    (["tag:web"], "tag:quarantine", False, False),
    (["tag:quarantine", "tag:web"], "tag:quarantine", True, False),
    (["tag:db"], "tag:quarantine", True, False),
])
def test_tags_and_quarantine(tags, quarantine_tag, differs, quarantined):
    status = tagged(load("status_running_user.json"), tags)
    node = tailscale_node(status, prefs(), wanted(tags=["tag:web"], quarantine_tag=quarantine_tag))
    assert node["identity_differs"] is differs
    assert node["quarantined"] is quarantined


def test_a_quarantine_tag_on_another_server_is_not_a_quarantine_here():
    status = tagged(load("status_running_user.json"), ["tag:quarantine"])
    node = tailscale_node(status, prefs(ControlURL="https://other.example"), wanted(tags=["tag:web"], quarantine_tag="tag:quarantine"))
    assert not node["quarantined"] and node["registered_elsewhere"]


def test_settings_that_differ_are_reported_with_both_values():
    node = tailscale_node(load("status_running_user.json"),
                          prefs(Hostname="old", RouteAll=True, AdvertiseRoutes=["192.0.2.0/24"]),
                          wanted(user="alice", hostname="web-one", advertise_routes=["198.51.100.0/24"]))
    assert node["differences"] == ["hostname", "accept_routes", "advertise_routes"]
    assert 'hostname "old" (want "web-one")' in node["report"]
    assert node["node_name"] == "web-one"


def test_an_exit_node_chosen_by_ip_matches_once_resolved_to_an_id():
    status = dict(load("status_running_user.json"), ExitNodeStatus={"TailscaleIPs": ["100.64.0.9/32"]})
    node = tailscale_node(status, prefs(ExitNodeID="n123"), wanted(user="alice", exit_node="100.64.0.9"))
    assert "exit_node" not in node["differences"]


def test_the_node_name_is_lowercase_like_headscale_names():
    status = load("status_running_user.json")
    status["Self"]["HostName"] = "Web-Two"
    assert tailscale_node(status, prefs(), wanted(user="alice"))["node_name"] == "web-two"


def test_anything_but_dicts_is_refused():
    with pytest.raises(AnsibleFilterError):
        tailscale_node("{}", {}, wanted())


# Recorded in molecule join (tailscale 1.102.4, headscale 0.29.3): the tagged client after the
# role released it from quarantine, and the user-owned client advertising a route.
APPROVED = dict(login_server=SERVER, user="ops", tags=["tag:web"], quarantine_tag="tag:quarantine",
                hostname="web-one", accept_routes=True, accept_dns=True, advertise_routes=[], exit_node="")


def test_recorded_released_node_is_as_requested():
    node = tailscale_node(load("status_approved_tagged.json"), load("prefs_approved_tagged.json"), APPROVED)
    assert node["registered_here"] and not node["identity_differs"] and not node["quarantined"]
    assert node["tags"] == ["tag:web"] and node["differences"] == [] and node["node_name"] == "web-one"
    assert node["node_key"].startswith("nodekey:") and node["node_key"] != "nodekey:" + "0" * 64


def test_recorded_released_node_in_quarantine_would_be_released():
    status = tagged(load("status_approved_tagged.json"), ["tag:quarantine"])
    node = tailscale_node(status, load("prefs_approved_tagged.json"), APPROVED)
    assert node["quarantined"] and not node["identity_differs"] and node["differences"] == []


def test_recorded_released_node_without_an_approval_mode_differs_from_other_tags():
    node = tailscale_node(load("status_approved_tagged.json"), load("prefs_approved_tagged.json"),
                          dict(APPROVED, tags=["tag:db"], quarantine_tag=""))
    assert node["identity_differs"] and not node["quarantined"]


def test_recorded_user_owned_node_with_a_route():
    request = dict(login_server=SERVER, user="ops", tags=[], quarantine_tag="", hostname="",
                   accept_routes=False, accept_dns=True, advertise_routes=["192.0.2.0/24"], exit_node="")
    node = tailscale_node(load("status_user_owned_route.json"), load("prefs_user_owned_route.json"), request)
    assert node["registered_here"] and not node["identity_differs"] and node["differences"] == []
    assert node["owner"].split("@")[0] == "ops" and node["tags"] == []
    # Another route is a setting to apply, not another identity.
    node = tailscale_node(load("status_user_owned_route.json"), load("prefs_user_owned_route.json"),
                          dict(request, advertise_routes=["198.51.100.0/24"]))
    assert node["differences"] == ["advertise_routes"] and not node["identity_differs"]

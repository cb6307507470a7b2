"""Which registrations tailnet.headscale.node accepts as the device its owner described."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tailnet.headscale.plugins.modules.node import verification_problem

OLD, NEW, OTHER = ("nodekey:" + c * 64 for c in "abc")
MACHINE, STRANGER = ("mkey:" + c * 64 for c in "de")


def node(node_key, machine_key, node_id=7):
    return dict(id=node_id, name="laptop", node_key=node_key, machine_key=machine_key)


def test_a_reauthentication_is_proved_by_the_machine_that_held_the_old_key():
    anchor = node(OLD, MACHINE)
    assert verification_problem(node(NEW, MACHINE), OLD, None, anchor) is None
    problem = verification_problem(node(NEW, STRANGER, 9), OLD, None, anchor)
    assert OLD in problem and MACHINE in problem and STRANGER in problem


def test_without_a_node_holding_the_key_the_new_key_itself_must_match():
    assert verification_problem(node(NEW, MACHINE), NEW, None, None) is None
    assert OTHER in verification_problem(node(OTHER, MACHINE), NEW, None, None)


def test_the_machine_key_decides_for_a_first_enrolment():
    assert verification_problem(node(NEW, MACHINE), None, MACHINE, None) is None
    assert STRANGER in verification_problem(node(NEW, STRANGER), None, MACHINE, None)


def test_both_keys_must_match_when_both_are_given():
    anchor = node(OLD, MACHINE)
    assert verification_problem(node(NEW, MACHINE), OLD, MACHINE, anchor) is None
    assert verification_problem(node(NEW, MACHINE), OLD, STRANGER, anchor) is not None


def test_no_expectation_accepts_anything():
    assert verification_problem(node(NEW, MACHINE), None, None, None) is None

"""Each service in the wrong state answers the precise CSTA error and changes nothing."""
from __future__ import annotations

import pytest

from rccserver.switch import SwitchError
from switch_helpers import A, B, C, X, Y


def refused(code, action):
    with pytest.raises(SwitchError) as info:
        action()
    assert info.value.code == code, str(info.value)
    return info.value


@pytest.fixture
def talking(switch):
    """A talks to X on the returned call."""
    call = switch.make_call(A, X).call_id
    switch.external_answer(call)
    switch.take_events()
    return call


@pytest.fixture
def ringing(switch):
    """X's call rings at A."""
    call = switch.place_call(X, A).call_id
    switch.take_events()
    return call


def assert_untouched(switch, before):
    assert switch.calls() == before
    assert switch.take_events() == []


def test_unknown_station_call_and_connection(switch, talking):
    before = switch.calls()
    refused(("operation", "invalidDeviceIdentifier"), lambda: switch.hold_call("9999", talking))
    refused(("operation", "invalidCallIdentifier"), lambda: switch.hold_call(A, "c999"))
    refused(("stateIncompatibility", "invalidConnectionID"), lambda: switch.hold_call(B, talking))
    refused(("operation", "invalidDeviceIdentifier"), lambda: switch.get_dnd("9999"))
    assert_untouched(switch, before)


def test_answer_without_a_ringing_call(switch, talking):
    before = switch.calls()
    refused(("stateIncompatibility", "noCallToAnswer"), lambda: switch.answer_call(A, talking))
    assert_untouched(switch, before)


def test_answer_a_call_ringing_at_a_remote_number(switch):
    switch.set_remote_number(B, "tel:+15550001")
    call = switch.place_call(X, B).call_id
    switch.take_events()
    refused(("operation", "requestIncompatibleWithObject"), lambda: switch.answer_call(B, call))
    switch.external_answer(call, "+15550001")
    assert [e.kind.value for e in switch.take_events()] == ["Established"]


def test_hold_retrieve_and_digits_in_the_wrong_state(switch, ringing, talking):
    before = switch.calls()
    # `ringing` and `talking` are both at A
    refused(("stateIncompatibility", "noActiveCall"), lambda: switch.hold_call(A, ringing))
    refused(("stateIncompatibility", "noHeldCall"), lambda: switch.retrieve_call(A, talking))
    refused(("stateIncompatibility", "noActiveCall"), lambda: switch.generate_digits(A, ringing, "1"))
    refused(("operation", "valueOutOfRange"), lambda: switch.generate_digits(A, talking, "12x"))
    refused(("operation", "valueOutOfRange"), lambda: switch.generate_digits(A, talking, ""))
    assert_untouched(switch, before)


def test_alternate_needs_one_held_and_one_active_call(switch, talking):
    other = switch.place_call(Y, A).call_id
    switch.take_events()
    before = switch.calls()
    refused(("stateIncompatibility", "noHeldCall"), lambda: switch.alternate_call(A, talking, other))
    refused(("stateIncompatibility", "noHeldCall"), lambda: switch.alternate_call(A, talking, talking))
    switch.hold_call(A, talking)
    switch.take_events()
    refused(("stateIncompatibility", "noActiveCall"), lambda: switch.alternate_call(A, talking, other))
    assert switch.take_events() == []


def test_deflect_only_a_ringing_call_to_a_dialable_destination(switch, ringing, talking):
    before = switch.calls()
    refused(("stateIncompatibility", "invalidObjectState"), lambda: switch.deflect_call(A, talking, B))
    refused(("operation", "invalidDestination"), lambda: switch.deflect_call(A, ringing, "sip:bob@example.com"))
    refused(("operation", "invalidDestination"), lambda: switch.deflect_call(A, ringing, X))  # the caller itself
    assert_untouched(switch, before)


def test_make_call_destinations(switch):
    refused(("operation", "invalidDestination"), lambda: switch.make_call(A, ""))
    refused(("operation", "invalidDestination"), lambda: switch.make_call(A, "abc"))
    refused(("operation", "invalidDestination"), lambda: switch.make_call(A, "1" * 33))
    refused(("operation", "invalidDestination"), lambda: switch.make_call(A, "tel:+1001"))  # itself
    assert switch.calls() == () and switch.take_events() == []


def test_call_limit(make_switch):
    switch = make_switch(max_calls_per_station=2)
    switch.make_call(A, X)
    switch.make_call(A, Y)
    switch.take_events()
    refused(("systemResourceAvailability", "resourceBusy"), lambda: switch.make_call(A, "+1555"))
    # an incoming call to a full station is refused as busy
    call = switch.make_call(B, A).call_id
    events = switch.take_events()
    assert [(e.station, e.kind.value, e.cause.value) for e in events][-2:] == [
        (B, "Failed", "busy"),
        (B, "ConnectionCleared", "busy"),
    ]
    with pytest.raises(SwitchError):
        switch.call(call)


def test_clear_connection_not_in_the_call(switch, talking):
    refused(("stateIncompatibility", "invalidConnectionID"), lambda: switch.clear_connection(C, talking))


def test_consultation_needs_an_active_call(switch, ringing, talking):
    before = switch.calls()
    refused(("stateIncompatibility", "noActiveCall"), lambda: switch.consultation_call(A, ringing, B))
    refused(("operation", "invalidDestination"), lambda: switch.consultation_call(A, talking, X))
    refused(("operation", "invalidDestination"), lambda: switch.consultation_call(A, talking, "#?"))
    assert_untouched(switch, before)


def test_transfer_and_conference_need_held_plus_active(switch, talking):
    consult = switch.consultation_call(A, talking, Y).call_id
    switch.take_events()
    before = switch.calls()
    # the arguments swapped: the held call is not active and vice versa
    refused(("stateIncompatibility", "noHeldCall"), lambda: switch.transfer_call(A, consult, talking))
    refused(("stateIncompatibility", "noHeldCall"), lambda: switch.conference_call(A, consult, talking))
    # Y still rings: a conference needs everybody answered
    refused(("stateIncompatibility", "invalidObjectState"), lambda: switch.conference_call(A, talking, consult))
    assert_untouched(switch, before)


def test_single_step_transfer_errors(switch, ringing, talking):
    before = switch.calls()
    refused(("stateIncompatibility", "noActiveCall"), lambda: switch.single_step_transfer(A, ringing, B))
    refused(("operation", "invalidDestination"), lambda: switch.single_step_transfer(A, talking, X))
    refused(("operation", "invalidDestination"), lambda: switch.single_step_transfer(A, talking, "bob"))
    assert_untouched(switch, before)


def test_single_step_transfer_of_an_unanswered_call_is_refused(switch):
    call = switch.make_call(A, X).call_id  # X still rings
    switch.take_events()
    refused(("stateIncompatibility", "invalidObjectState"), lambda: switch.single_step_transfer(A, call, B))


def test_conference_member_limit(make_switch):
    switch = make_switch(max_conference_parties=3)
    c1 = switch.make_call(A, X).call_id
    switch.external_answer(c1)
    c2 = switch.consultation_call(A, c1, Y).call_id
    switch.external_answer(c2)
    conf = switch.conference_call(A, c1, c2).call_id
    c3 = switch.consultation_call(A, conf, B).call_id
    switch.answer_call(B, c3)
    refused(("systemResourceAvailability", "conferenceMemberLimitExceeded"), lambda: switch.conference_call(A, conf, c3))


def test_transfer_or_conference_of_two_calls_with_the_same_party(switch):
    first = switch.make_call(A, B).call_id
    switch.answer_call(B, first)
    switch.hold_call(A, first)
    second = switch.make_call(B, A).call_id  # B calls A back on a second call
    switch.answer_call(A, second)
    switch.take_events()
    before = switch.calls()
    refused(("stateIncompatibility", "invalidObjectState"), lambda: switch.transfer_call(A, first, second))
    refused(("stateIncompatibility", "invalidObjectState"), lambda: switch.conference_call(A, first, second))
    assert_untouched(switch, before)


def test_forwarding_errors(switch):
    refused(("operation", "valueOutOfRange"), lambda: switch.set_forwarding(A, "forwardDND", True, B))
    refused(("operation", "invalidForwardingDestination"), lambda: switch.set_forwarding(A, "forwardImmediate", True, None))
    refused(("operation", "invalidForwardingDestination"), lambda: switch.set_forwarding(A, "forwardImmediate", True, "x y"))
    refused(("operation", "invalidForwardingDestination"), lambda: switch.set_forwarding(A, "forwardImmediate", True, "tel:+1001"))
    refused(("operation", "valueOutOfRange"), lambda: switch.set_forwarding(A, "forwardNoAns", True, B, ring_count=0))
    refused(("operation", "valueOutOfRange"), lambda: switch.set_forwarding(A, "forwardNoAns", True, B, ring_count=16))
    assert all(not s.active for s in switch.get_forwarding(A))
    assert switch.take_events() == []


def test_outside_world_errors(switch, talking):
    refused(("stateIncompatibility", "noCallToAnswer"), lambda: switch.external_answer(talking))
    refused(("operation", "invalidCallIdentifier"), lambda: switch.external_answer("nope"))
    refused(("operation", "invalidDestination"), lambda: switch.place_call(X, Y))  # no station involved
    refused(("operation", "invalidCallingDevice"), lambda: switch.place_call("alice", A))
    internal = switch.make_call(B, C).call_id
    refused(("stateIncompatibility", "noConnectionToClear"), lambda: switch.external_hangup(internal))
    refused(("operation", "invalidDestination"), lambda: switch.set_remote_number(A, B))


def test_error_message_names_category_value_and_detail():
    error = SwitchError("operation", "invalidDestination", "not a dialable number: 'x'")
    assert str(error) == "operation/invalidDestination: not a dialable number: 'x'"
    with pytest.raises(ValueError):
        SwitchError("bogus", "x")

"""The embedded switch with a dial plan (SPEC section 10): every number a person dials
(MakeCall, DeflectCall, transfers, consultation, forwarding, a phone's INVITE) goes
through the `dial` rules; the result rings a station (extension or identification
address), goes outside when it starts with '+', and is refused otherwise. An outside
caller's destination goes through the `inbound` rules."""
from __future__ import annotations

import attrs
import pytest

from rccserver.dialplan import DialPlan, DialPlanRouter, Rule
from rccserver.switch import EmbeddedSwitch, ForwardingType, SwitchError
from switch_helpers import A, B, C, for_station

RULES = [
    Rule(r"^9(\d{10})$", "+1$1"),
    Rule(r"^9(1\d{10})$", "+$1"),
    Rule(r"^(\d{4})$", "$1"),
]
INBOUND = [Rule(r"^\+1317555(1\d{3})$", "$1")]
OUTSIDE = "+13175550188"  # what "9 (317) 555-0188" must become
B_DID = "+13175551002"  # station B's identification address


@attrs.frozen
class Desk:
    extension: str
    identification_address: str | None = None


@pytest.fixture
def switch(clock) -> EmbeddedSwitch:
    desks = (Desk(A), Desk(B, "tel:+1-317-555-1002"), Desk(C))
    plan = DialPlanRouter(DialPlan(RULES, INBOUND, country_code="1"), lambda: desks)
    return EmbeddedSwitch([A, B, C], scheduler=clock.scheduler, dial_plan=plan)


def called(switch, call_id: str):
    """(device, is_station) of the party a call was placed to."""
    party = switch.call(call_id).parties[-1]
    return party.device, party.is_station


def refused(code: tuple[str, str], action) -> SwitchError:
    with pytest.raises(SwitchError) as caught:
        action()
    assert caught.value.code == code
    return caught.value


@pytest.mark.parametrize("dialled, device, is_station", [
    ("9 (317) 555-0188", OUTSIDE, False),
    ("tel:93175550188;phone-context=dialstring", OUTSIDE, False),
    ("91-317-555-0188", OUTSIDE, False),
    ("tel:+1 317 555 0188", OUTSIDE, False),  # no rule: already international
    ("1002", B, True),
    ("tel:+1002", B, True),  # a line's number (SPEC 5) without its '+'
    ("9 317 555 1002", B, True),  # after the rule, station B's identification address
    ("+1 (317) 555-1002", B, True),
])
def test_make_call_goes_through_the_dial_plan(switch, dialled, device, is_station):
    call = switch.make_call(A, dialled).call_id
    assert called(switch, call) == (device, is_station)
    originated = next(e for e in switch.take_events() if e.kind.value == "Originated")
    assert originated.called_device == device


@pytest.mark.parametrize("dialled", ["317 555 0188", "4242", "*86"])
def test_a_number_that_is_neither_a_station_nor_international_is_refused_naming_it(switch, dialled):
    error = refused(("operation", "invalidCalledDevice"), lambda: switch.make_call(A, dialled))
    assert error.detail.startswith(dialled.replace(" ", ""))
    assert switch.calls() == () and switch.take_events() == []


def test_what_is_no_number_is_still_an_invalid_destination(switch):
    refused(("operation", "invalidDestination"), lambda: switch.make_call(A, "sip:bob@example.com"))


def test_a_phone_dialling_goes_through_the_dial_plan(switch):
    # A SIP phone's INVITE reaches the switch as place_call(station, what was dialled).
    call = switch.place_call(A, "9 (317) 555-0188").call_id
    assert called(switch, call) == (OUTSIDE, False)
    refused(("operation", "invalidCalledDevice"), lambda: switch.place_call(A, "5550188"))


def test_deflect_goes_through_the_dial_plan(switch):
    call = switch.place_call("+13175550199", A).call_id
    switch.take_events()
    switch.deflect_call(A, call, "9 317 555 0188")
    diverted = next(e for e in switch.take_events() if e.kind.value == "Diverted")
    assert diverted.new_destination == OUTSIDE
    assert called(switch, call) == (OUTSIDE, False)
    other = switch.place_call("+13175550199", A).call_id
    refused(("operation", "invalidCalledDevice"), lambda: switch.deflect_call(A, other, "5550188"))


def test_single_step_transfer_and_consultation_go_through_the_dial_plan(switch):
    first = switch.place_call("+13175550199", A).call_id
    switch.answer_call(A, first)
    consulted = switch.consultation_call(A, first, "9 317 555 1002").call_id
    assert called(switch, consulted) == (B, True)
    switch.clear_connection(A, consulted)
    switch.retrieve_call(A, first)
    refused(("operation", "invalidCalledDevice"), lambda: switch.consultation_call(A, first, "5550188"))
    refused(("operation", "invalidCalledDevice"), lambda: switch.single_step_transfer(A, first, "5550188"))
    transferred = switch.single_step_transfer(A, first, "9 (317) 555-0188").call_id
    assert called(switch, transferred) == (OUTSIDE, False)


def test_forwarding_destinations_go_through_the_dial_plan(switch):
    switch.set_forwarding(A, "forwardImmediate", True, "9 (317) 555-0188")
    assert switch.get_forwarding(A)[0].destination == OUTSIDE
    forwarding = switch.take_events()[-1]
    assert forwarding.forward_to == OUTSIDE
    call = switch.place_call("+13175550199", A).call_id
    assert called(switch, call) == (OUTSIDE, False)
    switch.set_forwarding(A, ForwardingType.BUSY, True, "9 317 555 1002")
    assert switch.get_forwarding(A)[1].destination == B
    refused(("operation", "invalidForwardingDestination"),
            lambda: switch.set_forwarding(A, "forwardNoAns", True, "5550188"))
    refused(("operation", "invalidForwardingDestination"),
            lambda: switch.set_forwarding(A, "forwardNoAns", True, "sip:bob@example.com"))


def test_a_forwarding_destination_is_not_read_again_when_a_call_comes(clock):
    # A rule set that is not idempotent: reading "+44..." again would prefix it once more.
    plan = DialPlanRouter(DialPlan([Rule(r"^\+(\d+)$", "+1$1")]), lambda: ())
    switch = EmbeddedSwitch([A, B], scheduler=clock.scheduler, dial_plan=plan)
    switch.set_forwarding(A, "forwardImmediate", True, "+442079460018")
    assert switch.get_forwarding(A)[0].destination == "+1442079460018"
    call = switch.make_call(B, A).call_id
    assert called(switch, call) == ("+1442079460018", False)


def test_a_forwarding_station_that_left_goes_nowhere(switch):
    switch.set_forwarding(A, "forwardImmediate", True, C)
    switch.remove_station(C)
    call = switch.make_call(B, A).call_id  # C is no more: A rings itself
    assert called(switch, call) == (A, True)


def test_an_outside_caller_reaches_a_station_by_its_did(switch):
    call = switch.place_call("+13175550199", "tel:+1 317 555 1003").call_id  # inbound rule: 1003
    assert called(switch, call) == (C, True)
    assert for_station(switch.take_events(), C) == [("Delivered", call, C, "alerting", "newCall")]
    call = switch.place_call("+13175550199", B_DID).call_id  # B's identification address
    assert called(switch, call) == (B, True)
    refused(("operation", "invalidDestination"), lambda: switch.place_call("+13175550199", "+13175552999"))
    refused(("operation", "invalidDestination"), lambda: switch.place_call("+13175550199", "+13175550188"))


def test_without_a_dial_plan_any_number_is_an_outside_party(make_switch):
    switch = make_switch()
    call = switch.make_call(A, "3175550188").call_id
    assert called(switch, call) == ("3175550188", False)

"""Forwarding (immediate, busy, no-answer), do-not-disturb, remote numbers, and the timers behind them."""
from __future__ import annotations

import pytest

from rccserver.switch import ConnectionState, EmbeddedSwitch, ForwardingSetting, ForwardingType, SwitchError, events as ev
from switch_helpers import A, B, C, X, Y, for_station


def test_set_and_get_forwarding_emit_forwarding_events(switch):
    switch.set_forwarding(A, "forwardImmediate", True, "tel:+1 317 555 2020")
    switch.set_forwarding(A, ForwardingType.NO_ANSWER, True, "1002")
    events = switch.take_events()
    assert events == [
        ev.Forwarding(A, ForwardingType.IMMEDIATE, True, X, None),
        ev.Forwarding(A, ForwardingType.NO_ANSWER, True, B, 4),
    ]
    assert switch.get_forwarding(A) == (
        ForwardingSetting(ForwardingType.IMMEDIATE, True, X, None),
        ForwardingSetting(ForwardingType.BUSY, False),
        ForwardingSetting(ForwardingType.NO_ANSWER, True, B, 4),
    )
    switch.set_forwarding(A, "forwardImmediate", False)
    assert switch.take_events() == [ev.Forwarding(A, ForwardingType.IMMEDIATE, False, None, None)]
    assert switch.get_forwarding(A)[0] == ForwardingSetting(ForwardingType.IMMEDIATE, False)


def test_forwarding_setting_answers_what_set_forwarding_would_set_and_changes_nothing(switch):
    """The state store saves a setting before it is set: the switch says what it would be first."""
    setting = switch.forwarding_setting(A, "forwardNoAns", True, "tel:+1002")
    assert setting == ForwardingSetting(ForwardingType.NO_ANSWER, True, B, 4)
    assert switch.take_events() == []
    assert switch.get_forwarding(A)[2] == ForwardingSetting(ForwardingType.NO_ANSWER, False)
    switch.set_forwarding(A, setting.type, setting.active, setting.destination, setting.ring_count)
    assert switch.get_forwarding(A)[2] == setting  # a setting it answered is set unchanged
    for refused in ((A, "forwardImmediate", True, A), (A, "forwardNoAns", True, X, 16), ("999", "forwardBusy", False)):
        with pytest.raises(SwitchError):
            switch.forwarding_setting(*refused)


def test_a_setting_the_switch_answered_is_set_without_the_dial_plan_again(clock):
    """The dial plan reads what a person dialled, once: a setting saved and set again later
    (dialled=False) is routed as it is, even under rules that would change it again."""
    from rccserver.dialplan import DialPlan, DialPlanRouter, Rule

    class Desk:
        def __init__(self, extension):
            self.extension, self.identification_address = extension, None

    desks = (Desk(A), Desk(B), Desk(C))
    rules = [Rule(r"^0(\d+)$", "+49$1"), Rule(r"^\+49(\d+)$", "+4930$1")]  # the second would rewrite the first's
    switch = EmbeddedSwitch([A, B, C], scheduler=clock.scheduler,
                            dial_plan=DialPlanRouter(DialPlan(rules, []), lambda: desks))
    setting = switch.forwarding_setting(A, "forwardImmediate", True, "0301234")
    assert setting.destination == "+49301234"
    switch.set_forwarding(A, setting.type, True, setting.destination, dialled=False)
    assert switch.get_forwarding(A)[0] == setting
    switch.set_forwarding(A, setting.type, True, setting.destination)  # dialled: the rules apply again
    assert switch.get_forwarding(A)[0].destination == "+4930301234"
    with pytest.raises(SwitchError):  # a station gone since is refused, not dialled
        switch.forwarding_setting(A, "forwardBusy", True, "4711", dialled=False)

def test_immediate_forwarding_diverts_before_ringing(switch):
    switch.set_forwarding(B, "forwardImmediate", True, C)
    switch.take_events()
    call = switch.make_call(A, B).call_id
    events = switch.take_events()
    assert for_station(events, B) == [("Diverted", call, B, "null", "callForwardImmediate")]
    assert for_station(events, A) == [
        ("ServiceInitiated", call, A, "initiated", "makeCall"),
        ("Originated", call, A, "connected", "normal"),
        ("Diverted", call, A, "connected", "callForwardImmediate"),
        ("Delivered", call, A, "connected", "callForwardImmediate"),
    ]
    assert for_station(events, C) == [("Delivered", call, C, "alerting", "callForwardImmediate")]
    delivered_c = next(e for e in events if e.station == C)
    assert (delivered_c.calling_device, delivered_c.called_device, delivered_c.last_redirection_device) == (A, B, B)
    diverted_b = next(e for e in events if e.station == B)
    assert (diverted_b.diverting_device, diverted_b.new_destination) == (B, C)
    assert switch.snapshot(B) == ()


def test_immediate_forwarding_loop_stops_at_a_device_already_offered(switch):
    switch.set_forwarding(B, "forwardImmediate", True, C)
    switch.set_forwarding(C, "forwardImmediate", True, B)
    call = switch.place_call(X, B).call_id
    switch.take_events()
    assert [p.device for p in switch.call(call).parties] == [X, C]


def test_forwarding_chain_is_bounded(make_switch):
    stations = [str(2000 + i) for i in range(10)]
    switch = make_switch(stations, max_forward_hops=3)
    for here, there in zip(stations, stations[1:]):
        switch.set_forwarding(here, "forwardImmediate", True, there)
    call = switch.place_call(X, stations[0]).call_id
    assert [p.device for p in switch.call(call).parties] == [X, stations[3]]


def test_busy_forwarding_only_when_talking(switch):
    switch.set_forwarding(A, "forwardBusy", True, Y)
    switch.take_events()
    idle = switch.place_call(X, A).call_id
    assert switch.snapshot(A)[0].state is ConnectionState.ALERTING
    switch.answer_call(A, idle)
    switch.take_events()
    busy = switch.make_call(B, A).call_id
    events = switch.take_events()
    assert for_station(events, A) == [("Diverted", busy, A, "null", "callForwardBusy")]
    assert [p.device for p in switch.call(busy).parties] == [B, Y]


def test_call_waiting_without_busy_forwarding(switch):
    first = switch.place_call(X, A).call_id
    switch.answer_call(A, first)
    second = switch.place_call(Y, A).call_id
    assert [s.state for s in switch.snapshot(A)] == [ConnectionState.CONNECTED, ConnectionState.ALERTING]
    assert second != first


def test_no_answer_forwarding_after_ring_count_rings(make_switch, clock):
    switch = make_switch(ring_interval=5)
    switch.set_forwarding(A, "forwardNoAns", True, B, ring_count=3)
    switch.take_events()
    call = switch.place_call(X, A).call_id
    switch.take_events()
    assert clock.scheduler.next_deadline() == clock.now + 15
    clock.advance_to(clock.now + 14.9)
    assert switch.take_events() == [] and switch.snapshot(A)[0].state is ConnectionState.ALERTING
    clock.advance_to(clock.now + 15)
    events = switch.take_events()
    assert for_station(events, A) == [("Diverted", call, A, "null", "callForwardNoAnswer")]
    assert for_station(events, B) == [("Delivered", call, B, "alerting", "callForwardNoAnswer")]
    assert clock.scheduler.next_deadline() is None


def test_answering_cancels_the_no_answer_timer(switch, clock):
    switch.set_forwarding(A, "forwardNoAns", True, B, ring_count=2)
    call = switch.place_call(X, A).call_id
    assert clock.scheduler.next_deadline() is not None
    switch.answer_call(A, call)
    assert clock.scheduler.next_deadline() is None


def test_no_answer_forwarding_switched_off_meanwhile_keeps_ringing(switch, clock):
    switch.set_forwarding(A, "forwardNoAns", True, B, ring_count=1)
    call = switch.place_call(X, A).call_id
    switch.set_forwarding(A, "forwardNoAns", False)
    switch.take_events()
    clock.advance_to(clock.now + 100)
    assert switch.take_events() == []
    assert switch.snapshot(A)[0].call_id == call


def test_no_answer_chain_fires_each_hop_at_its_own_deadline(make_switch, clock):
    switch = make_switch(ring_interval=1)
    switch.set_forwarding(A, "forwardNoAns", True, B, ring_count=2)
    switch.set_forwarding(B, "forwardNoAns", True, C, ring_count=3)
    start = clock.now
    call = switch.place_call(X, A).call_id
    switch.take_events()
    clock.advance_to(start + 4.5)  # A forwards at +2; B would forward at +5
    assert [p.device for p in switch.call(call).parties] == [X, B]
    assert clock.scheduler.next_deadline() == start + 5
    clock.advance_to(start + 5)
    assert [p.device for p in switch.call(call).parties] == [X, C]


def test_do_not_disturb_refuses_incoming_calls(switch):
    switch.set_dnd(B, True)
    assert switch.take_events() == [ev.DoNotDisturb(B, True)]
    assert switch.get_dnd(B) is True
    call = switch.make_call(A, B).call_id
    events = switch.take_events()
    assert for_station(events, B) == []
    assert for_station(events, A)[-2:] == [
        ("Failed", call, A, "fail", "doNotDisturb"),
        ("ConnectionCleared", call, A, "null", "doNotDisturb"),
    ]
    assert next(e for e in events if e.kind.value == "Failed").failing_device == B
    assert switch.calls() == ()
    # an external caller is refused the same way
    switch.place_call(X, B)
    assert switch.take_events() == [] and switch.calls() == ()
    switch.set_dnd(B, False)
    switch.place_call(X, B)
    assert [e.kind.value for e in switch.take_events()] == ["DoNotDisturb", "Delivered"]


def test_immediate_forwarding_wins_over_do_not_disturb(switch):
    switch.set_dnd(B, True)
    switch.set_forwarding(B, "forwardImmediate", True, C)
    call = switch.place_call(X, B).call_id
    assert [p.device for p in switch.call(call).parties] == [X, C]


def test_auto_answer_of_external_parties(make_switch, clock):
    switch = make_switch(auto_answer_after=3)
    call = switch.make_call(A, X).call_id
    switch.take_events()
    assert clock.scheduler.next_deadline() == clock.now + 3
    clock.advance_to(clock.now + 3)
    events = switch.take_events()
    assert for_station(events, A) == [("Established", call, A, "connected", "normal")]
    assert events[0].answering_device == X


def test_external_parties_never_answer_by_themselves_by_default(switch, clock):
    switch.make_call(A, X)
    assert clock.scheduler.next_deadline() is None
    clock.advance_to(clock.now + 10_000)
    assert switch.snapshot(A)[0].state is ConnectionState.CONNECTED
    assert switch.calls()[0].parties[1].state is ConnectionState.ALERTING


def test_remote_number_rings_and_is_answered_outside(make_switch, clock):
    switch = make_switch(auto_answer_after=2)
    switch.set_remote_number(A, "tel:+15550001")
    assert switch.get_remote_number(A) == "+15550001"
    call = switch.make_call(B, A).call_id
    events = switch.take_events()
    assert for_station(events, A) == [("Delivered", call, A, "alerting", "newCall")]
    party = switch.call(call).parties[1]
    assert (party.device, party.is_station, party.remote_number) == (A, True, "+15550001")
    clock.advance_to(clock.now + 2)
    events = switch.take_events()
    assert for_station(events, A) == [("Established", call, A, "connected", "normal")]
    # the remote phone hangs up: the station's connection clears
    switch.external_hangup(call)
    assert for_station(switch.take_events(), A) == [("ConnectionCleared", call, A, "null", "normalClearing")]
    switch.set_remote_number(A, None)
    assert switch.get_remote_number(A) is None


def test_deflect_to_a_station_follows_its_forwarding(switch):
    switch.set_forwarding(B, "forwardImmediate", True, Y)
    call = switch.place_call(X, A).call_id
    switch.take_events()
    switch.deflect_call(A, call, B)
    events = switch.take_events()
    assert for_station(events, A) == [("Diverted", call, A, "null", "redirected")]
    assert for_station(events, B) == [("Diverted", call, B, "null", "callForwardImmediate")]
    assert [p.device for p in switch.call(call).parties] == [X, Y]


def test_remove_station_clears_its_calls(switch):
    call = switch.make_call(A, B).call_id
    switch.answer_call(B, call)
    switch.take_events()
    switch.remove_station(B)
    assert B not in switch.stations() and not switch.has_station(B)
    assert switch.has_station(A) and A in switch.stations()
    assert [(e.station, e.kind.value) for e in switch.take_events()] == [(B, "ConnectionCleared"), (A, "ConnectionCleared")]
    assert switch.calls() == ()

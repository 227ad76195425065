"""Every flow of reference section 6 as exact event sequences per station."""
from __future__ import annotations

from rccserver.switch import ConnectionId, ConnectionListItem, ConnectionState, SnapshotItem
from rccserver.switch import events as ev
from switch_helpers import A, B, C, X, Y, for_station, kinds


def test_inbound_call_rings_then_answered_then_cleared(switch):
    call = switch.place_call("tel:+1 (317) 555-2020", A).call_id
    events = switch.take_events()
    assert for_station(events, A) == [("Delivered", call, A, "alerting", "newCall")]
    (delivered,) = events
    assert (delivered.alerting_device, delivered.calling_device, delivered.called_device) == (A, X, A)
    assert delivered.last_redirection_device is None
    assert switch.snapshot(A) == (SnapshotItem(call, ConnectionState.ALERTING),)

    switch.answer_call(A, call)
    (established,) = switch.take_events()
    assert for_station([established], A) == [("Established", call, A, "connected", "normal")]
    assert (established.answering_device, established.calling_device, established.called_device) == (A, X, A)

    switch.external_hangup(call)
    (cleared,) = switch.take_events()
    assert for_station([cleared], A) == [("ConnectionCleared", call, A, "null", "normalClearing")]
    assert cleared.releasing_device == X
    assert switch.snapshot(A) == () and switch.calls() == ()


def test_inbound_call_cleared_by_the_station(switch):
    call = switch.place_call(X, A).call_id
    switch.answer_call(A, call)
    switch.take_events()
    switch.clear_connection(A, call)
    (cleared,) = switch.take_events()
    assert (cleared.kind.value, cleared.releasing_device, cleared.cause.value) == ("ConnectionCleared", A, "normalClearing")
    assert switch.calls() == ()


def test_make_call_to_external(switch):
    call = switch.make_call(A, "tel:+13175552020").call_id
    events = switch.take_events()
    assert for_station(events, A) == [
        ("ServiceInitiated", call, A, "initiated", "makeCall"),
        ("Originated", call, A, "connected", "normal"),
        ("Delivered", call, A, "connected", "normal"),
    ]
    assert events[1].calling_device == A and events[1].called_device == X
    assert events[2].alerting_device == X
    switch.external_answer(call)
    (established,) = switch.take_events()
    assert for_station([established], A) == [("Established", call, A, "connected", "normal")]
    assert established.answering_device == X


def test_make_call_station_to_station_both_get_their_events(switch):
    call = switch.make_call(A, B).call_id
    events = switch.take_events()
    assert kinds(events, A) == ["ServiceInitiated", "Originated", "Delivered"]
    assert for_station(events, B) == [("Delivered", call, B, "alerting", "newCall")]
    switch.answer_call(B, call)
    events = switch.take_events()
    assert for_station(events, B) == [("Established", call, B, "connected", "normal")]
    assert for_station(events, A) == [("Established", call, A, "connected", "normal")]
    assert all(e.answering_device == B for e in events)
    switch.clear_connection(B, call)
    events = switch.take_events()
    assert for_station(events, B) == [("ConnectionCleared", call, B, "null", "normalClearing")]
    assert for_station(events, A) == [("ConnectionCleared", call, A, "null", "normalClearing")]
    assert all(e.releasing_device == B for e in events)


def test_busy_far_end_fails_then_clears(switch):
    call = switch.make_call(A, X).call_id
    switch.take_events()
    switch.external_hangup(call)  # the far end rejects while ringing
    events = switch.take_events()
    assert for_station(events, A) == [
        ("Failed", call, A, "fail", "busy"),
        ("ConnectionCleared", call, A, "null", "busy"),
    ]
    assert events[0].failing_device == X
    assert switch.calls() == ()


def test_station_declining_a_ringing_station_call(switch):
    call = switch.make_call(A, B).call_id
    switch.take_events()
    switch.clear_connection(B, call)
    events = switch.take_events()
    assert for_station(events, B) == [("ConnectionCleared", call, B, "null", "normalClearing")]
    assert for_station(events, A) == [("Failed", call, A, "fail", "busy"), ("ConnectionCleared", call, A, "null", "busy")]


def test_caller_cancels_before_answer(switch):
    call = switch.make_call(A, B).call_id
    switch.take_events()
    switch.clear_connection(A, call)
    events = switch.take_events()
    assert for_station(events, A) == [("ConnectionCleared", call, A, "null", "normalClearing")]
    assert for_station(events, B) == [("ConnectionCleared", call, B, "null", "callCancelled")]
    assert [e.releasing_device for e in events] == [A, A]


def test_external_caller_gives_up_while_ringing(switch):
    call = switch.place_call(X, A).call_id
    switch.take_events()
    switch.external_hangup(call)
    assert for_station(switch.take_events(), A) == [("ConnectionCleared", call, A, "null", "callCancelled")]


def test_hold_and_retrieve(switch):
    call = switch.make_call(A, X).call_id
    switch.external_answer(call)
    switch.take_events()
    switch.hold_call(A, call)
    (held,) = switch.take_events()
    assert for_station([held], A) == [("Held", call, A, "hold", "normal")] and held.holding_device == A
    assert switch.snapshot(A) == (SnapshotItem(call, ConnectionState.HOLD),)
    switch.retrieve_call(A, call)
    (retrieved,) = switch.take_events()
    assert for_station([retrieved], A) == [("Retrieved", call, A, "connected", "normal")]
    assert retrieved.retrieving_device == A


def test_hold_is_not_reported_to_the_other_station(switch):
    call = switch.make_call(A, B).call_id
    switch.answer_call(B, call)
    switch.take_events()
    switch.hold_call(A, call)
    assert kinds(switch.take_events(), B) == []


def test_call_waiting_answer_holds_the_first_call(switch):
    first = switch.place_call(X, A).call_id
    switch.answer_call(A, first)
    second = switch.place_call(Y, A).call_id
    switch.take_events()
    assert switch.snapshot(A) == (
        SnapshotItem(first, ConnectionState.CONNECTED),
        SnapshotItem(second, ConnectionState.ALERTING),
    )
    switch.answer_call(A, second)
    assert for_station(switch.take_events(), A) == [
        ("Held", first, A, "hold", "normal"),
        ("Established", second, A, "connected", "normal"),
    ]


def test_alternate(switch):
    first = switch.place_call(X, A).call_id
    switch.answer_call(A, first)
    second = switch.place_call(Y, A).call_id
    switch.answer_call(A, second)
    switch.take_events()
    switch.alternate_call(A, first, second)
    assert for_station(switch.take_events(), A) == [
        ("Held", second, A, "hold", "alternate"),
        ("Retrieved", first, A, "connected", "alternate"),
    ]


def test_consultation_then_transfer(switch):
    c8 = switch.make_call(A, X).call_id
    switch.external_answer(c8)
    switch.take_events()
    c9 = switch.consultation_call(A, c8, Y).call_id
    events = switch.take_events()
    assert for_station(events, A) == [
        ("Held", c8, A, "hold", "consultation"),
        ("Originated", c9, A, "connected", "consultation"),
        ("Delivered", c9, A, "connected", "normal"),
    ]
    assert events[2].alerting_device == Y
    switch.external_answer(c9)
    assert for_station(switch.take_events(), A) == [("Established", c9, A, "connected", "normal")]

    result = switch.transfer_call(A, c8, c9).call_id
    events = switch.take_events()
    assert for_station(events, A) == [
        ("Transferred", c8, A, "null", "transfer"),
        ("ConnectionCleared", c8, A, "null", "transfer"),
        ("ConnectionCleared", c9, A, "null", "transfer"),
    ]
    transferred = events[0]
    assert transferred.primary_old_call == ConnectionId(c8, A)
    assert transferred.secondary_old_call == ConnectionId(c9, A)
    assert (transferred.transferring_device, transferred.transferred_to_device) == (A, Y)
    assert transferred.transferred_connections == (
        ConnectionListItem(ConnectionId(result, X), ConnectionId(c8, X)),
        ConnectionListItem(ConnectionId(result, Y), ConnectionId(c9, Y)),
    )
    assert switch.snapshot(A) == ()
    (view,) = switch.calls()
    assert view.call_id == result and {p.device for p in view.parties} == {X, Y}


def test_transfer_tells_the_carried_stations(switch):
    c8 = switch.make_call(A, B).call_id
    switch.answer_call(B, c8)
    c9 = switch.consultation_call(A, c8, C).call_id
    switch.take_events()
    new = switch.transfer_call(A, c8, c9).call_id  # C still rings: transfer before answer
    events = switch.take_events()
    assert for_station(events, B) == [("Transferred", c8, B, "connected", "transfer")]
    assert for_station(events, C) == [("Transferred", c9, C, "alerting", "transfer")]
    switch.answer_call(C, new)
    events = switch.take_events()
    assert for_station(events, C) == [("Established", new, C, "connected", "normal")]
    assert for_station(events, B) == [("Established", new, B, "connected", "normal")]


def test_single_step_transfer(switch):
    c8 = switch.place_call(X, A).call_id
    switch.answer_call(A, c8)
    switch.take_events()
    new = switch.single_step_transfer(A, c8, B).call_id
    events = switch.take_events()
    assert for_station(events, A) == [
        ("Transferred", c8, A, "null", "singleStepTransfer"),
        ("ConnectionCleared", c8, A, "null", "singleStepTransfer"),
    ]
    assert events[0].transferred_to_device == B and events[0].secondary_old_call is None
    assert events[0].transferred_connections == (ConnectionListItem(ConnectionId(new, X), ConnectionId(c8, X)),)
    assert for_station(events, B) == [("Delivered", new, B, "alerting", "singleStepTransfer")]
    delivered = [e for e in events if e.station == B][0]
    assert (delivered.calling_device, delivered.last_redirection_device) == (X, A)
    switch.answer_call(B, new)
    assert for_station(switch.take_events(), B) == [("Established", new, B, "connected", "normal")]


def test_conference(switch):
    c8 = switch.make_call(A, B).call_id
    switch.answer_call(B, c8)
    c9 = switch.consultation_call(A, c8, X).call_id
    switch.external_answer(c9)
    switch.take_events()
    result = switch.conference_call(A, c8, c9)
    conf = result.call_id
    events = switch.take_events()
    assert for_station(events, A) == [("Conferenced", c8, A, "connected", "conference")]
    assert for_station(events, B) == [("Conferenced", c8, B, "connected", "conference")]
    conferenced = events[0]
    assert conferenced.added_parties == (X,)
    assert conferenced.conferencing_device == A
    assert result.connections == conferenced.conference_connections == (
        ConnectionListItem(ConnectionId(conf, A), ConnectionId(c8, A)),
        ConnectionListItem(ConnectionId(conf, B), ConnectionId(c8, B)),
        ConnectionListItem(ConnectionId(conf, X), ConnectionId(c9, X)),
    )
    assert switch.snapshot(A) == (SnapshotItem(conf, ConnectionState.CONNECTED),)

    # X leaves: the conference goes on; the stations see X's connection drop
    switch.external_hangup(conf)
    events = switch.take_events()
    assert for_station(events, A) == [("ConnectionCleared", conf, X, "connected", "normalClearing")]
    assert for_station(events, B) == [("ConnectionCleared", conf, X, "connected", "normalClearing")]
    # B leaves: A is alone, the call ends
    switch.clear_connection(B, conf)
    events = switch.take_events()
    assert for_station(events, A) == [("ConnectionCleared", conf, A, "null", "normalClearing")]
    assert switch.calls() == ()


def test_deflect_a_ringing_call(switch):
    call = switch.place_call(X, A).call_id
    switch.take_events()
    switch.deflect_call(A, call, "tel:1002")
    events = switch.take_events()
    assert for_station(events, A) == [("Diverted", call, A, "null", "redirected")]
    assert (events[0].diverting_device, events[0].new_destination) == (A, B)
    assert for_station(events, B) == [("Delivered", call, B, "alerting", "redirected")]
    assert [e for e in events if e.station == B][0].last_redirection_device == A
    assert switch.snapshot(A) == ()


def test_generate_digits(switch):
    call = switch.make_call(A, X).call_id
    switch.external_answer(call)
    switch.take_events()
    switch.generate_digits(A, call, "12#*")
    (digits,) = switch.take_events()
    assert isinstance(digits, ev.DigitsGenerated) and digits.digits == "12#*"
    assert for_station([digits], A) == [("DigitsGenerated", call, A, "connected", "normal")]


def test_make_call_while_talking_holds_the_current_call(switch):
    first = switch.make_call(A, X).call_id
    switch.external_answer(first)
    switch.take_events()
    second = switch.make_call(A, Y).call_id
    assert for_station(switch.take_events(), A) == [
        ("Held", first, A, "hold", "normal"),
        ("ServiceInitiated", second, A, "initiated", "makeCall"),
        ("Originated", second, A, "connected", "normal"),
        ("Delivered", second, A, "connected", "normal"),
    ]


def test_desk_phone_dial_reports_new_call(switch):
    call = switch.place_call(A, X).call_id
    assert for_station(switch.take_events(), A)[0] == ("ServiceInitiated", call, A, "initiated", "newCall")


def test_events_reach_a_listener_only_once_the_operation_is_complete(clock):
    from rccserver.switch import EmbeddedSwitch

    seen = []

    def listener(event):
        # the switch is consistent when the listener runs: the call is already up
        seen.append((event.kind.value, [v.call_id for v in sw.calls()]))

    sw = EmbeddedSwitch([A], scheduler=clock.scheduler, listener=listener)
    call = sw.make_call(A, X).call_id
    assert seen == [("ServiceInitiated", [call]), ("Originated", [call]), ("Delivered", [call])]
    assert sw.take_events() == []

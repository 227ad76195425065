"""Stations carried by a real phone (a terminal): prompted MakeCall, and the requests
only the phone can carry out (answer, conference, digits) handed to it."""
from __future__ import annotations

import pytest

from rccserver.switch import ConnectionState, SnapshotItem, SwitchError
from switch_helpers import A, B, X, kinds


class RecordingTerminal:
    def __init__(self, *, refuse: set[str] = frozenset()) -> None:
        self.requests: list[tuple] = []
        self.refuse = refuse

    def _request(self, name: str, *args) -> None:
        self.requests.append((name, *args))
        if name in self.refuse:
            raise SwitchError("operation", "requestIncompatibleWithObject", f"the phone cannot {name}")

    def can_ring(self, station):
        return "ring" not in self.refuse

    def make_call_requested(self, station):
        self._request("make_call", station)

    def answer_requested(self, station, call_id):
        self._request("answer", station, call_id)

    def conference_requested(self, station, call_id):
        self._request("conference", station, call_id)

    def digits_requested(self, station, call_id, digits):
        self._request("digits", station, call_id, digits)


def test_make_call_from_a_phone_station_waits_for_its_phone_before_the_destination_rings(switch):
    switch.set_terminal(A, RecordingTerminal())
    call = switch.make_call(A, B).call_id
    events = switch.take_events()
    assert kinds(events, A) == ["ServiceInitiated"]
    assert kinds(events, B) == []
    assert switch.snapshot(A) == (SnapshotItem(call, ConnectionState.INITIATED),)
    assert switch.snapshot(B) == ()

    switch.originate(A, call)
    events = switch.take_events()
    assert kinds(events, A) == ["Originated", "Delivered"]
    assert kinds(events, B) == ["Delivered"]
    assert switch.snapshot(B) == (SnapshotItem(call, ConnectionState.ALERTING),)


def test_a_prompted_phone_that_never_goes_off_hook_leaves_nothing_behind(switch):
    switch.set_terminal(A, RecordingTerminal())
    call = switch.make_call(A, X).call_id
    switch.take_events()
    switch.clear_connection(A, call)
    assert kinds(switch.take_events(), A) == ["ConnectionCleared"]
    assert switch.calls() == () and switch.snapshot(A) == ()
    with pytest.raises(SwitchError):
        switch.originate(A, call)


def test_originate_is_refused_for_a_call_that_waits_for_no_phone(switch):
    call = switch.make_call(A, B).call_id  # simulated: not prompted
    assert switch.snapshot(A) == (SnapshotItem(call, ConnectionState.CONNECTED),)
    with pytest.raises(SwitchError) as caught:
        switch.originate(A, call)
    assert caught.value.value == "invalidConnectionState"


def test_a_phone_dialling_is_not_prompted(switch):
    switch.set_terminal(A, RecordingTerminal())
    call = switch.place_call(A, B).call_id
    assert kinds(switch.take_events(), A) == ["ServiceInitiated", "Originated", "Delivered"]
    assert switch.snapshot(B) == (SnapshotItem(call, ConnectionState.ALERTING),)


def test_answer_call_on_a_phone_station_asks_the_phone_and_changes_nothing(switch):
    terminal = RecordingTerminal()
    switch.set_terminal(B, terminal)
    call = switch.place_call(X, B).call_id
    switch.take_events()
    switch.answer_call(B, call)
    assert terminal.requests == [("answer", B, call)]
    assert switch.take_events() == []
    assert switch.snapshot(B) == (SnapshotItem(call, ConnectionState.ALERTING),)
    switch.station_answer(B, call)  # the person (or the phone, told to) picks up
    assert kinds(switch.take_events(), B) == ["Established"]


def test_a_phone_that_cannot_be_answered_remotely_refuses_answer_call(switch):
    switch.set_terminal(B, RecordingTerminal(refuse={"answer"}))
    call = switch.place_call(X, B).call_id
    switch.take_events()
    with pytest.raises(SwitchError) as caught:
        switch.answer_call(B, call)
    assert caught.value.value == "requestIncompatibleWithObject"
    assert switch.snapshot(B) == (SnapshotItem(call, ConnectionState.ALERTING),)


def test_conference_with_a_phone_that_cannot_mix_is_refused_before_anything_changes(switch):
    switch.set_terminal(A, RecordingTerminal(refuse={"conference"}))
    first = switch.place_call(X, A).call_id
    switch.station_answer(A, first)
    second = switch.consultation_call(A, first, B).call_id
    switch.station_answer(B, second)
    switch.take_events()
    before = switch.calls()
    with pytest.raises(SwitchError):
        switch.conference_call(A, first, second)
    assert switch.calls() == before and switch.take_events() == []


def test_digits_go_to_the_phone_terminal_and_the_event_follows(switch):
    terminal = RecordingTerminal()
    switch.set_terminal(A, terminal)
    call = switch.place_call(X, A).call_id
    switch.station_answer(A, call)
    switch.take_events()
    switch.generate_digits(A, call, "12#")
    assert terminal.requests == [("digits", A, call, "12#")]
    assert kinds(switch.take_events(), A) == ["DigitsGenerated"]


def test_change_observers_get_each_operations_events_once_even_when_they_call_back(switch):
    batches = []

    def observer(batch):
        batches.append([e.kind.value for e in batch])
        if batch and batch[0].kind.value == "Delivered" and len(batches) == 1:
            switch.station_answer(A, batch[0].connection.call_id)  # reacts: the phone picked up

    switch.add_change_observer(observer)
    switch.place_call(X, A)
    assert batches == [["Delivered"], ["Established"]]
    assert kinds(switch.take_events(), A) == ["Delivered", "Established"]


def test_make_call_from_a_phone_that_cannot_be_called_is_refused_with_no_call(switch):
    terminal = RecordingTerminal(refuse={"make_call"})
    switch.set_terminal(A, terminal)
    with pytest.raises(SwitchError):
        switch.make_call(A, B)
    assert terminal.requests == [("make_call", A)]
    assert switch.calls() == () and switch.take_events() == []


def test_a_station_whose_phone_cannot_ring_refuses_the_call_without_ringing(switch):
    switch.set_terminal(B, RecordingTerminal(refuse={"ring"}))
    call = switch.place_call(X, B).call_id
    events = switch.take_events()
    assert [(e.station, e.kind.value) for e in events] == []  # X is no station; B is told nothing
    assert switch.calls() == ()
    first = switch.make_call(A, B).call_id
    assert kinds(events := switch.take_events(), A) == ["ServiceInitiated", "Originated", "Failed", "ConnectionCleared"]
    failed = next(e for e in events if e.kind.value == "Failed")
    assert failed.cause.value == "destNotObtainable" and kinds(events, B) == []
    assert first and call


def test_a_phone_that_cannot_ring_sends_the_call_to_its_no_answer_forwarding(switch):
    from rccserver.switch.model import ForwardingType

    switch.set_terminal(B, RecordingTerminal(refuse={"ring"}))
    switch.set_forwarding(B, ForwardingType.NO_ANSWER, True, "1003")
    switch.take_events()
    call = switch.place_call(X, B).call_id
    assert switch.snapshot("1003") == (SnapshotItem(call, ConnectionState.ALERTING),)
    assert switch.snapshot(B) == ()

"""Call events are built only when a reader wants them, and a reader gets exactly what it got.

The readers: the outbox (take_events), whose reader may declare the stations it wants
(set_outbox_interest; the RCC EventMapper: the monitored ones), and change observers,
which may declare they read no call events (add_change_observer(call_events=False)).
Each run here is compared against the same scenario with every event built (no
declared interest), filtered the way the reader would filter it.
"""
from __future__ import annotations

import itertools

import pytest

from rccserver.switch import EmbeddedSwitch, SwitchOptions
from rccserver.switch.events import DoNotDisturb, Forwarding
from switch_helpers import A, B, C, ManualClock
from test_switch_delivery_paths import D, scenario

STATIONS = (A, B, C, D)
SETTINGS = (Forwarding, DoNotDisturb)


def _run(*, interest=None, call_observer=False, settings_observer=False, segments_interest=None):
    """Run the scenario; returns (outbox segments, call-observer batches, settings-observer
    batches, final calls). `segments_interest`: a set the outbox interest reads, replaced
    by the next of these sets after every take() (monitors starting and stopping)."""
    clock = ManualClock()
    switch = EmbeddedSwitch(
        STATIONS, options=SwitchOptions(auto_answer_after=2.0, ring_interval=1.0), scheduler=clock.scheduler
    )
    segments: list = []
    call_batches: list = []
    settings_batches: list = []
    if call_observer:
        switch.add_change_observer(lambda batch: call_batches.append(list(batch)))
    if settings_observer:
        switch.add_change_observer(lambda batch: settings_batches.append(list(batch)), call_events=False)
    sets = iter(segments_interest or ())
    current = [next(sets, None)]
    if segments_interest is not None:
        switch.set_outbox_interest(lambda station: station in current[0])
    elif interest is not None:
        switch.set_outbox_interest(lambda station: station in interest)

    def take() -> None:
        segments.append(switch.take_events())
        current[0] = next(sets, current[0])

    scenario(switch, clock, take)
    return segments, call_batches, settings_batches, switch.calls()


def _wanted(events, stations):
    return [e for e in events if type(e) in SETTINGS or e.station in stations]


FULL = None


def _full():
    global FULL
    if FULL is None:
        FULL = _run(call_observer=True, settings_observer=True)
    return FULL


@pytest.mark.parametrize(
    "monitored", [set(c) for n in range(len(STATIONS) + 1) for c in itertools.combinations(STATIONS, n)]
)
def test_outbox_gets_every_event_of_the_stations_it_wants(monitored):
    full_segments, _, full_settings, full_calls = _full()
    segments, call_batches, settings_batches, calls = _run(interest=monitored, settings_observer=True)
    assert segments == [_wanted(segment, monitored) for segment in full_segments]
    assert settings_batches == full_settings  # the settings observer is told the same
    assert call_batches == []
    assert calls == full_calls  # the switch itself did the same


def test_a_call_event_observer_gets_everything_as_before():
    full_segments, full_batches, full_settings, full_calls = _full()
    segments, call_batches, settings_batches, calls = _run(interest={A}, call_observer=True, settings_observer=True)
    assert call_batches == full_batches
    assert settings_batches == full_settings
    # the outbox may hold more than the interest asked for: its reader filters as it always did
    assert [_wanted(s, {A}) for s in segments] == [_wanted(s, {A}) for s in full_segments]
    assert calls == full_calls


def test_settings_observer_batches_are_the_full_batches_settings_events():
    _, full_batches, full_settings, _ = _full()
    expected = [[e for e in batch if type(e) in SETTINGS] for batch in full_batches]
    assert full_settings == [batch for batch in expected if batch]
    assert full_settings  # the scenario sets forwarding and DND


def test_interest_changing_between_takes_is_read_when_the_events_are_made():
    full_segments = _full()[0]
    sets = [{A, B}, set(), {C, D}]
    segments = _run(segments_interest=sets)[0]
    assert segments == [_wanted(segment, wanted) for segment, wanted in zip(full_segments, sets)]


def test_no_reader_builds_no_call_event(built_switch_events):
    built = built_switch_events
    segments, _, settings_batches, calls = _run(interest=set(), settings_observer=True)
    assert built == []
    assert [e for s in segments for e in s] == [e for s in _full()[0] for e in s if type(e) in SETTINGS]
    assert calls == _full()[3]
    built.clear()
    _run(interest={B}, settings_observer=True)
    assert built and {e.station for e in built} == {B}


def test_without_a_declared_interest_everything_is_built():
    segments = _run()[0]
    assert segments == _full()[0]
    everything = _run(interest=set(STATIONS))[0]
    assert everything == _full()[0]


def test_a_listener_hears_everything_whatever_the_interest():
    clock = ManualClock()
    heard: list = []
    switch = EmbeddedSwitch(
        STATIONS, options=SwitchOptions(auto_answer_after=2.0, ring_interval=1.0), scheduler=clock.scheduler,
        listener=heard.append,
    )
    switch.set_outbox_interest(lambda station: False)
    scenario(switch, clock, lambda: None)
    assert heard == [e for s in _full()[0] for e in s]


def test_each_operation_asks_the_interest_afresh():
    # Within an operation the switch keeps the interest's last answer (a MakeCall asks
    # about its caller three times); the next operation must ask again.
    from switch_helpers import X

    clock = ManualClock()
    switch = EmbeddedSwitch(STATIONS, scheduler=clock.scheduler)
    monitored = {A}
    asked: list[str] = []
    switch.set_outbox_interest(lambda station: asked.append(station) or station in monitored)
    call = switch.make_call(A, X).call_id
    made = switch.take_events()
    assert [type(e).__name__ for e in made] == ["ServiceInitiated", "Originated", "Delivered"]
    assert asked == [A]  # once for the three events of one operation
    monitored.clear()
    switch.hold_call(A, call)
    assert switch.take_events() == []
    monitored.add(A)
    switch.retrieve_call(A, call)
    assert [type(e).__name__ for e in switch.take_events()] == ["Retrieved"]
    monitored.clear()
    switch.clear_connection(A, call)
    assert switch.take_events() == []
    assert asked == [A, A, A, A]

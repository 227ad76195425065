"""The two ways events leave the switch give the same events in the same order.

Without a listener, an operation's events move to the outbox (take_events) in one go;
with one, they are handed over one by one. Change observers get the same batches either
way. The scenario covers calls, holds, transfers, conferences, forwarding, DND, timers
and refusals.
"""
from __future__ import annotations

from rccserver.switch import EmbeddedSwitch, SwitchError, SwitchOptions
from switch_helpers import A, B, C, X, ManualClock

D = "1004"


def _run(with_listener: bool) -> tuple[list, list]:
    clock = ManualClock()
    heard: list = []
    batches: list = []
    switch = EmbeddedSwitch(
        (A, B, C, D), options=SwitchOptions(auto_answer_after=2.0, ring_interval=1.0), scheduler=clock.scheduler,
        listener=heard.append if with_listener else None,
    )
    switch.add_change_observer(lambda batch: batches.append(list(batch)))

    def take() -> None:
        if not with_listener:
            heard.extend(switch.take_events())

    scenario(switch, clock, take)
    return heard, batches


def scenario(switch: EmbeddedSwitch, clock: ManualClock, take) -> None:
    """Calls, holds, transfers, a conference, forwarding, DND, timers and refusals on
    stations A-D; take() is called between its three parts."""

    first = switch.make_call(A, B).call_id
    switch.answer_call(B, first)
    second = switch.consultation_call(A, first, C).call_id
    switch.answer_call(C, second)
    conference = switch.conference_call(A, first, second).call_id
    switch.clear_connection(C, conference)
    take()
    outside = switch.make_call(D, X).call_id
    clock.advance_to(clock.now + 3)  # the outside party auto-answers
    switch.hold_call(D, outside)
    switch.retrieve_call(D, outside)
    switch.single_step_transfer(D, outside, A)
    take()
    switch.set_forwarding(B, "forwardNoAns", True, C, ring_count=1)
    switch.set_dnd(D, True)
    try:
        switch.make_call(C, D)
    except SwitchError:
        pass
    ring = switch.place_call(X, B).call_id
    clock.advance_to(clock.now + 2)  # no-answer forwarding to C
    switch.clear_connection(C, ring) if ring in {i.call_id for i in switch.snapshot(C)} else None
    for station in (A, B, C, D):
        for item in switch.snapshot(station):
            switch.clear_connection(station, item.call_id)
    take()


def test_outbox_and_listener_deliver_the_same_events_and_batches():
    heard_out, batches_out = _run(with_listener=False)
    heard_listened, batches_listened = _run(with_listener=True)
    assert len(heard_out) > 30
    assert heard_out == heard_listened
    assert batches_out == batches_listened
    assert [event for batch in batches_out for event in batch] == heard_out

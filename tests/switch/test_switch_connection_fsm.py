"""The connection state machine against ECMA-269's connection states, written out here.

`EXPECTED` below is not read from rccserver: it is what ECMA-269 (6.1.5, the
local connection states; the services and events of clauses 15-17) says a
party's connection does, one line per legal move, in the words of the standard.
Every (state, input) pair of the machine is checked against it, and random
input sequences walk the machine and this model side by side.
"""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, strategies as st

from rccserver.switch import SwitchError, connection_fsm
from rccserver.switch.connection_fsm import OBSERVED, TRANSITIONS, ConnectionInput as I, transition
from rccserver.switch.errors import CATEGORIES
from rccserver.switch.events import EVENT_CLASSES, EventKind as K
from rccserver.switch.model import ConnectionState as S

# state: input -> next state [events the owning station is told, in order]
EXPECTED_TEXT = """
null:
    initiate -> initiated [ServiceInitiated]        # MakeCall / off-hook: the device is getting dial tone
    consult -> connected [Originated]               # ConsultationCall: the new leg dials at once
    offer -> alerting [Delivered]                   # a call arrives and rings
    queue -> queued []                              # a call waits for the device
    divert -> null [Diverted]                       # forwarded before it rang: never joins the call
initiated:
    originate -> connected [Originated]             # the number was dialled
    fail -> fail [Failed]                           # the called side refused
    clear -> null [ConnectionCleared]               # hung up before dialling
alerting:
    answer -> connected [Established]               # AnswerCall
    divert -> null [Diverted]                       # DeflectCall / forward on no answer
    clear -> null [ConnectionCleared]               # the caller gave up, or the call ended
    transferred -> alerting [Transferred]           # carried into the transfer's call, still ringing
connected:
    hold -> hold [Held]                             # HoldCall
    fail -> fail [Failed]                           # the far end refused (busy, DND)
    clear -> null [ConnectionCleared]               # ClearConnection / hang up
    generate_digits -> connected [DigitsGenerated]  # GenerateDigits (DTMF)
    single_step_transfer -> null [Transferred, ConnectionCleared]  # the transferring station leaves
    transfer_consulted -> null [ConnectionCleared]  # the consultation leg ends in a transfer
    transferred -> connected [Transferred]          # another party, carried into the new call
    conference_consulted -> null []                 # the consultation leg merges (Conferenced covers it)
    conferenced -> connected [Conferenced]          # another party, carried into the conference
hold:
    retrieve -> connected [Retrieved]               # RetrieveCall
    fail -> fail [Failed]
    clear -> null [ConnectionCleared]
    transfer -> null [Transferred, ConnectionCleared]  # TransferCall: the held leg is handed over
    transferred -> hold [Transferred]
    conference -> connected [Conferenced]           # ConferenceCall: the held call becomes the conference
    conferenced -> hold [Conferenced]
queued:
    offer -> alerting [Delivered]
    divert -> null [Diverted]
    clear -> null [ConnectionCleared]
fail:
    clear -> null [ConnectionCleared]               # the failed call is released
"""


def parse_expected(text: str) -> dict[tuple[S, I], tuple[S, tuple[K, ...]]]:
    table: dict[tuple[S, I], tuple[S, tuple[K, ...]]] = {}
    state = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not line.startswith(" "):
            state = S(line.rstrip(":"))
            continue
        move, _, events = line.strip().partition("[")
        source_input, _, target = move.partition("->")
        kinds = tuple(K(name.strip()) for name in events.rstrip("]").split(",") if name.strip())
        key = (state, I(source_input.strip()))
        assert key not in table, f"{key} written twice"
        table[key] = (S(target.strip()), kinds)
    return table


EXPECTED = parse_expected(EXPECTED_TEXT)
LIVE = [state for state in S if state is not S.NULL]


def expected_refusal(event: I) -> tuple[str, str]:
    """The CSTA error for an input in a state that does not allow it: the value names what is
    missing (ECMA-269 12.2, stateIncompatibility values). A service that only works on an
    active call says noActiveCall, on a held call noHeldCall; answering needs a ringing call,
    clearing any connection; every other input is an invalid object state."""
    sources = {state for (state, e) in EXPECTED if e is event}
    if event is I.ANSWER:
        return ("stateIncompatibility", "noCallToAnswer")
    if event is I.CLEAR:
        return ("stateIncompatibility", "noConnectionToClear")
    if sources == {S.CONNECTED}:
        return ("stateIncompatibility", "noActiveCall")
    if sources == {S.HOLD}:
        return ("stateIncompatibility", "noHeldCall")
    return ("stateIncompatibility", "invalidObjectState")


def outcome(state: S, event: I):
    """What the machine does: (target, emits), or the refusal's CSTA error code."""
    try:
        move = transition(state, event)
    except SwitchError as error:
        return error.code
    return (move.target, move.emits)


def test_the_written_expectation_covers_every_state_and_input():
    assert {state for state, _ in EXPECTED} == set(S)
    assert {event for _, event in EXPECTED} == set(I)


@pytest.mark.parametrize("state,event", list(itertools.product(S, I)), ids=lambda v: v.value)
def test_each_pair_moves_or_refuses_as_ecma_269_says(state, event):
    expected = EXPECTED.get((state, event)) or expected_refusal(event)
    assert outcome(state, event) == expected


@pytest.mark.parametrize("state,event", list(itertools.product(S, I)), ids=lambda v: v.value)
def test_check_refuses_exactly_what_transition_refuses(state, event):
    if (state, event) in EXPECTED:
        connection_fsm.check(state, event)
    else:
        with pytest.raises(SwitchError) as info:
            connection_fsm.check(state, event)
        assert info.value.code == expected_refusal(event)


def test_the_service_errors_named_in_the_brief():
    assert outcome(S.CONNECTED, I.ANSWER) == ("stateIncompatibility", "noCallToAnswer")
    assert outcome(S.ALERTING, I.HOLD) == ("stateIncompatibility", "noActiveCall")
    assert outcome(S.CONNECTED, I.RETRIEVE) == ("stateIncompatibility", "noHeldCall")
    assert outcome(S.NULL, I.CLEAR) == ("stateIncompatibility", "noConnectionToClear")


def walk(start: S, events: list[I]) -> tuple[S, list[K]]:
    """Feed inputs one by one; every one must be legal. The end state and all events told."""
    state, told = start, []
    for event in events:
        move = transition(state, event)
        state = move.target
        told.extend(move.emits)
    return state, told


def test_an_inbound_call_answered_held_retrieved_and_cleared():
    state, told = walk(S.NULL, [I.OFFER, I.ANSWER, I.HOLD, I.RETRIEVE, I.CLEAR])
    assert state is S.NULL
    assert told == [K.DELIVERED, K.ESTABLISHED, K.HELD, K.RETRIEVED, K.CONNECTION_CLEARED]


def test_a_make_call_that_fails_then_is_released():
    state, told = walk(S.NULL, [I.INITIATE, I.ORIGINATE, I.FAIL, I.CLEAR])
    assert state is S.NULL
    assert told == [K.SERVICE_INITIATED, K.ORIGINATED, K.FAILED, K.CONNECTION_CLEARED]


def test_a_queued_call_rings_then_is_deflected():
    state, told = walk(S.NULL, [I.QUEUE, I.OFFER, I.DIVERT])
    assert (state, told) == (S.NULL, [K.DELIVERED, K.DIVERTED])


def test_every_live_state_can_be_cleared_and_null_cannot():
    for state in LIVE:
        assert outcome(state, I.CLEAR) == (S.NULL, (K.CONNECTION_CLEARED,))
    assert outcome(S.NULL, I.CLEAR) == ("stateIncompatibility", "noConnectionToClear")


def test_every_state_is_reachable_from_null_through_the_machine():
    reached, frontier = {S.NULL}, [S.NULL]
    while frontier:
        state = frontier.pop()
        for event in I:
            result = outcome(state, event)
            if isinstance(result[0], S) and result[0] not in reached:
                reached.add(result[0])
                frontier.append(result[0])
    assert reached == set(S)


def test_leaving_a_call_always_reports_why():
    for (state, event), move in TRANSITIONS.items():
        if move.target is S.NULL and state is not S.NULL and event is not I.CONFERENCE_CONSULTED:
            # the conferencing station's merged leg is the only silent exit (Conferenced covers it)
            assert move.emits, (state, event)
            assert move.emits[-1] in (K.CONNECTION_CLEARED, K.DIVERTED)


def test_what_the_other_parties_observe():
    # ECMA-269: the calling device sees Delivered when the called one rings, Established when it
    # answers; every party sees a diversion and a party leaving.
    assert OBSERVED == {I.OFFER: K.DELIVERED, I.ANSWER: K.ESTABLISHED, I.DIVERT: K.DIVERTED,
                        I.CLEAR: K.CONNECTION_CLEARED}


def test_emitted_kinds_are_switch_events_and_refusals_known_categories():
    for move in TRANSITIONS.values():
        assert all(kind in EVENT_CLASSES for kind in move.emits)
    for state, event in itertools.product(S, I):
        result = outcome(state, event)
        if not isinstance(result[0], S):
            assert result[0] in CATEGORIES


@given(st.lists(st.sampled_from(list(I)), max_size=40))
def test_random_input_sequences_follow_the_written_model(events):
    state = model = S.NULL
    for event in events:
        expected = EXPECTED.get((model, event))
        result = outcome(state, event)
        if expected is None:
            assert result == expected_refusal(event)
            continue
        assert result == expected
        state, model = result[0], expected[0]

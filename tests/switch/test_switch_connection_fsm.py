"""The connection table is data: enumerate it and check its promises."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, strategies as st

from rccserver.switch import SwitchError, connection_fsm
from rccserver.switch.connection_fsm import OBSERVED, REFUSALS, TRANSITIONS, ConnectionInput as I, transition
from rccserver.switch.errors import CATEGORIES
from rccserver.switch.events import EVENT_CLASSES, EventKind as K
from rccserver.switch.model import ConnectionState as S

ALL_PAIRS = list(itertools.product(S, I))


def test_the_table_is_a_literal_dict_over_known_states_and_inputs():
    assert isinstance(TRANSITIONS, dict) and TRANSITIONS
    for (state, event), move in TRANSITIONS.items():
        assert state in S and event in I and move.target in S
        assert all(kind in EVENT_CLASSES for kind in move.emits)


def test_every_input_has_a_refusal_with_a_known_category():
    assert set(REFUSALS) == set(I)
    for category, value in REFUSALS.values():
        assert category in CATEGORIES and value


@pytest.mark.parametrize("state,event", ALL_PAIRS)
def test_illegal_pairs_raise_the_listed_error(state, event):
    if (state, event) in TRANSITIONS:
        assert transition(state, event) is TRANSITIONS[(state, event)]
        connection_fsm.check(state, event)
    else:
        with pytest.raises(SwitchError) as info:
            transition(state, event)
        assert info.value.code == REFUSALS[event]


def test_every_state_is_reachable_from_null_and_every_live_state_can_clear():
    reached, frontier = {S.NULL}, [S.NULL]
    while frontier:
        state = frontier.pop()
        for (source, _), move in TRANSITIONS.items():
            if source is state and move.target not in reached:
                reached.add(move.target)
                frontier.append(move.target)
    assert reached == set(S)
    for state in S:
        if state is not S.NULL:
            assert TRANSITIONS[(state, I.CLEAR)] .target is S.NULL


def test_leaving_a_call_always_reports_why():
    for (state, event), move in TRANSITIONS.items():
        if move.target is S.NULL and state is not S.NULL and event is not I.CONFERENCE_CONSULTED:
            # the conferencing station's merged leg is the only silent exit (Conferenced covers it)
            assert move.emits, (state, event)
            assert move.emits[-1] in (K.CONNECTION_CLEARED, K.DIVERTED)


def test_service_errors_named_in_the_brief():
    assert REFUSALS[I.ANSWER] == ("stateIncompatibility", "noCallToAnswer")
    assert REFUSALS[I.HOLD] == ("stateIncompatibility", "noActiveCall")
    assert REFUSALS[I.RETRIEVE] == ("stateIncompatibility", "noHeldCall")


def test_observed_inputs_emit_the_same_kind_to_the_owner():
    for event, kind in OBSERVED.items():
        assert any(e is event and kind in move.emits for (_, e), move in TRANSITIONS.items())


def test_carrying_a_connection_into_a_new_call_keeps_its_state():
    for (state, event), move in TRANSITIONS.items():
        if event in (I.TRANSFERRED, I.CONFERENCED):
            assert move.target is state


@given(st.lists(st.sampled_from(list(I)), max_size=40))
def test_random_input_sequences_stay_in_the_table(events):
    state = S.NULL
    for event in events:
        try:
            move = transition(state, event)
        except SwitchError as error:
            assert error.code == REFUSALS[event]
            continue
        assert (state, event) in TRANSITIONS
        state = move.target
    assert state in S

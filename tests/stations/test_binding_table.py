"""The registration binding's life cycle (absent -> bound -> refreshed -> removed / expired), read from its table."""
from __future__ import annotations

import pytest

from rccserver.sip.transaction import InvalidTransition
from rccserver.stations.binding import (
    BINDING_TABLE,
    BindingAction as A,
    BindingInput as I,
    BindingState as S,
    seconds_left,
    step,
)

FINAL = {S.REMOVED, S.EXPIRED}
LIVE = {S.BOUND, S.REFRESHED}
REPORTS = {A.REPORT_ADDED, A.REPORT_REFRESHED, A.REPORT_REMOVED, A.REPORT_EXPIRED}


def test_the_life_cycle_of_the_issue():
    assert step(S.ABSENT, I.REGISTER) == (S.BOUND, (A.ARM_TIMER, A.REPORT_ADDED))
    assert step(S.BOUND, I.REGISTER) == (S.REFRESHED, (A.REARM_TIMER, A.REPORT_REFRESHED))
    assert step(S.REFRESHED, I.REGISTER) == (S.REFRESHED, (A.REARM_TIMER, A.REPORT_REFRESHED))
    assert step(S.REFRESHED, I.UNREGISTER) == (S.REMOVED, (A.CANCEL_TIMER, A.REPORT_REMOVED, A.FORGET))
    assert step(S.BOUND, I.LAPSE) == (S.EXPIRED, (A.REPORT_EXPIRED, A.FORGET))


@pytest.mark.parametrize("state", sorted(LIVE, key=lambda s: s.value))
def test_a_live_binding_ends_by_unregister_reload_or_time(state):
    assert step(state, I.UNREGISTER)[0] is S.REMOVED
    assert step(state, I.STATION_GONE)[0] is S.REMOVED
    assert step(state, I.LAPSE)[0] is S.EXPIRED


@pytest.mark.parametrize("state, input_", [
    (S.ABSENT, I.UNREGISTER),  # removing what nobody registered touches no binding
    (S.ABSENT, I.LAPSE),
    (S.ABSENT, I.STATION_GONE),
    (S.REMOVED, I.REGISTER),  # a new REGISTER of the contact starts a new binding
    (S.EXPIRED, I.REGISTER),
    (S.EXPIRED, I.LAPSE),
    (S.REMOVED, I.UNREGISTER),
])
def test_moves_the_table_does_not_list_are_refused(state, input_):
    with pytest.raises(InvalidTransition) as caught:
        step(state, input_)
    assert caught.value.state is state and caught.value.input is input_


def test_final_states_accept_nothing_and_forget_means_final():
    for state in FINAL:
        for input_ in I:
            assert (state, input_) not in BINDING_TABLE
    for (source, input_), (target, actions) in BINDING_TABLE.items():
        assert (A.FORGET in actions) == (target in FINAL), (source, input_)
        assert len(REPORTS.intersection(actions)) == 1, (source, input_)  # every move is reported once


def test_the_timer_is_armed_while_live_and_never_left_running():
    for (source, input_), (target, actions) in BINDING_TABLE.items():
        if target in LIVE:
            assert {A.ARM_TIMER, A.REARM_TIMER} & set(actions), (source, input_)
        elif input_ is not I.LAPSE:  # a lapse means the timer already fired
            assert A.CANCEL_TIMER in actions, (source, input_)


def test_seconds_left_rounds_up_and_ignores_float_noise():
    assert seconds_left(4600.1, 1000.1) == 3600  # 3600.0000000000005 in floats
    assert seconds_left(100.0, 99.5) == 1
    assert seconds_left(100.0, 40.0) == 60
    assert seconds_left(100.0, 100.0) == 0
    assert seconds_left(100.0, 150.0) == 0

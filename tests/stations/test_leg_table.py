"""The call-leg table's promises, checked row by row (leg_table.py's docstring states them)."""
from __future__ import annotations

import pytest

from rccserver.sip.transaction_tables import InvalidTransition
from rccserver.stations.leg_table import (
    CALL_LAYER_INPUTS,
    END_REPORTED,
    LEG_TABLE,
    PHONE_INVITE_PENDING,
    RETRANSMITTING_2XX,
    LegAction as A,
    LegInput as I,
    LegState as S,
    step,
)

REPORTS = {a for a in A if a.name.startswith("REPORT_")}
ENDS = {A.REPORT_ENDED, A.REPORT_FAILED}
ANSWERS_THE_PHONES_INVITE = {A.SEND_2XX, A.SEND_FINAL, A.SEND_487}
LIVE = [s for s in S if s not in END_REPORTED]
# Requests a phone can send in a dialog we registered, and the states that dialog is registered in.
PHONE_REQUESTS = (I.PHONE_ACK, I.PHONE_BYE, I.PHONE_REINVITE, I.PHONE_REFER)
DIALOG_REGISTERED = [s for s in S if s not in (S.OUT_CALLING, S.OUT_RINGING, S.CANCELLING, S.ENDED)]


def rows():
    return [(state, input_, *LEG_TABLE[(state, input_)]) for state, input_ in LEG_TABLE]


def test_the_end_is_reported_exactly_on_leaving_the_live_states():
    for state, input_, next_state, actions in rows():
        reported = [a for a in actions if a in ENDS]
        if state in LIVE and next_state in END_REPORTED:
            assert len(reported) == 1, (state, input_)
        else:
            assert reported == [], (state, input_)


def test_nothing_is_reported_once_the_end_was():
    for state, input_, _, actions in rows():
        if state in END_REPORTED:
            assert not REPORTS & set(actions), (state, input_)


def test_end_reported_states_are_never_left_for_a_live_one():
    for state, input_, next_state, _ in rows():
        if state in END_REPORTED:
            assert next_state in END_REPORTED, (state, input_)


def test_every_way_into_ended_forgets_the_dialog_and_only_those():
    for state, input_, next_state, actions in rows():
        entering = state is not S.ENDED and next_state is S.ENDED
        assert (A.FORGET in actions) == entering, (state, input_)


def test_leaving_a_retransmitting_state_stops_the_2xx_unless_it_gave_up():
    for state, input_, next_state, actions in rows():
        if state in RETRANSMITTING_2XX and next_state not in RETRANSMITTING_2XX and input_ is not I.NO_ACK:
            assert A.STOP_2XX in actions, (state, input_)
        if A.STOP_2XX in actions:
            assert state in RETRANSMITTING_2XX, (state, input_)


def test_leaving_a_state_with_the_phones_invite_pending_answers_it():
    for state, input_, next_state, actions in rows():
        if state in PHONE_INVITE_PENDING and next_state not in PHONE_INVITE_PENDING:
            assert len(ANSWERS_THE_PHONES_INVITE & set(actions)) == 1, (state, input_)
        if ANSWERS_THE_PHONES_INVITE & set(actions):
            assert state in PHONE_INVITE_PENDING, (state, input_)


def test_every_request_of_the_phone_gets_an_answer_or_is_an_ack():
    answers = {A.ANSWER_200, A.REFUSE_403, A.REFUSE_481, A.REFUSE_491, A.REFUSE_500, A.ASK_REFER,
               A.REPORT_REINVITED}
    for state, input_, _, actions in rows():
        if input_ in (I.PHONE_BYE, I.PHONE_REINVITE, I.PHONE_REFER):
            assert len(answers & set(actions)) == 1, (state, input_)


def test_a_phone_can_send_any_request_in_any_state_its_dialog_is_known_in():
    for state in DIALOG_REGISTERED:
        for input_ in PHONE_REQUESTS:
            assert (state, input_) in LEG_TABLE, (state, input_)


def test_the_call_layer_may_call_anything_once_the_end_was_reported():
    for state in END_REPORTED:
        for input_ in CALL_LAYER_INPUTS:
            assert LEG_TABLE[(state, input_)] == (state, ()), (state, input_)


def test_hang_up_works_in_every_state():
    for state in S:
        assert (state, I.HANG_UP) in LEG_TABLE


@pytest.mark.parametrize("state, input_", [
    (S.OUT_CALLING, I.ANSWER),  # answering our own INVITE
    (S.IN_OFFERED, I.ACKNOWLEDGE),
    (S.CONFIRMED, I.ANSWER),
    (S.REINVITING, I.REINVITE),  # one re-INVITE at a time
    (S.IN_OFFERED, I.NOTIFY_TALK),
])
def test_misuse_by_the_call_layer_raises(state, input_):
    with pytest.raises(InvalidTransition):
        step(state, input_)


def test_glare_and_pending_invites_follow_rfc_3261_14():
    assert step(S.REINVITING, I.PHONE_REINVITE) == (S.REINVITING, (A.REFUSE_491,))
    assert step(S.REINVITED, I.PHONE_REINVITE) == (S.REINVITED, (A.REFUSE_500,))
    assert step(S.CONFIRMED, I.PHONE_REINVITE) == (S.REINVITED, (A.REPORT_REINVITED,))


def test_hang_up_does_the_right_thing_for_each_kind_of_leg():
    assert step(S.OUT_RINGING, I.HANG_UP) == (S.CANCELLING, (A.CANCEL_BRANCHES, A.REPORT_ENDED))
    assert step(S.IN_RINGING, I.HANG_UP) == (S.ENDED, (A.SEND_487, A.REPORT_ENDED, A.FORGET))
    assert step(S.CONFIRMED, I.HANG_UP) == (S.ENDING, (A.SEND_BYE, A.REPORT_ENDED))
    # RFC 3261 15: the callee's BYE waits for the ACK of its 2xx.
    assert step(S.IN_ANSWERED, I.HANG_UP) == (S.BYE_AWAITING_ACK, (A.REPORT_ENDED,))
    assert step(S.BYE_AWAITING_ACK, I.PHONE_ACK) == (S.ENDING, (A.STOP_2XX, A.SEND_BYE))

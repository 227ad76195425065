"""The RFC 3261 section 17 machines, read straight from their tables."""
from __future__ import annotations

import enum

import pytest
from hypothesis import given, strategies as st

from rccserver.sip.transaction import (
    CLIENT_NON_INVITE_TABLE,
    MACHINES,
    SERVER_INVITE_TABLE,
    SERVER_NON_INVITE_TABLE,
    Action,
    ClientNonInviteInput as CI,
    ClientNonInviteState as CS,
    InvalidTransition,
    Rfc2543Key,
    Rfc3261Key,
    ServerInviteInput as SII,
    ServerInviteState as SIS,
    ServerNonInviteInput as SNI,
    ServerNonInviteState as SNS,
    cancel_target_key,
    has_rfc3261_branch,
    server_key,
    step,
)

TABLE_TYPES = {
    "server-invite": (SIS, SII),
    "server-non-invite": (SNS, SNI),
    "client-non-invite": (CS, CI),
}


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_every_state_but_terminated_is_reachable_and_can_end(machine: str) -> None:
    states, _ = TABLE_TYPES[machine]
    table = MACHINES[machine]
    start = next(iter(states))
    reachable = {start}
    frontier = [start]
    while frontier:
        state = frontier.pop()
        for (src, _input), (dst, _actions) in table.items():
            if src is state and dst not in reachable:
                reachable.add(dst)
                frontier.append(dst)
    assert states.TERMINATED in reachable
    # Every non-final state in the table has a path to Terminated.
    for state in {src for src, _ in table}:
        seen, todo = {state}, [state]
        while todo:
            s = todo.pop()
            for (src, _), (dst, _) in table.items():
                if src is s and dst not in seen:
                    seen.add(dst)
                    todo.append(dst)
        assert states.TERMINATED in seen, f"{machine}: {state} can never terminate"


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_terminated_accepts_nothing_and_destroy_always_means_terminated(machine: str) -> None:
    states, inputs = TABLE_TYPES[machine]
    for input_ in inputs:
        with pytest.raises(InvalidTransition):
            step(machine, states.TERMINATED, input_)
    for (src, input_), (dst, actions) in MACHINES[machine].items():
        assert (Action.DESTROY in actions) == (dst is states.TERMINATED), (src, input_)


def test_server_invite_final_responses() -> None:
    assert step("server-invite", SIS.PROCEEDING, SII.TU_2XX) == (SIS.ACCEPTED, (Action.SEND_RESPONSE, Action.START_TIMER_L))
    assert step("server-invite", SIS.PROCEEDING, SII.TU_3XX_6XX) == (SIS.COMPLETED, (Action.SEND_RESPONSE, Action.START_TIMER_H))
    # Completed: retransmission gets the final again, ACK ends it, Timer H gives up.
    assert step("server-invite", SIS.COMPLETED, SII.REQUEST_RETRANSMISSION)[1] == (Action.RESEND_LAST_RESPONSE,)
    assert step("server-invite", SIS.COMPLETED, SII.ACK)[0] is SIS.TERMINATED
    assert step("server-invite", SIS.COMPLETED, SII.TIMER_H) == (SIS.TERMINATED, (Action.REPORT_TIMEOUT, Action.DESTROY))
    # Accepted: a retransmitted INVITE gets the 2xx again; the ACK goes up.
    assert step("server-invite", SIS.ACCEPTED, SII.REQUEST_RETRANSMISSION) == (SIS.ACCEPTED, (Action.RESEND_LAST_RESPONSE,))
    assert step("server-invite", SIS.ACCEPTED, SII.ACK) == (SIS.TERMINATED, (Action.PASS_TO_TU, Action.DESTROY))


def test_a_second_final_response_is_a_named_error() -> None:
    with pytest.raises(InvalidTransition) as info:
        step("server-invite", SIS.COMPLETED, SII.TU_2XX)
    assert "TU_2XX" in str(info.value) and "COMPLETED" in str(info.value)
    with pytest.raises(InvalidTransition):
        step("server-non-invite", SNS.COMPLETED, SNI.TU_FINAL)


def test_server_non_invite() -> None:
    assert step("server-non-invite", SNS.TRYING, SNI.TU_FINAL) == (SNS.COMPLETED, (Action.SEND_RESPONSE, Action.START_TIMER_J))
    assert step("server-non-invite", SNS.TRYING, SNI.REQUEST_RETRANSMISSION) == (SNS.TRYING, (Action.ABSORB,))
    assert step("server-non-invite", SNS.PROCEEDING, SNI.REQUEST_RETRANSMISSION)[1] == (Action.RESEND_LAST_RESPONSE,)
    assert step("server-non-invite", SNS.COMPLETED, SNI.REQUEST_RETRANSMISSION) == (SNS.COMPLETED, (Action.RESEND_LAST_RESPONSE,))
    assert step("server-non-invite", SNS.COMPLETED, SNI.TIMER_J) == (SNS.TERMINATED, (Action.DESTROY,))


def test_client_non_invite() -> None:
    assert step("client-non-invite", CS.TRYING, CI.RESPONSE_1XX) == (CS.PROCEEDING, (Action.ABSORB,))
    assert step("client-non-invite", CS.PROCEEDING, CI.RESPONSE_FINAL) == (CS.COMPLETED, (Action.PASS_TO_TU, Action.START_TIMER_K))
    assert step("client-non-invite", CS.TRYING, CI.TIMER_F) == (CS.TERMINATED, (Action.REPORT_TIMEOUT, Action.DESTROY))
    assert step("client-non-invite", CS.TRYING, CI.TRANSPORT_ERROR)[1][0] is Action.REPORT_TRANSPORT_FAILURE
    assert step("client-non-invite", CS.COMPLETED, CI.RESPONSE_FINAL) == (CS.COMPLETED, (Action.ABSORB,))


@pytest.mark.parametrize("machine", sorted(MACHINES))
@given(data=st.data())
def test_random_input_sequences_follow_the_table(machine: str, data: st.DataObject) -> None:
    """Any input sequence either follows a table row or raises InvalidTransition, and
    the final response reaches the TU at most once."""
    states, inputs = TABLE_TYPES[machine]
    table = MACHINES[machine]
    state: enum.Enum = next(iter(states))
    sent_final = 0
    passed_up = 0
    for input_ in data.draw(st.lists(st.sampled_from(list(inputs)), max_size=12)):
        if (state, input_) not in table:
            with pytest.raises(InvalidTransition):
                step(machine, state, input_)
            continue
        state, actions = step(machine, state, input_)
        if Action.SEND_RESPONSE in actions and input_.name in ("TU_2XX", "TU_3XX_6XX", "TU_FINAL"):
            sent_final += 1
        passed_up += Action.PASS_TO_TU in actions
    if machine != "server-invite":
        assert sent_final <= 1
    assert passed_up <= 1


def test_branch_cookie() -> None:
    assert has_rfc3261_branch("z9hG4bK776asdhds")
    assert not has_rfc3261_branch("z9hG4bK")  # RFC 4475 badbranch: only the cookie
    assert not has_rfc3261_branch("776asdhds")
    assert not has_rfc3261_branch(None)


def _key(**overrides):
    fields = dict(
        method="INVITE", branch="z9hG4bKabc", sent_by="Host.example:5060", request_uri="sip:a@b",
        from_tag="f", call_id="c", cseq=1, top_via="SIP/2.0/TCP host.example:5060;branch=z9hG4bKabc",
    )
    fields.update(overrides)
    return server_key(**fields)


def test_rfc3261_matching_ack_finds_its_invite_and_sent_by_is_case_insensitive() -> None:
    invite = _key()
    assert isinstance(invite, Rfc3261Key)
    assert _key(method="ACK", sent_by="host.example:5060") == invite
    assert _key(method="INFO") != invite
    assert _key(branch="z9hG4bKother") != invite
    assert cancel_target_key(_key(method="CANCEL")) == invite


def test_rfc2543_fallback_matches_on_dialog_fields() -> None:
    invite = _key(branch=None)
    assert isinstance(invite, Rfc2543Key)
    assert _key(branch=None, method="ACK") == invite
    assert _key(branch=None, cseq=2) != invite
    assert _key(branch=None, call_id="other") != invite
    assert _key(branch="z9hG4bK", method="ACK") == _key(branch="z9hG4bK")  # cookie-only branch: fallback
    assert cancel_target_key(_key(branch=None, method="CANCEL")) == invite

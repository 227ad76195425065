"""The transaction tables against RFC 3261 figures 5-8 and RFC 6026's figures 5 and 7.

The expectations are transcribed from the figures (and, where marked, the text
of the sections they illustrate) in the figures' own words: events such as
"300-699 from TU" and effects such as "send response".  `_as_figure` translates
a table into those words.  Where our tables differ on purpose the difference is
listed with its reason, and the test checks that every listed difference is
real, so the list cannot go stale.
"""
from __future__ import annotations

import enum

import pytest
from hypothesis import given, settings, strategies as st

import sip_strategies
from rccserver.sip.transaction import (
    MACHINE_DEFINITIONS,
    TIMER_ACTIONS,
    Action,
    ClientInviteInput as CII,
    ClientKey,
    ClientNonInviteInput as CNI,
    InvalidTransition,
    Rfc2543Key,
    Rfc3261Key,
    ServerInviteInput as SII,
    ServerInviteState as SIS,
    ServerNonInviteInput as SNI,
    ServerNonInviteState as SNS,
    ServerTransaction,
    cancel_target_key,
    has_rfc3261_branch,
    server_key,
    server_key_from_via,
    step,
)
from rccserver.sip.transaction_timers import Arm, Timer, TimerSettings

# Effects, in the figures' words.
TO_TU = "to TU"
SEND_RESPONSE = "send response"
SEND_REQUEST = "send request"
ACK_SENT = "ACK sent"
INFORM_TU = "inform TU"
NOTHING: frozenset[str] = frozenset()
RAISES = "InvalidTransition"  # our table has no row: the input is a bug of our own side


def row(next_state: str, *effects: str) -> tuple[str, frozenset[str]]:
    return next_state, frozenset(effects)


EVENTS: dict[str, dict[enum.Enum, str]] = {
    "server-invite": {
        SII.REQUEST_RETRANSMISSION: "INVITE", SII.TU_1XX: "101-199 from TU", SII.TU_2XX: "2xx from TU",
        SII.TU_3XX_6XX: "300-699 from TU", SII.ACK: "ACK", SII.TIMER_G: "Timer G fires",
        SII.TIMER_H: "Timer H fires", SII.TIMER_I: "Timer I fires", SII.TIMER_L: "Timer L fires",
        SII.TRANSPORT_ERROR: "Transport Err.",
    },
    "server-non-invite": {
        SNI.REQUEST_RETRANSMISSION: "Request", SNI.TU_1XX: "1xx from TU", SNI.TU_FINAL: "200-699 from TU",
        SNI.TIMER_J: "Timer J fires", SNI.TRANSPORT_ERROR: "Transport Err.",
    },
    "client-invite": {
        CII.RESPONSE_1XX: "1xx", CII.RESPONSE_2XX: "2xx", CII.RESPONSE_3XX_6XX: "300-699",
        CII.TIMER_A: "Timer A fires", CII.TIMER_B: "Timer B fires", CII.TIMER_D: "Timer D fires",
        CII.TIMER_M: "Timer M fires", CII.TRANSPORT_ERROR: "Transport Err.",
        CII.CANCEL_SENT: "CANCEL sent", CII.TIMER_CANCEL: "64*T1 after the CANCEL",
    },
    "client-non-invite": {
        CNI.RESPONSE_1XX: "1xx", CNI.RESPONSE_FINAL: "200-699", CNI.TIMER_E: "Timer E fires",
        CNI.TIMER_F: "Timer F fires", CNI.TIMER_K: "Timer K fires", CNI.TRANSPORT_ERROR: "Transport Err.",
    },
}

RFC: dict[str, dict[tuple[str, str], object]] = {
    # RFC 6026 figure 7 (which replaces RFC 3261 figure 7)
    "server-invite": {
        ("Proceeding", "INVITE"): row("Proceeding", SEND_RESPONSE),
        ("Proceeding", "101-199 from TU"): row("Proceeding", SEND_RESPONSE),
        ("Proceeding", "Transport Err."): row("Proceeding", INFORM_TU),
        ("Proceeding", "300-699 from TU"): row("Completed", SEND_RESPONSE),
        ("Proceeding", "2xx from TU"): row("Accepted", SEND_RESPONSE),
        ("Completed", "INVITE"): row("Completed", SEND_RESPONSE),
        ("Completed", "Timer G fires"): row("Completed", SEND_RESPONSE),
        ("Completed", "Transport Err."): row("Completed", INFORM_TU),
        ("Completed", "ACK"): row("Confirmed"),
        ("Completed", "Timer H fires"): row("Terminated"),
        ("Confirmed", "Timer I fires"): row("Terminated"),
        # RFC 3261 17.2.1 text: Confirmed exists to absorb additional ACKs.
        ("Confirmed", "ACK"): row("Confirmed"),
        ("Accepted", "INVITE"): row("Accepted"),
        ("Accepted", "ACK"): row("Accepted", TO_TU),
        ("Accepted", "2xx from TU"): row("Accepted", SEND_RESPONSE),
        ("Accepted", "Transport Err."): row("Accepted", INFORM_TU),
        ("Accepted", "Timer L fires"): row("Terminated"),
    },
    # RFC 3261 figure 8
    "server-non-invite": {
        ("Trying", "1xx from TU"): row("Proceeding", SEND_RESPONSE),
        ("Trying", "200-699 from TU"): row("Completed", SEND_RESPONSE),
        ("Proceeding", "Request"): row("Proceeding", SEND_RESPONSE),
        ("Proceeding", "1xx from TU"): row("Proceeding", SEND_RESPONSE),
        ("Proceeding", "200-699 from TU"): row("Completed", SEND_RESPONSE),
        ("Proceeding", "Transport Err."): row("Terminated", INFORM_TU),
        ("Completed", "Request"): row("Completed", SEND_RESPONSE),
        ("Completed", "Transport Err."): row("Terminated", INFORM_TU),
        ("Completed", "Timer J fires"): row("Terminated"),
        # RFC 3261 17.2.2 text: in Trying, request retransmissions are discarded;
        # in Completed, further final responses from the TU are discarded.
        ("Trying", "Request"): row("Trying"),
        ("Completed", "200-699 from TU"): row("Completed"),
    },
    # RFC 6026 figure 5 (which replaces RFC 3261 figure 5)
    "client-invite": {
        ("Calling", "Timer A fires"): row("Calling", SEND_REQUEST),
        ("Calling", "Timer B fires"): row("Terminated", INFORM_TU),
        ("Calling", "Transport Err."): row("Terminated", INFORM_TU),
        ("Calling", "1xx"): row("Proceeding", TO_TU),
        ("Calling", "2xx"): row("Accepted", TO_TU),
        ("Calling", "300-699"): row("Completed", ACK_SENT, TO_TU),
        ("Proceeding", "1xx"): row("Proceeding", TO_TU),
        ("Proceeding", "2xx"): row("Accepted", TO_TU),
        ("Proceeding", "300-699"): row("Completed", ACK_SENT, TO_TU),
        ("Completed", "300-699"): row("Completed", ACK_SENT),
        ("Completed", "Transport Err."): row("Terminated", INFORM_TU),
        ("Completed", "Timer D fires"): row("Terminated"),
        ("Accepted", "2xx"): row("Accepted", TO_TU),
        ("Accepted", "Timer M fires"): row("Terminated"),
    },
    # RFC 3261 figure 6
    "client-non-invite": {
        ("Trying", "Timer E fires"): row("Trying", SEND_REQUEST),
        ("Trying", "1xx"): row("Proceeding", TO_TU),
        ("Trying", "200-699"): row("Completed", TO_TU),
        ("Trying", "Timer F fires"): row("Terminated", INFORM_TU),
        ("Trying", "Transport Err."): row("Terminated", INFORM_TU),
        ("Proceeding", "Timer E fires"): row("Proceeding", SEND_REQUEST),
        ("Proceeding", "1xx"): row("Proceeding", TO_TU),
        ("Proceeding", "200-699"): row("Completed", TO_TU),
        ("Proceeding", "Timer F fires"): row("Terminated", INFORM_TU),
        ("Proceeding", "Transport Err."): row("Terminated", INFORM_TU),
        ("Completed", "Timer K fires"): row("Terminated"),
        # RFC 3261 17.1.2.2 text: Completed buffers response retransmissions.
        ("Completed", "1xx"): row("Completed"),
        ("Completed", "200-699"): row("Completed"),
    },
}

# Rows where we differ from the RFC on purpose: (our row, why).
DIFFERENT: dict[str, dict[tuple[str, str], tuple[object, str]]] = {
    "server-invite": {
        ("Completed", "Timer H fires"): (
            row("Terminated", INFORM_TU), "RFC 3261 17.2.1's text says the TU MUST be told; 6026's figure omits it"),
        ("Accepted", "INVITE"): (
            row("Accepted", SEND_RESPONSE), "we resend the 2xx: the only repair on TCP, where we do not retransmit it"),
        ("Accepted", "ACK"): (
            row("Confirmed", TO_TU), "after the ACK only copies can come: Timer I, zero on TCP, as after a non-2xx"),
        ("Accepted", "Timer L fires"): (
            row("Terminated", INFORM_TU), "Accepted now means no ACK yet, so Timer L means the ACK never came"),
    },
    "server-non-invite": {
        ("Completed", "200-699 from TU"): (RAISES, "a UAS answering twice is a bug; a proxy's second final is not"),
    },
    "client-invite": {},
    "client-non-invite": {},
}

# Rows the RFC does not have: inputs from the peer that a state must survive, and the 9.1 wait.
EXTRA: dict[str, dict[tuple[str, str], tuple[object, str]]] = {
    "server-invite": {
        ("Proceeding", "ACK"): (row("Proceeding"), "an ACK before any final response"),
        ("Confirmed", "INVITE"): (row("Confirmed"), "a late INVITE copy"),
        ("Confirmed", "Transport Err."): (row("Confirmed"), "nothing is sent in Confirmed"),
    },
    "server-non-invite": {
        ("Trying", "Transport Err."): (row("Trying"), "nothing was sent yet"),
    },
    "client-invite": {
        ("Proceeding", "CANCEL sent"): (row("Proceeding"), "RFC 3261 9.1: wait 64*T1 for a final response"),
        ("Proceeding", "64*T1 after the CANCEL"): (row("Terminated", INFORM_TU), "RFC 3261 9.1: then give up"),
        ("Proceeding", "Transport Err."): (row("Proceeding"), "the peer answered; an old copy failed"),
        ("Completed", "1xx"): (row("Completed"), "a stray provisional"),
        ("Completed", "2xx"): (row("Completed"), "a 2xx after the non-2xx"),
        ("Accepted", "1xx"): (row("Accepted"), "a stray provisional"),
        ("Accepted", "300-699"): (row("Accepted"), "a non-2xx after the 2xx"),
        ("Accepted", "Transport Err."): (row("Accepted"), "the ACK for a 2xx is the TU's, not ours"),
    },
    "client-non-invite": {
        ("Completed", "Transport Err."): (row("Completed"), "the outcome is known already"),
    },
}

_EFFECT_OF = {
    Action.PASS_TO_TU: TO_TU,
    Action.PASS_PROVISIONAL_TO_TU: TO_TU,
    Action.SEND_RESPONSE: SEND_RESPONSE,
    Action.RESEND_LAST_RESPONSE: SEND_RESPONSE,
    Action.SEND_REQUEST: SEND_REQUEST,
    Action.RESEND_REQUEST: SEND_REQUEST,
    Action.SEND_ACK: ACK_SENT,
    Action.RESEND_ACK: ACK_SENT,
    Action.REPORT_TIMEOUT: INFORM_TU,
    Action.REPORT_TRANSPORT_FAILURE: INFORM_TU,
}
# Not effects in the figures: timers (checked below against the text), ABSORB, DESTROY.
_NOT_EFFECTS = {Action.ABSORB, Action.DESTROY, *TIMER_ACTIONS}


def _as_figure(machine: str) -> dict[tuple[str, str], object]:
    events = EVENTS[machine]
    figure = {}
    for (state, input_), (next_state, actions) in MACHINE_DEFINITIONS[machine].table.items():
        assert set(actions) <= set(_EFFECT_OF) | _NOT_EFFECTS, actions
        effects = frozenset(_EFFECT_OF[a] for a in actions if a in _EFFECT_OF)
        figure[(state.value, events[input_])] = (next_state.value, effects)
    return figure


@pytest.mark.parametrize("machine", sorted(RFC))
def test_the_table_is_the_rfc_figure_plus_the_listed_differences(machine: str) -> None:
    expected = dict(RFC[machine])
    for key, (ours, _why) in DIFFERENT[machine].items():
        assert key in RFC[machine] and RFC[machine][key] != ours, f"{key} is no difference"
        expected[key] = ours
    for key, (ours, _why) in EXTRA[machine].items():
        assert key not in RFC[machine], f"{key} is in the RFC already"
        expected[key] = ours
    assert _as_figure(machine) == {key: value for key, value in expected.items() if value != RAISES}


# When each timer starts, from the RFC text (17.1.1.2, 17.1.2.2, 17.2.1, 17.2.2, RFC 6026 8.4 and 8.7):
# entering a state starts its timers; retransmission timers restart when they fire.
TIMERS_STARTED = {
    "server-invite": {
        ("Proceeding", "300-699 from TU"): {Timer.G, Timer.H},
        ("Completed", "Timer G fires"): {Timer.G},
        ("Completed", "ACK"): {Timer.I},
        ("Proceeding", "2xx from TU"): {Timer.L},
        ("Accepted", "ACK"): {Timer.I},  # our Accepted -> Confirmed (see DIFFERENT)
    },
    "server-non-invite": {
        ("Trying", "200-699 from TU"): {Timer.J},
        ("Proceeding", "200-699 from TU"): {Timer.J},
    },
    "client-invite": {
        ("Calling", "Timer A fires"): {Timer.A},
        ("Calling", "300-699"): {Timer.D},
        ("Proceeding", "300-699"): {Timer.D},
        ("Calling", "2xx"): {Timer.M},
        ("Proceeding", "2xx"): {Timer.M},
        ("Proceeding", "CANCEL sent"): {Timer.CANCEL},
    },
    "client-non-invite": {
        ("Trying", "Timer E fires"): {Timer.E},
        ("Proceeding", "Timer E fires"): {Timer.E},
        ("Trying", "200-699"): {Timer.K},
        ("Proceeding", "200-699"): {Timer.K},
    },
}
STARTED_ON_CREATION = {
    "server-invite": set(),
    "server-non-invite": set(),
    "client-invite": {Timer.A, Timer.B},
    "client-non-invite": {Timer.E, Timer.F},
}


@pytest.mark.parametrize("machine", sorted(RFC))
def test_timers_start_where_the_rfc_text_starts_them(machine: str) -> None:
    definition = MACHINE_DEFINITIONS[machine]
    events = EVENTS[machine]
    started = {
        (state.value, events[input_]): {TIMER_ACTIONS[a][0] for a in actions if a in TIMER_ACTIONS}
        for (state, input_), (_, actions) in definition.table.items()
    }
    assert {key: timers for key, timers in started.items() if timers} == TIMERS_STARTED[machine]
    assert {TIMER_ACTIONS[a][0] for a in definition.start[1] if a in TIMER_ACTIONS} == STARTED_ON_CREATION[machine]


def test_how_retransmission_timers_restart() -> None:
    # 17.1.1.2: A doubles; 17.1.2.2: E doubles up to T2, and is T2 after a provisional;
    # 17.2.1: G doubles up to T2.
    restarts = {
        ("client-invite", "Calling", CII.TIMER_A): (Timer.A, Arm.DOUBLED),
        ("client-non-invite", "Trying", CNI.TIMER_E): (Timer.E, Arm.DOUBLED),
        ("client-non-invite", "Proceeding", CNI.TIMER_E): (Timer.E, Arm.AT_T2),
        ("server-invite", "Completed", SII.TIMER_G): (Timer.G, Arm.DOUBLED),
    }
    for (machine, state_name, input_), expected in restarts.items():
        definition = MACHINE_DEFINITIONS[machine]
        _, actions = definition.step(definition.states(state_name), input_)
        assert [TIMER_ACTIONS[a] for a in actions if a in TIMER_ACTIONS] == [expected]


# RFC 3261 Table 4 (and RFC 6026 for L and M), with the defaults T1 = 0.5, T2 = 4, T4 = 5.
TABLE_4 = {
    #         unreliable, reliable
    Timer.A: (0.5, None),
    Timer.B: (32.0, 32.0),
    Timer.D: (32.0, 0.0),
    Timer.E: (0.5, None),
    Timer.F: (32.0, 32.0),
    Timer.G: (0.5, None),
    Timer.H: (32.0, 32.0),
    Timer.I: (5.0, 0.0),
    Timer.J: (32.0, 0.0),
    Timer.K: (5.0, 0.0),
    Timer.L: (32.0, 32.0),
    Timer.M: (32.0, 32.0),
    Timer.CANCEL: (32.0, 32.0),
}


@pytest.mark.parametrize("timer", list(Timer))
def test_first_intervals_follow_table_4(timer: Timer) -> None:
    settings = TimerSettings()
    unreliable, reliable = TABLE_4[timer]
    assert settings.interval(timer, Arm.FIRST, reliable=False) == unreliable
    assert settings.interval(timer, Arm.FIRST, reliable=True) == reliable


def test_doubling_caps_e_and_g_at_t2_but_not_a() -> None:
    s = TimerSettings()
    assert [s.interval(Timer.A, Arm.DOUBLED, reliable=False, previous=p) for p in (0.5, 4, 16)] == [1, 8, 32]
    assert [s.interval(Timer.E, Arm.DOUBLED, reliable=False, previous=p) for p in (0.5, 2, 4)] == [1, 4, 4]
    assert [s.interval(Timer.G, Arm.DOUBLED, reliable=False, previous=p) for p in (1, 2, 4)] == [2, 4, 4]
    assert s.interval(Timer.E, Arm.AT_T2, reliable=False) == 4
    custom = TimerSettings(t1=0.1, t2=1.0, t4=2.0, timer_d=40.0)
    assert custom.interval(Timer.F, Arm.FIRST, reliable=False) == pytest.approx(6.4)
    assert custom.interval(Timer.D, Arm.FIRST, reliable=False) == 40.0
    assert custom.interval(Timer.K, Arm.FIRST, reliable=False) == 2.0
    with pytest.raises(ValueError):
        TimerSettings(t1=4, t2=1)
    with pytest.raises(ValueError):
        TimerSettings(t1=0)
    with pytest.raises(ValueError):
        s.interval(Timer.H, Arm.DOUBLED, reliable=False, previous=32)


# Inputs the peer or the network causes: no peer may provoke InvalidTransition.
PEER_INPUTS = {
    "server-invite": {SII.REQUEST_RETRANSMISSION, SII.ACK, SII.TRANSPORT_ERROR},
    "server-non-invite": {SNI.REQUEST_RETRANSMISSION, SNI.TRANSPORT_ERROR},
    "client-invite": {CII.RESPONSE_1XX, CII.RESPONSE_2XX, CII.RESPONSE_3XX_6XX, CII.TRANSPORT_ERROR},
    "client-non-invite": {CNI.RESPONSE_1XX, CNI.RESPONSE_FINAL, CNI.TRANSPORT_ERROR},
}


@pytest.mark.parametrize("machine", sorted(RFC))
def test_the_structure_every_driver_relies_on(machine: str) -> None:
    definition = MACHINE_DEFINITIONS[machine]
    terminated = definition.states["TERMINATED"]
    live = [s for s in definition.states if s is not terminated]
    # The peer's inputs have a row in every live state; Terminated accepts nothing.
    for state in live:
        for input_ in PEER_INPUTS[machine]:
            assert (state, input_) in definition.table, (state, input_)
    for input_ in definition.inputs:
        with pytest.raises(InvalidTransition):
            definition.step(terminated, input_)
    for (state, input_), (next_state, actions) in definition.table.items():
        # DESTROY exactly on the way into Terminated, and last.
        assert (Action.DESTROY in actions) == (next_state is terminated), (state, input_)
        assert Action.DESTROY not in actions[:-1]
        # A timer a row starts has a row where it leads, or it would be cancelled at once.
        for action in actions:
            if action in TIMER_ACTIONS and next_state is not terminated:
                timer = TIMER_ACTIONS[action][0]
                assert (next_state, definition.timer_input(timer)) in definition.table, (state, input_, timer)
    # Every state is reachable from the start, and Terminated from every state.
    def reachable(start: enum.Enum) -> set[enum.Enum]:
        seen, todo = {start}, [start]
        while todo:
            current = todo.pop()
            for (src, _), (dst, _) in definition.table.items():
                if src is current and dst not in seen:
                    seen.add(dst)
                    todo.append(dst)
        return seen

    assert reachable(definition.start[0]) == set(definition.states)
    for state in live:
        assert terminated in reachable(state), state


def test_a_second_final_response_is_a_named_error() -> None:
    with pytest.raises(InvalidTransition) as info:
        step("server-invite", SIS.COMPLETED, SII.TU_2XX)
    assert "TU_2XX" in str(info.value) and "COMPLETED" in str(info.value)
    with pytest.raises(InvalidTransition):
        step("server-non-invite", SNS.COMPLETED, SNI.TU_FINAL)


def test_the_endpoint_record_ends_confirmed_at_once_because_timer_i_is_zero_on_tcp() -> None:
    # endpoint.py runs on TCP/TLS and has no Timer I: the record folds it in.
    rejected = ServerTransaction("server-invite", _key(), SIS.COMPLETED, 1, None)
    actions = rejected.feed(SII.ACK)
    assert rejected.terminated and actions[-1] is Action.DESTROY and Action.PASS_TO_TU not in actions
    accepted = ServerTransaction("server-invite", _key(), SIS.ACCEPTED, 1, None)
    actions = accepted.feed(SII.ACK)
    assert accepted.terminated and Action.PASS_TO_TU in actions and actions[-1] is Action.DESTROY
    waiting = ServerTransaction("server-non-invite", _key(method="INFO"), SNS.TRYING, 1, None)
    assert waiting.feed(SNI.TU_FINAL) == (Action.SEND_RESPONSE, Action.START_TIMER_J)
    assert waiting.state is SNS.COMPLETED  # Timer J is the endpoint's own


# --------------------------------------------------------------------------
# Matching (RFC 3261 17.2.3)


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


def test_table_enums_hash_by_identity_and_equal_only_themselves():
    """The identity hash (cheaper than Enum's hash of the name) is only sound for plain
    Enums, whose members equal nothing but themselves."""
    import enum

    from rccserver.sip import transaction_tables as tables

    enums = [tables.Action, *{m.states for m in tables.MACHINE_DEFINITIONS.values()},
             *{m.inputs for m in tables.MACHINE_DEFINITIONS.values()}]
    assert len(enums) == 9
    for cls in enums:
        assert not issubclass(cls, (int, str)) and issubclass(cls, enum.Enum)
        for member in cls:
            assert hash(member) == object.__hash__(member)
            assert [other for other in cls if other == member] == [member]
            assert member != member.value and member != member.name


_BRANCHES = st.none() | st.sampled_from(["z9hG4bK", "z9hG4bKx", "z9hG4bK-1-2", "Z9HG4BKx", "776as", ""])


@settings(deadline=None)
@given(sip_strategies.vias, _BRANCHES, st.sampled_from(["INVITE", "ACK", "CANCEL", "INFO", "BYE"]),
       st.none() | st.text("abc123", min_size=1, max_size=4))
def test_server_key_from_via_is_server_key(via, branch, method, from_tag) -> None:
    if branch is not None:
        via = via.with_param("branch", branch)
    branch = via.branch
    expected = server_key(
        method=method, branch=branch, sent_by=via.sent_by, request_uri="sip:a@b", from_tag=from_tag,
        call_id="c", cseq=7, top_via="" if has_rfc3261_branch(branch) else str(via),
    )
    key = server_key_from_via(method, via, "sip:a@b", from_tag, "c", 7)
    assert key == expected and type(key) is type(expected)


def test_transaction_key_kinds_never_equal_one_another() -> None:
    """Rfc3261Key is a named tuple (C hash and equality); keys of the other kinds with the
    same field values must still be different transactions."""
    invite = _key()
    assert invite != ClientKey(invite.branch, invite.method)
    assert ClientKey(invite.branch, invite.method) != invite
    assert invite != _key(branch=None)
    assert hash(_key(method="ACK")) == hash(invite)
    assert type(cancel_target_key(_key(method="CANCEL"))) is Rfc3261Key
    with pytest.raises(AttributeError):
        invite.method = "BYE"  # type: ignore[misc]

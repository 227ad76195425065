"""RFC 4028 negotiation as the UAS, refresher=uac by preference."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from rccserver.sip import session_timer as timer
from rccserver.sip.session_timer import IntervalTooSmall, SessionTimer, SessionTimerSyntaxError, negotiate


def test_client_value_is_honoured_with_refresher_uac() -> None:
    decision = negotiate(session_expires="1200", min_se=None, supported=["timer"])
    assert decision == SessionTimer(1200, "uac", True)
    assert decision.response_headers() == [("Session-Expires", "1200;refresher=uac"), ("Require", "timer")]


def test_supported_timer_without_session_expires_gets_our_default() -> None:
    assert negotiate(session_expires=None, min_se=None, supported=["100rel, Timer"], default_interval=1800) == SessionTimer(1800, "uac", True)
    # ...but never below the client's Min-SE
    assert negotiate(session_expires=None, min_se="3600", supported=["timer"], default_interval=1800).interval == 3600


def test_no_timer_when_client_neither_supports_nor_asks() -> None:
    assert negotiate(session_expires=None, min_se=None, supported=[]) is None


def test_too_small_is_422_with_our_min_se() -> None:
    decision = negotiate(session_expires="60", min_se=None, supported=["timer"], local_min_se=90)
    assert isinstance(decision, IntervalTooSmall)
    assert decision.response_headers() == [("Min-SE", "90")]
    assert "90" in decision.reason


def test_too_small_from_a_proxy_for_a_uac_without_timer_is_raised_instead() -> None:
    decision = negotiate(session_expires="60", min_se=None, supported=[], local_min_se=120)
    assert decision == SessionTimer(120, "uas", False)
    assert decision.response_headers() == [("Session-Expires", "120;refresher=uas")]


def test_explicit_refresher_uac_is_kept_even_without_supported_timer() -> None:
    # an UPDATE refresh that forgets `Supported: timer` but names itself refresher
    assert negotiate(session_expires="1800;refresher=uac", min_se=None, supported=[]) == SessionTimer(1800, "uac", False)


def test_refresher_in_the_request_is_copied() -> None:
    assert negotiate(session_expires="900;refresher=uas", min_se=None, supported=["timer"]).refresher == "uas"
    assert negotiate(session_expires="900 ; Refresher=UAC", min_se="90", supported=["timer"]).refresher == "uac"


@pytest.mark.parametrize("value", ["abc", "", "-5", "1e3", "12345678901"])
def test_unreadable_values_are_precise_errors(value: str) -> None:
    with pytest.raises(SessionTimerSyntaxError, match="Session-Expires"):
        negotiate(session_expires=value, min_se=None, supported=["timer"])
    with pytest.raises(SessionTimerSyntaxError, match="Min-SE"):
        negotiate(session_expires="1800", min_se=value, supported=["timer"])


def test_deadlines() -> None:
    assert timer.expiry_deadline(1000.0, 1800) == 1000 + 1800 - 32
    assert timer.expiry_deadline(0.0, 90) == 90 - 30
    assert timer.refresh_deadline(10.0, 1800) == 910.0


@given(
    expires=st.integers(min_value=0, max_value=10**6),
    local_min=st.integers(min_value=90, max_value=3600),
    supports=st.booleans(),
    refresher=st.sampled_from(["", ";refresher=uac", ";refresher=uas"]),
)
def test_accepted_interval_is_never_below_our_minimum(expires: int, local_min: int, supports: bool, refresher: str) -> None:
    decision = negotiate(
        session_expires=f"{expires}{refresher}", min_se=None, supported=["timer"] if supports else [], local_min_se=local_min
    )
    if isinstance(decision, IntervalTooSmall):
        assert supports and expires < local_min and decision.min_se >= local_min
    else:
        assert decision is not None and decision.interval >= local_min
        # a UAC that does not support timers is only the refresher if it said so
        assert supports or decision.refresher == "uas" or refresher == ";refresher=uac"
        assert timer.expiry_deadline(0, decision.interval) < decision.interval

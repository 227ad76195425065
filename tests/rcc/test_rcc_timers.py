"""Keep-alives, session refresh and expiry with a hand-driven clock (SPEC section 7)."""
from __future__ import annotations

from rccserver import csta
from tests.rcc.rcc_harness import Core, Lync, server_requests


def test_keepalive_info_every_session_timeout_with_system_status_normal():
    core = Core(session_timeout=60)
    alice = Lync(core)
    assert alice.sign_in().status == 200
    assert server_requests(core.advance(59.9), "INFO") == []
    first = server_requests(core.advance(0.2), "INFO")
    assert len(first) == 1
    body = csta.decode(first[0].body)
    assert body == csta.SystemStatus(system_status="normal")
    assert first[0].headers.get("Content-Type") == "application/csta+xml"
    # Our Via names our listening port, so an answer by Via finds us (not port 5060).
    assert (first[0].top_via.host, first[0].top_via.port) == ("rcc.example.com", 11001)
    alice.answer(first[0])
    second = server_requests(core.advance(60), "INFO")
    assert len(second) == 1 and second[0].cseq[0] > first[0].cseq[0]


def test_keepalive_disabled_with_zero():
    core = Core(session_timeout=0)
    alice = Lync(core)
    alice.sign_in(extra=())  # no session timer either, so nothing ends the session
    assert server_requests(core.advance(3600), "INFO") == []
    assert len(core.app.sessions) == 1


def test_unanswered_keepalive_is_tolerated_and_keepalives_go_on():
    core = Core(session_timeout=60)
    alice = Lync(core)
    alice.sign_in(extra=())
    infos = server_requests(core.advance(60 + 32 + 1), "INFO")  # Timer F has fired for the first
    assert len(infos) == 1
    assert len(core.app.sessions) == 1
    later = core.advance(60)
    assert len(server_requests(later, "INFO")) == 1  # the next keep-alive still goes out
    assert server_requests(later, "BYE") == []


def test_481_to_keepalive_ends_the_session_and_releases_the_station():
    core = Core(session_timeout=60)
    alice = Lync(core)
    alice.sign_in()
    assert core.occupancy.occupant("1001") == "AliceArcher"
    keepalive = server_requests(core.advance(60), "INFO")[0]
    alice.answer(keepalive, 481)
    assert len(core.app.sessions) == 0
    assert core.occupancy.occupant("1001") is None


def test_one_408_to_a_keepalive_is_a_miss_not_the_end_of_the_session():
    """SPEC 7: a front end answers 408 for a client that is merely slow."""
    core = Core(session_timeout=30)
    alice = Lync(core)
    alice.sign_in()
    keepalive = server_requests(core.advance(30), "INFO")[0]
    alice.answer(keepalive, 408)
    assert len(core.app.sessions) == 1
    assert core.occupancy.occupant("1001") == "AliceArcher"


def test_the_third_keepalive_in_a_row_without_200_ends_the_session():
    core = Core(session_timeout=30)
    alice = Lync(core)
    alice.sign_in()
    for answered in range(3):
        keepalive = server_requests(core.advance(30), "INFO")[0]
        assert len(core.app.sessions) == 1, f"ended after {answered} misses"
        alice.answer(keepalive, 408)
    assert len(core.app.sessions) == 0
    assert core.occupancy.occupant("1001") is None
    assert len(server_requests(core.sent, "BYE")) == 1


def test_a_200_between_misses_starts_the_count_again():
    core = Core(session_timeout=30)
    alice = Lync(core)
    alice.sign_in()
    for status in (408, 408, 200, 408, 408):
        alice.answer(server_requests(core.advance(30), "INFO")[0], status)
    assert len(core.app.sessions) == 1
    alice.answer(server_requests(core.advance(30), "INFO")[0], 408)
    assert len(core.app.sessions) == 0


def test_keepalive_misses_counts_unanswered_keepalives_too():
    core = Core(session_timeout=60, keepalive_misses=2)
    alice = Lync(core)
    alice.sign_in(extra=())
    core.advance(60 + 32 + 1)  # first keep-alive: Timer F fires, a miss
    assert len(core.app.sessions) == 1
    core.advance(58)  # t=151: the second keep-alive went out at 120, times out at 152
    assert len(core.app.sessions) == 1
    core.advance(2)
    assert len(core.app.sessions) == 0


def test_keepalive_misses_zero_never_ends_a_session_for_misses():
    core = Core(session_timeout=30, keepalive_misses=0)
    alice = Lync(core)
    alice.sign_in()
    for _ in range(6):
        alice.answer(server_requests(core.advance(30), "INFO")[0], 408)
    assert len(core.app.sessions) == 1


def test_session_expires_without_refresh_sends_bye_and_releases_station():
    """RFC 4028 section 10: the BYE goes out min(32, interval/3) s before expiry."""
    core = Core(session_timeout=0)
    alice = Lync(core)
    response = alice.sign_in(extra=(("Supported", "timer"), ("Session-Expires", "120;refresher=uac")))
    assert response.headers.get("Session-Expires").startswith("120")
    assert "refresher=uac" in response.headers.get("Session-Expires")
    assert server_requests(core.advance(87), "BYE") == []
    byes = server_requests(core.advance(34), "BYE")
    assert len(byes) == 1
    assert len(core.app.sessions) == 0
    assert core.occupancy.occupant("1001") is None


def test_update_refresh_keeps_the_session_alive():
    core = Core(session_timeout=0)
    alice = Lync(core)
    alice.sign_in(extra=(("Supported", "timer"), ("Session-Expires", "120;refresher=uac")))
    for _ in range(5):
        core.advance(60)  # the refresher refreshes at half the interval (RFC 4028)
        update = alice.request("UPDATE", extra=(("Session-Expires", "120;refresher=uac"), ("Supported", "timer")))
        response = alice.final(core.feed(update), "UPDATE")
        assert response.status == 200
        assert response.headers.get("Session-Expires").startswith("120")
    assert server_requests(core.sent, "BYE") == []
    assert len(core.app.sessions) == 1


def test_reinvite_refresh_answers_a_fresh_system_status_and_keeps_monitors():
    core = Core(session_timeout=0)
    alice = Lync(core)
    alice.sign_in(extra=(("Supported", "timer"), ("Session-Expires", "120;refresher=uac")))
    xref = alice.monitor()
    core.advance(60)
    response = alice.sign_in(extra=(("Supported", "timer"), ("Session-Expires", "120;refresher=uac")))
    assert response.status == 200
    assert csta.decode(response.body) == csta.RequestSystemStatusResponse(system_status="normal")
    core.advance(60)
    assert server_requests(core.sent, "BYE") == []
    session = next(iter(core.app.sessions))
    assert xref in session.monitors


def test_cseq_reset_after_reinvite_is_tolerated():
    core = Core(session_timeout=0)
    alice = Lync(core)
    alice.sign_in()
    alice.monitor()
    alice.cseq = 0  # sipe resets its counter after each 2xx to an INVITE
    features = alice.csta(f'<GetCSTAFeatures xmlns="{csta.ED3}"/>')
    assert isinstance(features, csta.GetCSTAFeaturesResponse)


def _ring(core, alice):
    core.switch.place_call("+13175550100", "1001")
    core.app.events.flush()
    return server_requests(core.drain(), "INFO")


def test_event_info_answered_408_by_a_proxy_counts_as_delivered():
    core = Core(session_timeout=0)
    alice = Lync(core)
    alice.sign_in(extra=())
    alice.monitor()
    (delivered,) = _ring(core, alice)
    assert b"DeliveredEvent" in delivered.body
    alice.answer(delivered, 408)
    assert len(core.app.sessions) == 1


def test_event_info_answered_481_ends_the_session():
    core = Core(session_timeout=0)
    alice = Lync(core)
    alice.sign_in(extra=())
    alice.monitor()
    (delivered,) = _ring(core, alice)
    alice.answer(delivered, 481)
    assert len(core.app.sessions) == 0
    assert core.occupancy.occupant("1001") is None

"""Sources that keep failing authentication are refused for a cool-down (docs/sip-stations.md)."""
from __future__ import annotations

import pytest

from rccserver.stations.auth_limiter import AuthFailureLimiter
from rccserver.stations.registrar_events import AuthenticationFailed, RegistrationRateLimited, SourceBlocked
from tests.stations.registrar_harness import AMY_PASSWORD, Phone, new_registrar, register_request

DESK = "<sip:1001@192.0.2.10:5060>"


def test_the_limit_within_the_window_starts_a_cool_down():
    limiter = AuthFailureLimiter(limit=3, window=10.0, cooldown=60.0)
    assert limiter.record_failure("203.0.113.9", 0.0) is None
    assert limiter.record_failure("203.0.113.9", 1.0) is None
    assert limiter.blocked_until("203.0.113.9", 1.0) is None
    assert limiter.record_failure("203.0.113.9", 2.0) == 62.0
    assert limiter.blocked_until("203.0.113.9", 61.9) == 62.0
    assert limiter.blocked_until("198.51.100.1", 30.0) is None  # other hosts are not affected
    assert limiter.blocked_until("203.0.113.9", 62.0) is None
    # afterwards the host starts from zero
    assert limiter.record_failure("203.0.113.9", 63.0) is None
    assert limiter.record_failure("203.0.113.9", 64.0) is None


def test_a_cool_down_that_ended_unobserved_does_not_stick():
    limiter = AuthFailureLimiter(limit=2, window=10.0, cooldown=60.0)
    limiter.record_failure("h", 0.0)
    assert limiter.record_failure("h", 1.0) == 61.0
    # nobody asked blocked_until() after the cool-down; new failures count afresh
    assert limiter.record_failure("h", 100.0) is None
    assert limiter.record_failure("h", 101.0) == 161.0


def test_failures_spread_wider_than_the_window_never_block():
    limiter = AuthFailureLimiter(limit=3, window=10.0, cooldown=60.0)
    assert [limiter.record_failure("h", t) for t in (0.0, 10.0, 20.0, 30.0, 40.0)] == [None] * 5


def test_limit_zero_turns_it_off_and_the_table_is_bounded():
    off = AuthFailureLimiter(limit=0, window=10.0, cooldown=60.0)
    assert all(off.record_failure("h", float(t)) is None for t in range(100))
    assert len(off) == 0
    small = AuthFailureLimiter(limit=5, window=10.0, cooldown=60.0, max_hosts=3)
    for n in range(10):
        small.record_failure(f"192.0.2.{n}", 0.0)
    assert len(small) == 3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        AuthFailureLimiter(limit=-1, window=10.0, cooldown=60.0)
    with pytest.raises(ValueError):
        AuthFailureLimiter(limit=3, window=0.0, cooldown=60.0)


def test_the_registrar_refuses_a_guessing_host_without_a_challenge_and_lets_others_in():
    registrar = new_registrar(failure_limit=3, failure_window=60.0, failure_cooldown=300.0)
    guesser = Phone(registrar, "1001", "guess", host="203.0.113.9", port=5060)
    statuses, events = [], []
    for now in (0.0, 1.0, 2.0):  # one guess each (the first goes out after its challenge)
        response, got = guesser.send((DESK,), now=now, retries=1 if now == 0.0 else 0)
        statuses.append(response.status)
        events += got
    assert statuses == [401, 401, 403]
    assert [r.status for r in guesser.responses] == [401, 401, 401, 403]
    assert [type(e) for e in events] == [AuthenticationFailed] * 3 + [SourceBlocked]
    assert events[-1] == SourceBlocked("203.0.113.9", 3, 302.0)
    refused = guesser.responses[-1]
    assert refused.headers.get("WWW-Authenticate") is None
    # the right password from that host, even from another port, is refused too while it cools down
    owner = Phone(registrar, "1001", AMY_PASSWORD, host="203.0.113.9", port=5070)
    response, got = owner.send((DESK,), now=100.0)
    assert response.status == 403 and response.headers.get("WWW-Authenticate") is None
    assert got == [RegistrationRateLimited("1001", ("203.0.113.9", 5070), 302.0)]
    assert registrar.counters.rate_limited == 1
    # another host is served as usual
    assert Phone(registrar, "1001", AMY_PASSWORD, host="192.0.2.10").send((DESK,), now=100.0)[0].status == 200
    # after the cool-down the host is served again
    assert owner.send((DESK,), now=302.0)[0].status == 200


def test_only_wrong_credentials_count_as_failures():
    registrar = new_registrar(failure_limit=2, nonce_lifetime=10.0)
    for now in range(20):  # REGISTERs without credentials are just challenged
        response = registrar.handle_register(register_request("1001", contacts=(DESK,), cseq=now + 1),
                                             source=("203.0.113.9", 5060), transport="udp", now=float(now)).response
        assert response.status == 401
    phone = Phone(registrar, "1001", AMY_PASSWORD, host="203.0.113.9")
    for now in (100.0, 200.0, 300.0):  # each time the cached nonce is stale: 401 stale=true, then 200
        assert phone.send((DESK,), now=now)[0].status == 200
    assert registrar.counters.auth_failures == 0 and registrar.counters.rate_limited == 0

"""The RCCServer log for SIP stations (SPEC section 9): a line per registration change and
per refused authentication with user and address; a source in its cool-down is logged
once per cool-down, not per packet. Events come from a real registrar driven by phones
that register the way desk phones do (tests/stations/registrar_harness.py)."""
from __future__ import annotations

import re

from rccserver.server.station_observers import StationsLogObserver
from tests.rcclog.test_rcclog_format import STAMP, logfile  # noqa: F401  (the fixture)
from tests.stations.registrar_harness import AMY_PASSWORD, Phone, new_registrar

CONTACT = "<sip:1001@192.0.2.10:5062>"


def lines_of(read, kind: str) -> list[str]:
    return [line for line in read() if re.match(rf"^{STAMP} \w+ +{kind} ", line)]


def feed(observer, events) -> None:
    for event in events:
        observer(event)


def test_register_refresh_unregister(logfile):  # noqa: F811
    read = logfile()
    observer = StationsLogObserver()
    registrar = new_registrar()
    phone = Phone(registrar, "1001", AMY_PASSWORD, port=5062)
    response, events = phone.send((CONTACT,), now=100.0, expires=600)
    assert response.status == 200
    feed(observer, events)
    [registered] = lines_of(read, "station-registered")
    assert " INFO  station-registered station=1001 sip_user=1001 contact=sip:1001@192.0.2.10:5062 " in registered
    assert "transport=udp peer=192.0.2.10:5062 " in registered
    assert 'user_agent=TestPhone/1.0 expires=600' in registered
    feed(observer, phone.send((CONTACT,), now=200.0, expires=600)[1])
    assert lines_of(read, "station-refreshed") == []  # a refresh is no change: debug only
    feed(observer, phone.send((CONTACT,), now=300.0, expires=0)[1])
    [removed] = lines_of(read, "station-unregistered")
    assert "station=1001" in removed and "peer=192.0.2.10:5062" in removed and "reason=unregistered" in removed


def test_refresh_lines_at_debug(logfile):  # noqa: F811
    read = logfile(log_level="debug")
    observer = StationsLogObserver()
    phone = Phone(new_registrar(), "1001", AMY_PASSWORD)
    feed(observer, phone.send((CONTACT,), now=100.0, expires=600)[1])
    feed(observer, phone.send((CONTACT,), now=200.0, expires=600)[1])
    [refreshed] = lines_of(read, "station-refreshed")
    assert " DEBUG station-refreshed station=1001 " in refreshed


def test_an_expired_registration(logfile):  # noqa: F811
    read = logfile()
    observer = StationsLogObserver()
    registrar = new_registrar()
    feed(observer, Phone(registrar, "1001", AMY_PASSWORD).send((CONTACT,), now=100.0, expires=60)[1])
    feed(observer, registrar.tick(160.0))
    [expired] = lines_of(read, "station-expired")
    assert "station=1001 sip_user=1001 contact=sip:1001@192.0.2.10:5062 peer=192.0.2.10:5060" in expired


def test_a_wrong_password_names_user_and_address(logfile):  # noqa: F811
    read = logfile()
    observer = StationsLogObserver()
    phone = Phone(new_registrar(), "1001", "guess", host="198.51.100.7", port=40000)
    response, events = phone.send((CONTACT,), now=100.0, retries=1)  # the challenge, then one guess
    assert response.status == 401
    feed(observer, events)
    [failed] = lines_of(read, "station-auth-failed")
    assert " WARN  station-auth-failed method=REGISTER user=1001 aor_user=1001 peer=198.51.100.7:40000 " in failed
    assert "guess" not in failed  # no secret, nor what was tried
    assert lines_of(read, "station-registered") == []


def test_a_guesser_in_its_cool_down_is_logged_once(logfile):  # noqa: F811
    read = logfile()
    observer = StationsLogObserver()
    registrar = new_registrar(failure_limit=3, failure_window=60.0, failure_cooldown=300.0)
    guesser = Phone(registrar, "1001", "guess", host="203.0.113.9")
    now = 100.0
    for _ in range(20):  # far more packets than the limit
        feed(observer, guesser.send((CONTACT,), now=now, retries=0)[1])
        now += 1
    assert len(lines_of(read, "station-auth-failed")) == 3
    [blocked] = lines_of(read, "station-source-blocked")
    assert "host=203.0.113.9 failures=3 until=" in blocked
    [refused] = lines_of(read, "station-refused")
    assert "peer=203.0.113.9:5060" in refused and "cool-down" in refused
    # the next cool-down of the same host is logged again
    now += 400
    for _ in range(6):
        feed(observer, guesser.send((CONTACT,), now=now, retries=0)[1])
        now += 1
    assert len(lines_of(read, "station-source-blocked")) == 2
    assert len(lines_of(read, "station-refused")) == 2


def test_the_phone_lines_invite_refusals(logfile):  # noqa: F811
    from rccserver.stations.line_events import InviteAuthenticationFailed, InviteRefusedDuringCooldown

    read = logfile()
    observer = StationsLogObserver()
    observer(InviteAuthenticationFailed("1101", "1101", ("198.51.100.7", 5062), "wrong response"))
    for _ in range(5):  # a flood during one cool-down: one line
        observer(InviteRefusedDuringCooldown("1101", ("198.51.100.7", 5062), 2_000_000_000.0))
    [failed] = lines_of(read, "station-auth-failed")
    assert "method=INVITE user=1101 aor_user=1101 peer=198.51.100.7:5062" in failed
    [refused] = lines_of(read, "station-refused")
    assert "method=INVITE peer=198.51.100.7:5062" in refused

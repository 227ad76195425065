"""The stations line is wired to the call layer and flushed with the rest of the server:
a call dialled on one real phone rings another through the switch and both hear each
other, and a call placed through the admin API (outside both SIP lines) rings a phone
at once. Call handling itself is tested by the call layer's own tests; these check that
the server passes phones' calls through it."""
from __future__ import annotations

import time

from tests.stations_e2e.conftest import PHONES

WAIT = 15.0


def registered(phones, server, user: str, transport: str, tone_hz: int):
    phone = phones(user=user, password=PHONES[user], registrar=("127.0.0.1", server.stations_port),
                   transport=transport, tone_hz=tone_hz)
    phone.wait_registered(timeout=WAIT)
    return phone


def test_a_call_between_two_phones_goes_through_the_switch(stations_server, phones):
    server = stations_server
    caller = registered(phones, server, "1101", "udp", 440)
    callee = registered(phones, server, "1102", "tcp", 1000)
    caller.dial("1102")
    callee.wait_event("CALL_INCOMING", timeout=WAIT)
    status, calls = server.admin("GET", "/api/calls")
    assert status == 200
    [call] = calls
    assert (call["calling"], call["called"]) == ("1101", "1102")
    callee.accept()
    caller.wait_event("CALL_ESTABLISHED", timeout=WAIT)
    assert abs(caller.heard_frequency(timeout=WAIT) - 1000) < 25  # the callee's tone reached the caller
    caller.hangup()
    callee.wait_event("CALL_CLOSED", timeout=WAIT)
    deadline = time.monotonic() + WAIT
    while server.admin("GET", "/api/calls")[1]:
        assert time.monotonic() < deadline, "the call stayed in the switch after both phones hung up"
        time.sleep(0.05)


def test_a_call_placed_through_the_admin_api_rings_the_phone(stations_server, phones):
    server = stations_server
    phone = registered(phones, server, "1101", "udp", 440)
    status, placed = server.admin("POST", "/api/calls", {"from": "+15550199", "to": "1101"})
    assert status == 200, placed
    phone.wait_event("CALL_INCOMING", timeout=WAIT)
    phone.accept()
    phone.wait_event("CALL_ESTABLISHED", timeout=WAIT)
    deadline = time.monotonic() + WAIT
    while True:
        [call] = server.admin("GET", "/api/calls")[1]
        states = {party["device"]: party["state"] for party in call["parties"]}
        if states.get("1101") == "connected":
            break
        assert time.monotonic() < deadline, f"station 1101 never connected: {call}"
        time.sleep(0.05)

"""A pair on one Redis shares SIP registrations (SPEC section 11): a phone registered
through server A is reached by a call that arrives at server B, and when it unregisters
at A, B stops calling it."""
from __future__ import annotations

import contextlib
import time

import pytest

from testkit.redisproc import RedisProcess, redis_server_path
from tests.stations_e2e.conftest import PHONES, sip_stations_text, started_stations_testbed

WAIT = 30.0


@pytest.fixture
def redis_server(tmp_path):
    assert redis_server_path() is not None, "redis-server is missing: run scripts/install-system-deps"
    server = RedisProcess(tmp_path / "redis", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture
def pair(tmp_path, redis_server):
    state = f'\n[state]\nbackend = "redis"\nredis_url = "{redis_server.url}"\nlease_seconds = 3\n'
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(started_stations_testbed(tmp_path / name, lambda text: text + sip_stations_text(),
                                                              state))
               for name in ("a", "b")]


def registration_at(server, extension: str):
    rows = {row["extension"]: row for row in server.admin("GET", "/api/stations")[1]}
    return rows[extension].get("registration")


def wait_for(predicate, what: str):
    deadline = time.monotonic() + WAIT
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def test_a_phone_registered_at_a_is_rung_by_a_call_arriving_at_b(pair, phones):
    a, b = pair
    phone = phones(user="1101", password=PHONES["1101"], registrar=("127.0.0.1", a.stations_port), tone_hz=440)
    phone.wait_registered()
    assert registration_at(a, "1101") is not None
    seen_at_b = wait_for(lambda: registration_at(b, "1101"), "B to learn the registration made at A")
    assert seen_at_b["contact"] == registration_at(a, "1101")["contact"]

    status, body = b.admin("POST", "/api/calls", {"from": "tel:+13175550100", "to": "1101"})
    assert status == 200, body
    phone.wait_event("CALL_INCOMING", timeout=WAIT)
    assert b.admin("POST", f"/api/calls/{body['call_id']}/hangup")[0] == 200
    phone.wait_event("CALL_CLOSED", timeout=WAIT)

    phone.stop()  # un-REGISTER through A
    wait_for(lambda: registration_at(b, "1101") is None, "B to forget the phone that unregistered at A")
    status, body = b.admin("POST", "/api/calls", {"from": "tel:+13175550100", "to": "1101"})
    assert status == 200 and all(call["call_id"] != body["call_id"] for call in b.admin("GET", "/api/calls")[1])

"""Connection abuse against the real server: slow senders, idle and mass connections, churn.

Small limits in the test config ([line] idle_timeout, header_timeout,
max_connections_per_source) make the limits visible within seconds. Abusers
connect from their own 127.0.0.x addresses; a legitimate session from
127.0.0.2 must be served throughout (answers and events).

Waits are bounded ("closed within N s", N several times the configured
timeout); nothing asserts how fast the server is.
"""
from __future__ import annotations

import socket
import struct
import time

import pytest

from tests.abuse.abuse_support import (
    closed_among, closed_by_peer, connect_from, connect_many, monitored_session, raise_nofile, session_still_served,
)
from testkit.testbed import write_testbed

IDLE, HEADER, CAP = 3, 1, 20
LEGIT = "127.0.0.2"
ALICE, ALICE_LINE = "sip:alice@example.com", "tel:+1001"


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    server = write_testbed(
        tmp_path_factory.mktemp("abuse-tight"),
        line_extra=f"idle_timeout = {IDLE}\nheader_timeout = {HEADER}\nmax_connections_per_source = {CAP}\n",
    ).start()
    yield server
    assert server.stop() == 0


def legit_session_works(server) -> None:
    """alice from 127.0.0.2 signs in, is answered and evented, signs out (well within idle_timeout)."""
    client = monitored_session(LEGIT, server.sip_port, ALICE, ALICE_LINE)
    try:
        session_still_served(server, client, "1001")
        assert client.sign_out().status == 200
    finally:
        client.close()


def full_quota_refusals(source: str, port: int, quota: int, within: float) -> int:
    """Open `quota` connections from `source` until none is refused or `within` seconds
    have passed (the server counts a close when it sees it); how many the last try lost."""
    deadline = time.monotonic() + within
    while True:
        held = connect_many(source, port, quota)
        refused = len(closed_among(held, 0.5))
        for sock in held:
            sock.close()
        if not refused or time.monotonic() >= deadline:
            return refused
        time.sleep(0.5)


def wait_log(server, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log_text:
        assert time.monotonic() < deadline, f"{text!r} not in the log:\n{server.log_text[-2000:]}"
        time.sleep(0.05)


def test_slow_partial_message_is_cut_by_header_timeout(tight):
    sock = connect_from("127.0.0.5", tight.sip_port)
    try:
        sock.sendall(b"OPTIONS sip:rcc@rcc.example.com SIP/2.0\r\n")
        # One byte every 0.25 s: never idle, never complete.
        closed = False
        deadline = time.monotonic() + 6 * HEADER + 2
        for byte in b"Via: SIP/2.0/TCP 127.0.0.5:5060;branch=z9hG4bKslowslowslowslowslowslow" * 3:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_peer(sock, 0.25):
                closed = True
                break
            if time.monotonic() > deadline:
                break
        # Bytes flowed every 0.25 s, so the idle timeout never ran out: this was header_timeout.
        assert closed, "a message trickling in byte by byte was not cut"
    finally:
        sock.close()
    legit_session_works(tight)
    # The administrator sees why (reliability finding F2).
    assert any("connection-closed" in line and "header timeout" in line and "127.0.0.5" in line
               for line in tight.log_text.splitlines())


def test_silent_connection_is_closed_by_idle_timeout(tight):
    sock = connect_from("127.0.0.6", tight.sip_port)
    try:
        assert closed_by_peer(sock, 4 * IDLE)
    finally:
        sock.close()


def test_crlf_keepalive_pings_hold_a_connection_open_past_idle_timeout(tight):
    sock = connect_from("127.0.0.6", tight.sip_port)
    try:
        for _ in range(2 * IDLE):  # pings for twice the idle timeout
            sock.sendall(b"\r\n\r\n")
            sock.settimeout(5)
            assert sock.recv(16) == b"\r\n"
            time.sleep(0.9)
    finally:
        sock.close()


def test_per_source_cap_refuses_the_extra_connection_at_once_and_others_are_unaffected(tight):
    held = [connect_from("127.0.0.7", tight.sip_port) for _ in range(CAP)]
    try:
        extra = connect_from("127.0.0.7", tight.sip_port)
        assert closed_by_peer(extra, 2.0)
        extra.close()
        assert not closed_among(held, 0.3)  # the first CAP are still open
        wait_log(tight, "too many connections from 127.0.0.7")
        other = connect_from("127.0.0.8", tight.sip_port)  # another source is not counted against 127.0.0.7
        assert not closed_by_peer(other, 0.3)
        other.close()
        legit_session_works(tight)
    finally:
        for sock in held:
            sock.close()


def test_connect_disconnect_churn_leaks_no_per_source_count(tight):
    linger_rst = struct.pack("ii", 1, 0)
    deadline = time.monotonic() + 40
    cycles = 0
    for cycles in range(1, 1001):
        sock = connect_from("127.0.0.9", tight.sip_port)
        kind = cycles % 3
        if kind == 1:
            sock.sendall(b"INVITE sip:rcc@rcc.example.com SIP/2.0\r\nVia: SIP/2.0/TCP x")
        elif kind == 2:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_rst)  # close with RST
        sock.close()
        if cycles % 32 == 0:
            time.sleep(0.03)  # keep within the accept backlog (see connect_many)
        if time.monotonic() > deadline:
            break
    assert cycles >= 300, f"only {cycles} connect/disconnect cycles in 40 s"
    # If any of those were still counted, the cap would refuse some of these.
    refused = full_quota_refusals("127.0.0.9", tight.sip_port, CAP, within=10)
    assert not refused, f"{refused} of {CAP} refused: the per-source count leaked"
    legit_session_works(tight)
    assert tight.admin("GET", "/api/sessions")[1] == []


SOURCES = [f"127.0.0.{n}" for n in range(10, 18)]
WANTED_CAP = 1250  # per source: 8 x 1 250 = 10 000 held connections


@pytest.fixture(scope="module")
def mass(tmp_path_factory):
    # This process holds one end of every connection and the server (which inherits the
    # limit) the other: one fd each per connection, plus room for everything else.
    limit = raise_nofile(len(SOURCES) * (WANTED_CAP + 20) + 1000)
    cap = min(WANTED_CAP, (limit - 1000) // len(SOURCES) - 20)
    assert cap >= 100, f"RLIMIT_NOFILE hard limit {limit} is too low to hold thousands of connections"
    server = write_testbed(
        tmp_path_factory.mktemp("abuse-mass"),
        line_extra=f"idle_timeout = 120\nheader_timeout = 30\nmax_connections_per_source = {cap}\n",
    ).start()
    server.cap = cap
    yield server
    assert server.stop() == 0


@pytest.mark.timeout(180)
def test_ten_thousand_idle_connections_are_capped_per_source_and_the_legit_session_is_served(mass):
    held: dict[str, list[socket.socket]] = {}
    try:
        for source in SOURCES:
            held[source] = connect_many(source, mass.sip_port, mass.cap + 20)
        every = [sock for socks in held.values() for sock in socks]
        closed = closed_among(every, 2.0)
        for source, socks in held.items():
            refused = sum(1 for sock in socks if sock in closed)
            assert refused == 20, f"{source}: {refused} refused, expected exactly the 20 over the cap"
        assert len(every) - len(closed) == len(SOURCES) * mass.cap
        client = monitored_session(LEGIT, mass.sip_port, ALICE, ALICE_LINE)
        try:
            session_still_served(mass, client, "1001")
        finally:
            client.sign_out()
            client.close()
    finally:
        for socks in held.values():
            for sock in socks:
                sock.close()
    # All closed: the counts are back to zero, so a full quota is admitted again.
    refused = full_quota_refusals(SOURCES[0], mass.sip_port, mass.cap, within=15)
    assert not refused, f"{refused} refused after every connection was closed"
    assert mass.admin("GET", "/api/health") == (200, {"status": "ok"})

"""The TCP listener over real loopback sockets: framing, keep-alive, framing errors,
admission (access list, per-source cap) and shutdown."""
from __future__ import annotations

import socket

import pytest
from twisted.internet.error import CannotListenError

from rccserver.transport.access import AccessList
from rccserver.transport.limits import TransportLimits

from transport_support import WAIT, read_until_closed

OPTIONS = (
    b"OPTIONS sip:rcc.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
    b"Call-ID: a@b\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:rcc.example.com>\r\n"
    b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)
INFO = (
    b"INFO sip:rcc.example.com SIP/2.0\r\nCall-ID: a@b\r\nCSeq: 2 INFO\r\n"
    b"Content-Type: application/csta+xml\r\nContent-Length: 11\r\n\r\n<x>body</x>"
)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sock.settimeout(WAIT)
    return sock


def test_messages_split_across_writes_reach_the_sink_whole(start_listener, sink):
    listener = start_listener(sink)
    with connect(listener.port) as sock:
        stream = OPTIONS + INFO
        for i in range(0, len(stream), 7):  # never on a message boundary by design
            sock.sendall(stream[i:i + 7])
        kind, conn, _ = sink.next("made")
        assert conn.transport == "tcp" and conn.peer[0] == "127.0.0.1"
        assert conn.local[1] == listener.port
        assert sink.next("message")[2] == OPTIONS
        assert sink.next("message")[2] == INFO
    assert sink.next("lost")[2] == "closed by peer"


def test_sink_can_answer_on_the_connection(start_listener, sink, reactor_thread):
    listener = start_listener(sink)
    with connect(listener.port) as sock:
        sock.sendall(OPTIONS)
        _, conn, _ = sink.next("message")
        reactor_thread.call(conn.send, b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        assert sock.recv(100) == b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"
        reactor_thread.call(conn.close)
        assert read_until_closed(sock) == b""
    assert sink.next("lost")[2] == "closed locally"


def test_keep_alive_ping_is_answered_with_crlf(start_listener, sink):
    listener = start_listener(sink)
    with connect(listener.port) as sock:
        sock.sendall(b"\r\n\r\n")
        assert sock.recv(10) == b"\r\n"
        sock.sendall(b"\r\n")  # a pong: never answered, or two servers would ping-pong forever
        sock.sendall(OPTIONS)
        assert sink.next("message")[2] == OPTIONS
    assert [e[0] for e in sink.pending() if e[0] == "message"] == []


def test_framing_error_goes_to_the_sink_then_the_connection_closes(start_listener, sink):
    listener = start_listener(sink)
    with connect(listener.port) as sock:
        sock.sendall(b"INFO sip:x SIP/2.0\r\nContent-Length: banana\r\n\r\n")
        _, conn, error = sink.next("framing_error")
        assert error.status == 400 and "Content-Length" in error.reason
        assert read_until_closed(sock) == b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    assert sink.next("lost")[2].startswith("framing error: bad Content-Length")


def test_oversized_message_is_a_framing_error(start_listener, sink):
    listener = start_listener(sink, limits=TransportLimits(max_message_size=1024))
    with connect(listener.port) as sock:
        sock.sendall(b"INFO sip:x SIP/2.0\r\nContent-Length: 5000\r\n\r\n")
        assert "too large" in sink.next("framing_error")[2].reason
        assert read_until_closed(sock).startswith(b"SIP/2.0 400")


def test_denied_peer_is_closed_before_anything_is_read(start_listener, sink, rejections):
    listener = start_listener(sink, access=AccessList("denied"), on_rejected=rejections)
    with connect(listener.port) as sock:
        peer, reason = rejections.next()
        assert peer[0] == "127.0.0.1" and reason == "access denied by the access list"
        try:
            sock.sendall(OPTIONS)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert read_until_closed(sock) == b""
    assert sink.pending() == []  # the sink never heard of it


def test_access_exception_lets_a_peer_in_despite_a_denying_default(start_listener, sink, rejections):
    listener = start_listener(sink, access=AccessList("denied", ["127.0.0.0/8"]), on_rejected=rejections)
    with connect(listener.port) as sock:
        sock.sendall(OPTIONS)
        assert sink.next("message")[2] == OPTIONS
    assert rejections.empty()


def test_access_exception_refuses_a_peer_despite_a_granting_default(start_listener, sink, rejections):
    listener = start_listener(sink, access=AccessList("granted", ["127.0.0.1/32"]), on_rejected=rejections)
    with connect(listener.port) as sock:
        assert rejections.next()[1] == "access denied by the access list"
        assert read_until_closed(sock) == b""


def test_connections_per_source_are_capped(start_listener, sink, rejections):
    listener = start_listener(sink, limits=TransportLimits(max_connections_per_source=2), on_rejected=rejections)
    first, second = connect(listener.port), connect(listener.port)
    sink.next("made"), sink.next("made")
    with connect(listener.port) as third:
        assert rejections.next()[1] == "too many connections from 127.0.0.1 (limit 2)"
        assert read_until_closed(third) == b""
    first.close()
    sink.next("lost")
    with connect(listener.port) as fourth:  # a slot was freed
        fourth.sendall(OPTIONS)
        assert sink.next("message")[2] == OPTIONS
    second.close()


def test_idle_and_unfinished_messages_are_closed_with_real_sockets(start_listener, sink):
    # Short timeouts on the real reactor; only the outcome is checked, not how long it took.
    listener = start_listener(sink, limits=TransportLimits(idle_timeout=0.2, header_timeout=0.1))
    with connect(listener.port) as idle, connect(listener.port) as slow:
        slow.sendall(OPTIONS[:20])
        assert read_until_closed(idle) == b""
        assert read_until_closed(slow) == b""
    reasons = sorted(sink.next("lost")[2] for _ in range(2))
    assert reasons[0].startswith("header timeout (message not completed")
    assert reasons[1].startswith("idle timeout")


def test_stopping_the_listener_closes_connections_and_the_port(start_listener, sink, reactor_thread):
    listener = start_listener(sink)
    port = listener.port
    with connect(port) as sock:
        sink.next("made")
        reactor_thread.call(listener.stopService)
        assert read_until_closed(sock) == b""
    assert sink.next("lost")[2] == "listener stopped"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT)


def test_ipv6_loopback(start_listener, sink):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        listener = start_listener(sink, address="::1")
    except CannotListenError as error:
        pytest.skip(f"cannot listen on ::1: {error}")
    with socket.create_connection(("::1", listener.port), timeout=WAIT) as sock:
        sock.sendall(OPTIONS)
        _, conn, data = sink.next("message")
        assert data == OPTIONS and conn.peer[0] == "::1"

"""Answers on a plain TCP connection leave with one send when nothing is queued ahead
(transport/write_now.py), and queue behind Twisted's buffer when something is."""
from __future__ import annotations

import socket

from transport_support import WAIT


def _twisted_transport(conn):
    return conn._protocol.transport


def _queued(transport) -> int:
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sock.settimeout(WAIT)
    return sock


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        piece = sock.recv(min(1 << 20, size - len(data)))
        assert piece, f"closed after {len(data)} of {size} bytes"
        data += piece
    return bytes(data)


def test_an_answer_on_an_idle_connection_is_sent_at_once(start_listener, sink, reactor_thread):
    listener = start_listener(sink)
    with connect(listener.port) as sock:
        _, conn, _ = sink.next("made")
        transport = _twisted_transport(conn)

        answer = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"

        def send_and_look() -> tuple[int, bool]:
            conn.send(answer)
            # Twisted's path would have queued the bytes and watched the socket for writing.
            return _queued(transport), transport in reactor_thread.reactor.getWriters()

        assert reactor_thread.call(send_and_look) == (0, False)
        assert read_exactly(sock, len(answer)) == answer


def test_bytes_queue_behind_what_the_kernel_did_not_take(start_listener, sink, reactor_thread):
    listener = start_listener(sink)
    with connect(listener.port) as sock:
        _, conn, _ = sink.next("made")
        transport = _twisted_transport(conn)
        big = bytes(range(256)) * (128 * 1024)  # 32 MiB: more than the kernel buffers on loopback
        tail = b"the tail goes last"

        def send_both() -> int:
            conn.send(big)
            queued = _queued(transport)  # the peer is not reading: Twisted holds the rest
            conn.send(tail)
            return queued

        assert reactor_thread.call(send_both) > 0
        assert read_exactly(sock, len(big) + len(tail)) == big + tail


def test_a_closing_connection_still_sends_what_was_written_before(start_listener, sink, reactor_thread):
    listener = start_listener(sink)
    with connect(listener.port) as sock:
        _, conn, _ = sink.next("made")

        def send_then_close() -> None:
            conn.send(b"last words")
            conn.close()

        reactor_thread.call(send_then_close)
        received = bytearray()
        while piece := sock.recv(4096):
            received += piece
        assert bytes(received) == b"last words"

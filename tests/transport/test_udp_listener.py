"""The stations line's UDP socket over real loopback datagrams: what reaches the sink
(whole, however large), what does not (keep-alives, refused addresses), sending back."""
from __future__ import annotations

import queue
import socket

import pytest
from twisted.internet.error import CannotListenError

from rccserver.transport.access import AccessList
from rccserver.transport.udp import UdpListener

from transport_support import WAIT

REGISTER = (
    b"REGISTER sip:127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport\r\n"
    b"Call-ID: r@phone\r\nCSeq: 1 REGISTER\r\nFrom: <sip:1001@127.0.0.1>;tag=1\r\nTo: <sip:1001@127.0.0.1>\r\n"
    b"Contact: <sip:1001@127.0.0.1:5062>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


class DatagramRecorder:
    def __init__(self) -> None:
        self.datagrams: queue.Queue = queue.Queue()
        self.refused: queue.Queue = queue.Queue()

    def datagram_received(self, data: bytes, peer, local) -> None:
        self.datagrams.put((data, peer, local))

    def on_refused(self, peer) -> None:
        self.refused.put(peer)

    def next(self):
        try:
            return self.datagrams.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no datagram reached the sink within {WAIT} s") from None


@pytest.fixture
def udp(reactor_thread):
    started: list[UdpListener] = []

    def start(sink: DatagramRecorder, **kwargs) -> UdpListener:
        listener = UdpListener(reactor=reactor_thread.reactor, sink=sink, address="127.0.0.1", port=0,
                               on_refused=sink.on_refused, **kwargs)
        reactor_thread.call(listener.startService)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        if listener.running:
            reactor_thread.call(listener.stopService)


@pytest.fixture
def phone():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(WAIT)
    yield sock
    sock.close()


def test_a_datagram_reaches_the_sink_with_both_addresses(udp, phone):
    sink = DatagramRecorder()
    listener = udp(sink)
    phone.sendto(REGISTER, ("127.0.0.1", listener.port))
    data, peer, local = sink.next()
    assert data == REGISTER
    assert peer == phone.getsockname()
    assert local == ("127.0.0.1", listener.port)


def test_a_large_datagram_arrives_whole(udp, phone):
    # Twisted reads 8192 bytes by default: anything longer would be cut without a word.
    sink = DatagramRecorder()
    listener = udp(sink)
    big = REGISTER.replace(b"Content-Length: 0\r\n\r\n", b"Content-Length: 60000\r\n\r\n") + b"v" * 60000
    phone.sendto(big, ("127.0.0.1", listener.port))
    assert sink.next()[0] == big


def test_garbage_goes_to_the_sink_which_decides(udp, phone):
    sink = DatagramRecorder()
    listener = udp(sink)
    phone.sendto(b"\x00\xffnot sip", ("127.0.0.1", listener.port))
    assert sink.next()[0] == b"\x00\xffnot sip"


def test_keep_alives_are_dropped(udp, phone):
    sink = DatagramRecorder()
    listener = udp(sink)
    for keep_alive in (b"\r\n\r\n", b"\r\n", b" "):
        phone.sendto(keep_alive, ("127.0.0.1", listener.port))
    phone.sendto(REGISTER, ("127.0.0.1", listener.port))
    assert sink.next()[0] == REGISTER  # the first datagram the sink sees (UDP on loopback keeps order)


def test_a_refused_address_is_dropped_and_reported(udp, phone):
    sink = DatagramRecorder()
    listener = udp(sink, access=AccessList("granted", ["127.0.0.0/8"]))
    phone.sendto(REGISTER, ("127.0.0.1", listener.port))
    assert sink.refused.get(timeout=WAIT) == phone.getsockname()
    assert sink.datagrams.empty()


def test_send_reaches_the_peer(udp, phone, reactor_thread):
    sink = DatagramRecorder()
    listener = udp(sink)
    assert reactor_thread.call(listener.send, phone.getsockname(), b"SIP/2.0 200 OK\r\n\r\n") is None
    data, source = phone.recvfrom(65536)
    assert (data, source) == (b"SIP/2.0 200 OK\r\n\r\n", ("127.0.0.1", listener.port))


def test_send_says_why_it_failed(udp, reactor_thread):
    sink = DatagramRecorder()
    listener = udp(sink)
    problem = reactor_thread.call(listener.send, ("127.0.0.1", 9), b"x" * 70000)  # above any UDP payload
    assert problem == "70000 bytes is too long for a datagram"
    assert reactor_thread.call(listener.send, ("::1", 9), b"x").startswith("cannot send to ::1")
    reactor_thread.call(listener.stopService)
    assert reactor_thread.call(listener.send, ("127.0.0.1", 9), b"x") == "the UDP socket is closed"


def test_a_taken_port_fails_at_start(udp, reactor_thread):
    sink = DatagramRecorder()
    first = udp(sink)
    second = UdpListener(reactor=reactor_thread.reactor, sink=sink, address="127.0.0.1", port=first.port)
    with pytest.raises(CannotListenError):
        reactor_thread.call(second.startService)

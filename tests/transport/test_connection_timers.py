"""One connection driven by a fake clock and an in-memory transport: idle and
header (slowloris) timeouts, close grace, keep-alive, the state table, and
framing of arbitrarily split streams."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from rccserver.transport.connection import (
    _TRANSITIONS,
    ConnectionClosedError,
    Event,
    IllegalTransition,
    SipStreamProtocol,
    State,
)
from rccserver.transport.limits import TransportLimits
from transport_support import RecordingSink

MESSAGE = b"OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 3\r\n\r\nabc"
LIMITS = TransportLimits(idle_timeout=60.0, header_timeout=5.0, close_grace=2.0)


class Transport(StringTransport):
    """StringTransport whose loseConnection/abortConnection end the connection the way
    a reactor would (loseConnection only once the peer has taken the bytes)."""

    def __init__(self) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "192.0.2.7", 40000),
                         hostAddress=IPv4Address("TCP", "192.0.2.1", 11001))
        self.protocol = None
        self.aborted = False

    def abortConnection(self) -> None:
        self.aborted = True
        self.finish()

    def finish(self) -> None:
        if self.protocol is not None and self.protocol.state is not State.CLOSED:
            from twisted.internet.error import ConnectionAborted
            from twisted.python.failure import Failure

            self.protocol.connectionLost(Failure(ConnectionAborted()))


def make(limits: TransportLimits = LIMITS, sink: RecordingSink | None = None):
    clock = Clock()
    sink = sink or RecordingSink()
    protocol = SipStreamProtocol(sink=sink, limits=limits, clock=clock, transport_name="tcp")
    transport = Transport()
    transport.protocol = protocol
    protocol.makeConnection(transport)
    return protocol, transport, clock, sink


def kinds(sink: RecordingSink) -> list[str]:
    return [event[0] for event in sink.pending()]


def test_idle_connection_is_aborted_after_idle_timeout():
    protocol, transport, clock, sink = make()
    clock.advance(59.9)
    assert not transport.aborted
    clock.advance(0.1)
    assert transport.aborted
    events = sink.pending()
    assert [e[0] for e in events] == ["made", "lost"]
    assert events[-1][2] == "idle timeout (60 s without traffic)"


def test_traffic_in_either_direction_defers_the_idle_timeout():
    protocol, transport, clock, sink = make()
    clock.advance(50)
    protocol.dataReceived(MESSAGE)
    clock.advance(50)
    protocol.connection.send(b"SIP/2.0 200 OK\r\n\r\n")
    clock.advance(50)
    assert not transport.aborted
    clock.advance(10)
    assert transport.aborted


def test_slow_sender_is_cut_off_by_the_header_timeout():
    protocol, transport, clock, sink = make()
    for byte in MESSAGE[:-1]:  # one byte a second keeps the idle timer happy...
        protocol.dataReceived(bytes([byte]))
        clock.advance(1)
        if transport.aborted:
            break
    assert transport.aborted  # ...but not the header timer
    events = sink.pending()
    assert events[-1][0] == "lost" and events[-1][2].startswith("header timeout (message not completed")
    assert "message" not in [e[0] for e in events]


def test_each_message_gets_its_own_header_timeout():
    protocol, transport, clock, sink = make()
    # A stream whose chunks never end on a message boundary, 3 s apart: always a
    # message in progress, but none takes longer than 5 s.
    stream = MESSAGE * 10
    step = len(MESSAGE) - 3
    for i in range(0, len(stream), step):
        protocol.dataReceived(stream[i:i + step])
        clock.advance(3)
    assert not transport.aborted
    assert kinds(sink).count("message") == 10


def test_header_timer_stops_when_the_message_completes():
    protocol, transport, clock, sink = make()
    protocol.dataReceived(MESSAGE[:10])
    clock.advance(4)
    protocol.dataReceived(MESSAGE[10:])
    clock.advance(30)
    assert not transport.aborted


def test_timeouts_can_be_disabled():
    protocol, transport, clock, sink = make(TransportLimits(idle_timeout=None, header_timeout=None))
    protocol.dataReceived(MESSAGE[:10])
    clock.advance(100000)
    assert not transport.aborted
    assert clock.getDelayedCalls() == []


def test_ping_is_answered_and_pong_is_not():
    protocol, transport, clock, sink = make()
    protocol.dataReceived(b"\r\n\r\n")
    assert transport.value() == b"\r\n"
    transport.clear()
    protocol.dataReceived(b"\r\n" + MESSAGE)
    assert transport.value() == b""
    assert kinds(sink) == ["made", "message"]


def test_framing_error_lets_the_sink_answer_then_closes_with_a_grace_period():
    sink = RecordingSink(reply_to_framing_error=b"SIP/2.0 400 Bad Request\r\n\r\n")
    protocol, transport, clock, sink = make(sink=sink)
    protocol.dataReceived(b"INFO sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n" + MESSAGE)
    assert transport.value() == b"SIP/2.0 400 Bad Request\r\n\r\n"
    assert transport.disconnecting and protocol.state is State.CLOSING
    assert not protocol.connection.connected
    with pytest.raises(ConnectionClosedError):
        protocol.connection.send(b"late")
    protocol.dataReceived(MESSAGE)  # ignored: the framer is dead
    clock.advance(2)  # the peer never read our answer
    assert transport.aborted
    events = sink.pending()
    assert [e[0] for e in events] == ["made", "framing_error", "lost"]
    assert events[-1][2] == "framing error: bad Content-Length '-1'"


def test_a_peer_that_reads_the_answer_is_closed_without_abort():
    protocol, transport, clock, sink = make()
    protocol.connection.close()
    transport.finish()  # the reactor flushed and closed
    assert protocol.state is State.CLOSED
    assert clock.getDelayedCalls() == []
    assert sink.pending()[-1][2] == "closed locally"


def test_connection_ids_are_unique_and_repr_names_the_peer():
    first, second = make()[0].connection, make()[0].connection
    assert first.conn_id != second.conn_id
    assert repr(first) == f"<SipConnection #{first.conn_id} tcp from 192.0.2.7:40000>"
    assert first.peer == ("192.0.2.7", 40000) and first.local == ("192.0.2.1", 11001)
    assert first.peer_certificate is None


def test_state_table_has_no_exit_from_closed_and_rejects_illegal_moves():
    assert not [key for key in _TRANSITIONS if key[0] is State.CLOSED]
    assert all(_TRANSITIONS.get((state, Event.LOST)) is State.CLOSED
               for state in State if state is not State.CLOSED)
    protocol, transport, clock, sink = make()
    with pytest.raises(IllegalTransition, match="no transition from open on handshake_done"):
        protocol._move(Event.HANDSHAKE_DONE)


def test_unknown_transport_name_is_refused():
    with pytest.raises(ValueError, match="transport must be one of"):
        SipStreamProtocol(sink=RecordingSink(), limits=LIMITS, clock=Clock(), transport_name="udp")


@settings(max_examples=60, deadline=None)
@given(
    bodies=st.lists(st.binary(max_size=40), min_size=1, max_size=5),
    pings=st.lists(st.booleans(), min_size=5, max_size=5),
    cuts=st.lists(st.integers(min_value=1, max_value=30), max_size=40),
)
def test_any_split_of_a_stream_yields_the_same_messages_and_pongs(bodies, pings, cuts):
    messages = [
        b"INFO sip:a SIP/2.0\r\nCSeq: %d INFO\r\nContent-Length: %d\r\n\r\n%s" % (i, len(body), body)
        for i, body in enumerate(bodies)
    ]
    stream = b"".join((b"\r\n\r\n" if ping else b"") + message for message, ping in zip(messages, pings))
    protocol, transport, clock, sink = make()
    position = 0
    for cut in cuts:
        protocol.dataReceived(stream[position:position + cut])
        position += cut
    protocol.dataReceived(stream[position:])
    received = [e[2] for e in sink.pending() if e[0] == "message"]
    assert received == messages
    assert transport.value() == b"\r\n" * sum(pings[:len(messages)])
    assert protocol.state is State.OPEN


"""One flush and one transport write per received chunk: the bytes written, and their
order, are those of handling every message on its own (in-process: the real
endpoint and driver behind a SipStreamProtocol on a StringTransport)."""
from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from rccserver.common.clock import Scheduler
from rccserver.sip.endpoint import Endpoint
from rccserver.transport.connection import SipStreamProtocol
from rccserver.transport.endpoint_driver import EndpointDriver
from rccserver.transport.limits import TransportLimits

CSTA = "application/csta+xml"
PING = b"\r\n\r\n"


class EventingApp:
    """Answers every INFO, and on every other one sends an event INFO in the dialog
    (as the RCC application does for a MakeCall with a monitor)."""

    def __init__(self) -> None:
        self.endpoint: Endpoint | None = None
        self.infos = 0

    def on_invite(self, incoming):
        incoming.respond(200, headers=[("Content-Type", CSTA)], body=b"<ok/>")

    on_reinvite = on_invite

    def on_info(self, incoming):
        self.infos += 1
        incoming.respond(200, headers=[("Content-Type", CSTA)], body=b"<answer n='%d'/>" % self.infos)
        if self.infos % 2 == 0:
            self.endpoint.send_request(incoming.dialog, "INFO", headers=[("Content-Type", CSTA)],
                                       body=b"<event n='%d'/>" % self.infos, on_outcome=lambda outcome: None)

    def on_update(self, incoming):
        pass

    def on_bye(self, dialog, request):
        pass

    def on_dialog_ended(self, dialog, reason):
        pass


class CountingTransport(StringTransport):
    def __init__(self) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "192.0.2.7", 40000),
                         hostAddress=IPv4Address("TCP", "192.0.2.1", 11001))
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        super().write(data)


def request(method: str, cseq: int, to_tag: str | None, body: bytes = b"") -> bytes:
    to = "<sip:rcc@rcc.example.com>" + (f";tag={to_tag}" if to_tag else "")
    head = (
        f"{method} sip:rcc@rcc.example.com;transport=tcp SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP fe1.example.com:5060;branch=z9hG4bK{method}{cseq}\r\n"
        + ("Contact: <sip:alice@192.0.2.7:40000;transport=tcp>\r\n" if method == "INVITE" else "")
        + "Max-Forwards: 70\r\n"
        'From: "Alice" <sip:alice@example.com>;tag=9708e2df90\r\n'
        f"To: {to}\r\nCall-ID: chunk-test\r\nCSeq: {cseq} {method}\r\n"
        f"Content-Type: {CSTA}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def connected():
    clock = Clock()
    scheduler = Scheduler(clock.seconds)
    app = EventingApp()
    endpoint = Endpoint(app, domain_name="rcc.example.com", scheduler=scheduler)
    app.endpoint = endpoint
    driver = EndpointDriver(endpoint, clock, scheduler)
    protocol = SipStreamProtocol(sink=driver, limits=TransportLimits(), clock=clock, transport_name="tcp")
    transport = CountingTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(request("INVITE", 1, None, b"<logon/>"))
    (dialog,) = endpoint.dialogs
    protocol.dataReceived(request("ACK", 1, dialog.local_tag))
    transport.clear()
    transport.writes = 0
    return protocol, transport, dialog, scheduler


def stream(count: int, to_tag: str, pings_after: frozenset[int] = frozenset()) -> list[bytes]:
    pieces = []
    for n in range(count):
        pieces.append(request("INFO", n + 2, to_tag, b"<request n='%d'/>" % n))
        if n in pings_after:
            pieces.append(PING)
    return pieces


def normalised(data: bytes, to_tag: str) -> bytes:
    """Our tag and our event INFOs' branches are random per run."""
    data = data.replace(to_tag.encode(), b"TAG")
    return re.sub(rb"branch=z9hG4bK[0-9a-f]+", b"branch=BRANCH", data)


def to_tag_free_stream(count: int, pings_after=frozenset()) -> list[bytes]:
    # the to-tag is filled in per run; "TAGX" is replaced below
    return stream(count, "TAGX", pings_after)


def with_tag(pieces: list[bytes], tag: str) -> list[bytes]:
    return [piece.replace(b"TAGX", tag.encode()) for piece in pieces]


def run_grouped(pieces: list[bytes], sizes: list[int]) -> tuple[bytes, int, int]:
    protocol, transport, dialog, scheduler = connected()
    pieces = with_tag(pieces, dialog.local_tag)
    position = 0
    for size in [*sizes, len(pieces)]:
        if position >= len(pieces):
            break
        protocol.dataReceived(b"".join(pieces[position:position + max(1, size)]))
        position += max(1, size)
    return normalised(transport.value(), dialog.local_tag), transport.writes, len(scheduler)


def test_one_chunk_of_messages_is_answered_as_message_by_message_in_one_write():
    pieces = to_tag_free_stream(8)
    one_by_one, writes_one_by_one, timers_one = run_grouped(pieces, [1] * 8)
    together, writes_together, timers_together = run_grouped(pieces, [8])
    assert together == one_by_one
    assert together.count(b"SIP/2.0 200 OK") == 8 and together.count(b"INFO sip:") == 4
    assert writes_one_by_one == 8 and writes_together == 1
    assert timers_together == timers_one  # the events' Timer F, armed either way


def test_a_ping_between_messages_is_answered_in_its_place():
    pieces = to_tag_free_stream(3, pings_after=frozenset({0}))
    data, writes, _ = run_grouped(pieces, [len(pieces)])
    first, second = data.index(b"<answer n='1'/>"), data.index(b"<answer n='2'/>")
    pong = data.index(b"\r\n", first)  # the CRLF pong follows the first answer's body
    assert pong == first + len(b"<answer n='1'/>") and pong < second
    assert data == run_grouped(pieces, [1] * len(pieces))[0]


def test_a_framing_error_after_good_messages_answers_them_first_then_400_and_closes():
    protocol, transport, dialog, _ = connected()
    good = with_tag(to_tag_free_stream(2), dialog.local_tag)
    bad = b"INFO sip:rcc@rcc.example.com SIP/2.0\r\nContent-Length: -1\r\n\r\n"
    protocol.dataReceived(b"".join(good) + bad)
    data = transport.value()
    assert data.index(b"<answer n='1'/>") < data.index(b"<answer n='2'/>") < data.index(b"SIP/2.0 400 ")
    assert transport.disconnecting


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=12),
    pings=st.frozensets(st.integers(min_value=0, max_value=11), max_size=4),
    sizes=st.lists(st.integers(min_value=1, max_value=6), max_size=12),
)
def test_any_grouping_into_chunks_writes_the_same_bytes_in_the_same_order(count, pings, sizes):
    pieces = to_tag_free_stream(count, pings)
    assert run_grouped(pieces, sizes)[0] == run_grouped(pieces, [1] * len(pieces))[0]

"""Messages and a hand-moved clock for the transaction layer tests."""
from __future__ import annotations

from typing import Iterable

from rccserver.sip.message import Request, Response, make_response
from rccserver.sip.transaction_layer import Output, Transmit, TransactionLayer

PEER = ("192.0.2.10", 5060)  # where our requests and responses go; opaque to the layer


def peer_request(
    method: str = "INVITE",
    *,
    branch: str = "z9hG4bKpeer1",
    cseq: int = 1,
    to_tag: str | None = None,
    transport: str = "UDP",
    call_id: str = "call-1@pc.example.com",
) -> Request:
    """A request a phone sends us."""
    to = "<sip:rcc@rcc.example.com>" + (f";tag={to_tag}" if to_tag else "")
    return Request(method, "sip:rcc@rcc.example.com", [
        ("Via", f"SIP/2.0/{transport} pc.example.com:5060;branch={branch};rport"),
        ("Max-Forwards", "70"),
        ("From", "\"Alice\" <sip:alice@example.com>;tag=alice1"),
        ("To", to),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
    ])


def our_request(
    method: str = "INVITE", *, branch: str = "z9hG4bKours1", cseq: int = 7, transport: str = "UDP"
) -> Request:
    """A request we send a phone, through two loose routes."""
    return Request(method, "sip:phone@192.0.2.10:5060", [
        ("Via", f"SIP/2.0/{transport} rcc.example.com:5060;branch={branch}"),
        ("Max-Forwards", "70"),
        ("Route", "<sip:sbc.example.com;lr>"),
        ("Route", "<sip:edge.example.com;lr>"),
        ("From", "<sip:rcc@rcc.example.com>;tag=ours1"),
        ("To", "<sip:phone@example.com>"),
        ("Call-ID", "call-2@rcc.example.com"),
        ("CSeq", f"{cseq} {method}"),
        ("Contact", "<sip:rcc@rcc.example.com:5060>"),
        ("User-Agent", "rccserver-test"),
    ])


def answer(request: Request, status: int, *, to_tag: str | None = "phone1") -> Response:
    return make_response(request, status, to_tag=to_tag)


class Clock:
    """Moves time by hand: fires the layer's timers at their deadlines, in order."""

    def __init__(self, layer: TransactionLayer) -> None:
        self.layer = layer
        self.now = 0.0

    def advance_to(self, when: float) -> list[tuple[float, Output]]:
        fired: list[tuple[float, Output]] = []
        while (deadline := self.layer.next_deadline()) is not None and deadline <= when:
            self.now = deadline
            fired += [(deadline, output) for output in self.layer.tick(deadline)]
        self.now = when
        return fired


def transmit_times(fired: Iterable[tuple[float, Output]]) -> list[float]:
    return [when for when, output in fired if isinstance(output, Transmit)]


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in zip(times, times[1:])]

"""A deterministic harness for the sans-IO endpoint, shared by the endpoint tests.

`RecordingApp` is a small but real application: it answers an initial INVITE
the way the RCC layer will (415 with a Cs_BadRequest Warning for a body that is
not application/csta+xml, else 200 with a RequestSystemStatusResponse), answers
INFOs with a response body naming the request, and can instead hold requests
so that a test answers them later, in any order.
"""
from __future__ import annotations

import itertools
from typing import Any

from rccserver.common.clock import Scheduler
from rccserver.sip.application import IncomingRequest, ResponseOutcome
from rccserver.sip.dialog import Dialog
from rccserver.sip.endpoint import Close, Endpoint, Send, SendTo
from rccserver.sip.message import Request, Response
from rccserver.sip.parser import parse_message

CSTA = "application/csta+xml"
RSS = (
    b'<?xml version="1.0"?><RequestSystemStatus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<extensions><privateData><private><lcs:line xmlns:lcs=\"http://schemas.microsoft.com/Lcs/2005/04/RCCExtension\">"
    b"tel:+13175551010</lcs:line></private></privateData></extensions></RequestSystemStatus>"
)
RSS_RESPONSE = (
    b'<?xml version="1.0"?><RequestSystemStatusResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<systemStatus>normal</systemStatus></RequestSystemStatusResponse>"
)
FE_ROUTES = [
    "<sip:fe1.example.com:5061;transport=tls;ms-role-rs-from;lr;ms-route-sig=fsw3ylQ4X4vWNp2izAEQzWGw7NpJnQ1WDx_Z8P0wAA>",
    "<sip:fe2.example.com;lr>",
]


class RecordingApp:
    """Answers like the RCC layer would, and records everything it is told."""

    def __init__(self, *, hold: bool = False) -> None:
        self.hold = hold  # keep requests in `held` instead of answering at once
        self.held: list[IncomingRequest] = []
        self.invites: list[IncomingRequest] = []
        self.reinvites: list[IncomingRequest] = []
        self.infos: list[IncomingRequest] = []
        self.updates: list[IncomingRequest] = []
        self.byes: list[tuple[Dialog, Request]] = []
        self.ended: list[tuple[Dialog, str]] = []

    # -- Application ----------------------------------------------------
    def on_invite(self, incoming: IncomingRequest) -> None:
        self.invites.append(incoming)
        self._handle(incoming)

    def on_reinvite(self, incoming: IncomingRequest) -> None:
        self.reinvites.append(incoming)
        self._handle(incoming)

    def on_info(self, incoming: IncomingRequest) -> None:
        self.infos.append(incoming)
        self._handle(incoming)

    def on_update(self, incoming: IncomingRequest) -> None:
        self.updates.append(incoming)

    def on_bye(self, dialog: Dialog, request: Request) -> None:
        self.byes.append((dialog, request))

    def on_dialog_ended(self, dialog: Dialog, reason: str) -> None:
        self.ended.append((dialog, reason))

    # -- answering ------------------------------------------------------
    def _handle(self, incoming: IncomingRequest) -> None:
        if self.hold:
            self.held.append(incoming)
        else:
            self.answer(incoming)

    @staticmethod
    def answer(incoming: IncomingRequest) -> None:
        request = incoming.request
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if request.method == "INVITE":
            if content_type != CSTA:
                incoming.respond(
                    415,
                    headers=[("Accept", CSTA), ("Warning", '399 rcc.example.com "Cs_BadRequest: body is not application/csta+xml"')],
                )
                return
            incoming.respond(200, headers=[("Content-Type", CSTA)], body=RSS_RESPONSE)
        else:
            body = b"<answer to=\"" + request.body[:40].replace(b'"', b"") + b'"/>'
            incoming.respond(200, headers=[("Content-Type", CSTA)], body=body)


def sip(text: str, body: bytes = b"") -> bytes:
    """A message from readable text: newlines become CRLF, Content-Length is added."""
    lines = [line.strip() for line in text.strip().splitlines()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Peer:
    """The Lync side of one dialog: builds the requests a front end relays to us."""

    _counter = itertools.count(1)

    def __init__(self, *, sipe: bool = False, transport: str = "TCP") -> None:
        n = next(self._counter)
        self.n = n
        self.call_id = f"call-{n}@client.example.com"
        self.from_tag = f"ftag{n}"
        self.to_tag: str | None = None
        self.sipe = sipe  # no Via branch, lowercase transport
        self.transport = transport
        self.cseq = 0
        self._branches = itertools.count(1)

    def via(self) -> str:
        if self.sipe:
            return f"SIP/2.0/{self.transport.lower()} 10.0.0.5:51063"
        return f"SIP/2.0/{self.transport} fe1.example.com:5061;branch=z9hG4bKc{self.n}x{next(self._branches)}"

    def request(
        self,
        method: str,
        *,
        body: bytes = b"",
        headers: str = "",
        cseq: int | None = None,
        via: str | None = None,
        ruri: str | None = None,
        to_tag: str | None | bool = True,
    ) -> bytes:
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        tag = self.to_tag if to_tag is True else (to_tag or None)
        to = "<sip:rcc@rcc.example.com>" + (f";tag={tag}" if tag else "")
        text = f"""
            {method} {ruri or 'sip:rcc@rcc.example.com;transport=tcp'} SIP/2.0
            Via: {via or self.via()}
            Max-Forwards: 70
            From: "Alice" <sip:alice@example.com>;tag={self.from_tag};epid=bd23d94254
            To: {to}
            Call-ID: {self.call_id}
            CSeq: {cseq} {method}
            {headers}
        """
        text = "\n".join(line for line in text.splitlines() if line.strip())
        return sip(text, body)

    def invite(self, *, headers: str | None = None, body: bytes = RSS, content_type: str = CSTA, cseq: int | None = None) -> bytes:
        if headers is None:
            headers = "Supported: timer"
        routes = "\n".join(f"Record-Route: {route}" for route in FE_ROUTES)
        return self.request(
            "INVITE",
            body=body,
            cseq=cseq,
            to_tag=self.to_tag or False,
            headers=f"""Contact: <sip:alice@10.0.0.5:51063;transport=tcp>
                {routes}
                Content-Disposition: signal;handling=required
                Content-Type: {content_type}
                {headers}""",
        )

    def info(self, body: bytes = b"<GetCSTAFeatures/>", **kw: Any) -> bytes:
        return self.request(
            "INFO", body=body, headers=f"Content-Type: {CSTA}\nContent-Disposition: signal;handling=required", **kw
        )


class Harness:
    """An Endpoint with a fake clock, one TCP connection and a recording app."""

    def __init__(self, *, hold: bool = False, **endpoint_kw: Any) -> None:
        self.now = 1000.0
        self.app = RecordingApp(hold=hold)
        endpoint_kw.setdefault("domain_name", "rcc.example.com")
        self.scheduler = Scheduler(lambda: self.now)
        self.ep = Endpoint(self.app, scheduler=self.scheduler, **endpoint_kw)
        self.connect(1)

    def connect(self, conn_id: int, transport: str = "tcp", port: int = 11001) -> None:
        self.ep.connection_made(conn_id, ("10.1.1.1", 40000 + conn_id), transport, ("10.9.9.9", port))

    def feed(self, data: bytes, conn_id: int = 1) -> list[Send | SendTo | Close]:
        self.ep.receive(conn_id, data)
        return self.ep.take_output()

    def advance(self, seconds: float) -> list[Send | SendTo | Close]:
        self.now += seconds
        self.scheduler.tick(self.now)
        return self.ep.take_output()

    def drain(self) -> list[Send | SendTo | Close]:
        return self.ep.take_output()


def parsed(outputs: list[Send | SendTo | Close]) -> list[Request | Response]:
    return [parse_message(o.data) for o in outputs if isinstance(o, (Send, SendTo))]


def finals(outputs: list[Send | SendTo | Close]) -> list[Response]:
    return [m for m in parsed(outputs) if isinstance(m, Response) and m.status >= 200]


def only_final(outputs: list[Send | SendTo | Close]) -> Response:
    responses = finals(outputs)
    assert len(responses) == 1, [(r.status, r.reason) for r in responses]
    return responses[0]


def requests(outputs: list[Send | SendTo | Close]) -> list[Request]:
    return [m for m in parsed(outputs) if isinstance(m, Request)]


def establish(h: Harness, peer: Peer | None = None, *, headers: str | None = None) -> tuple[Peer, Dialog, Response]:
    """INVITE + 200 + ACK: a confirmed dialog."""
    peer = peer or Peer()
    if h.app.hold:
        h.feed(peer.invite(headers=headers))
        h.app.answer(h.app.held.pop())
        out = h.drain()
    else:
        out = h.feed(peer.invite(headers=headers))
    ok = only_final(out)
    assert ok.status == 200, (ok.status, ok.reason)
    peer.to_tag = ok.to.tag
    assert h.feed(peer.request("ACK", cseq=peer.cseq)) == []
    dialog = next(d for d in h.ep.dialogs if d.call_id == peer.call_id)
    return peer, dialog, ok


def test_harness_establishes_a_dialog() -> None:
    h = Harness()
    peer, dialog, ok = establish(h)
    assert dialog.remote_tag == peer.from_tag and dialog.local_tag == ok.to.tag

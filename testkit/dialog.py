"""The client side of one RCC dialog, as the Lync front end keeps it.

It holds the dialog's identifiers (Call-ID, From tag, the server's To tag once
a 2xx came), numbers our requests (CSeq), and writes each request as bytes.
Both clients use it: `LyncClient` (one dialog on a blocking socket) and
`LoadClient` (thousands of dialogs on a selector); it does no I/O itself.

Options are the ways real RCC clients differ on the wire:

* `record_route`: Record-Route headers on the dialog-creating INVITE, as a
  front end that record-routes writes them.
* `follow_route`: behave as a UAC behind a proxy must (RFC 3261 12.2.1.1):
  in-dialog requests go to the server's Contact as Request-URI with the 2xx's
  Record-Route, reversed, as Route headers. Off by default: directly connected
  clients address the server's URI, as the front end does.
* `contact`: our Contact URI, when the test needs the server to reach a
  listener of its own.
* `dialect="sipe"`: headers as pidgin-sipe 1.25 writes them: a Contact with
  maddr and proxy=replace on the INVITE; in-dialog requests with a branchless,
  lowercase-transport Via and no Contact.
"""
from __future__ import annotations

import secrets

from testkit.messages import CSTA_CT, LYNC_USER_AGENT, SERVER_URI, SIPE_USER_AGENT

LYNC, SIPE = "lync", "sipe"


class ClientDialog:
    def __init__(self, user: str, local: tuple[str, int], *, transport: str = "TCP",
                 server_uri: str = SERVER_URI, call_id: str | None = None, record_route: tuple[str, ...] = (),
                 follow_route: bool = False, contact: str | None = None, dialect: str = LYNC) -> None:
        if dialect not in (LYNC, SIPE):
            raise ValueError(f"unknown dialect {dialect!r}")
        self.user = user
        self.local = local
        self.transport = transport
        self.server_uri = server_uri
        self.call_id = call_id or secrets.token_hex(8) + "@lync.test"
        self.from_tag = secrets.token_hex(4)
        self.to_tag: str | None = None
        self.cseq = 0
        self.record_route = record_route
        self.follow_route = follow_route
        self.contact = contact
        self.dialect = dialect
        self.route_set: list[str] = []
        self.remote_target: str | None = None

    def next_cseq(self) -> int:
        self.cseq += 1
        return self.cseq

    def established(self, to_tag: str, record_route: list[str], contact: str | None) -> None:
        """A 2xx to our INVITE came: the server's tag, and (when following routes) its route set
        and Contact. Called again for each re-INVITE's 2xx, as RFC 3261 12.2.1.2 allows."""
        self.to_tag = to_tag
        if self.follow_route:
            self.route_set = list(reversed(record_route))
            if contact is None:
                raise ValueError("a 2xx to INVITE without Contact")
            self.remote_target = contact

    def headers(self, method: str, cseq: int, extra=()) -> list[tuple[str, str]]:
        """The request's headers, in the order we write them (no Content-Length)."""
        host, port = self.local[0], self.local[1]
        in_dialog = self.to_tag is not None
        sipe = self.dialect == SIPE
        to = f"<{self.server_uri}>" + (f";tag={self.to_tag}" if in_dialog else "")
        if sipe and in_dialog:
            via = f"SIP/2.0/{self.transport.lower()} {host}:{port}"
        else:
            via = f"SIP/2.0/{self.transport} {host}:{port};branch=z9hG4bK{secrets.token_hex(6)}"
        headers = [("Via", via), ("Max-Forwards", "70")]
        if self.follow_route and in_dialog:
            headers += [("Route", route) for route in self.route_set]
        headers += [
            ("From", f"<{self.user}>;tag={self.from_tag};epid=e{self.from_tag}"),
            ("To", to),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        if self.contact is not None:
            headers.append(("Contact", f"<{self.contact}>"))
        elif sipe:
            if not in_dialog:
                headers.append(("Contact", f"<{self.user}:{port};maddr={host};transport=tcp>;proxy=replace"))
        else:
            headers.append(("Contact", f"<sip:lync@{host}:{port};transport={self.transport.lower()}>"))
        headers.append(("User-Agent", SIPE_USER_AGENT if sipe else LYNC_USER_AGENT))
        if method == "INVITE" and not in_dialog:
            headers += [("Record-Route", route) for route in self.record_route]
        headers.extend(extra)
        return headers

    def request_uri(self) -> str:
        if self.follow_route and self.to_tag is not None and self.remote_target:
            return self.remote_target
        return self.server_uri

    def message(self, method: str, body: bytes = b"", *, cseq: int, extra=(), content_type: str | None = CSTA_CT,
                typed_when_empty: bool = False) -> bytes:
        """One request as bytes. A body (or `typed_when_empty`) is typed `content_type` with
        Lync's Content-Disposition, after `extra`."""
        extra = list(extra)
        if content_type and (body or typed_when_empty):
            extra += [("Content-Type", content_type), ("Content-Disposition", "signal;handling=required")]
        lines = [f"{method} {self.request_uri()} SIP/2.0"]
        lines += [f"{name}: {value}" for name, value in self.headers(method, cseq, extra)]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def request(self, method: str, body: bytes = b"", **options) -> tuple[int, bytes]:
        """The next request of the dialog (a new CSeq): (cseq, bytes)."""
        cseq = self.next_cseq()
        return cseq, self.message(method, body, cseq=cseq, **options)

    def ack(self, cseq: int) -> bytes:
        """The ACK of the INVITE with `cseq` (same number, RFC 3261 13.2.2.4)."""
        return self.message("ACK", cseq=cseq, content_type=None)

"""The probe's side of one RCC dialog, as the Lync front end holds it (sans-IO).

It builds the requests Lync sends (INVITE with RequestSystemStatus, ACK, INFO,
BYE), learns the dialog from the INVITE's 2xx (To tag, Record-Route, Contact),
tells which responses answer which request, and builds our answers to the
requests the server sends in the dialog (events, keep-alives, BYE).
No sockets here: the caller moves the bytes.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

from rccserver.sip import Headers, Request, Response, make_response, parse_name_addr
from rccserver.sip.errors import SipParseError

CSTA_CONTENT_TYPE = "application/csta+xml"
# What Lync puts on every CSTA-carrying request (reference section 2.1).
CSTA_HEADERS = (
    ("Content-Type", CSTA_CONTENT_TYPE),
    ("Content-Disposition", "signal;handling=required"),
)
USER_AGENT = "rccserver-probe"
BRANCH_COOKIE = "z9hG4bK"  # RFC 3261 magic cookie


def host_port(host: str, port: int) -> str:
    """`host:port` for Via/Contact, IPv6 literals in brackets."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


class ProbeDialog:
    """One client dialog: call identity, CSeq counter and, after the 2xx, the peer's tag and route.

    `transport` is "TCP" or "TLS"; `local` the socket's own address (for Via and Contact).
    `token(n)` returns n random bytes as hex (injectable for deterministic tests).
    """

    def __init__(self, *, user: str, server_uri: str, transport: str, local: tuple[str, int],
                 token: Callable[[int], str] = secrets.token_hex) -> None:
        if transport not in ("TCP", "TLS"):
            raise ValueError(f"transport must be 'TCP' or 'TLS', not {transport!r}")
        self.user = user
        self.server_uri = server_uri
        self.transport = transport
        self.local = local
        self._token = token
        self.call_id = f"{token(8)}@rccserver-probe"
        self.from_tag = token(4)
        self.to_tag: str | None = None
        self.remote_target = server_uri  # the peer's Contact once the dialog is established
        self.route_set: list[str] = []
        self.cseq = 0
        self.established = False

    # -- our requests ---------------------------------------------------------
    def invite(self, body: bytes) -> Request:
        """The initial INVITE carrying `body` (a CSTA RequestSystemStatus)."""
        if self.established:
            raise RuntimeError("the dialog is already established")
        return self._request("INVITE", body, [("Supported", "timer"), *CSTA_HEADERS])

    def on_invite_response(self, response: Response) -> None:
        """Learn the dialog from a 2xx to our INVITE (RFC 3261 section 12.1.2)."""
        if not 200 <= response.status < 300:
            return
        self.to_tag = response.to.tag
        # A UAC's route set is the Record-Route of the 2xx in reverse order.
        self.route_set = list(reversed(response.headers.get_all("Record-Route")))
        contact = response.headers.get("Contact")
        if contact:
            try:
                self.remote_target = str(parse_name_addr(contact).uri)
            except SipParseError:
                pass  # keep the server URI: the probe talks over the same connection anyway
        self.established = True

    def ack(self, invite_cseq: int) -> Request:
        """The ACK for the 2xx of the INVITE sent with `invite_cseq`."""
        return self._request("ACK", b"", [], cseq=(invite_cseq, "ACK"))

    def info(self, body: bytes) -> Request:
        """An INFO carrying one CSTA request."""
        return self._request("INFO", body, list(CSTA_HEADERS))

    def bye(self) -> Request:
        return self._request("BYE", b"", [])

    def _request(self, method: str, body: bytes, extra: Iterable[tuple[str, str]],
                 cseq: tuple[int, str] | None = None) -> Request:
        if cseq is None:
            self.cseq += 1
            cseq = (self.cseq, method)
        where = host_port(*self.local)
        to = f"<{self.server_uri}>" + (f";tag={self.to_tag}" if self.to_tag else "")
        headers = Headers([
            ("Via", f"SIP/2.0/{self.transport} {where};branch={BRANCH_COOKIE}{self._token(8)}"),
            ("Max-Forwards", "70"),
            ("From", f"<{self.user}>;tag={self.from_tag}"),
            ("To", to),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq[0]} {cseq[1]}"),
        ])
        if self.established:
            for route in self.route_set:
                headers.add("Route", route)
        headers.add("Contact", f"<sip:probe@{where};transport={self.transport.lower()}>")
        headers.add("User-Agent", USER_AGENT)
        for name, value in extra:
            headers.add(name, value)
        uri = self.remote_target if self.established else self.server_uri
        return Request(method, uri, headers, body)

    # -- the server's requests ------------------------------------------------
    def belongs(self, request: Request) -> bool:
        """The server's request is in this dialog (its To tag is our From tag, same Call-ID)."""
        try:
            return request.call_id == self.call_id and request.to.tag == self.from_tag
        except SipParseError:
            return False

    def answer(self, request: Request, status: int = 200, body: bytes = b"",
               extra: Iterable[tuple[str, str]] = ()) -> Response | None:
        """Our response to a server request (None for ACK, which is never answered)."""
        if request.method == "ACK":
            return None
        if not self.belongs(request) and status < 300:
            status, body, extra = 481, b"", ()
        headers = list(extra)
        if body:
            headers = [*headers, *CSTA_HEADERS]
        return make_response(request, status, headers=[("User-Agent", USER_AGENT), *headers], body=body)

"""The Lync front end on the RCC line, one dialog on one blocking socket, every wait bounded.

It speaks as Lync does: INVITE with RequestSystemStatus, INFO requests with
CSTA bodies, UPDATE refreshes, BYE; it answers the server's INFOs (events,
keep-alives) with 200 unless told not to, and keeps every request the server
sent for the test to inspect. Requests are written by `testkit.dialog`
(see there for the header options: record-routing, proxy routes, sipe's shapes);
what arrives is parsed with rccserver's own SIP parser.

Connection options: `tls_context` (TLS, verifying rcc.example.com) and
`source_address` (connect from a chosen loopback address). The client is not
thread-safe; threads that need traffic each run their own client.
"""
from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable

from rccserver import csta
from rccserver.sip import FramedMessage, Request, Response, StreamFramer, make_response, parse_message
from testkit.dialog import LYNC, ClientDialog
from testkit.messages import CSTA_CT, SERVER_URI, request_system_status

SESSION_EXPIRES = 1800  # what Lync asks for; it refreshes at about half of it


def contact_uri(response: Response) -> str | None:
    """The URI of a response's Contact header (None without one)."""
    value = response.headers.get("Contact")
    if not value:
        return None
    return value[value.index("<") + 1:value.index(">")] if "<" in value else value.split(";")[0]


class LyncClient:
    def __init__(self, host: str, port: int, *, user: str, line: str, tls_context: ssl.SSLContext | None = None,
                 source_address: str | None = None, answer_server_requests: bool = True,
                 server_uri: str = SERVER_URI, record_route: tuple[str, ...] = (), follow_route: bool = False,
                 contact: str | None = None, dialect: str = LYNC, timeout: float = 10.0) -> None:
        raw = socket.create_connection((host, port), timeout=timeout,
                                       source_address=(source_address, 0) if source_address else None)
        self.sock = tls_context.wrap_socket(raw, server_hostname="rcc.example.com") if tls_context else raw
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.line = line
        self.answer_server_requests = answer_server_requests
        self.framer = StreamFramer()
        self.pending: list[Request | Response] = []
        self.server_requests: list[Request] = []
        self.local = self.sock.getsockname()[:2]
        self.dialog = ClientDialog(user, self.local, transport="TLS" if tls_context else "TCP",
                                   server_uri=server_uri, record_route=record_route, follow_route=follow_route,
                                   contact=contact, dialect=dialect)

    # The dialog's identifiers, read (and cseq set, to imitate sipe) by tests.
    @property
    def user(self) -> str:
        return self.dialog.user

    @property
    def server_uri(self) -> str:
        return self.dialog.server_uri

    @property
    def call_id(self) -> str:
        return self.dialog.call_id

    @property
    def from_tag(self) -> str:
        return self.dialog.from_tag

    @property
    def to_tag(self) -> str | None:
        return self.dialog.to_tag

    @property
    def route_set(self) -> list[str]:
        return self.dialog.route_set

    @property
    def cseq(self) -> int:
        return self.dialog.cseq

    @cseq.setter
    def cseq(self, value: int) -> None:
        self.dialog.cseq = value

    # -- wire ------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read_one(self, deadline: float) -> Request | Response:
        while True:
            if self.pending:
                return self.pending.pop(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no SIP message from the server in time")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            for item in self.framer.feed(data):
                if isinstance(item, FramedMessage):
                    self.pending.append(parse_message(item.data))

    def _handle_server_request(self, request: Request) -> None:
        self.server_requests.append(request)
        if self.answer_server_requests and request.method != "ACK":
            self.send(make_response(request, 200).to_bytes())

    def wait_response(self, cseq: int, method: str, timeout: float | None = None) -> Response:
        """The final response to our request (cseq, method); server requests meanwhile are
        answered and kept, other responses dropped."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._read_one(deadline)
            if isinstance(message, Request):
                self._handle_server_request(message)
            elif message.cseq == (cseq, method) and message.status >= 200:
                if method == "INVITE" and 200 <= message.status < 300:
                    self.dialog.established(message.to.tag, message.headers.get_all("Record-Route"),
                                            contact_uri(message))
                return message

    def wait_request(self, predicate: Callable[[Request], bool], timeout: float | None = None) -> Request:
        """The first server request (already received or arriving) that satisfies predicate."""
        for request in self.server_requests:
            if predicate(request):
                self.server_requests.remove(request)
                return request
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._read_one(deadline)
            if isinstance(message, Request):
                self._handle_server_request(message)
                if predicate(message):
                    self.server_requests.remove(message)
                    return message

    def wait_event(self, name: str, timeout: float | None = None):
        request = self.wait_request(lambda r: r.method == "INFO" and f"<{name}" in r.body.decode(), timeout)
        return csta.decode(request.body)

    def drain(self, seconds: float) -> None:
        """Read (and answer) what the server sends for `seconds`."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                message = self._read_one(deadline)
                if isinstance(message, Request):
                    self._handle_server_request(message)
        except TimeoutError:
            return

    # -- requests ----------------------------------------------------------------
    def message(self, method: str, body: bytes = b"", *, cseq: int, extra=(), content_type: str | None = CSTA_CT,
                typed_when_empty: bool = False) -> bytes:
        """A request of this dialog as bytes, not sent (for tests that pipeline or reorder)."""
        return self.dialog.message(method, body, cseq=cseq, extra=extra, content_type=content_type,
                                   typed_when_empty=typed_when_empty)

    def request(self, method: str, body: bytes = b"", extra=(), content_type: str | None = CSTA_CT,
                typed_when_empty: bool = False) -> int:
        """Send the dialog's next request; returns its CSeq number."""
        cseq, data = self.dialog.request(method, body, extra=extra, content_type=content_type,
                                         typed_when_empty=typed_when_empty)
        self.send(data)
        return cseq

    # -- flows ----------------------------------------------------------------------
    def sign_in(self, line: str | None = None, extra=(), body: bytes | None = None,
                content_type: str | None = CSTA_CT) -> Response:
        """INVITE (RequestSystemStatus on our line unless `body` is given); ACK a 2xx."""
        cseq = self.request("INVITE", request_system_status(line or self.line) if body is None else body,
                            extra=[("Supported", "timer"), *extra], content_type=content_type,
                            typed_when_empty=True)
        response = self.wait_response(cseq, "INVITE")
        if 200 <= response.status < 300:
            self.ack(cseq)
        return response

    def ack(self, cseq: int) -> None:
        self.send(self.dialog.ack(cseq))

    def info(self, body: bytes, timeout: float | None = None) -> Response:
        cseq = self.request("INFO", body)
        return self.wait_response(cseq, "INFO", timeout)

    def csta(self, body: str | bytes):
        """Send a CSTA request in an INFO; return the decoded answer from the 200 OK."""
        response = self.info(body.encode() if isinstance(body, str) else body)
        if response.status != 200:
            raise AssertionError(f"INFO answered {response.status} {response.reason}")
        return csta.decode(response.body)

    def refresh(self, session_expires: int = SESSION_EXPIRES, timeout: float | None = None) -> Response:
        """The RFC 4028 session refresh Lync sends (UPDATE): without it the server rightly ends
        a session that outlives its session interval."""
        cseq = self.request("UPDATE", extra=[("Supported", "timer"),
                                             ("Session-Expires", f"{session_expires};refresher=uac")],
                            content_type=None)
        return self.wait_response(cseq, "UPDATE", timeout)

    def options(self) -> Response:
        cseq = self.request("OPTIONS", content_type=None)
        return self.wait_response(cseq, "OPTIONS")

    def sign_out(self) -> Response:
        cseq = self.request("BYE")
        return self.wait_response(cseq, "BYE")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

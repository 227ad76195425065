"""A Lync-like RCC client for end-to-end tests: real sockets, blocking, bounded waits.

It speaks as the Lync front end does on the RCC line: INVITE with
RequestSystemStatus, INFO requests with CSTA bodies, UPDATE refreshes, BYE;
it answers the server's INFOs (events, keep-alives) with 200 unless told not
to, and keeps every request the server sent for the test to inspect.
"""
from __future__ import annotations

import secrets
import socket
import ssl
import time

from rccserver import csta
from rccserver.sip import FramedMessage, Request, Response, StreamFramer, parse_message

CSTA_CT = "application/csta+xml"
ED3 = csta.ED3
RCC_NS = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"


def request_system_status(line: str, ns: str = ED3) -> bytes:
    return (
        f'<?xml version="1.0"?><RequestSystemStatus xmlns="{ns}"><extensions><privateData><private>'
        f'<lcs:line xmlns:lcs="{RCC_NS}">{line}</lcs:line></private></privateData></extensions>'
        f"</RequestSystemStatus>"
    ).encode()


class LyncClient:
    def __init__(self, host: str, port: int, *, user: str, line: str, tls_context: ssl.SSLContext | None = None,
                 answer_server_requests: bool = True, server_uri: str = "sip:rcc@rcc.example.com",
                 record_route: tuple[str, ...] = (), timeout: float = 10.0) -> None:
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock = tls_context.wrap_socket(raw, server_hostname="rcc.example.com") if tls_context else raw
        self.sock.settimeout(timeout)
        self.transport = "TLS" if tls_context else "TCP"
        self.timeout = timeout
        self.user = user
        self.line = line
        self.server_uri = server_uri
        self.record_route = record_route
        self.answer_server_requests = answer_server_requests
        self.framer = StreamFramer()
        self.pending: list[Request | Response] = []
        self.server_requests: list[Request] = []
        self.call_id = secrets.token_hex(8) + "@lync.test"
        self.from_tag = secrets.token_hex(4)
        self.to_tag: str | None = None
        self.cseq = 0
        self.local = self.sock.getsockname()

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
            self.send(self.response_to(request, 200).to_bytes())

    def wait_response(self, cseq: int, method: str, timeout: float | None = None) -> Response:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._read_one(deadline)
            if isinstance(message, Request):
                self._handle_server_request(message)
            elif message.cseq == (cseq, method) and message.status >= 200:
                return message

    def wait_request(self, predicate, timeout: float | None = None) -> Request:
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
        deadline = time.monotonic() + seconds
        try:
            while True:
                message = self._read_one(deadline)
                if isinstance(message, Request):
                    self._handle_server_request(message)
        except TimeoutError:
            return

    # -- building messages -----------------------------------------------------
    def _headers(self, method: str, cseq: int, extra=()) -> list[tuple[str, str]]:
        host, port = self.local[0], self.local[1]
        to = f"<{self.server_uri}>" + (f";tag={self.to_tag}" if self.to_tag else "")
        headers = [
            ("Via", f"SIP/2.0/{self.transport} {host}:{port};branch=z9hG4bK{secrets.token_hex(6)}"),
            ("Max-Forwards", "70"),
            ("From", f"<{self.user}>;tag={self.from_tag};epid=e{self.from_tag}"),
            ("To", to),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<sip:lync@{host}:{port};transport={self.transport.lower()}>"),
            ("User-Agent", "UCCAPI/15.0 OC/15.0 (Microsoft Lync)"),
        ]
        for route in self.record_route:
            headers.append(("Record-Route", route))
        headers.extend(extra)
        return headers

    def request(self, method: str, body: bytes = b"", extra=(), content_type: str | None = CSTA_CT,
                typed_when_empty: bool = False) -> int:
        self.cseq += 1
        extra = list(extra)
        if content_type and (body or typed_when_empty):
            extra += [("Content-Type", content_type), ("Content-Disposition", "signal;handling=required")]
        headers = self._headers(method, self.cseq, extra)
        if method != "INVITE" or self.to_tag:
            headers = [h for h in headers if h[0] != "Record-Route"]
        from rccserver.sip import Headers

        request = Request(method, self.server_uri, Headers(headers), body)
        self.send(request.to_bytes())
        return self.cseq

    def response_to(self, request: Request, status: int, body: bytes = b"") -> Response:
        from rccserver.sip import make_response

        return make_response(request, status, body=body)

    # -- flows ----------------------------------------------------------------------
    def sign_in(self, line: str | None = None, extra=(), body: bytes | None = None,
                content_type: str | None = CSTA_CT) -> Response:
        cseq = self.request("INVITE", request_system_status(line or self.line) if body is None else body,
                            extra=[("Supported", "timer"), *extra], content_type=content_type,
                            typed_when_empty=True)
        response = self.wait_response(cseq, "INVITE")
        if 200 <= response.status < 300:
            self.to_tag = response.to.tag
            self.ack(cseq)
        return response

    def ack(self, cseq: int) -> None:
        headers = [h for h in self._headers("ACK", cseq) if h[0] != "Record-Route"]
        from rccserver.sip import Headers

        self.send(Request("ACK", self.server_uri, Headers(headers)).to_bytes())

    def info(self, body: bytes, timeout: float | None = None) -> Response:
        cseq = self.request("INFO", body)
        return self.wait_response(cseq, "INFO", timeout)

    def csta(self, body: str | bytes):
        """Send a CSTA request in an INFO; return the decoded answer from the 200 OK."""
        response = self.info(body.encode() if isinstance(body, str) else body)
        assert response.status == 200, f"INFO answered {response.status} {response.reason}"
        return csta.decode(response.body)

    def sign_out(self) -> Response:
        cseq = self.request("BYE")
        return self.wait_response(cseq, "BYE")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

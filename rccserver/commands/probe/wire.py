"""One blocking TCP or TLS connection carrying SIP messages, for the probe.

A probe is a short-lived command, so it uses a plain socket (the ssl module for
TLS) with a deadline on every wait instead of a reactor. Framing and parsing are
the server's own sans-IO pieces (StreamFramer, parse_message).
"""
from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable

from rccserver.sip import FramedMessage, FramingError, KeepAlive, Request, Response, StreamFramer, parse_message
from rccserver.sip.errors import SipParseError

Clock = Callable[[], float]
_RECEIVE_CHUNK = 65536
_KEEPALIVE_PONG = b"\r\n"


class WaitTimeout(Exception):
    """Nothing (or not the awaited message) arrived before the deadline."""


class ConnectionClosed(Exception):
    """The peer closed the connection; `received` is everything it sent that did not frame
    as SIP (for example a TLS alert record on a plain TCP connection)."""

    def __init__(self, received: bytes, answered: bool) -> None:
        super().__init__("the server closed the connection")
        self.received = received
        self.answered = answered  # at least one SIP message arrived before the close


class PeerProtocolError(Exception):
    """The peer sent bytes that are not SIP (bad framing or an unparsable message)."""


def make_tls_context(*, ca_file: str | None, cert_file: str | None, key_file: str | None,
                     verify: bool = True) -> ssl.SSLContext:
    """A client context: verifies the server against `ca_file` (the system store if None) and
    offers `cert_file`/`key_file` for mutual TLS. Raises OSError/ssl.SSLError for unreadable
    or mismatched files."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def speaks_tls(host: str, port: int, *, timeout: float) -> bool:
    """True if a TLS handshake (without checking any certificate) completes at host:port: tells
    a TLS line from one that closes plain connections for other reasons (access list)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host):
                return True
    except (OSError, ssl.SSLError):  # refused, reset, closed or not TLS: all mean "no"
        return False


class SipConnection:
    """Sends SIP messages and returns those that arrive, one at a time, before a deadline.

    CRLFCRLF keep-alive pings from the peer are answered with CRLF (RFC 5626) and never
    returned to the caller.
    """

    def __init__(self, sock: socket.socket, *, transport: str, clock: Clock = time.monotonic) -> None:
        self.sock = sock
        self.transport = transport
        self._clock = clock
        self._framer = StreamFramer()
        self._pending: list[Request | Response] = []
        self._unframed = b""  # the start of what the peer sent, kept for diagnosis
        self._answered = False
        # (getpeername would fail on a connection the server has already dropped)
        self.local: tuple[str, int] = sock.getsockname()[:2]

    @classmethod
    def open(cls, host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None,
             server_hostname: str | None = None, clock: Clock = time.monotonic) -> SipConnection:
        """Connect (and handshake) within `timeout` seconds; socket and TLS errors propagate."""
        raw = socket.create_connection((host, port), timeout=timeout)
        try:
            if tls is None:
                return cls(raw, transport="TCP", clock=clock)
            sock = tls.wrap_socket(raw, server_hostname=server_hostname or host)
        except BaseException:
            raw.close()
            raise
        return cls(sock, transport="TLS", clock=clock)

    @property
    def tls_version(self) -> str | None:
        return self.sock.version() if isinstance(self.sock, ssl.SSLSocket) else None

    def send(self, message: Request | Response) -> None:
        self.sock.sendall(message.to_bytes())

    def receive(self, deadline: float) -> Request | Response:
        """The next SIP message. Raises WaitTimeout at `deadline`, ConnectionClosed on EOF,
        PeerProtocolError on bytes that are not SIP, OSError/ssl.SSLError from the socket."""
        while not self._pending:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise WaitTimeout("no message from the server in time")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(_RECEIVE_CHUNK)
            except socket.timeout:
                raise WaitTimeout("no message from the server in time") from None
            if not data:
                raise ConnectionClosed(self._unframed, self._answered)
            if not self._answered and len(self._unframed) < 64:
                self._unframed += data[:64]
            self._take(data)
        self._answered = True
        return self._pending.pop(0)

    def _take(self, data: bytes) -> None:
        for item in self._framer.feed(data):
            if isinstance(item, FramedMessage):
                try:
                    self._pending.append(parse_message(item.data))
                except SipParseError as error:
                    raise PeerProtocolError(f"unparsable SIP message from the server: {error}") from None
            elif isinstance(item, KeepAlive):
                self.sock.sendall(_KEEPALIVE_PONG)
            elif isinstance(item, FramingError):
                raise PeerProtocolError(f"the server's byte stream is not SIP: {item.reason}")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass  # already gone; nothing left to release

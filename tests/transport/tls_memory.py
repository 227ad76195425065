"""A TLS handshake between our client options and our server context, in memory.

Both ends are Twisted's TLSMemoryBIOProtocol (what the listener and the outbound
pool run), joined by StringTransports and pumped until nothing moves: no
sockets, no reactor; Twisted's write aggregation runs on a test Clock advanced by
zero between rounds. The result says what each end verified and saw.
"""
from __future__ import annotations

import attrs
from cryptography import x509
from OpenSSL import SSL
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

MAX_ROUNDS = 50


@implementer(IHandshakeListener)
class _Application(Protocol):
    """The protocol above TLS: records what arrives and why the connection ended."""

    def __init__(self) -> None:
        self.received = b""
        self.lost: Failure | None = None
        self.handshake_done = False

    def handshakeCompleted(self) -> None:  # IHandshakeListener
        self.handshake_done = True

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:
        self.lost = reason


@attrs.define
class End:
    tls: TLSMemoryBIOProtocol
    app: _Application
    transport: StringTransport
    connection: SSL.Connection  # kept: Twisted drops its reference when the connection is lost

    def peer_subject(self) -> x509.Name | None:
        peer = self.connection.get_peer_certificate()
        return None if peer is None else peer.to_cryptography().subject

    def verified_chain(self) -> list[x509.Name]:
        """Subjects of the chain OpenSSL verified, leaf first (empty when it verified none)."""
        chain = self.connection.get_verified_chain() or []
        return [certificate.to_cryptography().subject for certificate in chain]

    def failure(self) -> str | None:
        """Why the connection ended, or None while it is up."""
        if self.app.lost is None:
            return None
        return f"{self.app.lost.type.__name__}: {self.app.lost.value}"


def _end(creator, is_client: bool, clock: Clock) -> End:
    app = _Application()
    factory = TLSMemoryBIOFactory(creator, is_client, Factory.forProtocol(lambda: app), clock=clock)
    tls = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5061))
    transport = StringTransport()
    tls.makeConnection(transport)
    return End(tls, app, transport, tls.getHandle())


def handshake(client_creator, server_creator, send: bytes = b"") -> tuple[End, End]:
    """Connect a client and a server end; after the handshake the client sends `send`.
    Returns (client, server) once neither has anything more to say."""
    clock = Clock()
    client, server = _end(client_creator, True, clock), _end(server_creator, False, clock)
    sent = False
    for _ in range(MAX_ROUNDS):
        clock.advance(0)  # flush writes Twisted held back to aggregate them
        moved = False
        for source, target in ((client, server), (server, client)):
            data = source.transport.value()
            if data:
                source.transport.clear()
                target.tls.dataReceived(data)
                moved = True
        if send and not sent and client.app.handshake_done:
            client.tls.write(send)
            sent = moved = True
        for end in (client, server):
            if end.transport.disconnecting and end.app.lost is None and not end.transport.value():
                end.tls.connectionLost(Failure(ConnectionDone()))
                moved = True
        if not moved and not clock.getDelayedCalls():
            return client, server
    raise AssertionError(f"the TLS exchange did not settle within {MAX_ROUNDS} rounds")

"""The RCC line listener: TCP or TLS (optionally mutual TLS) as a Twisted service.

Admission happens before a single byte is read or a TLS handshake begins: a
peer the access list refuses, or one that already holds
`max_connections_per_source` connections, has its socket closed at once and is
reported through `on_rejected(peer, reason)`. TLS handshakes that fail are
reported the same way (by the connection, see connection.py).
"""
from __future__ import annotations

from typing import Any

from twisted.application import service
from twisted.internet import defer
from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IReactorTCP, IReactorTime
from twisted.internet.protocol import Factory
from twisted.protocols.tls import TLSMemoryBIOFactory

from rccserver.transport.access import AccessList, parse_address
from rccserver.transport.connection import (
    TCP,
    TLS,
    TRANSPORTS,
    ConnectionSink,
    RejectCallback,
    SipConnection,
    SipStreamProtocol,
)
from rccserver.transport.limits import SourceCounter, TransportLimits
from rccserver.transport.tls import ServerTlsContext, server_context_from_line


# Twisted's default of 50 is too short for a Lync pool reconnecting at once after a restart:
# an overflowing accept queue turns into 1-second SYN retries. The kernel caps this at somaxconn.
LISTEN_BACKLOG = 1024


def source_of(host: str) -> str:
    """One key per computer: an IPv4 peer counts the same whether or not it arrives IPv4-mapped."""
    return str(parse_address(host))


class SipServerFactory(Factory):
    """Builds admitted inbound connections and keeps track of them."""

    noisy = False  # Twisted's "Starting factory <...>" is no news for the RCCServer log

    def __init__(
        self,
        *,
        sink: ConnectionSink,
        clock: IReactorTime,
        transport_name: str,
        limits: TransportLimits,
        tls_context: ServerTlsContext | None,
        on_rejected: RejectCallback,
    ) -> None:
        self.sink = sink
        self.clock = clock
        self.transport_name = transport_name
        self.limits = limits
        self.tls_context = tls_context
        self.on_rejected = on_rejected
        self.sources = SourceCounter()
        self.protocols: dict[SipStreamProtocol, str] = {}  # open connection -> source address

    def buildProtocol(self, addr) -> SipStreamProtocol:
        protocol = SipStreamProtocol(
            sink=self.sink,
            limits=self.limits,
            clock=self.clock,
            transport_name=self.transport_name,
            tls_context=self.tls_context,
            on_rejected=self.on_rejected,
            on_closed=self._forget,
        )
        source = source_of(addr.host)
        self.protocols[protocol] = source
        self.sources.add(source)
        return protocol

    def _forget(self, protocol: SipStreamProtocol) -> None:
        source = self.protocols.pop(protocol, None)
        if source is not None:
            self.sources.remove(source)


class AdmissionFactory(Factory):
    """In front of everything (TLS included): refuses peers by address and count."""

    def __init__(self, inner: IProtocolFactory, server: SipServerFactory, access: AccessList) -> None:
        self.inner = inner
        self.server = server
        self.access = access

    def buildProtocol(self, addr):
        peer = (addr.host, addr.port)
        if not self.access.allows(addr.host):
            self.server.on_rejected(peer, "access denied by the access list")
            return None  # Twisted closes the socket without reading from it
        limit = self.server.limits.max_connections_per_source
        source = source_of(addr.host)
        if self.server.sources.count(source) >= limit:
            self.server.on_rejected(peer, f"too many connections from {source} (limit {limit})")
            return None
        return self.inner.buildProtocol(addr)

    def doStart(self) -> None:
        self.inner.doStart()

    def doStop(self) -> None:
        self.inner.doStop()


def _ignore_rejection(peer, reason) -> None:
    return None


class SipListener(service.Service):
    """Listens on the RCC line; `port` is the bound port once started."""

    def __init__(
        self,
        *,
        reactor: Any,
        sink: ConnectionSink,
        address: str = "0.0.0.0",
        port: int = 11001,
        transport: str = TCP,
        tls_context: ServerTlsContext | None = None,
        access: AccessList | None = None,
        limits: TransportLimits | None = None,
        on_rejected: RejectCallback | None = None,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, not {transport!r}")
        if (transport == TLS) != (tls_context is not None):
            raise ValueError("a TLS listener needs a tls_context, and only a TLS listener takes one")
        self.reactor: IReactorTCP = reactor
        self.address = address
        self.requested_port = port
        self.transport = transport
        self.access = access if access is not None else AccessList()
        self.limits = limits if limits is not None else TransportLimits()
        self.server_factory = SipServerFactory(
            sink=sink,
            clock=reactor,
            transport_name=transport,
            limits=self.limits,
            tls_context=tls_context,
            on_rejected=on_rejected or _ignore_rejection,
        )
        inner: IProtocolFactory = self.server_factory
        if tls_context is not None:
            inner = TLSMemoryBIOFactory(tls_context, False, self.server_factory, clock=reactor)
        self.factory = AdmissionFactory(inner, self.server_factory, self.access)
        self._listening: IListeningPort | None = None

    @property
    def port(self) -> int:
        if self._listening is None:
            raise RuntimeError("the listener is not started")
        return self._listening.getHost().port

    @property
    def connections(self) -> list[SipConnection]:
        return [p.connection for p in self.server_factory.protocols if p.connection is not None]

    def startService(self) -> None:
        """Listens now; raises twisted.internet.error.CannotListenError if the port is taken."""
        self._listening = self.reactor.listenTCP(self.requested_port, self.factory,
                                                 backlog=LISTEN_BACKLOG, interface=self.address)
        super().startService()

    def stopService(self) -> defer.Deferred[None]:
        """Stops listening and closes every connection; fires when all are gone."""
        super().stopService()
        waits: list[defer.Deferred[Any]] = []
        if self._listening is not None:
            waits.append(defer.maybeDeferred(self._listening.stopListening))
            self._listening = None
        for protocol in list(self.server_factory.protocols):
            waits.append(protocol.lost)
            protocol.close("listener stopped")
        return defer.DeferredList(waits, consumeErrors=True).addCallback(lambda _: None)


def listener_from_line(
    line: Any,
    *,
    reactor: Any,
    sink: ConnectionSink,
    limits: TransportLimits | None = None,
    on_rejected: RejectCallback | None = None,
    port: int | None = None,
) -> SipListener:
    """A listener from [line] values: transport, address, receive_port, mutual_tls,
    certificate, private_key, authority_certificates, access, access_exceptions
    (paths already resolved). `port` overrides receive_port (tests use 0).
    Raises TlsConfigError / AccessListError with the file or entry at fault."""
    tls_context = None
    if line.transport == TLS:
        tls_context = server_context_from_line(line)
    return SipListener(
        reactor=reactor,
        sink=sink,
        address=line.address,
        port=line.receive_port if port is None else port,
        transport=line.transport,
        tls_context=tls_context,
        access=AccessList(line.access, line.access_exceptions),
        limits=limits,
        on_rejected=on_rejected,
    )

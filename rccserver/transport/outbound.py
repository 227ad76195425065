"""Connections we open: towards a dialog's route when its own connection is gone.

`ConnectionPool.send(target, data)` reuses the open connection to that target
(host, port, transport), or connects (TCP, or TLS with `client_tls(host)`),
sends, and fires with the SipConnection. Sends that arrive while a connection
is being set up wait for it and go out in order. A failed connect (refused,
unresolvable, timed out, TLS refused) fails every waiting Deferred with
`ConnectFailed` naming the target and the cause.

Outbound connections use the same protocol as inbound ones, so responses and
requests arriving on them reach the same sink.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.error import (
    ConnectError,
    ConnectingCancelledError,
    DNSLookupError,
    TimeoutError as TwistedTimeoutError,
)
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure

from rccserver.sip.outputs import Target
from rccserver.transport.connection import (
    TLS,
    TRANSPORTS,
    ConnectionSink,
    HandshakeFailed,
    SipConnection,
    SipStreamProtocol,
    describe_failure,
)
from rccserver.transport.limits import TransportLimits

__all__ = ["ConnectFailed", "ConnectionPool", "Target"]

TargetKey = tuple[str, int, str]
ClientTlsFactory = Callable[[str], IOpenSSLClientConnectionCreator]


class ConnectFailed(Exception):
    """No connection towards a target could be made."""


def _key(target: Any) -> TargetKey:
    transport = str(target.transport).lower()
    if transport not in TRANSPORTS:
        raise ValueError(f"cannot connect over {target.transport!r}; expected one of {TRANSPORTS}")
    return (str(target.host).lower().strip("[]"), int(target.port), transport)


class _OutboundFactory(Factory):
    def __init__(self, pool: ConnectionPool, key: TargetKey) -> None:
        self.pool = pool
        self.key = key

    def buildProtocol(self, addr) -> SipStreamProtocol:
        return SipStreamProtocol(
            sink=self.pool.sink,
            limits=self.pool.limits,
            clock=self.pool.reactor,
            transport_name=self.key[2],
            outbound=True,
            on_closed=lambda protocol: self.pool._forget(self.key, protocol),
        )


class ConnectionPool:
    def __init__(
        self,
        *,
        reactor: Any,
        sink: ConnectionSink,
        limits: TransportLimits | None = None,
        client_tls: ClientTlsFactory | None = None,
    ) -> None:
        """`client_tls(host)` gives the TLS options for a TLS target (see tls.client_options);
        without it TLS targets fail with ConnectFailed."""
        self.reactor = reactor
        self.sink = sink
        self.limits = limits if limits is not None else TransportLimits()
        self.client_tls = client_tls
        self._open: dict[TargetKey, SipStreamProtocol] = {}
        self._waiting: dict[TargetKey, list[defer.Deferred[SipConnection]]] = {}

    def connection_for(self, target: Any) -> SipConnection | None:
        protocol = self._open.get(_key(target))
        if protocol is None or protocol.connection is None or not protocol.connection.connected:
            return None
        return protocol.connection

    def send(self, target: Any, data: bytes) -> defer.Deferred[SipConnection]:
        """Send `data` towards `target` (anything with host, port, transport)."""
        key = _key(target)
        conn = self.connection_for(target)
        if conn is not None:
            conn.send(data)
            return defer.succeed(conn)
        waiter: defer.Deferred[SipConnection] = defer.Deferred()
        waiter.addCallback(self._send_on, data)
        if key in self._waiting:
            self._waiting[key].append(waiter)
        else:
            self._waiting[key] = [waiter]
            self._connect(key)
        return waiter

    @staticmethod
    def _send_on(conn: SipConnection, data: bytes) -> SipConnection:
        conn.send(data)  # raises ConnectionClosedError if an earlier waiter's sink closed it
        return conn

    def _connect(self, key: TargetKey) -> None:
        host, port, transport = key
        endpoint: Any = HostnameEndpoint(self.reactor, host, port, timeout=self.limits.connect_timeout)
        if transport == TLS:
            if self.client_tls is None:
                self.reactor.callLater(0, self._failed, key, ConnectFailed(
                    f"cannot connect to tls {host}:{port}: no TLS client settings configured"))
                return
            endpoint = wrapClientTLS(self.client_tls(host), endpoint, clock=self.reactor)
        connecting = endpoint.connect(_OutboundFactory(self, key))
        # One budget for the TCP connect and the TLS handshake.
        connecting.addCallback(lambda protocol: self._await_ready(key, protocol))
        connecting.addTimeout(self.limits.connect_timeout, self.reactor)
        connecting.addCallbacks(lambda protocol: self._ready(key, protocol),
                                lambda failure: self._failed(key, self._explain(key, failure)))

    def _await_ready(self, key: TargetKey, protocol: SipStreamProtocol) -> defer.Deferred[SipStreamProtocol]:
        ready: defer.Deferred[SipStreamProtocol] = defer.Deferred(lambda _: protocol.transport.abortConnection())

        def opened(conn: SipConnection) -> None:
            if not ready.called:
                ready.callback(protocol)

        def failed(failure: Failure) -> None:
            if not ready.called:  # not when our own timeout cancelled it first
                ready.errback(failure)

        protocol.ready.addCallbacks(opened, failed)
        return ready

    def _ready(self, key: TargetKey, protocol: SipStreamProtocol) -> None:
        self._open[key] = protocol
        for waiter in self._waiting.pop(key, []):
            if protocol.connection is not None and protocol.connection.connected:
                waiter.callback(protocol.connection)
            else:
                waiter.errback(ConnectFailed(f"connection to {self._name(key)} closed before sending"))

    def _failed(self, key: TargetKey, error: ConnectFailed) -> None:
        for waiter in self._waiting.pop(key, []):
            waiter.errback(error)

    def _explain(self, key: TargetKey, failure: Failure) -> ConnectFailed:
        error = failure.value
        if isinstance(error, (defer.TimeoutError, defer.CancelledError, ConnectingCancelledError,
                              TwistedTimeoutError)):
            cause = f"timed out after {self.limits.connect_timeout:g} s"
        elif isinstance(error, DNSLookupError):
            cause = f"cannot resolve {key[0]}"
        elif isinstance(error, HandshakeFailed):
            cause = str(error)
        elif isinstance(error, ConnectError):
            cause = str(error).strip() or type(error).__name__
        else:
            cause = describe_failure(failure)
        return ConnectFailed(f"cannot connect to {self._name(key)}: {cause}")

    @staticmethod
    def _name(key: TargetKey) -> str:
        host, port, transport = key
        shown = f"[{host}]" if ":" in host else host
        return f"{transport} {shown}:{port}"

    def _forget(self, key: TargetKey, protocol: SipStreamProtocol) -> None:
        if self._open.get(key) is protocol:
            del self._open[key]

    @property
    def connections(self) -> list[SipConnection]:
        return [p.connection for p in self._open.values() if p.connection is not None]

    def close_all(self) -> defer.Deferred[None]:
        """Close every pooled connection; fires when all are gone."""
        waits = []
        for protocol in list(self._open.values()):
            waits.append(protocol.lost)
            protocol.close("connection pool closed")
        return defer.DeferredList(waits, consumeErrors=True).addCallback(lambda _: None)

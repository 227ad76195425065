"""Twisted driver for the sans-IO SIP endpoint.

The transport hands us connections and framed messages (it sees us as its
ConnectionSink); we feed them to `rccserver.sip.endpoint.Endpoint`, then carry
out what the endpoint asks for: send on a connection, send towards a target
over a new or pooled connection, close. The endpoint's single "next deadline"
becomes one reactor timer.
"""
from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from rccserver.server import rcclog
from rccserver.common.clock import Scheduler
from rccserver.sip.endpoint import Endpoint
from rccserver.sip.outputs import Close, Send, SendTo

log = Logger(namespace="rccserver.sip")

_NOTEWORTHY_CLOSES = ("idle timeout", "header timeout", "framing error", "TLS error")


class EndpointDriver:
    """`scheduler` holds every timer of the sans-IO core (the endpoint's, the RCC
    keep-alives, the switch's); one reactor timer stands for its earliest deadline."""

    def __init__(self, endpoint: Endpoint, reactor: IReactorTime, scheduler: Scheduler, pool: Any = None) -> None:
        self.endpoint = endpoint
        self.reactor = reactor
        self.scheduler = scheduler
        self.pool = pool  # rccserver.transport.outbound.ConnectionPool, for SendTo
        self.connections: dict[int, Any] = {}
        self._timer = None
        self._timer_at: float | None = None

    # -- ConnectionSink -------------------------------------------------
    def connection_made(self, conn) -> None:
        log.debug("connection {peer} open ({transport})", peer=conn.peer, transport=conn.transport)
        self.connections[conn.conn_id] = conn
        self.endpoint.connection_made(conn.conn_id, conn.peer, conn.transport, conn.local)
        self.flush()

    def message_received(self, conn, data: bytes) -> None:
        self.endpoint.receive(conn.conn_id, data)
        self.flush()

    def framing_error(self, conn, error) -> None:
        self.endpoint.framing_error(conn.conn_id, error.status, error.reason, error.head)
        self.flush()

    def connection_lost(self, conn, reason: str) -> None:
        if reason.startswith(_NOTEWORTHY_CLOSES):
            # Limits and bad framing are an administrator's business (slow or broken peers).
            rcclog.log_connection_closed(conn.peer, reason)
        else:
            log.debug("connection {peer} closed: {reason}", peer=conn.peer, reason=reason)
        self.connections.pop(conn.conn_id, None)
        self.endpoint.connection_lost(conn.conn_id)
        self.flush()

    # -- outputs and timers ----------------------------------------------
    def flush(self) -> None:
        """Carry out everything the endpoint has queued, then re-arm the timer."""
        for output in self.endpoint.take_output():
            if isinstance(output, Send):
                conn = self.connections.get(output.conn_id)
                if conn is not None and conn.connected:
                    conn.send(output.data)
            elif isinstance(output, SendTo):
                self._send_to(output)
            elif isinstance(output, Close):
                conn = self.connections.get(output.conn_id)
                if conn is not None:
                    conn.close()
        self._arm_timer()

    def _send_to(self, output: SendTo) -> None:
        if self.pool is None:
            self.endpoint.send_failed(output.key, "no outbound connections configured")
            self.reactor.callLater(0, self.flush)
            return
        # Whatever the pool refuses, even synchronously, is a failed send for the endpoint.
        deferred = defer.maybeDeferred(self.pool.send, output.target, output.data)

        def failed(failure) -> None:
            self.endpoint.send_failed(output.key, failure.getErrorMessage())
            self.flush()

        deferred.addErrback(failed)

    def _arm_timer(self) -> None:
        deadline = self.scheduler.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            delay = max(0.0, deadline - self.reactor.seconds())
            self._timer = self.reactor.callLater(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        self.scheduler.tick(self.reactor.seconds())
        self.flush()

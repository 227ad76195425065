"""Twisted driver for a sans-IO SIP endpoint: the RCC line's (`rccserver.sip.endpoint.Endpoint`)
or the stations line's (`rccserver.stations.endpoint.StationsEndpoint`).

The transport hands us connections and framed messages (it sees us as its
ConnectionSink) and, on the stations line, UDP datagrams (as its DatagramSink);
we feed them to the endpoint, then carry out what the endpoint asks for: send
on a connection, send towards a target over a new or pooled connection, close,
send a datagram. Both endpoints keep their timers in the server's one
Scheduler, whose single reactor timer is a `SchedulerTimer` shared by the
drivers. A flush, after every input and every tick, goes through it: it carries
out every line's output, since one line's input may give output on the other.
The messages of one received chunk are one input: the connection says when it
has handed them all over (`chunk_received`), and one flush carries out what they
gave, in the order the endpoint queued it.
"""
from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from rccserver.server import rcclog
from rccserver.common.clock import Scheduler
from rccserver.sip.outputs import Close, Send, SendTo
from rccserver.stations.outputs import SendDatagram
from rccserver.transport.scheduler_timer import SchedulerTimer

log = Logger(namespace="rccserver.sip")

_NOTEWORTHY_CLOSES = ("idle timeout", "header timeout", "framing error", "TLS error")


class EndpointDriver:
    """`scheduler` holds every timer of the sans-IO core (the endpoint's, the RCC
    keep-alives, the switch's); one reactor timer stands for its earliest deadline.
    Drivers of endpoints that share a scheduler share its `timer`; without one the
    driver makes its own. `datagrams` (a UdpListener) sends the endpoint's datagrams."""

    def __init__(self, endpoint: Any, reactor: IReactorTime, scheduler: Scheduler, pool: Any = None, *,
                 timer: SchedulerTimer | None = None, datagrams: Any = None) -> None:
        self.endpoint = endpoint
        self.reactor = reactor
        self.scheduler = scheduler
        self.pool = pool  # rccserver.transport.outbound.ConnectionPool, for SendTo
        self.datagrams = datagrams
        self.connections: dict[int, Any] = {}
        self.timer = timer if timer is not None else SchedulerTimer(reactor, scheduler)
        self.timer.add_flush(self._carry_out)

    # -- ConnectionSink -------------------------------------------------
    def connection_made(self, conn) -> None:
        log.debug("connection {peer} open ({transport})", peer=conn.peer, transport=conn.transport)
        self.connections[conn.conn_id] = conn
        self.endpoint.connection_made(conn.conn_id, conn.peer, conn.transport, conn.local)
        self.flush()

    def message_received(self, conn, data: bytes) -> None:
        # Carried out by chunk_received, once for every message of the chunk.
        self.endpoint.receive(conn.conn_id, data)

    def chunk_received(self, conn) -> None:
        self.flush()

    def framing_error(self, conn, error) -> None:
        # The RCC line's endpoint answers it (400 or 413); the phone line has no answer to
        # bytes that are no message, and the connection is closed either way.
        answer = getattr(self.endpoint, "framing_error", None)
        if answer is not None:
            answer(conn.conn_id, error.status, error.reason, error.head)
        self.flush()

    # -- DatagramSink (the stations line's UDP) ----------------------------
    def datagram_received(self, data: bytes, peer: tuple[str, int], local: tuple[str, int]) -> None:
        self.endpoint.datagram_received(data, peer, local)
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
        """Carry out everything every line has queued, then re-arm the timer."""
        self.timer.flush()

    def _carry_out(self) -> None:
        """Carry out everything this endpoint has queued."""
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
            elif isinstance(output, SendDatagram):  # the stations line's UDP
                self._send_datagram(output)
            else:
                log.error("unknown output {output!r} dropped", output=output)

    def _send_datagram(self, output) -> None:
        if self.datagrams is None:
            log.warn("no UDP socket for a datagram to {addr}", addr=output.addr)
            return
        problem = self.datagrams.send(output.addr, output.data)
        if problem is not None:
            # UDP has no connection to fail: the transaction layer's timers see the loss.
            log.debug("datagram to {addr} not sent: {problem}", addr=output.addr, problem=problem)

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

"""One SIP stream connection (TCP or TLS, inbound or outbound) at the Twisted edge.

Bytes go through `rccserver.sip.framer.StreamFramer`; every complete message is
handed to the `ConnectionSink`, a CRLFCRLF ping is answered with CRLF here, and a
framing error is handed to the sink (which may answer 400) before the
connection is closed.

One received chunk is one batch: after the messages of a chunk (and before a
ping's answer, so replies keep their order) the sink hears `chunk_received` and
carries out what they gave once, not per message; whatever the connection is
asked to write meanwhile goes out as one transport write (one TLS record, one
idle-timer reset) when the chunk is done.

Life of a connection, as a table (`_TRANSITIONS`):

    CONNECTING --made(tcp)--> OPEN
    CONNECTING --made(tls)--> HANDSHAKING --handshake_done--> OPEN
    HANDSHAKING | OPEN --close--> CLOSING
    any --lost--> CLOSED

The sink hears `connection_made` on entering OPEN (after the TLS handshake, so
the peer certificate is known) and `connection_lost` only for connections it
was told about. A TLS handshake that fails is reported through `on_rejected`.

Timers (all on the injected clock): idle (no byte either way for
`idle_timeout` s), header (a message, or a TLS handshake, not completed within
`header_timeout` s of its start) and close grace (a closing peer that does not
take our last bytes within `close_grace` s is aborted).
"""
from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from typing import Protocol as TypingProtocol

from OpenSSL import SSL, crypto
from twisted.internet import defer, error as net_error
from twisted.internet.interfaces import IDelayedCall, IHandshakeListener, IReactorTime
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from rccserver.sip.framer import FramedMessage, FramingError, KeepAlive, StreamFramer
from rccserver.transport.limits import TransportLimits
from rccserver.transport.tls import ServerTlsContext
from rccserver.transport.write_now import write as write_now

Peer = tuple[str, int]
RejectCallback = Callable[[Peer, str], None]

PONG = b"\r\n"
TCP = "tcp"
TLS = "tls"
TRANSPORTS = (TCP, TLS)

# Connection ids are unique in the process, across listeners and the outbound pool.
_conn_ids = itertools.count(1)


class ConnectionSink(TypingProtocol):
    """Receives what happens on SIP connections (the integrator's endpoint adapter)."""

    def connection_made(self, conn: SipConnection) -> None: ...
    def message_received(self, conn: SipConnection, data: bytes) -> None: ...
    # Every message of one received chunk has been handed over (see above).
    def chunk_received(self, conn: SipConnection) -> None: ...
    def framing_error(self, conn: SipConnection, error: FramingError) -> None: ...
    def connection_lost(self, conn: SipConnection, reason: str) -> None: ...


class ConnectionClosedError(Exception):
    """send() on a connection that is no longer open."""


class State(enum.Enum):
    CONNECTING = "connecting"
    HANDSHAKING = "handshaking"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


# A module global: reading a member off its enum class costs a class look-up per message.
_OPEN = State.OPEN


class Event(enum.Enum):
    MADE_TCP = "made_tcp"
    MADE_TLS = "made_tls"
    HANDSHAKE_DONE = "handshake_done"
    CLOSE = "close"
    LOST = "lost"


_TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.CONNECTING, Event.MADE_TCP): State.OPEN,
    (State.CONNECTING, Event.MADE_TLS): State.HANDSHAKING,
    (State.HANDSHAKING, Event.HANDSHAKE_DONE): State.OPEN,
    (State.HANDSHAKING, Event.CLOSE): State.CLOSING,
    (State.OPEN, Event.CLOSE): State.CLOSING,
    (State.CONNECTING, Event.LOST): State.CLOSED,
    (State.HANDSHAKING, Event.LOST): State.CLOSED,
    (State.OPEN, Event.LOST): State.CLOSED,
    (State.CLOSING, Event.LOST): State.CLOSED,
}


class IllegalTransition(Exception):
    def __init__(self, state: State, event: Event) -> None:
        super().__init__(f"no transition from {state.value} on {event.value}")


class SipConnection:
    """What the sink sees of one connection."""

    def __init__(self, protocol: SipStreamProtocol, conn_id: int, peer: Peer, local: Peer, transport: str,
                 outbound: bool) -> None:
        self._protocol = protocol
        self.conn_id = conn_id
        self.peer = peer
        self.local = local
        self.transport = transport
        self.outbound = outbound
        self.peer_certificate: crypto.X509 | None = None

    @property
    def connected(self) -> bool:
        return self._protocol.state is State.OPEN

    def send(self, data: bytes) -> None:
        self._protocol.send(data)

    def close(self) -> None:
        self._protocol.close("closed locally")

    def __repr__(self) -> str:
        direction = "to" if self.outbound else "from"
        return f"<SipConnection #{self.conn_id} {self.transport} {direction} {self.peer[0]}:{self.peer[1]}>"


def _peer_of(address) -> Peer:
    return (getattr(address, "host", str(address)), int(getattr(address, "port", 0)))


def describe_failure(reason: Failure) -> str:
    """A one-line account of why a connection ended."""
    value = reason.value
    if isinstance(value, net_error.ConnectionDone):
        return "closed by peer"
    if isinstance(value, SSL.Error):
        details = [entry[-1] for entry in value.args[0] if isinstance(entry, tuple) and entry[-1]] \
            if value.args and isinstance(value.args[0], list) else []
        return f"TLS error: {'; '.join(details) or value}"
    if isinstance(value, net_error.ConnectionLost):
        return "connection lost"
    return f"{type(value).__name__}: {value}"


@implementer(IHandshakeListener)
class SipStreamProtocol(Protocol):
    def __init__(
        self,
        *,
        sink: ConnectionSink,
        limits: TransportLimits,
        clock: IReactorTime,
        transport_name: str,
        outbound: bool = False,
        tls_context: ServerTlsContext | None = None,
        on_rejected: RejectCallback | None = None,
        on_closed: Callable[[SipStreamProtocol], None] | None = None,
    ) -> None:
        if transport_name not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, not {transport_name!r}")
        self.sink = sink
        self.limits = limits
        self.clock = clock
        self.transport_name = transport_name
        self.outbound = outbound
        self.tls_context = tls_context
        self.on_rejected = on_rejected
        self.on_closed = on_closed
        self.state = State.CONNECTING
        self.framer = StreamFramer(limits.max_message_size, limits.max_header_count)
        self.connection: SipConnection | None = None
        # Fires with the SipConnection once it is OPEN; fails if it never gets there.
        self.ready: defer.Deferred[SipConnection] = defer.Deferred()
        self.lost: defer.Deferred[None] = defer.Deferred()
        self.peer: Peer = ("", 0)
        self._close_reason: str | None = None
        self._told_sink = False
        self._idle: IDelayedCall | None = None
        self._header: IDelayedCall | None = None
        self._grace: IDelayedCall | None = None
        # Writes held back while a received chunk is handled (None: write at once).
        self._held: list[bytes] | None = None

    # -- state table --------------------------------------------------------
    def _move(self, event: Event) -> None:
        try:
            self.state = _TRANSITIONS[(self.state, event)]
        except KeyError:
            raise IllegalTransition(self.state, event) from None

    # -- Twisted callbacks -------------------------------------------------
    def connectionMade(self) -> None:
        self.peer = _peer_of(self.transport.getPeer())
        self.connection = SipConnection(self, next(_conn_ids), self.peer, _peer_of(self.transport.getHost()),
                                        self.transport_name, self.outbound)
        self._restart_idle()
        if self.transport_name == TLS:
            self._move(Event.MADE_TLS)
            self._start_header_timer("TLS handshake not completed")
        else:
            self._move(Event.MADE_TCP)
            self._opened()

    def handshakeCompleted(self) -> None:
        if self.state is not State.HANDSHAKING:
            return  # closed by a timer while OpenSSL was finishing
        self._cancel("_header")
        assert self.connection is not None
        self.connection.peer_certificate = self.transport.getPeerCertificate()
        self._move(Event.HANDSHAKE_DONE)
        self._opened()

    def _opened(self) -> None:
        assert self.connection is not None
        self._told_sink = True
        self.sink.connection_made(self.connection)
        if self.state is State.OPEN:  # the sink may have closed it already
            self.ready.callback(self.connection)

    def dataReceived(self, data: bytes) -> None:
        if self.state is not State.OPEN:
            return  # closing: the framer is dead or we no longer listen
        self._restart_idle()
        events = self.framer.feed(data)
        if not events:
            self._after_chunk(events)
            return
        self._held = []
        try:
            self._deliver(events)
        finally:
            self._write_held()

    def _deliver(self, events: list) -> None:
        sink = self.sink
        pending = False  # messages handed over since the sink last heard chunk_received
        for event in events:
            if self.state is not _OPEN:
                break
            if type(event) is FramedMessage:  # the framer's own final classes: no subclass to allow for
                sink.message_received(self.connection, event.data)
                pending = True
            elif isinstance(event, KeepAlive):
                if pending:  # answers to the messages before the ping go first
                    pending = False
                    sink.chunk_received(self.connection)
                self._write(PONG)
            elif isinstance(event, FramingError):
                pending = False  # the sink carries out everything with its answer
                sink.framing_error(self.connection, event)
                self.close(f"framing error: {event.reason}")
                return
        if pending:
            sink.chunk_received(self.connection)
        if self.state is _OPEN:
            self._after_chunk(events)

    def _after_chunk(self, events: list) -> None:
        if self.framer.buffered == 0:
            self._cancel("_header")
        elif events or self._header is None:
            # A new message has begun: it gets its own header_timeout from now.
            self._start_header_timer("message not completed")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        previous = self.state
        self._move(Event.LOST)
        for name in ("_idle", "_header", "_grace"):
            self._cancel(name)
        text = self._close_reason or describe_failure(reason)
        never_open = not self._told_sink
        if never_open:
            text = self._handshake_failure(reason, text)
            if self.on_rejected is not None and not self.outbound and previous is not State.CONNECTING:
                self.on_rejected(self.peer, text)
        if self.on_closed is not None:  # bookkeeping first, whatever the callbacks below do
            self.on_closed(self)
        self.lost.callback(None)
        if not self.ready.called:
            self.ready.errback(HandshakeFailed(text) if never_open else ConnectionClosedError(text))
            self.ready.addErrback(lambda failure: None)  # nobody may be waiting
        if self._told_sink:
            assert self.connection is not None
            self.sink.connection_lost(self.connection, text)

    def _handshake_failure(self, reason: Failure, text: str) -> str:
        if self.transport_name != TLS:
            return text
        handle = self.transport.getHandle() if hasattr(self.transport, "getHandle") else None
        verify = self.tls_context.verify_failure(handle) if self.tls_context is not None else None
        if verify is not None:
            return f"TLS handshake failed: {verify}"
        if self._close_reason is not None:
            return self._close_reason
        return f"TLS handshake failed: {describe_failure(reason)}"

    # -- actions -------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.state is not State.OPEN:
            raise ConnectionClosedError(f"connection #{self.connection.conn_id if self.connection else '?'} "
                                        f"is {self.state.value}; cannot send")
        self._write(data)

    def _write(self, data: bytes) -> None:
        if self._held is not None:
            self._held.append(data)
            return
        self._restart_idle()
        write_now(self.transport, data)

    def _write_held(self) -> None:
        """Write what the chunk being handled gave, in one piece."""
        held, self._held = self._held, None
        if held and self.state in (State.OPEN, State.CLOSING):
            self._restart_idle()
            write_now(self.transport, held[0] if len(held) == 1 else b"".join(held))

    def close(self, reason: str) -> None:
        """Flush what is queued, then close; abort if the peer does not read within close_grace."""
        if self.state not in (State.HANDSHAKING, State.OPEN):
            return
        self._close_reason = reason
        self._move(Event.CLOSE)
        self._cancel("_idle")
        self._cancel("_header")
        self._grace = self.clock.callLater(self.limits.close_grace, self._abort, reason)
        self._write_held()  # queued before the close: the peer still gets it
        self.transport.loseConnection()

    def _abort(self, reason: str) -> None:
        if self.state is State.CLOSED:
            return
        self._close_reason = self._close_reason or reason
        if self.state is not State.CLOSING:
            self._move(Event.CLOSE)
        for name in ("_idle", "_header", "_grace"):
            self._cancel(name)
        self.transport.abortConnection()

    # -- timers ----------------------------------------------------------------
    def _cancel(self, name: str) -> None:
        call = getattr(self, name)
        if call is not None:
            if call.active():
                call.cancel()
            setattr(self, name, None)

    def _restart_idle(self) -> None:
        timeout = self.limits.idle_timeout
        if timeout is None or self.state in (State.CLOSING, State.CLOSED):
            return
        if self._idle is not None and self._idle.active():
            self._idle.reset(timeout)
        else:
            self._idle = self.clock.callLater(timeout, self._abort, f"idle timeout ({timeout:g} s without traffic)")

    def _start_header_timer(self, what: str) -> None:
        timeout = self.limits.header_timeout
        if timeout is None:
            return
        self._cancel("_header")
        self._header = self.clock.callLater(timeout, self._abort, f"header timeout ({what} within {timeout:g} s)")


class HandshakeFailed(Exception):
    """The connection ended before it was open (TLS handshake refused or interrupted)."""

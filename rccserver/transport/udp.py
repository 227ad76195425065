"""SIP over UDP at the Twisted edge (the stations line; the RCC line offers no UDP).

One socket. Every datagram from an address the access list allows goes to the
`DatagramSink` as it came: its size, its syntax and the answer to garbage (a
400 where one can be addressed) are the endpoint's business. Only datagrams
made of nothing but CR, LF and spaces are dropped here: they are NAT keep-alives
that phones send towards their registrar, the UDP twin of the CRLF ping that
connection.py answers on streams (RFC 5626 gives UDP no pong).

A datagram from a refused address is dropped unread and reported through
`on_refused(peer)` (which counts it; a log line per packet would let anyone
flood the log with one spoofed source).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol as TypingProtocol

from twisted.application import service
from twisted.internet.error import InvalidAddressError, MessageLengthError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import DatagramProtocol

from rccserver.transport.access import AccessList

Peer = tuple[str, int]

# The receive buffer: the largest UDP payload there is, so that nothing is cut short
# (Twisted's default of 8192 would silently truncate a large INVITE).
MAX_DATAGRAM = 65536
_BLANK = b" \r\n"


class DatagramSink(TypingProtocol):
    def datagram_received(self, data: bytes, peer: Peer, local: Peer) -> None: ...


def _peer(address: Any) -> Peer:
    # IPv6 addresses come as (host, port, flowinfo, scope_id).
    return (str(address[0]), int(address[1]))


class SipDatagramProtocol(DatagramProtocol):
    noisy = False  # no "starting on port" lines in the RCCServer log

    def __init__(self, sink: DatagramSink, access: AccessList, on_refused: Callable[[Peer], None] | None) -> None:
        self.sink = sink
        self.access = access
        self.on_refused = on_refused
        self.local: Peer = ("", 0)

    def startProtocol(self) -> None:
        host = self.transport.getHost()
        self.local = (host.host, host.port)

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        peer = _peer(addr)
        if not self.access.allows(peer[0]):
            if self.on_refused is not None:
                self.on_refused(peer)
            return
        if not data.strip(_BLANK):
            return  # a keep-alive
        self.sink.datagram_received(data, peer, self.local)

    def send(self, peer: Peer, data: bytes) -> str | None:
        """Send one datagram; None, or why it could not be sent (no route, too large, closed)."""
        if self.transport is None:
            return "the UDP socket is closed"
        try:
            self.transport.write(data, (peer[0], peer[1]))
        except MessageLengthError:
            return f"{len(data)} bytes is too long for a datagram"
        except InvalidAddressError as error:  # a host name, or an address of the other family
            return f"cannot send to {peer[0]}: {error}"
        except OSError as error:  # ENETUNREACH, EHOSTUNREACH, ...
            return f"{type(error).__name__}: {error}"
        return None


class UdpListener(service.Service):
    """The stations line's UDP socket as a service; `port` is the bound port once started."""

    def __init__(self, *, reactor: Any, sink: DatagramSink, address: str = "0.0.0.0", port: int = 5060,
                 access: AccessList | None = None, on_refused: Callable[[Peer], None] | None = None) -> None:
        self.reactor = reactor
        self.address = address
        self.requested_port = port
        self.protocol = SipDatagramProtocol(sink, access if access is not None else AccessList(), on_refused)
        self._listening: IListeningPort | None = None

    @property
    def port(self) -> int:
        if self._listening is None:
            raise RuntimeError("the UDP listener is not started")
        return self._listening.getHost().port

    def send(self, peer: Peer, data: bytes) -> str | None:
        if self._listening is None:
            return "the UDP socket is closed"
        return self.protocol.send(peer, data)

    def startService(self) -> None:
        """Binds now; raises twisted.internet.error.CannotListenError if the port is taken."""
        self._listening = self.reactor.listenUDP(self.requested_port, self.protocol, interface=self.address,
                                                 maxPacketSize=MAX_DATAGRAM)
        super().startService()

    def stopService(self):
        super().stopService()
        listening, self._listening = self._listening, None
        if listening is not None:
            return listening.stopListening()
        return None

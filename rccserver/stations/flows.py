"""How a phone is reached: flows, the live connections, and the record that sends bytes.

A `Flow` is the path a phone's messages took: the transport and the address
they came from, and on TCP/TLS the connection.  Phones sit behind NAT more
often than not, so everything we send a phone goes back along its flow
(RFC 3581 symmetric response routing, and for requests the address the
phone registered or last sent from), never to the host named in its
Contact or Via.  Only when a TCP/TLS connection is gone do we open a new one,
to the `fallback` target (the Contact of the phone, or its Via for a
response), which reaches a phone that is not behind NAT.
"""
from __future__ import annotations

import attrs

from rccserver.sip.errors import SipParseError
from rccserver.sip.uri import SipUri, parse_uri
from rccserver.stations.outputs import LineOutput, Send, SendDatagram, SendTo, Target

Address = tuple[str, int]
TRANSPORTS = ("udp", "tcp", "tls")
STREAM_TRANSPORTS = ("tcp", "tls")


def default_port(transport: str) -> int:
    return 5061 if transport == "tls" else 5060


@attrs.frozen(slots=True)
class Flow:
    transport: str  # "udp", "tcp" or "tls"
    addr: Address  # UDP: where datagrams go; TCP/TLS: the connection's peer
    conn_id: int | None = None  # TCP/TLS: the connection the phone used
    fallback: Target | None = None  # TCP/TLS: where to connect once that connection is gone

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"


def contact_target(uri_text: str, transport: str) -> Target | None:
    """Where to open a connection to reach the SIP URI `uri_text` over `transport` (None: nowhere)."""
    if transport not in STREAM_TRANSPORTS:
        return None
    try:
        uri = parse_uri(uri_text)
    except SipParseError:
        return None
    if not isinstance(uri, SipUri):
        return None
    host = uri.param("maddr") or uri.host
    return Target(host, uri.port or default_port(transport), transport)


@attrs.frozen(slots=True)
class Connection:
    conn_id: int
    peer: Address
    transport: str
    local: Address


class Connections:
    """The stations line's live TCP/TLS connections, by id and by (transport, peer)."""

    def __init__(self) -> None:
        self._by_id: dict[int, Connection] = {}
        self._by_peer: dict[tuple[str, Address], int] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def opened(self, conn_id: int, peer: Address, transport: str, local: Address) -> Connection:
        connection = Connection(conn_id, peer, transport, local)
        self._by_id[conn_id] = connection
        self._by_peer[(transport, peer)] = conn_id
        return connection

    def lost(self, conn_id: int) -> None:
        connection = self._by_id.pop(conn_id, None)
        if connection is not None and self._by_peer.get((connection.transport, connection.peer)) == conn_id:
            del self._by_peer[(connection.transport, connection.peer)]

    def get(self, conn_id: int) -> Connection | None:
        return self._by_id.get(conn_id)

    def to_peer(self, transport: str, peer: Address) -> int | None:
        """The live connection a phone at `peer` opened over `transport`, if any."""
        return self._by_peer.get((transport, peer))

    def output_for(self, flow: Flow, data: bytes, key: object) -> LineOutput | None:
        """The record that sends `data` along `flow`; None when there is no way to."""
        if flow.transport == "udp":
            return SendDatagram(flow.addr, data)
        conn_id = flow.conn_id if flow.conn_id in self._by_id else self.to_peer(flow.transport, flow.addr)
        if conn_id is not None:
            return Send(conn_id, data)
        if flow.fallback is not None:
            return SendTo(flow.fallback, data, key)
        return None

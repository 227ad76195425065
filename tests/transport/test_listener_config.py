"""Building a listener from [line] values, and admission without sockets."""
from __future__ import annotations

import attrs
import pytest
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.testing import MemoryReactorClock, StringTransport

from rccserver.transport.access import AccessList, AccessListError
from rccserver.transport.limits import TransportLimits
from rccserver.transport.listener import LISTEN_BACKLOG, SipListener, listener_from_line
from rccserver.transport.tls import TlsConfigError
from transport_support import Rejections, RecordingSink


@attrs.frozen
class Line:  # the [line] keys of SPEC section 3 the transport reads
    transport: str = "tcp"
    address: str = "0.0.0.0"
    receive_port: int = 11001
    mutual_tls: bool = False
    certificate: str = ""
    private_key: str = ""
    authority_certificates: tuple = ()
    access: str = "granted"
    access_exceptions: tuple = ()


def test_tcp_line_listens_where_configured():
    reactor = MemoryReactorClock()
    listener = listener_from_line(Line(address="192.0.2.5", receive_port=5070), reactor=reactor,
                                  sink=RecordingSink())
    listener.startService()
    port, factory, backlog, interface = reactor.tcpServers[0]
    assert (port, interface) == (5070, "192.0.2.5")
    assert backlog == LISTEN_BACKLOG >= 1024  # a pool's reconnect burst is not cut to 50 (Twisted's default)
    assert listener.transport == "tcp"


def test_tls_line_builds_a_mutual_tls_context(cert_set):
    line = Line(transport="tls", mutual_tls=True, certificate=str(cert_set.server.certificate),
                private_key=str(cert_set.server.private_key), authority_certificates=(str(cert_set.ca),))
    listener = listener_from_line(line, reactor=MemoryReactorClock(), sink=RecordingSink(), port=0)
    assert listener.requested_port == 0
    assert listener.server_factory.tls_context.mutual_tls


def test_bad_line_values_raise_precise_errors(cert_set):
    with pytest.raises(TlsConfigError, match="certificate file not found"):
        listener_from_line(Line(transport="tls", certificate="/nonexistent.pem", private_key="x"),
                           reactor=MemoryReactorClock(), sink=RecordingSink())
    with pytest.raises(AccessListError, match=r"access_exceptions\[0\]"):
        listener_from_line(Line(access_exceptions=("300.1.1.1",)), reactor=MemoryReactorClock(),
                           sink=RecordingSink())
    with pytest.raises(ValueError, match="transport must be one of"):
        SipListener(reactor=MemoryReactorClock(), sink=RecordingSink(), transport="udp")
    with pytest.raises(ValueError, match="a TLS listener needs a tls_context"):
        SipListener(reactor=MemoryReactorClock(), sink=RecordingSink(), transport="tls")


def test_port_is_unknown_before_start():
    with pytest.raises(RuntimeError, match="not started"):
        SipListener(reactor=MemoryReactorClock(), sink=RecordingSink()).port


def test_admission_counts_per_source_and_frees_slots_on_close():
    rejections = Rejections()
    listener = SipListener(reactor=MemoryReactorClock(), sink=RecordingSink(), on_rejected=rejections,
                           access=AccessList("granted", ["203.0.113.0/24"]),
                           limits=TransportLimits(max_connections_per_source=1))
    factory = listener.factory
    first = factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 1000))
    assert first is not None
    assert factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 1001)) is None
    assert rejections.next() == (("192.0.2.1", 1001), "too many connections from 192.0.2.1 (limit 1)")
    assert factory.buildProtocol(IPv6Address("TCP", "::ffff:192.0.2.1", 1005)) is None  # same computer, mapped
    assert rejections.next()[1] == "too many connections from 192.0.2.1 (limit 1)"
    assert factory.buildProtocol(IPv6Address("TCP", "::ffff:192.0.2.2", 1002)) is not None  # another source
    assert factory.buildProtocol(IPv6Address("TCP", "::ffff:203.0.113.9", 1003)) is None
    assert rejections.next()[1] == "access denied by the access list"
    first.makeConnection(StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.1", 1000)))
    first.connectionLost()
    assert factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 1004)) is not None

"""The stations line's listeners from [stations_line]: UDP, TCP and TLS, as configured.

TCP and TLS are the RCC line's stream listener (listener.py) with the stations
line's own access list and limits; TLS serves [line]'s certificate without
asking for a client certificate (phones authenticate with digest). UDP is
udp.py's single socket. Everything arrives at one sink, the stations line's
endpoint driver.
"""
from __future__ import annotations

from typing import Any

import attrs
from twisted.application import service

from rccserver.transport.access import AccessList
from rccserver.transport.connection import TCP, TLS, ConnectionSink, RejectCallback
from rccserver.transport.limits import TransportLimits
from rccserver.transport.listener import SipListener
from rccserver.transport.tls import server_context
from rccserver.transport.udp import DatagramSink, UdpListener

UDP = "udp"


@attrs.define
class StationsListeners:
    """One listener per configured transport (None where not configured)."""

    udp: UdpListener | None = None
    tcp: SipListener | None = None
    tls: SipListener | None = None

    @property
    def services(self) -> list[service.IService]:
        return [listener for listener in (self.udp, self.tcp, self.tls) if listener is not None]

    def ports(self) -> dict[str, int]:
        """Bound port per transport, once started."""
        return {name: listener.port for name, listener in ((UDP, self.udp), (TCP, self.tcp), (TLS, self.tls))
                if listener is not None}


def stations_limits(stations: Any) -> TransportLimits:
    return TransportLimits(max_connections_per_source=stations.max_connections_per_source,
                           idle_timeout=stations.idle_timeout, header_timeout=stations.header_timeout)


def stations_listeners(
    stations: Any,
    line: Any,
    *,
    reactor: Any,
    sink: ConnectionSink,
    datagram_sink: DatagramSink | None = None,
    on_rejected: RejectCallback | None = None,
    on_refused_datagram: Any = None,
) -> StationsListeners:
    """Listeners for a StationsLineConfig (`line`: the LineConfig whose certificate TLS serves).
    Raises TlsConfigError when the certificate cannot be used."""
    access = AccessList(stations.access, stations.access_exceptions)
    limits = stations_limits(stations)
    built = StationsListeners()
    if UDP in stations.transports:
        built.udp = UdpListener(reactor=reactor, sink=datagram_sink or sink, address=stations.address,
                                port=stations.port, access=access, on_refused=on_refused_datagram)
    if TCP in stations.transports:
        built.tcp = SipListener(reactor=reactor, sink=sink, address=stations.address, port=stations.port,
                                transport=TCP, access=access, limits=limits, on_rejected=on_rejected)
    if TLS in stations.transports:
        context = server_context(line.certificate, line.private_key, (), False,
                                 certificate_password_file=line.certificate_password_file)
        built.tls = SipListener(reactor=reactor, sink=sink, address=stations.address, port=stations.tls_port,
                                transport=TLS, tls_context=context, access=access, limits=limits,
                                on_rejected=on_rejected)
    return built

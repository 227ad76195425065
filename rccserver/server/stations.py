"""Wiring of the stations line (SPEC section 9): one server's registrar, phone-line
endpoint, its driver, listeners and outbound pool, built from [stations_line] and
the CIC data's SIP stations.

The endpoint keeps its timers in the server's one Scheduler and its driver
shares the RCC line driver's SchedulerTimer, so every flush carries out both
lines' output. The call layer (stations/terminal.py) comes in as the endpoint's
`LegListener`; the runtime attaches the endpoint to it as its `PhoneLine`. Registrar and line
events go to one observer (the log and metrics fan-out, station_observers.py).
"""
from __future__ import annotations

import os
from typing import Any, Callable

from twisted.application import service
from twisted.internet import defer

from rccserver.cic.data import CicData
from rccserver.common.product import product_token
from rccserver.server.config import Config
from rccserver.stations.legs import AutoAnswer, LegListener
from rccserver.sip.digest import Algorithm
from rccserver.stations.registrar import Registrar, RegistrarSettings
from rccserver.stations.terminal import PhoneSettings
from rccserver.transport.endpoint_driver import EndpointDriver
from rccserver.transport.outbound import ConnectionPool
from rccserver.transport.scheduler_timer import SchedulerTimer
from rccserver.transport.stations_listeners import stations_limits, stations_listeners

Observer = Callable[[Any], None]
# endpoint_factory(registrar=, scheduler=, listener=, observer=, config=, cic=, secret=) -> a StationsEndpoint
EndpointFactory = Callable[..., Any]

_DEFAULT_EXPIRES = 3600  # a REGISTER that names no expiry (RFC 3261 section 10.2.1.1 suggests one hour)


def registrar_settings(config: Config) -> RegistrarSettings:
    stations = config.stations_line
    assert stations is not None
    default = max(stations.min_expires, min(_DEFAULT_EXPIRES, stations.max_expires))
    return RegistrarSettings(realm=stations.realm, min_expires=stations.min_expires,
                             max_expires=stations.max_expires, default_expires=default,
                             algorithms=tuple(Algorithm(name) for name in stations.digest_algorithms))


def phone_settings(cic: CicData) -> dict[str, PhoneSettings]:
    """What the call layer needs of each SIP station, by extension."""
    return {station.extension: PhoneSettings(auto_answer=AutoAnswer(station.auto_answer),
                                             remote_answer=station.remote_answer)
            for station in cic.sip_stations}


def contact_host(config: Config) -> str:
    """The host phones reach us by (our Contact and Via): the stations line's address when it
    names one, else [line] domain_name (which must then resolve to us for the phones)."""
    address = config.stations_line.address
    return config.line.domain_name if address in ("0.0.0.0", "::") else address


def configured_ports(config: Config) -> dict[str, int]:
    """Our listening port per transport, where the configuration fixes it (0: learnt when bound)."""
    stations = config.stations_line
    ports = {"udp": stations.port, "tcp": stations.port, "tls": stations.tls_port}
    return {transport: ports[transport] for transport in stations.transports if ports[transport]}


def stations_endpoint(*, registrar: Registrar, scheduler: Any, listener: LegListener, observer: Observer,
                      config: Config, cic: CicData, secret: bytes) -> Any:
    """The phone line's sans-IO endpoint (rccserver.stations.endpoint)."""
    from rccserver.stations.endpoint import StationsEndpoint

    return StationsEndpoint(
        scheduler=scheduler, registrar=registrar, stations=cic, realm=config.stations_line.realm,
        domain_name=config.line.domain_name, listener=listener, secret=secret, random_bytes=os.urandom,
        user_agent=product_token(config.server.advertise_version), contact_host=contact_host(config),
        local_ports=configured_ports(config), observer=observer)


class StationsLine:
    def __init__(
        self,
        config: Config,
        cic: CicData,
        *,
        reactor: Any,
        scheduler: Any,
        timer: SchedulerTimer,
        legs: LegListener,
        observer: Observer,
        on_rejected: Callable[[tuple[str, int], str], None] | None = None,
        on_refused_datagram: Callable[[tuple[str, int]], None] | None = None,
        endpoint_factory: EndpointFactory = stations_endpoint,
        secret: bytes | None = None,
    ) -> None:
        stations = config.stations_line
        if stations is None:
            raise ValueError("no [stations_line] in the configuration")
        self.config = config
        self.scheduler = scheduler
        self.observer = observer
        # Signs the digest nonces of REGISTER and INVITE alike (an unknown user then gets the
        # same challenge from both). A new one per start: a phone's nonce from before a
        # restart is stale, and the phone retries with a fresh one by itself.
        secret = secret or os.urandom(32)
        self.registrar = Registrar(cic.stations, registrar_settings(config), secret=secret,
                                   random_bytes=os.urandom,
                                   server_header=product_token(config.server.advertise_version))
        self.endpoint = endpoint_factory(registrar=self.registrar, scheduler=scheduler, listener=legs,
                                         observer=observer, config=config, cic=cic, secret=secret)
        self.pool = ConnectionPool(reactor=reactor, sink=None, limits=stations_limits(stations))
        self.driver = EndpointDriver(self.endpoint, reactor, scheduler, pool=self.pool, timer=timer)
        self.pool.sink = self.driver
        self.listeners = stations_listeners(stations, config.line, reactor=reactor, sink=self.driver,
                                            on_rejected=on_rejected, on_refused_datagram=on_refused_datagram)
        self.driver.datagrams = self.listeners.udp

    def services(self) -> list[service.IService]:
        return self.listeners.services

    def ports(self) -> dict[str, int]:
        return self.listeners.ports()

    def registration(self, extension: str) -> dict | None:
        """GET /api/stations' `registration` of a SIP station (SPEC section 9)."""
        return self.registrar.registration(extension, self.scheduler.now())

    def replace_stations(self, cic: CicData) -> None:
        """A reload: new credentials are in force at once; stations no longer SIP lose their
        phones (the endpoint replaces the registrar's stations and reports what that removed)."""
        self.endpoint.replace_stations(cic)
        self.driver.flush()

    def shutdown(self) -> defer.Deferred:
        """Hang up the phone line's calls, then close the connections we opened.
        The listeners (services) close the connections phones opened."""
        self.endpoint.shutdown()
        self.driver.flush()
        return self.pool.close_all()


def resolve_peer(host: str) -> str:
    """The trunk peer's IP address (a name is looked up once, at start)."""
    import ipaddress
    import socket

    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return socket.gethostbyname(host)


def trunk_route(config: Config, endpoint: Any, scheduler: Any, router: Any, cic_data: Callable[[], CicData],
                observer: Callable[[str, str, str], None]) -> Any:
    """The trunk peer of [trunk] (SPEC 9) set on the phone line, its OPTIONS monitor started,
    and the route the call layer uses to reach it."""
    from rccserver.sip.digest import DigestClient
    from rccserver.stations.trunk import TrunkMonitor, TrunkRoute, calling_number

    trunk = config.trunk
    assert trunk is not None
    address = resolve_peer(trunk.host)
    endpoint.set_trunk((address, trunk.port), trunk.transport, trunk.host, trunk.accept_from, trunk.did_from)
    auth = DigestClient(trunk.username, trunk.password or "", os.urandom) if trunk.username else None
    monitor = TrunkMonitor(scheduler, endpoint.ping_trunk, interval=trunk.options_interval,
                           observer=lambda state, detail: observer(trunk.peer, f"trunk-{state}", detail))
    uri = trunk.uri
    route = TrunkRoute(peer_host=uri.hostport, transport=trunk.transport,
                       calling_number=calling_number(cic_data, router.plan.e164),
                       station_for_did=router.station_for_did, auth=auth, monitor=monitor)
    monitor.start()
    return route

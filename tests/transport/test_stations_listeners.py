"""The stations line's edge over real loopback sockets: listeners built from
[stations_line] (UDP, TCP, TLS), the endpoint driver carrying a stations endpoint's
inputs and outputs, and the shared scheduler timer flushing both lines' drivers.

The endpoint here is a small stand-in with the StationsEndpoint's edge API
(datagram_received, connection_made, receive, connection_lost, send_failed,
take_output): it echoes what it gets the way it came, so each test sees exactly
what the edge carried.
"""
from __future__ import annotations

import socket
import ssl
import time

import pytest

from rccserver.common.clock import Scheduler
from rccserver.server.config import LineConfig, StationsLineConfig
from rccserver.sip.outputs import Close, Send, SendTo, Target
from rccserver.stations.outputs import SendDatagram
from rccserver.transport.endpoint_driver import EndpointDriver
from rccserver.transport.outbound import ConnectionPool
from rccserver.transport.scheduler_timer import SchedulerTimer
from rccserver.transport.stations_listeners import stations_listeners
from rccserver.transport.tls import TlsConfigError

from transport_support import WAIT, read_until_closed
from testkit.serverproc import free_udp_and_tcp_port


class StandInStations:
    """Echoes: a datagram back to its sender, a stream message back on its connection;
    a message starting `CLOSE ` closes its connection, `TO host port tcp` sends towards a target."""

    def __init__(self) -> None:
        self.outputs: list = []
        self.seen: list = []
        self.failed: list = []

    def datagram_received(self, data, addr, local) -> None:
        self.seen.append(("datagram", addr, local))
        self.outputs.append(SendDatagram(addr, b"echo " + data))

    def connection_made(self, conn_id, peer, transport, local) -> None:
        self.seen.append(("made", conn_id, transport))

    def receive(self, conn_id, data) -> None:
        if data.startswith(b"CLOSE "):
            self.outputs.append(Close(conn_id))
        elif data.startswith(b"TO "):
            _, host, port, transport = data.decode().splitlines()[0].split()
            self.outputs.append(SendTo(Target(host, int(port), transport), b"hello", key="k1"))
        else:
            self.outputs.append(Send(conn_id, b"echo " + data))

    def framing_error(self, conn_id, status, reason, head) -> None:
        self.seen.append(("framing", conn_id, status))

    def connection_lost(self, conn_id) -> None:
        self.seen.append(("lost", conn_id))

    def send_failed(self, key, reason) -> None:
        self.failed.append((key, reason))

    def take_output(self) -> list:
        outputs, self.outputs = self.outputs, []
        return outputs


def stations_config(**changes) -> StationsLineConfig:
    values = dict(address="127.0.0.1", port=0, transports=("udp", "tcp"), tls_port=0, realm="example.com",
                  min_expires=60, max_expires=3600, access="granted", access_exceptions=(),
                  max_connections_per_source=64, idle_timeout=3600.0, header_timeout=30.0)
    values.update(changes)
    return StationsLineConfig(**values)


def line_config(certificate=None, private_key=None) -> LineConfig:
    return LineConfig(domain_name="rcc.example.com", transport="tcp", address="127.0.0.1", receive_port=0,
                      session_timeout=0, session_expires=1800, min_se=90, mutual_tls=False,
                      certificate=certificate, private_key=private_key, authority_certificates=(),
                      access="granted", access_exceptions=(), max_connections_per_source=64,
                      idle_timeout=3600.0, header_timeout=30.0)


class Edge:
    """The stations line's edge in the reactor thread: stand-in endpoint, driver, listeners."""

    def __init__(self, reactor_thread, stations: StationsLineConfig, line: LineConfig) -> None:
        self.reactor_thread = reactor_thread
        reactor = reactor_thread.reactor
        self.scheduler = Scheduler(reactor.seconds)
        self.timer = SchedulerTimer(reactor, self.scheduler)
        self.endpoint = StandInStations()
        self.pool = ConnectionPool(reactor=reactor, sink=None)
        self.driver = EndpointDriver(self.endpoint, reactor, self.scheduler, pool=self.pool, timer=self.timer)
        self.pool.sink = self.driver
        self.listeners = stations_listeners(stations, line, reactor=reactor, sink=self.driver)
        self.driver.datagrams = self.listeners.udp
        for listener in self.listeners.services:
            reactor_thread.call(listener.startService)

    def stop(self) -> None:
        for listener in self.listeners.services:
            if listener.running:
                self.reactor_thread.call(listener.stopService)
        self.reactor_thread.call(self.pool.close_all)
        self.reactor_thread.call(self.timer.cancel)


@pytest.fixture
def edge(reactor_thread):
    built: list[Edge] = []

    def make(stations=None, line=None) -> Edge:
        built.append(Edge(reactor_thread, stations or stations_config(), line or line_config()))
        return built[-1]

    yield make
    for one in built:
        one.stop()


def udp_phone() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(WAIT)
    return sock


def test_only_the_configured_transports_listen(edge):
    both = edge()
    assert set(both.listeners.ports()) == {"udp", "tcp"}
    udp_only = edge(stations_config(transports=("udp",)))
    assert set(udp_only.listeners.ports()) == {"udp"}


def test_udp_and_tcp_share_the_configured_port(edge):
    port = free_udp_and_tcp_port()
    built = edge(stations_config(port=port))
    assert built.listeners.ports() == {"udp": port, "tcp": port}


def test_a_datagram_is_answered_from_the_stations_port(edge):
    built = edge()
    with udp_phone() as phone:
        phone.sendto(b"REGISTER", ("127.0.0.1", built.listeners.udp.port))
        data, source = phone.recvfrom(65536)
        address = phone.getsockname()
    assert (data, source) == (b"echo REGISTER", ("127.0.0.1", built.listeners.udp.port))
    assert built.endpoint.seen == [("datagram", address, ("127.0.0.1", built.listeners.udp.port))]


def test_a_stream_message_is_answered_on_its_connection_and_close_closes(edge):
    built = edge()
    with socket.create_connection(("127.0.0.1", built.listeners.tcp.port), timeout=WAIT) as phone:
        phone.sendall(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n")
        assert phone.recv(1000) == b"echo OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n"
        phone.sendall(b"\r\n\r\n")
        assert phone.recv(10) == b"\r\n"  # the CRLF ping is answered by the transport itself
        phone.sendall(b"CLOSE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n")
        assert read_until_closed(phone) == b""


def test_the_endpoint_hears_of_connections_coming_and_going(edge):
    built = edge()
    with socket.create_connection(("127.0.0.1", built.listeners.tcp.port), timeout=WAIT) as phone:
        phone.sendall(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n")
        phone.recv(1000)
    read_until_lost(built)
    kinds = [entry[0] for entry in built.endpoint.seen]
    assert kinds == ["made", "lost"]
    assert built.endpoint.seen[0][2] == "tcp"


def read_until_lost(built: Edge) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if any(entry[0] == "lost" for entry in built.reactor_thread.call(lambda: list(built.endpoint.seen))):
            return
        time.sleep(0.02)
    raise AssertionError("the endpoint never heard of the closed connection")


def test_send_to_a_phone_without_a_connection_uses_the_pool(edge):
    built = edge()
    with socket.socket() as phone_listener:
        phone_listener.bind(("127.0.0.1", 0))
        phone_listener.listen()
        phone_listener.settimeout(WAIT)
        host, port = phone_listener.getsockname()
        with socket.create_connection(("127.0.0.1", built.listeners.tcp.port), timeout=WAIT) as other:
            other.sendall(b"TO %s %d tcp\r\nContent-Length: 0\r\n\r\n" % (host.encode(), port))
            accepted, _ = phone_listener.accept()
            with accepted:
                accepted.settimeout(WAIT)
                assert accepted.recv(100) == b"hello"


def test_a_failed_send_to_is_reported_to_the_endpoint(edge):
    built = edge()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: refused
    with socket.create_connection(("127.0.0.1", built.listeners.tcp.port), timeout=WAIT) as other:
        other.sendall(b"TO 127.0.0.1 %d tcp\r\nContent-Length: 0\r\n\r\n" % port)
        deadline = time.monotonic() + WAIT
        while not built.reactor_thread.call(lambda: list(built.endpoint.failed)):
            assert time.monotonic() < deadline, "no send_failed"
            time.sleep(0.02)
    [(key, reason)] = built.endpoint.failed
    assert key == "k1" and f"tcp 127.0.0.1:{port}" in reason


def test_timers_of_the_shared_scheduler_flush_every_driver(edge, reactor_thread):
    # A timer that belongs to another component (say, the switch ringing a phone) puts
    # output on the stations endpoint: the tick must flush the stations driver too, even
    # though only the RCC line's driver re-armed the reactor timer.
    built = edge()
    rcc_line = EndpointDriver(StandInStations(), reactor_thread.reactor, built.scheduler, timer=built.timer)
    with udp_phone() as phone:
        def schedule() -> None:
            built.scheduler.call_later(0.01, lambda: built.endpoint.outputs.append(
                SendDatagram(phone.getsockname(), b"NOTIFY from a timer")))
            rcc_line.flush()  # the RCC line's driver arms the shared reactor timer

        reactor_thread.call(schedule)
        data, _ = phone.recvfrom(65536)
    assert data == b"NOTIFY from a timer"


def test_access_list_refuses_streams_and_datagrams(edge):
    built = edge(stations_config(access="denied"))
    with udp_phone() as phone:
        phone.sendto(b"REGISTER", ("127.0.0.1", built.listeners.udp.port))
        phone.settimeout(0.3)
        with pytest.raises(socket.timeout):
            phone.recvfrom(100)
    with socket.create_connection(("127.0.0.1", built.listeners.tcp.port), timeout=WAIT) as sock:
        assert read_until_closed(sock) == b""
    assert built.endpoint.seen == []


def test_tls_serves_the_line_certificate(edge, cert_set):
    line = line_config(str(cert_set.server.certificate), str(cert_set.server.private_key))
    built = edge(stations_config(transports=("tls",)), line)
    context = ssl.create_default_context(cafile=str(cert_set.ca))
    context.check_hostname = False
    with socket.create_connection(("127.0.0.1", built.listeners.tls.port), timeout=WAIT) as raw:
        with context.wrap_socket(raw) as phone:  # no client certificate: phones have none
            phone.sendall(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n")
            assert phone.recv(1000) == b"echo OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n"
    assert built.endpoint.seen[0][2] == "tls"


def test_tls_without_a_usable_certificate_fails_to_build(reactor_thread, tmp_path):
    (tmp_path / "c.pem").write_text("not a certificate")
    with pytest.raises(TlsConfigError):
        stations_listeners(stations_config(transports=("tls",)), line_config(str(tmp_path / "c.pem"),
                                                                              str(tmp_path / "c.pem")),
                           reactor=reactor_thread.reactor, sink=None)


def test_input_on_one_line_flushes_the_other(edge, reactor_thread):
    # Lync's MakeCall arrives on the RCC line and the call layer queues an INVITE for a phone
    # on the stations line: carrying out the RCC line's input must send it.
    built = edge()
    rcc_endpoint = StandInStations()
    rcc_line = EndpointDriver(rcc_endpoint, reactor_thread.reactor, built.scheduler, timer=built.timer)
    with udp_phone() as phone:
        def make_call_info() -> None:
            built.endpoint.outputs.append(SendDatagram(phone.getsockname(), b"INVITE for the phone"))
            rcc_line.datagram_received(b"INFO MakeCall", ("127.0.0.1", 9), ("127.0.0.1", 11001))

        reactor_thread.call(make_call_info)
        data, _ = phone.recvfrom(65536)
    assert data == b"INVITE for the phone"

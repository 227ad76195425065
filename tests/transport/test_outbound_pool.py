"""The outbound pool over real loopback sockets (and a fake reactor for the
connect timeout): reuse, ordering, responses back to the sink, clear failures."""
from __future__ import annotations

import socket

import pytest
from twisted.internet.testing import MemoryReactorClock

from rccserver.transport.limits import TransportLimits
from rccserver.transport.outbound import ConnectFailed, ConnectionPool, Target
from rccserver.transport.tls import client_options, server_context
from transport_support import RecordingSink

REQUEST = b"INFO sip:lync SIP/2.0\r\nCSeq: %d INFO\r\nContent-Length: 0\r\n\r\n"
RESPONSE = b"SIP/2.0 200 OK\r\nCSeq: 1 INFO\r\nContent-Length: 0\r\n\r\n"


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pool_sink() -> RecordingSink:
    return RecordingSink()


def make_pool(reactor_thread, sink, **kwargs) -> ConnectionPool:
    return ConnectionPool(reactor=reactor_thread.reactor, sink=sink, **kwargs)


def test_pool_connects_once_and_reuses_the_connection(start_listener, sink, pool_sink, reactor_thread):
    listener = start_listener(sink)
    pool = make_pool(reactor_thread, pool_sink)
    target = Target("127.0.0.1", listener.port, "tcp")

    def send_three():
        # The second and third wait for the connect the first started; order is kept.
        return [pool.send(target, REQUEST % n) for n in (1, 2, 3)]

    deferreds = reactor_thread.call(send_three)
    conns = [reactor_thread.call(lambda d=d: d) for d in deferreds]
    assert conns[0] is conns[1] is conns[2] and conns[0].outbound
    assert [sink.next("message")[2] for _ in range(3)] == [REQUEST % n for n in (1, 2, 3)]
    again = reactor_thread.call(pool.send, Target("127.0.0.1", listener.port, "TCP"), REQUEST % 4)
    assert again is conns[0]
    assert sink.next("message")[2] == REQUEST % 4
    assert len(sink.connections) == 1  # one connection on the server side
    assert pool_sink.next("made")[1] is conns[0]

    # What the far end sends back reaches the pool's sink through the same protocol.
    server_side = sink.connections[0]
    reactor_thread.call(server_side.send, RESPONSE)
    assert pool_sink.next("message")[2] == RESPONSE
    reactor_thread.call(pool.close_all)
    assert pool_sink.next("lost")[2] == "connection pool closed"


def test_pool_reconnects_after_the_connection_is_gone(start_listener, sink, pool_sink, reactor_thread):
    listener = start_listener(sink)
    pool = make_pool(reactor_thread, pool_sink)
    target = Target("127.0.0.1", listener.port, "tcp")
    first = reactor_thread.call(pool.send, target, REQUEST % 1)
    assert sink.next("message")[2] == REQUEST % 1
    reactor_thread.call(sink.connections[0].close)
    pool_sink.next("lost")
    assert reactor_thread.call(pool.connection_for, target) is None
    second = reactor_thread.call(pool.send, target, REQUEST % 2)
    assert second is not first and second.conn_id != first.conn_id
    assert sink.next("message")[2] == REQUEST % 2


def test_refused_connect_fails_with_a_clear_error(pool_sink, reactor_thread):
    pool = make_pool(reactor_thread, pool_sink)
    port = free_port()
    with pytest.raises(ConnectFailed, match=rf"cannot connect to tcp 127\.0\.0\.1:{port}: .*refused"):
        reactor_thread.call(pool.send, Target("127.0.0.1", port, "tcp"), REQUEST % 1)
    assert pool_sink.pending() == []


def test_connect_timeout_fails_every_waiting_send():
    reactor = MemoryReactorClock()
    pool = ConnectionPool(reactor=reactor, sink=RecordingSink(), limits=TransportLimits(connect_timeout=5))
    target = Target("192.0.2.1", 5061, "tcp")
    outcomes = []
    for n in (1, 2):
        pool.send(target, REQUEST % n).addErrback(lambda failure: outcomes.append(failure.value))
    reactor.advance(4.9)
    assert outcomes == []
    reactor.advance(0.2)
    assert [str(error) for error in outcomes] == ["cannot connect to tcp 192.0.2.1:5061: timed out after 5 s"] * 2


def test_unknown_transport_is_refused(pool_sink, reactor_thread):
    pool = make_pool(reactor_thread, pool_sink)
    with pytest.raises(ValueError, match="cannot connect over 'udp'"):
        pool.send(Target("127.0.0.1", 5060, "udp"), b"x")


def test_tls_target_without_tls_settings_fails(pool_sink, reactor_thread):
    pool = make_pool(reactor_thread, pool_sink)
    with pytest.raises(ConnectFailed, match="no TLS client settings configured"):
        reactor_thread.call(pool.send, Target("127.0.0.1", free_port(), "tls"), b"x")


def tls_server(start_listener, sink, cert_set, rejections, mutual=True):
    context = server_context(cert_set.server.certificate, cert_set.server.private_key, [cert_set.ca], mutual)
    return start_listener(sink, transport="tls", tls_context=context, on_rejected=rejections)


def test_outbound_mutual_tls_presents_our_certificate(start_listener, sink, rejections, pool_sink,
                                                      reactor_thread, cert_set):
    listener = tls_server(start_listener, sink, cert_set, rejections)
    pool = make_pool(reactor_thread, pool_sink, client_tls=lambda host: client_options(
        host, authority_certificates=[cert_set.ca],
        certificate=cert_set.client.certificate, private_key=cert_set.client.private_key))
    conn = reactor_thread.call(pool.send, Target("127.0.0.1", listener.port, "tls"), REQUEST % 1)
    assert conn.transport == "tls"
    assert "CN=rcc.example.com" in conn.peer_certificate.to_cryptography().subject.rfc4514_string()
    _, server_conn, data = sink.next("message")
    assert data == REQUEST % 1 and server_conn.peer_certificate is not None


def test_outbound_tls_to_an_untrusted_server_fails(start_listener, sink, rejections, pool_sink,
                                                   reactor_thread, cert_set):
    listener = tls_server(start_listener, sink, cert_set, rejections, mutual=False)
    pool = make_pool(reactor_thread, pool_sink, client_tls=lambda host: client_options(
        host, authority_certificates=[cert_set.foreign_ca]))
    with pytest.raises(ConnectFailed, match=r"cannot connect to tls 127\.0\.0\.1:\d+: TLS handshake failed"):
        reactor_thread.call(pool.send, Target("127.0.0.1", listener.port, "tls"), REQUEST % 1)
    assert sink.pending() == []


def test_outbound_tls_refused_by_a_mutual_tls_server_fails(start_listener, sink, rejections, pool_sink,
                                                           reactor_thread, cert_set):
    listener = tls_server(start_listener, sink, cert_set, rejections)
    pair = cert_set.variant("client-expired")
    pool = make_pool(reactor_thread, pool_sink, client_tls=lambda host: client_options(
        host, authority_certificates=[cert_set.ca], certificate=pair.certificate, private_key=pair.private_key))
    target = Target("127.0.0.1", listener.port, "tls")
    try:
        reactor_thread.call(pool.send, target, REQUEST % 1)
    except ConnectFailed as error:  # TLS 1.2: the handshake itself fails
        assert "TLS handshake failed" in str(error)
    else:  # TLS 1.3: our side finishes first; the server's alert then ends the connection
        assert pool_sink.next("lost")[2].startswith("TLS error: ")
    assert sink.pending() == []
    assert "client certificate has expired" in rejections.next()[1]


def test_outbound_tls_checks_the_server_name(start_listener, sink, rejections, pool_sink,
                                             reactor_thread, cert_set):
    listener = tls_server(start_listener, sink, cert_set, rejections, mutual=False)
    pool = make_pool(reactor_thread, pool_sink, client_tls=lambda host: client_options(
        "wrong.example.com", authority_certificates=[cert_set.ca]))
    with pytest.raises(ConnectFailed, match="TLS handshake failed"):
        reactor_thread.call(pool.send, Target("127.0.0.1", listener.port, "tls"), REQUEST % 1)

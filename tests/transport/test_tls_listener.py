"""TLS and mutual TLS over real loopback sockets, with certificates from
rccserver.commands.certs: good clients get in, every refused client certificate fails
the handshake itself and is reported with its reason."""
from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import warnings

import pytest

from rccserver.transport.tls import server_context
from transport_support import WAIT, read_until_closed

OPTIONS = b"OPTIONS sip:rcc.example.com SIP/2.0\r\nCall-ID: t@1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"


def client_context(cert_set, pair=None, *, maximum=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert_set.ca))
    if pair is not None:
        context.load_cert_chain(str(pair.certificate), str(pair.private_key))
    if maximum is not None:
        context.maximum_version = maximum
    return context


def tls_connect(port: int, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


@pytest.fixture
def mtls_listener(start_listener, sink, rejections, cert_set):
    context = server_context(cert_set.server.certificate, cert_set.server.private_key, [cert_set.ca], True)
    return start_listener(sink, transport="tls", tls_context=context, on_rejected=rejections)


def test_plain_tls_without_client_certificate(start_listener, sink, cert_set):
    context = server_context(cert_set.server.certificate, cert_set.server.private_key)
    listener = start_listener(sink, transport="tls", tls_context=context)
    with tls_connect(listener.port, client_context(cert_set)) as sock:
        sock.sendall(OPTIONS[:15])
        sock.sendall(OPTIONS[15:])
        _, conn, _ = sink.next("made")
        assert conn.transport == "tls" and conn.peer_certificate is None
        assert sink.next("message")[2] == OPTIONS
        sock.sendall(b"\r\n\r\n")
        assert sock.recv(10) == b"\r\n"
    assert sink.next("lost")[0] == "lost"


@pytest.mark.parametrize("maximum", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_mutual_tls_accepts_a_good_client_certificate(mtls_listener, sink, cert_set, maximum):
    with tls_connect(mtls_listener.port, client_context(cert_set, cert_set.client, maximum=maximum)) as sock:
        sock.sendall(OPTIONS)
        _, conn, _ = sink.next("made")
        subject = conn.peer_certificate.to_cryptography().subject.rfc4514_string()
        assert subject == "CN=lyncpool.example.com,O=rccserver test"
        assert sink.next("message")[2] == OPTIONS


def expect_refused(port, context) -> None:
    """The client sees the handshake fail (TLS 1.2), or, in TLS 1.3 where the client
    finishes first, the server's alert on its first read; never any application data."""
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        with tls_connect(port, context) as sock:
            sock.sendall(OPTIONS)
            data = sock.recv(100)
            if data == b"":
                raise ConnectionResetError("closed without data")


REFUSED = [
    ("client-expired", "client certificate has expired"),
    ("client-notyetvalid", "client certificate is not yet valid"),
    ("client-wrongeku", "not meant for client authentication"),
    ("client-foreign", "not issued by a trusted authority"),
]


@pytest.mark.parametrize("maximum", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
@pytest.mark.parametrize("variant,reason", REFUSED)
def test_mutual_tls_refuses_bad_client_certificates(mtls_listener, sink, rejections, cert_set,
                                                    variant, reason, maximum):
    context = client_context(cert_set, cert_set.variant(variant), maximum=maximum)
    expect_refused(mtls_listener.port, context)
    peer, text = rejections.next()
    assert peer[0] == "127.0.0.1"
    assert text.startswith("TLS handshake failed: ") and reason in text
    assert sink.pending() == []  # never handed to the sink


@pytest.mark.parametrize("maximum", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_mutual_tls_refuses_a_client_without_certificate(mtls_listener, sink, rejections, cert_set, maximum):
    expect_refused(mtls_listener.port, client_context(cert_set, maximum=maximum))
    text = rejections.next()[1]
    assert text.startswith("TLS handshake failed: TLS error: ") and "certificate" in text
    assert sink.pending() == []


def test_tls_below_1_2_is_refused(mtls_listener, sink, rejections, cert_set):
    context = client_context(cert_set, cert_set.client)
    with warnings.catch_warnings():  # the deprecation is the point of this test
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        tls_connect(mtls_listener.port, context)
    assert "TLS handshake failed" in rejections.next()[1]


def test_stalled_tls_handshake_is_cut_off(start_listener, sink, rejections, cert_set):
    from rccserver.transport.limits import TransportLimits

    context = server_context(cert_set.server.certificate, cert_set.server.private_key, [cert_set.ca], True)
    listener = start_listener(sink, transport="tls", tls_context=context, on_rejected=rejections,
                              limits=TransportLimits(header_timeout=0.1))
    with socket.create_connection(("127.0.0.1", listener.port), timeout=WAIT) as raw:
        raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
        assert read_until_closed(raw) == b""
    assert rejections.next()[1].startswith("header timeout (TLS handshake not completed")


openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")


# A ping, then a broken message: the server answers both (CRLF, then the sink's 400)
# and closes, which ends s_client (-ign_eof keeps it reading until then).
S_CLIENT_INPUT = b"\r\n\r\nINFO sip:x SIP/2.0\r\nContent-Length: x\r\n\r\n"


def s_client(port: int, cert_set, pair) -> subprocess.CompletedProcess:
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(cert_set.ca),
            "-verify_return_error", "-ign_eof"]
    if pair is not None:
        args += ["-cert", str(pair.certificate), "-key", str(pair.private_key)]
    return subprocess.run(args, input=S_CLIENT_INPUT, capture_output=True, timeout=WAIT)


@openssl
def test_openssl_s_client_with_good_certificate_is_served(mtls_listener, sink, cert_set):
    result = s_client(mtls_listener.port, cert_set, cert_set.client)
    output = result.stdout.decode("latin-1")
    assert "Verify return code: 0 (ok)" in output
    assert "Acceptable client certificate CA names" in output and "rccserver test CA" in output
    assert "SIP/2.0 400 Bad Request" in output
    assert sink.next("made")[1].peer_certificate is not None
    assert sink.next("framing_error")[2].status == 400


@openssl
@pytest.mark.parametrize("variant,alert", [("client-expired", "certificate expired"),
                                           ("client-wrongeku", "unsupported certificate"),
                                           ("client-foreign", "unknown ca")])
def test_openssl_s_client_with_refused_certificate_gets_an_alert(mtls_listener, sink, rejections, cert_set,
                                                                  variant, alert):
    result = s_client(mtls_listener.port, cert_set, cert_set.variant(variant))
    assert alert in (result.stdout + result.stderr).decode("latin-1")
    assert "TLS handshake failed" in rejections.next()[1]
    assert sink.pending() == []

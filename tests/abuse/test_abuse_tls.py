"""TLS negatives through the whole server: transport = "tls", mutual_tls = true.

A client certificate that is missing, expired, not yet valid, meant for servers
(wrong EKU) or issued by an unknown CA is refused during the handshake: the
client never gets a SIP answer, no session exists, and the RCCServer log names
the reason. A good certificate signs in. Our own server certificate is checked
by a verifying client (the test CA, check_hostname).
"""
from __future__ import annotations

import re
import ssl
import time

import pytest

from rccserver.commands import certs
from testkit.lyncclient import LyncClient
from testkit.testbed import write_testbed

ALICE, ALICE_LINE = "sip:alice@example.com", "tel:+1001"


@pytest.fixture(scope="module")
def cert_set(tmp_path_factory) -> certs.CertSet:
    return certs.generate(tmp_path_factory.mktemp("abuse-certs"), host="rcc.example.com")


@pytest.fixture(scope="module")
def server(tmp_path_factory, cert_set):
    extra = (f'transport = "tls"\nmutual_tls = true\ncertificate = "{cert_set.server.certificate}"\n'
             f'private_key = "{cert_set.server.private_key}"\nauthority_certificates = ["{cert_set.ca}"]\n')
    process = write_testbed(tmp_path_factory.mktemp("abuse-tls"), line_extra=extra).start()
    yield process
    assert process.stop() == 0


def client_context(cert_set: certs.CertSet, pair: certs.KeyPair | None, ca=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca or cert_set.ca))  # verifies the chain and the host name
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    if pair is not None:
        context.load_cert_chain(str(pair.certificate), str(pair.private_key))
    return context


def wait_for_log(server, pattern: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        match = re.search(pattern, server.log_text)
        if match:
            return match.group(0)
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line matching {pattern!r}; log tail:\n{server.log_text[-2000:]}")
        time.sleep(0.05)


def test_good_client_certificate_signs_in_and_our_certificate_verifies(server, cert_set):
    client = LyncClient("127.0.0.1", server.sip_port, user=ALICE, line=ALICE_LINE,
                        tls_context=client_context(cert_set, cert_set.client))
    try:
        peer = client.sock.getpeercert()
        assert ("DNS", "rcc.example.com") in peer["subjectAltName"]
        response = client.sign_in()
        assert response.status == 200, response.headers.get("Warning")
        assert client.sign_out().status == 200
    finally:
        client.close()


@pytest.mark.parametrize("variant, reason", [
    (None, r"(?i)certificate"),
    ("client-expired", r"has expired"),
    ("client-notyetvalid", r"not yet valid"),
    ("client-wrongeku", r"clientAuth|EKU"),
    ("client-foreign", r"not issued by a trusted authority"),
])
def test_refused_client_certificates_get_no_sip_answer(server, cert_set, variant, reason):
    pair = cert_set.variant(variant) if variant else None
    context = client_context(cert_set, pair)
    before = server.log_text.count("connection-rejected")
    with pytest.raises((ssl.SSLError, ConnectionError, TimeoutError, OSError)):
        # TLS 1.3 finishes the client's side of the handshake before the server
        # has judged the certificate: the refusal arrives as an alert on first read.
        client = LyncClient("127.0.0.1", server.sip_port, user=ALICE, line=ALICE_LINE, tls_context=context,
                            timeout=5)
        try:
            client.sign_in()
        finally:
            client.close()
    deadline = time.monotonic() + 5
    while server.log_text.count("connection-rejected") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    rejected = [line for line in server.log_text.splitlines() if "connection-rejected" in line][before:]
    assert rejected and re.search(reason, rejected[-1]), rejected
    assert server.admin("GET", "/api/sessions")[1] == []


def test_client_that_trusts_another_ca_refuses_our_certificate(server, cert_set):
    context = client_context(cert_set, cert_set.client, ca=cert_set.foreign_ca)
    with pytest.raises(ssl.SSLCertVerificationError):
        LyncClient("127.0.0.1", server.sip_port, user=ALICE, line=ALICE_LINE, tls_context=context)


def test_client_checking_another_host_name_refuses_our_certificate(server, cert_set):
    import socket

    context = client_context(cert_set, cert_set.client)
    with socket.create_connection(("127.0.0.1", server.sip_port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError, match="(?i)hostname|match"):
            context.wrap_socket(raw, server_hostname="other.example.org")


def test_plain_tcp_to_the_tls_port_gets_no_sip_answer(server):
    import socket

    with socket.create_connection(("127.0.0.1", server.sip_port), timeout=5) as sock:
        sock.sendall(b"OPTIONS sip:rcc@rcc.example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n")
        data = b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert b"SIP/2.0" not in data

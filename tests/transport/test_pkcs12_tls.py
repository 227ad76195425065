"""Our certificate as one PKCS#12 file (.pfx/.p12), as Lync's certificate export
writes it: loading with and without a password, the chain inside it, a real
handshake, and a precise error for each way it goes wrong (wrong or missing
password, no private key, expired, not yet valid, no serverAuth EKU).

The .pfx files are made at test time from rccserver.commands.certs output; none is committed.
"""
from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from rccserver.commands import certs
from rccserver.transport.tls import (
    TlsConfigError,
    client_options,
    load_identity,
    load_pkcs12,
    read_password_file,
    server_certificate_problems,
    server_context,
)
from issued_chain import issue_chain
from tls_memory import handshake
from transport_support import WAIT

PASSWORD = b"Lync-Export-2026"
OPTIONS = b"OPTIONS sip:rcc.example.com SIP/2.0\r\nCall-ID: p12@1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"


def _load_pair(pair: certs.KeyPair):
    cert = x509.load_pem_x509_certificate(pair.certificate.read_bytes())
    key = serialization.load_pem_private_key(pair.private_key.read_bytes(), password=None)
    return cert, key


def _encryption(password: bytes | None, legacy: bool):
    if password is None:
        return serialization.NoEncryption()
    if legacy:
        # What older Windows exports use: 3DES with SHA-1 MAC.
        return (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2000)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(password)
        )
    return serialization.BestAvailableEncryption(password)


def write_pfx(path: Path, pair: certs.KeyPair, *, password: bytes | None = PASSWORD, extra=(),
              with_key: bool = True, legacy: bool = False) -> Path:
    cert, key = _load_pair(pair)
    data = pkcs12.serialize_key_and_certificates(
        b"rccserver", key if with_key else None, cert, list(extra), _encryption(password, legacy)
    )
    path.write_bytes(data)
    return path


def write_password(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def password_file(tmp_path) -> Path:
    return write_password(tmp_path / "pfx.secret", PASSWORD.decode() + "\n")


def ca_cert(cert_set) -> x509.Certificate:
    return x509.load_pem_x509_certificate(cert_set.ca.read_bytes())


# -- loading -------------------------------------------------------------------------------


@pytest.mark.parametrize("legacy", [False, True], ids=["aes", "3des-windows"])
def test_pfx_with_password_builds_a_server_context(cert_set, tmp_path, password_file, legacy):
    pfx = write_pfx(tmp_path / "server.pfx", cert_set.server, extra=[ca_cert(cert_set)], legacy=legacy)
    context = server_context(pfx, certificate_password_file=password_file)
    server_cert, _ = _load_pair(cert_set.server)
    assert context.identity.leaf == server_cert
    assert context.identity.chain == ()  # the self-signed root is not sent


def test_pfx_without_password_needs_no_password_file(cert_set, tmp_path):
    pfx = write_pfx(tmp_path / "server.p12", cert_set.server, password=None)
    assert load_pkcs12(pfx).leaf == _load_pair(cert_set.server)[0]


def test_pfx_with_the_empty_password_needs_no_password_file(cert_set, tmp_path):
    # `openssl pkcs12 -export -passout pass:` writes this; cryptography refuses to.
    pfx = tmp_path / "empty.pfx"
    subprocess.run(["openssl", "pkcs12", "-export", "-in", str(cert_set.server.certificate),
                    "-inkey", str(cert_set.server.private_key), "-passout", "pass:", "-out", str(pfx)],
                   check=True, capture_output=True, timeout=30)
    assert load_pkcs12(pfx).leaf == _load_pair(cert_set.server)[0]
    empty = write_password(tmp_path / "empty.secret", "\n")
    assert load_pkcs12(pfx, empty).leaf == _load_pair(cert_set.server)[0]


def test_uppercase_suffix_is_pkcs12_too(cert_set, tmp_path, password_file):
    pfx = write_pfx(tmp_path / "SERVER.PFX", cert_set.server)
    assert load_identity(pfx, certificate_password_file=password_file).source == str(pfx)


@pytest.mark.parametrize("content, expected", [
    ("secret\n", b"secret"),
    ("secret\r\n", b"secret"),
    ("secret", b"secret"),
    (" two words \n", b" two words "),
    ("line1\nline2\n", b"line1\nline2"),
])
def test_password_file_loses_only_its_final_line_break(tmp_path, content, expected):
    path = tmp_path / "pw"
    path.write_bytes(content.encode())
    assert read_password_file(path) == expected


def test_chain_inside_the_pfx_is_sent_leaf_upwards_without_the_root(cert_set, tmp_path, password_file):
    issued = issue_chain(tmp_path)
    root, inter = issued.root, issued.intermediate
    # Windows writes the path in no particular order: root first here, and an unrelated CA.
    pfx = write_pfx(tmp_path / "chain.pfx", issued.pair, extra=[root, ca_cert(cert_set), inter])
    identity = load_pkcs12(pfx, password_file)
    assert identity.chain == (inter,)
    listener_context = server_context(pfx, certificate_password_file=password_file)
    assert listener_context.identity.chain == (inter,)


def test_handshake_with_a_pfx_identity_and_its_intermediate(start_listener, sink, cert_set, tmp_path,
                                                            password_file):
    issued = issue_chain(tmp_path)
    pfx = write_pfx(tmp_path / "chain.pfx", issued.pair, extra=[issued.intermediate, issued.root])
    context = server_context(pfx, certificate_password_file=password_file)
    listener = start_listener(sink, transport="tls", tls_context=context)
    # The client trusts only the root: the handshake works only if we send the intermediate.
    client = ssl.create_default_context(cafile=str(issued.root_path))
    with client.wrap_socket(socket.create_connection(("127.0.0.1", listener.port), timeout=WAIT),
                            server_hostname="127.0.0.1") as sock:
        sock.sendall(OPTIONS)
        assert sink.next("message")[2] == OPTIONS
        assert x509.load_der_x509_certificate(sock.getpeercert(binary_form=True)).subject == issued.leaf.subject


def test_client_options_with_pem_files_present_the_client_certificate(cert_set, tmp_path, password_file):
    # The PEM signature keeps working beside the PKCS#12 path: a mutual-TLS listener with a
    # .pfx identity sees the PEM client certificate, and the client verified the listener's.
    server = server_context(write_pfx(tmp_path / "server.pfx", cert_set.server), None, [cert_set.ca], True,
                            certificate_password_file=password_file)
    options = client_options("127.0.0.1", authority_certificates=[cert_set.ca],
                             certificate=cert_set.client.certificate, private_key=cert_set.client.private_key)
    client, listener = handshake(options, server, send=OPTIONS)
    assert (client.failure(), listener.failure()) == (None, None)
    assert listener.app.received == OPTIONS
    client_subject = _load_pair(cert_set.client)[0].subject
    server_subject, ca_subject = _load_pair(cert_set.server)[0].subject, ca_cert(cert_set).subject
    assert listener.peer_subject() == client_subject
    assert listener.verified_chain() == [client_subject, ca_subject]
    assert client.verified_chain() == [server_subject, ca_subject]


# -- errors ---------------------------------------------------------------------------------


def test_wrong_password_is_named(cert_set, tmp_path):
    pfx = write_pfx(tmp_path / "server.pfx", cert_set.server)
    wrong = write_password(tmp_path / "wrong.secret", "not-the-password\n")
    with pytest.raises(TlsConfigError) as caught:
        server_context(pfx, certificate_password_file=wrong)
    message = str(caught.value)
    assert message.startswith(f"{pfx}: wrong password") and str(wrong) in message


def test_password_protected_pfx_without_password_file(cert_set, tmp_path):
    pfx = write_pfx(tmp_path / "server.pfx", cert_set.server)
    with pytest.raises(TlsConfigError, match=r"password-protected.*certificate_password_file"):
        server_context(pfx)


def test_pfx_without_private_key(cert_set, tmp_path, password_file):
    pfx = write_pfx(tmp_path / "nokey.pfx", cert_set.server, with_key=False)
    with pytest.raises(TlsConfigError, match=r"nokey\.pfx: the PKCS#12 file holds no private key"):
        server_context(pfx, certificate_password_file=password_file)


def test_missing_password_file(cert_set, tmp_path):
    pfx = write_pfx(tmp_path / "server.pfx", cert_set.server)
    with pytest.raises(TlsConfigError, match=r"missing\.secret: certificate password file not found"):
        server_context(pfx, certificate_password_file=tmp_path / "missing.secret")


@pytest.mark.parametrize("content, match", [
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "a PEM file, not PKCS#12"),
    (b"this is not a certificate", "not a PKCS#12"),
    (b"\x30\x03\x02\x01\x03", "not a readable PKCS#12 file"),
])
def test_not_a_pfx(tmp_path, content, match):
    pfx = tmp_path / "bad.pfx"
    pfx.write_bytes(content)
    with pytest.raises(TlsConfigError, match=match):
        load_pkcs12(pfx)


def test_expired_certificate_is_refused(cert_set, tmp_path, password_file):
    pfx = write_pfx(tmp_path / "expired.pfx", cert_set.variant("server-expired"))
    with pytest.raises(TlsConfigError, match=r"expired\.pfx: the certificate \(.*\) expired on \d{4}-\d\d-\d\d"):
        server_context(pfx, certificate_password_file=password_file)


def test_expired_pem_certificate_is_refused_too(cert_set):
    pair = cert_set.variant("server-expired")
    with pytest.raises(TlsConfigError, match="expired on"):
        server_context(pair.certificate, pair.private_key)


def test_not_yet_valid_certificate_is_refused_with_an_injected_clock(cert_set, tmp_path, password_file):
    pfx = write_pfx(tmp_path / "server.pfx", cert_set.server)
    leaf = _load_pair(cert_set.server)[0]
    before = leaf.not_valid_before_utc - datetime.timedelta(minutes=1)
    with pytest.raises(TlsConfigError, match="is not valid before"):
        server_context(pfx, certificate_password_file=password_file, now=before)
    after = leaf.not_valid_after_utc + datetime.timedelta(seconds=1)
    with pytest.raises(TlsConfigError, match="expired on"):
        server_context(pfx, certificate_password_file=password_file, now=after)
    assert server_context(pfx, certificate_password_file=password_file, now=leaf.not_valid_before_utc).identity.leaf \
        == leaf  # valid from its first second


def test_certificate_without_server_auth_eku_is_refused(cert_set, tmp_path, password_file):
    # client.pem carries clientAuth only.
    pfx = write_pfx(tmp_path / "clientonly.pfx", cert_set.client)
    with pytest.raises(TlsConfigError, match=r"clientonly\.pfx: .* lacks the serverAuth extended key usage"):
        server_context(pfx, certificate_password_file=password_file)


def test_mutual_tls_with_a_pfx_checks_client_certificates_for_client_auth(cert_set, tmp_path, password_file):
    identity = load_pkcs12(write_pfx(tmp_path / "server.pfx", cert_set.server), password_file)
    assert server_certificate_problems(identity, mutual_tls=True) == []
    context = server_context(identity.source, None, [cert_set.ca], True, certificate_password_file=password_file)
    # Our own certificate needs no clientAuth; the peer's does, and the handshake refuses it.
    wrong = cert_set.variant("client-wrongeku")
    options = client_options("127.0.0.1", authority_certificates=[cert_set.ca],
                             certificate=wrong.certificate, private_key=wrong.private_key)
    client, listener = handshake(options, context, send=OPTIONS)
    assert listener.app.received == b"" and not listener.app.handshake_done
    assert client.failure() is not None and listener.failure() is not None
    # OpenSSL's own purpose check (X509_V_ERR_INVALID_PURPOSE) refuses it before ours would
    subject = _load_pair(wrong)[0].subject.rfc4514_string()
    assert context.verify_failure(listener.connection) == \
        f"client certificate is not meant for client authentication (EKU) (depth 0: {subject})"


def test_pfx_with_a_private_key_file_is_contradictory(cert_set, tmp_path, password_file):
    pfx = write_pfx(tmp_path / "server.pfx", cert_set.server)
    with pytest.raises(TlsConfigError, match="holds its key; no separate private key"):
        server_context(pfx, cert_set.server.private_key, certificate_password_file=password_file)


def test_pem_certificate_with_a_password_file_is_contradictory(cert_set, password_file):
    with pytest.raises(TlsConfigError, match="only used with a PKCS#12"):
        server_context(cert_set.server.certificate, cert_set.server.private_key,
                       certificate_password_file=password_file)


def test_pem_certificate_without_key(cert_set):
    with pytest.raises(TlsConfigError, match="needs its private key file"):
        server_context(cert_set.server.certificate)

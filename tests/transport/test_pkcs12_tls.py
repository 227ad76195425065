"""Our certificate as one PKCS#12 file (.pfx/.p12), as Lync's certificate export
writes it: loading with and without a password, the chain inside it, a real
handshake, and a precise error for each way it goes wrong (wrong or missing
password, no private key, expired, not yet valid, no serverAuth EKU).

The .pfx files are made at test time from rccserver.commands.certs output; none is committed.
"""
from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


def _ca(name: str, issuer=None, issuer_key=None, path_length=1):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(issuer_key or key, hashes.SHA256())
    )
    return cert, key


def _intermediate(tmp_path) -> tuple[x509.Certificate, x509.Certificate, certs.KeyPair]:
    """(root, intermediate, server pair issued by the intermediate); root written to tmp_path/root.pem."""
    root, root_key = _ca("rccserver test root")
    inter, inter_key = _ca("rccserver test issuing CA", root, root_key, path_length=0)
    (tmp_path / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rcc.example.com")]))
        .issuer_name(inter.subject).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(inter_key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return root, inter, certs.KeyPair(cert_path, key_path)


def test_chain_inside_the_pfx_is_sent_leaf_upwards_without_the_root(cert_set, tmp_path, password_file):
    root, inter, pair = _intermediate(tmp_path)
    # Windows writes the path in no particular order: root first here, and an unrelated CA.
    pfx = write_pfx(tmp_path / "chain.pfx", pair, extra=[root, ca_cert(cert_set), inter])
    identity = load_pkcs12(pfx, password_file)
    assert identity.chain == (inter,)
    listener_context = server_context(pfx, certificate_password_file=password_file)
    assert listener_context.identity.chain == (inter,)


def test_handshake_with_a_pfx_identity_and_its_intermediate(start_listener, sink, cert_set, tmp_path,
                                                            password_file):
    root, inter, pair = _intermediate(tmp_path)
    pfx = write_pfx(tmp_path / "chain.pfx", pair, extra=[inter, root])
    context = server_context(pfx, certificate_password_file=password_file)
    listener = start_listener(sink, transport="tls", tls_context=context)
    # The client trusts only the root: the handshake works only if we send the intermediate.
    client = ssl.create_default_context(cafile=str(tmp_path / "root.pem"))
    with client.wrap_socket(socket.create_connection(("127.0.0.1", listener.port), timeout=WAIT),
                            server_hostname="127.0.0.1") as sock:
        sock.sendall(OPTIONS)
        assert sink.next("message")[2] == OPTIONS
        assert x509.load_der_x509_certificate(sock.getpeercert(binary_form=True)).subject == \
            x509.load_pem_x509_certificate(pair.certificate.read_bytes()).subject


def test_client_options_still_take_pem_files(cert_set):
    # The existing signature keeps working beside the PKCS#12 path.
    client_options("127.0.0.1", authority_certificates=[cert_set.ca],
                   certificate=cert_set.client.certificate, private_key=cert_set.client.private_key)


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
    server_context(pfx, certificate_password_file=password_file, now=leaf.not_valid_before_utc)


def test_certificate_without_server_auth_eku_is_refused(cert_set, tmp_path, password_file):
    # client.pem carries clientAuth only.
    pfx = write_pfx(tmp_path / "clientonly.pfx", cert_set.client)
    with pytest.raises(TlsConfigError, match=r"clientonly\.pfx: .* lacks the serverAuth extended key usage"):
        server_context(pfx, certificate_password_file=password_file)


def test_mutual_tls_with_a_pfx_checks_client_certificates_for_client_auth(cert_set, tmp_path, password_file):
    identity = load_pkcs12(write_pfx(tmp_path / "server.pfx", cert_set.server), password_file)
    assert server_certificate_problems(identity, mutual_tls=True) == []
    context = server_context(identity.source, None, [cert_set.ca], True, certificate_password_file=password_file)
    # Our own certificate needs no clientAuth; the peer's does (checked in the handshake).
    wrong_eku = x509.load_pem_x509_certificate(cert_set.variant("client-wrongeku").certificate.read_bytes())
    from OpenSSL import SSL, crypto
    connection = SSL.Connection(context.context, None)
    assert context._verify(connection, crypto.X509.from_cryptography(wrong_eku), 0, 0, 1) is False
    assert "lacks the clientAuth extended key usage" in context.verify_failure(connection)


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

"""Building TLS contexts from [line] values: precise errors for bad files, and what a
handshake with the built contexts actually verifies (in memory, tests/transport/tls_memory.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from issued_chain import issue_chain
from rccserver.transport.tls import TlsConfigError, client_options, server_context
from tls_memory import handshake


def subject(path) -> x509.Name:
    return x509.load_pem_x509_certificate(Path(path).read_bytes()).subject


def test_good_files_build_a_mutual_tls_context(cert_set):
    context = server_context(cert_set.server.certificate, cert_set.server.private_key,
                             [cert_set.ca, cert_set.foreign_ca], mutual_tls=True)
    assert context.mutual_tls
    assert [a.subject for a in context.authorities] == [subject(cert_set.ca), subject(cert_set.foreign_ca)]
    # Each authority is trusted for client certificates: the foreign CA's client gets in too.
    for pair in (cert_set.client, cert_set.variant("client-foreign")):
        options = client_options("rcc.example.com", authority_certificates=[cert_set.ca],
                                 certificate=pair.certificate, private_key=pair.private_key)
        client, listener = handshake(options, context, send=b"OPTIONS")
        assert (client.failure(), listener.failure(), listener.app.received) == (None, None, b"OPTIONS")
        assert listener.peer_subject() == subject(pair.certificate)


def test_a_client_certificate_from_an_authority_not_listed_is_refused(cert_set):
    context = server_context(cert_set.server.certificate, cert_set.server.private_key, [cert_set.ca],
                             mutual_tls=True)
    foreign = cert_set.variant("client-foreign")
    options = client_options("rcc.example.com", authority_certificates=[cert_set.ca],
                             certificate=foreign.certificate, private_key=foreign.private_key)
    client, listener = handshake(options, context, send=b"OPTIONS")
    assert listener.app.received == b"" and "certificate verify failed" in listener.failure()
    assert "unknown ca" in client.failure()
    assert context.verify_failure(listener.connection) == (
        "client certificate is not issued by a trusted authority (unable to get local issuer certificate) "
        f"(depth 0: {subject(foreign.certificate).rfc4514_string()})")


def test_the_client_checks_the_servers_name(cert_set):
    context = server_context(cert_set.server.certificate, cert_set.server.private_key)
    options = client_options("other.example.com", authority_certificates=[cert_set.ca])
    client, _ = handshake(options, context, send=b"OPTIONS")
    assert client.failure().startswith("VerificationError") and "other.example.com" in client.failure()


def test_missing_certificate_names_the_file(cert_set, tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(TlsConfigError, match=f"{missing}: certificate file not found"):
        server_context(missing, cert_set.server.private_key)


def test_mismatched_key_names_both_files(cert_set):
    with pytest.raises(TlsConfigError, match=f"{cert_set.client.private_key}: private key does not match "
                                             f"the certificate in {cert_set.server.certificate}"):
        server_context(cert_set.server.certificate, cert_set.client.private_key)


def test_swapped_files_are_reported(cert_set):
    with pytest.raises(TlsConfigError, match="not a PEM certificate"):
        server_context(cert_set.server.private_key, cert_set.server.private_key)
    with pytest.raises(TlsConfigError, match="not a PEM private key"):
        server_context(cert_set.server.certificate, cert_set.server.certificate)


def test_encrypted_key_is_reported(cert_set, tmp_path):
    key = serialization.load_pem_private_key(cert_set.server.private_key.read_bytes(), None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(TlsConfigError, match="encrypted; a key without passphrase is required"):
        server_context(cert_set.server.certificate, encrypted)


def test_unreadable_key_is_reported(cert_set, monkeypatch):
    # Tests may run as root, which reads any file; simulate the permission error instead.
    real_read = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path == Path(cert_set.server.private_key):
            raise PermissionError(13, "Permission denied")
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(TlsConfigError, match=f"{cert_set.server.private_key}: private key file is not readable"):
        server_context(cert_set.server.certificate, cert_set.server.private_key)


def test_directory_instead_of_file(cert_set, tmp_path):
    with pytest.raises(TlsConfigError, match="path is a directory"):
        server_context(cert_set.server.certificate, cert_set.server.private_key, [tmp_path], mutual_tls=True)


def test_mutual_tls_needs_an_authority(cert_set):
    with pytest.raises(TlsConfigError, match="mutual_tls needs at least one authority certificate"):
        server_context(cert_set.server.certificate, cert_set.server.private_key, [], mutual_tls=True)


def test_chain_file_with_intermediates_is_sent_by_the_server(tmp_path):
    issued = issue_chain(tmp_path)
    context = server_context(issued.chain_path, issued.pair.private_key)
    assert context.identity.chain == (issued.intermediate,)
    # The client trusts only the root: it can verify us only if we send the intermediate.
    options = client_options("127.0.0.1", authority_certificates=[issued.root_path])
    client, listener = handshake(options, context, send=b"OPTIONS")
    assert (client.failure(), listener.failure(), listener.app.received) == (None, None, b"OPTIONS")
    assert client.verified_chain() == [issued.leaf.subject, issued.intermediate.subject, issued.root.subject]


def test_without_its_intermediate_the_server_is_refused(tmp_path):
    issued = issue_chain(tmp_path)
    context = server_context(issued.pair.certificate, issued.pair.private_key)  # the leaf alone
    options = client_options("127.0.0.1", authority_certificates=[issued.root_path])
    client, listener = handshake(options, context, send=b"OPTIONS")
    assert "certificate verify failed" in client.failure()
    assert listener.app.received == b"" and "unknown ca" in listener.failure()


def test_chain_file_with_intermediates_is_sent_by_the_client(cert_set, tmp_path):
    issued = issue_chain(tmp_path)
    context = server_context(cert_set.server.certificate, cert_set.server.private_key, [issued.root_path],
                             mutual_tls=True)
    options = client_options("127.0.0.1", authority_certificates=[cert_set.ca],
                             certificate=issued.chain_path, private_key=issued.pair.private_key)
    client, listener = handshake(options, context, send=b"OPTIONS")
    assert (client.failure(), listener.failure(), listener.app.received) == (None, None, b"OPTIONS")
    assert listener.verified_chain() == [issued.leaf.subject, issued.intermediate.subject, issued.root.subject]


def test_client_certificate_needs_both_halves(cert_set):
    with pytest.raises(TlsConfigError, match="needs both certificate and private_key"):
        client_options("127.0.0.1", certificate=cert_set.client.certificate)

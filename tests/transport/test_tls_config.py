"""Building TLS contexts from [line] values: precise errors for bad files."""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from rccserver.transport.tls import TlsConfigError, client_options, server_context


def test_good_files_build_a_mutual_tls_context(cert_set):
    context = server_context(cert_set.server.certificate, cert_set.server.private_key,
                             [cert_set.ca, cert_set.foreign_ca], mutual_tls=True)
    assert context.mutual_tls and len(context.authorities) == 2


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


def test_chain_file_with_intermediates_is_accepted(cert_set, tmp_path):
    chain = tmp_path / "chain.pem"
    chain.write_bytes(cert_set.server.certificate.read_bytes() + cert_set.ca.read_bytes())
    server_context(chain, cert_set.server.private_key)
    client_options("127.0.0.1", authority_certificates=[cert_set.ca],
                   certificate=chain, private_key=cert_set.server.private_key)


def test_client_certificate_needs_both_halves(cert_set):
    with pytest.raises(TlsConfigError, match="needs both certificate and private_key"):
        client_options("127.0.0.1", certificate=cert_set.client.certificate)

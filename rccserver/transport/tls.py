"""TLS for the RCC line: the server context (TLS / mutual TLS) and client options.

Server side: TLS 1.2 or later, our certificate chain and key. With mutual TLS
the peer must present a certificate that chains to one of the authority
certificates, is within its validity period and carries the clientAuth EKU.
Every check runs inside OpenSSL's verify callback, so a refused certificate
fails the handshake itself; the reason is remembered per connection
(`ServerTlsContext.verify_failure`) for the log.

Client side (tests and our outbound connections): `client_options()` verifies
the server against the given authorities (or the platform's trust store) and
its name against the host we dialled, optionally presenting a certificate.
"""
from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from OpenSSL import SSL, crypto
from twisted.internet import ssl as twisted_ssl
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, IOpenSSLServerConnectionCreator
from zope.interface import implementer

# Forward secrecy and AEAD first; CBC-SHA2 suites stay for older Schannel peers.
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"
    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256"
)
SESSION_ID_CONTEXT = b"rccserver-line"
MAX_CHAIN_DEPTH = 6

# OpenSSL X509_V_ERR_* codes a client certificate typically fails with.
_VERIFY_ERRORS = {
    2: "unable to get issuer certificate",
    7: "certificate signature failure",
    9: "client certificate is not yet valid",
    10: "client certificate has expired",
    13: "format error in the certificate's notBefore field",
    14: "format error in the certificate's notAfter field",
    18: "self-signed client certificate",
    19: "self-signed certificate in the client's chain",
    20: "client certificate is not issued by a trusted authority (unable to get local issuer certificate)",
    21: "unable to verify the first certificate",
    22: "certificate chain too long",
    23: "certificate revoked",
    24: "invalid CA certificate in the client's chain",
    26: "client certificate is not meant for client authentication (EKU)",
}


class TlsConfigError(Exception):
    """A certificate, key or authority file cannot be used; the message names the file."""


# ---------------------------------------------------------------------------
# Reading PEM files with precise errors


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise TlsConfigError(f"{path}: {what} file not found") from None
    except PermissionError:
        raise TlsConfigError(f"{path}: {what} file is not readable (permission denied)") from None
    except IsADirectoryError:
        raise TlsConfigError(f"{path}: {what} path is a directory, expected a PEM file") from None
    except OSError as error:
        raise TlsConfigError(f"{path}: cannot read {what}: {error.strerror or error}") from None


def load_certificates(path: str | os.PathLike[str], what: str = "certificate") -> list[x509.Certificate]:
    """Every certificate in a PEM file (a chain or a bundle), in file order."""
    data = _read(path, what)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise TlsConfigError(f"{path}: not a PEM {what} (no '-----BEGIN CERTIFICATE-----' block)")
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise TlsConfigError(f"{path}: not a PEM {what} ({error})") from None
    return certificates


def load_private_key(path: str | os.PathLike[str]):
    data = _read(path, "private key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise TlsConfigError(f"{path}: the private key is encrypted; a key without passphrase is required") from None
    except (ValueError, UnsupportedAlgorithm) as error:
        raise TlsConfigError(f"{path}: not a PEM private key ({error})") from None


def _load_identity(certificate: str | os.PathLike[str], private_key: str | os.PathLike[str]):
    """(leaf, chain extras, key), checked to belong together."""
    chain = load_certificates(certificate)
    key = load_private_key(private_key)
    leaf = chain[0]
    if leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise TlsConfigError(f"{private_key}: private key does not match the certificate in {certificate}")
    return leaf, chain[1:], key


def _has_client_auth(certificate: crypto.X509) -> bool:
    try:
        usage = certificate.to_cryptography().extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage.value


def _subject(certificate: crypto.X509) -> str:
    return certificate.to_cryptography().subject.rfc4514_string()


# ---------------------------------------------------------------------------
# Server


@implementer(IOpenSSLServerConnectionCreator)
class ServerTlsContext:
    """Creates server-side TLS connections for the listener (pass to TLSMemoryBIOFactory)."""

    def __init__(
        self,
        certificate: str | os.PathLike[str],
        private_key: str | os.PathLike[str],
        authority_certificates: Sequence[str | os.PathLike[str]] = (),
        mutual_tls: bool = False,
    ) -> None:
        self.mutual_tls = mutual_tls
        leaf, extras, key = _load_identity(certificate, private_key)
        context = SSL.Context(SSL.TLS_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE | SSL.OP_NO_RENEGOTIATION)
        context.set_cipher_list(TLS12_CIPHERS.encode("ascii"))
        context.set_session_id(SESSION_ID_CONTEXT)
        context.use_certificate(leaf)
        for extra in extras:
            context.add_extra_chain_cert(extra)
        context.use_privatekey(key)
        context.check_privatekey()  # already compared above; OpenSSL's own check costs nothing
        self.authorities: list[x509.Certificate] = [
            cert for path in authority_certificates for cert in load_certificates(path, "authority certificate")
        ]
        if mutual_tls:
            if not self.authorities:
                raise TlsConfigError("mutual_tls needs at least one authority certificate to verify clients")
            store = context.get_cert_store()
            for authority in self.authorities:
                store.add_cert(crypto.X509.from_cryptography(authority))
                # Tell clients which CAs we accept, so they pick the right certificate.
                context.add_client_ca(authority)
            context.set_verify(
                SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT | SSL.VERIFY_CLIENT_ONCE,
                self._verify,
            )
            context.set_verify_depth(MAX_CHAIN_DEPTH)
        self.context = context
        self._failures: weakref.WeakKeyDictionary[SSL.Connection, str] = weakref.WeakKeyDictionary()

    def _verify(self, connection: SSL.Connection, certificate: crypto.X509, errno: int, depth: int, ok: int) -> bool:
        # Called for each certificate of the chain, root first; 0 fails the handshake.
        if not ok:
            reason = _VERIFY_ERRORS.get(errno, f"certificate verification error {errno}")
            self._failures.setdefault(connection, f"{reason} (depth {depth}: {_subject(certificate)})")
            return False
        if depth == 0 and not _has_client_auth(certificate):
            self._failures.setdefault(
                connection,
                f"client certificate lacks the clientAuth extended key usage ({_subject(certificate)})",
            )
            return False
        return True

    def verify_failure(self, connection: SSL.Connection | None) -> str | None:
        """Why this connection's client certificate was refused, if it was."""
        if connection is None:
            return None
        return self._failures.get(connection)

    # IOpenSSLServerConnectionCreator
    def serverConnectionForTLS(self, tlsProtocol) -> SSL.Connection:
        return SSL.Connection(self.context, None)


def server_context(
    certificate: str | os.PathLike[str],
    private_key: str | os.PathLike[str],
    authority_certificates: Sequence[str | os.PathLike[str]] = (),
    mutual_tls: bool = False,
) -> ServerTlsContext:
    """Build the listener's TLS context from [line] values; raises TlsConfigError."""
    return ServerTlsContext(certificate, private_key, authority_certificates, mutual_tls)


# ---------------------------------------------------------------------------
# Client


def client_options(
    hostname: str,
    *,
    authority_certificates: Sequence[str | os.PathLike[str]] = (),
    certificate: str | os.PathLike[str] | None = None,
    private_key: str | os.PathLike[str] | None = None,
) -> IOpenSSLClientConnectionCreator:
    """TLS 1.2+ client options: verify the server (chain and `hostname`, a DNS name or
    an IP address) against `authority_certificates`, or the platform trust store when
    none are given; present `certificate`/`private_key` when given."""
    if (certificate is None) != (private_key is None):
        raise TlsConfigError("a client certificate needs both certificate and private_key")
    if authority_certificates:
        roots = [
            twisted_ssl.Certificate(crypto.X509.from_cryptography(cert))
            for path in authority_certificates
            for cert in load_certificates(path, "authority certificate")
        ]
        trust_root = twisted_ssl.trustRootFromCertificates(roots)
    else:
        trust_root = twisted_ssl.platformTrust()
    client_certificate = None
    if certificate is not None and private_key is not None:
        leaf, extras, key = _load_identity(certificate, private_key)
        client_certificate = twisted_ssl.PrivateCertificate.fromCertificateAndKeyPair(
            twisted_ssl.Certificate(crypto.X509.from_cryptography(leaf)),
            twisted_ssl.KeyPair(crypto.PKey.from_cryptography_key(key)),
        )
        extra_options = {"extraCertChain": [crypto.X509.from_cryptography(e) for e in extras]} if extras else {}
    else:
        extra_options = {}
    return twisted_ssl.optionsForClientTLS(
        hostname,
        trustRoot=trust_root,
        clientCertificate=client_certificate,
        extraCertificateOptions={"raiseMinimumTo": twisted_ssl.TLSVersion.TLSv1_2, **extra_options},
    )

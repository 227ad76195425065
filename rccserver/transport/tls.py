"""TLS for the RCC line: the server context (TLS / mutual TLS) and client options.

Server side: TLS 1.2 or later, our certificate chain and key. With mutual TLS
the peer must present a certificate that chains to one of the authority
certificates, is within its validity period and carries the clientAuth EKU.
Every check runs inside OpenSSL's verify callback, so a refused certificate
fails the handshake itself; the reason is remembered per connection
(`ServerTlsContext.verify_failure`) for the log.

Our certificate comes either as PEM (`certificate` + `private_key`) or as one
PKCS#12 file (.pfx/.p12, what Lync's and Windows' certificate export writes)
with its password in `certificate_password_file`. Either way it must be within
its validity period and, if it names extended key usages, include serverAuth;
`server_certificate_problems()` lists what is wrong (check-config uses it too).

Client side (tests and our outbound connections): `client_options()` verifies
the server against the given authorities (or the platform's trust store) and
its name against the host we dialled, optionally presenting a certificate.
"""
from __future__ import annotations

import datetime
import os
import weakref
from collections.abc import Sequence
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from OpenSSL import SSL, crypto
from twisted.internet import ssl as twisted_ssl
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, IOpenSSLServerConnectionCreator
from zope.interface import implementer

from rccserver.server.config import is_pkcs12_path

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


def _public_der(key_or_certificate) -> bytes:
    public = key_or_certificate.public_key()
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@attrs.frozen(slots=True)
class Identity:
    """Our certificate, the chain certificates sent after it, and its private key."""

    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: object  # a cryptography private key
    source: str  # the file(s) it came from, for messages


def read_password_file(path: str | os.PathLike[str]) -> bytes:
    """The password in a file: its content without the final line break (editors add one)."""
    data = _read(path, "certificate password")
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith(b"\n") else data


def _chain_order(leaf: x509.Certificate, others: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    # A Windows export holds the whole path in any order; send the issuers leaf-upwards,
    # without the self-signed root, which the peer must already trust.
    chain: list[x509.Certificate] = []
    current = leaf
    remaining = list(others)
    while True:
        issuer = next((c for c in remaining if c.subject == current.issuer and c != current), None)
        if issuer is None or issuer.subject == issuer.issuer:
            return tuple(chain)
        chain.append(issuer)
        remaining.remove(issuer)
        current = issuer


def load_pkcs12(
    path: str | os.PathLike[str], password_file: str | os.PathLike[str] | None = None
) -> Identity:
    """Key, certificate and chain from a PKCS#12 file; raises TlsConfigError naming the file."""
    data = _read(path, "PKCS#12 certificate")
    if data.lstrip().startswith(b"-----BEGIN"):
        raise TlsConfigError(f"{path}: a PEM file, not PKCS#12: name it .pem and set [line] private_key")
    if not data.startswith(b"\x30"):
        raise TlsConfigError(f"{path}: not a PKCS#12 (.pfx/.p12) file")
    password = read_password_file(password_file) if password_file is not None else None
    # Exports "without password" use either no password or the empty one.
    attempts = [password] if password else [None, b""]
    for attempt in attempts:
        try:
            key, certificate, others = pkcs12.load_key_and_certificates(data, attempt)
            break
        except ValueError as error:
            reason = str(error)
        except UnsupportedAlgorithm as error:
            raise TlsConfigError(f"{path}: PKCS#12 encryption not supported here ({error}); export it again "
                                 f"with AES-256 encryption") from None
    else:
        if "password" not in reason.lower():
            raise TlsConfigError(f"{path}: not a readable PKCS#12 file ({reason})")
        if password_file is None:
            raise TlsConfigError(f"{path}: the PKCS#12 file is password-protected: put the export password in "
                                 f"a file and name it in [line] certificate_password_file")
        raise TlsConfigError(f"{path}: wrong password for the PKCS#12 file (from {password_file}), "
                             f"or the file is damaged")
    if key is None:
        raise TlsConfigError(f"{path}: the PKCS#12 file holds no private key: export the certificate again "
                             f"with its private key ('Yes, export the private key')")
    candidates = ([certificate] if certificate is not None else []) + list(others)
    leaf = next((c for c in candidates if _public_der(c) == _public_der(key)), None)
    if leaf is None:
        raise TlsConfigError(f"{path}: the PKCS#12 file holds no certificate for its private key")
    return Identity(leaf, _chain_order(leaf, [c for c in candidates if c is not leaf]), key, str(path))


def load_identity(
    certificate: str | os.PathLike[str],
    private_key: str | os.PathLike[str] | None = None,
    *,
    certificate_password_file: str | os.PathLike[str] | None = None,
) -> Identity:
    """Our identity from a PKCS#12 file (.pfx/.p12) or a PEM certificate and key; raises TlsConfigError."""
    if is_pkcs12_path(certificate):
        if private_key is not None:
            raise TlsConfigError(f"{private_key}: a PKCS#12 certificate ({certificate}) holds its key; "
                                 f"no separate private key is used")
        return load_pkcs12(certificate, certificate_password_file)
    if private_key is None:
        raise TlsConfigError(f"{certificate}: a PEM certificate needs its private key file")
    if certificate_password_file is not None:
        raise TlsConfigError(f"{certificate_password_file}: a password file is only used with a PKCS#12 "
                             f"(.pfx/.p12) certificate")
    chain = load_certificates(certificate)
    key = load_private_key(private_key)
    leaf = chain[0]
    if _public_der(leaf) != _public_der(key):
        raise TlsConfigError(f"{private_key}: private key does not match the certificate in {certificate}")
    return Identity(leaf, tuple(chain[1:]), key, f"{certificate}")


def _load_identity(certificate: str | os.PathLike[str], private_key: str | os.PathLike[str]):
    """(leaf, chain extras, key), checked to belong together."""
    identity = load_identity(certificate, private_key)
    return identity.leaf, list(identity.chain), identity.key


@attrs.frozen(slots=True)
class CertificateProblem:
    """Something wrong with our certificate; errors stop the server, warnings do not."""

    severity: str  # "error" or "warning"
    message: str


def _extended_key_usages(certificate: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    try:
        return list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None  # no restriction: any purpose


def server_certificate_problems(
    identity: Identity, *, mutual_tls: bool = False, now: datetime.datetime | None = None
) -> list[CertificateProblem]:
    """What keeps `identity` from serving the RCC line.

    The clientAuth EKU is not asked of our certificate: we never present it as a
    client (the listener checks clientAuth on the peers' certificates instead).
    `mutual_tls` is accepted for callers that pass their [line] settings through."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    leaf = identity.leaf
    subject = leaf.subject.rfc4514_string()
    problems: list[CertificateProblem] = []
    if leaf.not_valid_after_utc < now:
        problems.append(CertificateProblem("error", f"{identity.source}: the certificate ({subject}) expired on "
                                                    f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC: renew it"))
    if leaf.not_valid_before_utc > now:
        problems.append(CertificateProblem("error", f"{identity.source}: the certificate ({subject}) is not valid "
                                                    f"before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC "
                                                    f"(check this computer's clock)"))
    usages = _extended_key_usages(leaf)
    if usages is not None and ExtendedKeyUsageOID.SERVER_AUTH not in usages:
        problems.append(CertificateProblem("error", f"{identity.source}: the certificate ({subject}) lacks the "
                                                    f"serverAuth extended key usage (Server Authentication), "
                                                    f"so Lync refuses it"))
    return problems


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
        private_key: str | os.PathLike[str] | None = None,
        authority_certificates: Sequence[str | os.PathLike[str]] = (),
        mutual_tls: bool = False,
        *,
        certificate_password_file: str | os.PathLike[str] | None = None,
        now: datetime.datetime | None = None,
    ) -> None:
        self.mutual_tls = mutual_tls
        identity = load_identity(certificate, private_key, certificate_password_file=certificate_password_file)
        errors = [p.message for p in server_certificate_problems(identity, mutual_tls=mutual_tls, now=now)
                  if p.severity == "error"]
        if errors:
            raise TlsConfigError("; ".join(errors))
        self.identity = identity
        leaf, extras, key = identity.leaf, identity.chain, identity.key
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
    private_key: str | os.PathLike[str] | None = None,
    authority_certificates: Sequence[str | os.PathLike[str]] = (),
    mutual_tls: bool = False,
    *,
    certificate_password_file: str | os.PathLike[str] | None = None,
    now: datetime.datetime | None = None,
) -> ServerTlsContext:
    """Build the listener's TLS context from [line] values; raises TlsConfigError.

    `certificate` is a PEM chain with `private_key`, or a .pfx/.p12 file with
    `certificate_password_file`; an expired or not yet valid certificate, or one
    without the serverAuth EKU, is refused."""
    return ServerTlsContext(
        certificate, private_key, authority_certificates, mutual_tls,
        certificate_password_file=certificate_password_file, now=now,
    )


def server_context_from_line(line, *, now: datetime.datetime | None = None) -> ServerTlsContext:
    """The TLS context for a `[line]` configuration (rccserver.server.config.LineConfig)."""
    return server_context(
        line.certificate, line.private_key, tuple(line.authority_certificates or ()), bool(line.mutual_tls),
        certificate_password_file=getattr(line, "certificate_password_file", None), now=now,
    )


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

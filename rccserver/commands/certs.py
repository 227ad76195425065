"""Certificates for the RCC line: a private CA, a server and a client certificate.

`generate()` writes PEM files for tests and for trying TLS / mutual TLS without a
real PKI. Production deployments use certificates from the enterprise CA that
the Lync pool trusts; these are for labs and tests only.

Files written (keys are EC P-256, mode 0600):

    ca.pem, ca.key                   the private test CA
    server.pem, server.key           serverAuth EKU; SAN: host, extra hosts, 127.0.0.1, ::1
    client.pem, client.key           clientAuth EKU; SAN/CN: a Lync-pool-like name

and, with `variants=True`, certificates that a mutual-TLS listener must refuse:

    client-expired.*                 validity ended yesterday
    client-notyetvalid.*             validity starts in 30 days
    client-wrongeku.*                serverAuth EKU only
    client-foreign.*                 issued by another CA (foreign-ca.pem)
    server-expired.*                 an expired server certificate
"""
from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOST = "rcc.example.com"
DEFAULT_CLIENT_NAME = "lyncpool.example.com"
DEFAULT_OUT_DIR = "certs"

CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=825)
# Back-date new certificates a little so small clock differences between hosts do not matter.
CLOCK_SKEW = datetime.timedelta(hours=1)

EXIT_OK = 0
EXIT_FAILED = 1

VARIANT_NAMES = (
    "client-expired",
    "client-notyetvalid",
    "client-wrongeku",
    "client-foreign",
    "server-expired",
)


class CertsError(Exception):
    """Certificates could not be written (existing files, unwritable directory)."""


@attrs.frozen(slots=True)
class KeyPair:
    certificate: Path
    private_key: Path


@attrs.frozen(slots=True)
class CertSet:
    """Where `generate` put each file."""

    directory: Path
    ca: Path
    ca_key: Path
    server: KeyPair
    client: KeyPair
    variants: Mapping[str, KeyPair]  # keyed by the names in VARIANT_NAMES
    foreign_ca: Path | None

    def variant(self, name: str) -> KeyPair:
        try:
            return self.variants[name]
        except KeyError:
            raise KeyError(f"no certificate variant {name!r}; generated: {sorted(self.variants)}") from None


@attrs.frozen(slots=True)
class _Issuer:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organisation: str = "rccserver test") -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _make_ca(common_name: str, now: datetime.datetime) -> tuple[x509.Certificate, _Issuer]:
    key = _new_key()
    name = _name(common_name)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, _Issuer(name, key)


def _san_entry(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _make_leaf(
    issuer: _Issuer,
    *,
    common_name: str,
    san_hosts: Sequence[str],
    eku: Sequence[x509.ObjectIdentifier],
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([_san_entry(h) for h in _unique(san_hosts)]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return cert, key


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # O_CREAT's mode does not apply to a file that already existed
        os.write(fd, data)
    finally:
        os.close(fd)


class _Writer:
    """Collects the files to write so that nothing is written if any target exists."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: list[tuple[Path, bytes, int]] = []

    def cert(self, filename: str, cert: x509.Certificate) -> Path:
        path = self.directory / filename
        self.files.append((path, _cert_pem(cert), 0o644))
        return path

    def key(self, filename: str, key: ec.EllipticCurvePrivateKey) -> Path:
        path = self.directory / filename
        self.files.append((path, _key_pem(key), 0o600))
        return path

    def pair(self, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> KeyPair:
        return KeyPair(self.cert(f"{stem}.pem", cert), self.key(f"{stem}.key", key))

    def commit(self, overwrite: bool) -> None:
        if not overwrite:
            existing = [str(path) for path, _, _ in self.files if path.exists()]
            if existing:
                shown = ", ".join(existing[:3]) + (f" and {len(existing) - 3} more" if len(existing) > 3 else "")
                raise CertsError(f"refusing to overwrite existing files: {shown} (use --force / overwrite=True)")
        for path, data, mode in self.files:
            _write(path, data, mode)


def generate(
    out_dir: str | os.PathLike[str],
    *,
    host: str = DEFAULT_HOST,
    extra_hosts: Sequence[str] = (),
    client_name: str = DEFAULT_CLIENT_NAME,
    variants: bool = True,
    overwrite: bool = False,
    now: datetime.datetime | None = None,
) -> CertSet:
    """Write a CA, server and client certificates (and refusal variants) into `out_dir`.

    Raises CertsError if a file would be overwritten without `overwrite`, or the
    directory cannot be created or written.
    """
    if not host:
        raise CertsError("the server host name must not be empty")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    directory = Path(out_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CertsError(f"cannot create {directory}: {error.strerror or error}") from error
    writer = _Writer(directory)

    ca_cert, ca = _make_ca("rccserver test CA", now)
    ca_path = writer.cert("ca.pem", ca_cert)
    ca_key_path = writer.key("ca.key", ca.key)

    valid = {"not_before": now - CLOCK_SKEW, "not_after": now + LEAF_VALIDITY}
    expired = {"not_before": now - datetime.timedelta(days=60), "not_after": now - datetime.timedelta(days=1)}
    server_hosts = [host, *extra_hosts, "127.0.0.1", "::1"]
    server_eku = [ExtendedKeyUsageOID.SERVER_AUTH]
    client_eku = [ExtendedKeyUsageOID.CLIENT_AUTH]

    server = writer.pair("server", *_make_leaf(
        ca, common_name=host, san_hosts=server_hosts, eku=server_eku, **valid))
    client = writer.pair("client", *_make_leaf(
        ca, common_name=client_name, san_hosts=[client_name], eku=client_eku, **valid))

    made: dict[str, KeyPair] = {}
    foreign_ca_path: Path | None = None
    if variants:
        made["client-expired"] = writer.pair("client-expired", *_make_leaf(
            ca, common_name=client_name, san_hosts=[client_name], eku=client_eku, **expired))
        made["client-notyetvalid"] = writer.pair("client-notyetvalid", *_make_leaf(
            ca, common_name=client_name, san_hosts=[client_name], eku=client_eku,
            not_before=now + datetime.timedelta(days=30), not_after=now + datetime.timedelta(days=400)))
        made["client-wrongeku"] = writer.pair("client-wrongeku", *_make_leaf(
            ca, common_name=client_name, san_hosts=[client_name], eku=server_eku, **valid))
        foreign_cert, foreign = _make_ca("foreign test CA", now)
        foreign_ca_path = writer.cert("foreign-ca.pem", foreign_cert)
        made["client-foreign"] = writer.pair("client-foreign", *_make_leaf(
            foreign, common_name=client_name, san_hosts=[client_name], eku=client_eku, **valid))
        made["server-expired"] = writer.pair("server-expired", *_make_leaf(
            ca, common_name=host, san_hosts=server_hosts, eku=server_eku, **expired))

    try:
        writer.commit(overwrite)
    except OSError as error:
        raise CertsError(f"cannot write certificates into {directory}: {error.strerror or error}") from error
    return CertSet(
        directory=directory,
        ca=ca_path,
        ca_key=ca_key_path,
        server=server,
        client=client,
        variants=made,
        foreign_ca=foreign_ca_path,
    )


# ---------------------------------------------------------------------------
# Command line: `rccserver certs`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", default=DEFAULT_OUT_DIR,
                        help=f"directory for the PEM files (default: {DEFAULT_OUT_DIR})")
    parser.add_argument("--host", metavar="NAME", default=DEFAULT_HOST,
                        help=f"server name: certificate CN and first DNS SAN (default: {DEFAULT_HOST}); "
                        "the SAN also holds 127.0.0.1 and ::1")
    parser.add_argument("--extra-host", metavar="NAME", action="append", default=[], dest="extra_hosts",
                        help="another server name or IP address for the SAN (repeatable)")
    parser.add_argument("--client-name", metavar="NAME", default=DEFAULT_CLIENT_NAME,
                        help=f"client certificate CN and DNS SAN, e.g. the Lync pool FQDN "
                        f"(default: {DEFAULT_CLIENT_NAME})")
    parser.add_argument("--no-variants", action="store_false", dest="variants",
                        help="skip the expired / not-yet-valid / wrong-EKU / foreign-CA test certificates")
    parser.add_argument("--force", action="store_true",
                        help="overwrite existing files")


def run(args: argparse.Namespace) -> int:
    try:
        made = generate(
            args.out,
            host=args.host,
            extra_hosts=tuple(args.extra_hosts),
            client_name=args.client_name,
            variants=args.variants,
            overwrite=args.force,
        )
    except CertsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    paths = [made.ca, made.ca_key, *attrs.astuple(made.server), *attrs.astuple(made.client)]
    for pair in made.variants.values():
        paths.extend(attrs.astuple(pair))
    if made.foreign_ca is not None:
        paths.append(made.foreign_ca)
    for path in paths:
        print(path)
    print("test certificates only: keep ca.key private and do not use them in production",
          file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rccserver certs",
        description="Write a private test CA, server and client certificates as PEM files.",
    )
    add_arguments(parser)
    return run(parser.parse_args(None if argv is None else list(argv)))


if __name__ == "__main__":
    raise SystemExit(main())

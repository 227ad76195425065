"""A three-level chain made at test time: root CA -> issuing CA -> leaf.

rccserver.commands.certs issues leaves straight from its root; an intermediate
is what shows whether a chain is really sent and really verified. The leaf is
for 127.0.0.1 with serverAuth and clientAuth, so it serves on either side.
"""
from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rccserver.commands import certs


@attrs.frozen
class IssuedChain:
    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate
    pair: certs.KeyPair  # the leaf's PEM certificate (leaf only) and key
    root_path: Path  # the root alone, as PEM: what a peer trusts
    chain_path: Path  # leaf then intermediate, as PEM: what a peer sends


def make_ca(name: str, issuer=None, issuer_key=None, path_length=1):
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


def issue_chain(directory: Path) -> IssuedChain:
    root, root_key = make_ca("rccserver test root")
    inter, inter_key = make_ca("rccserver test issuing CA", root, root_key, path_length=0)
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
    pem = serialization.Encoding.PEM
    directory.mkdir(parents=True, exist_ok=True)
    root_path, cert_path, key_path = directory / "root.pem", directory / "leaf.pem", directory / "leaf.key"
    chain_path = directory / "chain.pem"
    root_path.write_bytes(root.public_bytes(pem))
    cert_path.write_bytes(leaf.public_bytes(pem))
    chain_path.write_bytes(leaf.public_bytes(pem) + inter.public_bytes(pem))
    key_path.write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return IssuedChain(root, inter, leaf, certs.KeyPair(cert_path, key_path), root_path, chain_path)

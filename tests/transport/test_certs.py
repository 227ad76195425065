"""rccserver.commands.certs: what each generated certificate says, file modes, the CLI."""
from __future__ import annotations

import datetime
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from rccserver.commands import certs


def load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def eku(cert: x509.Certificate) -> set:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def sans(cert: x509.Certificate) -> list[str]:
    return [str(name.value) for name in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]


def test_server_certificate_chains_to_the_ca_and_names_every_host(tmp_path):
    made = certs.generate(tmp_path, host="rcc.example.com", extra_hosts=("rcc2.example.com", "10.1.2.3"),
                          variants=False)
    server = load(made.server.certificate)
    assert eku(server) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert sans(server) == ["rcc.example.com", "rcc2.example.com", "10.1.2.3", "127.0.0.1", "::1"]
    verifier = PolicyBuilder().store(Store([load(made.ca)])).build_server_verifier(x509.DNSName("rcc2.example.com"))
    verifier.verify(server, [])
    assert made.variants == {} and made.foreign_ca is None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key"])


def test_client_certificate_is_for_client_auth_and_names_the_pool(cert_set):
    client = load(cert_set.client.certificate)
    assert eku(client) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "lyncpool.example.com"
    verifier = PolicyBuilder().store(Store([load(cert_set.ca)])).build_client_verifier()
    verifier.verify(client, [])


def test_variants_are_what_their_names_say(cert_set):
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = load(cert_set.variant("client-expired").certificate)
    assert expired.not_valid_after_utc < now
    future = load(cert_set.variant("client-notyetvalid").certificate)
    assert future.not_valid_before_utc > now
    assert eku(load(cert_set.variant("client-wrongeku").certificate)) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert load(cert_set.variant("server-expired").certificate).not_valid_after_utc < now
    foreign = load(cert_set.variant("client-foreign").certificate)
    assert foreign.issuer == load(cert_set.foreign_ca).subject != load(cert_set.ca).subject
    with pytest.raises(VerificationError):
        PolicyBuilder().store(Store([load(cert_set.ca)])).build_client_verifier().verify(foreign, [])
    with pytest.raises(KeyError, match="no certificate variant 'client-revoked'"):
        cert_set.variant("client-revoked")


def test_private_keys_are_readable_by_the_owner_only(cert_set):
    keys = sorted(cert_set.directory.glob("*.key"))
    assert len(keys) == 3 + len(certs.VARIANT_NAMES)  # ca, server, client, then one per variant
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_existing_files_are_not_overwritten_unless_asked(tmp_path):
    first = certs.generate(tmp_path, variants=False)
    before = first.ca.read_bytes()
    with pytest.raises(certs.CertsError, match="refusing to overwrite existing files: .*ca.pem"):
        certs.generate(tmp_path, variants=False)
    assert first.ca.read_bytes() == before
    first.ca_key.chmod(0o644)
    certs.generate(tmp_path, variants=False, overwrite=True)
    assert first.ca.read_bytes() != before
    assert stat.S_IMODE(first.ca_key.stat().st_mode) == 0o600


def test_cli_writes_the_files_and_reports_them(tmp_path, capsys):
    out = tmp_path / "certs"
    assert certs.main(["--out", str(out), "--host", "rcc.lab.test", "--no-variants"]) == certs.EXIT_OK
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / name) for name in
                       ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key")]
    assert sans(load(out / "server.pem"))[0] == "rcc.lab.test"
    assert certs.main(["--out", str(out)]) == certs.EXIT_FAILED
    assert "refusing to overwrite" in capsys.readouterr().err


def test_cli_reports_an_unwritable_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert certs.main(["--out", str(blocker / "sub")]) == certs.EXIT_FAILED
    assert f"cannot create {blocker / 'sub'}" in capsys.readouterr().err

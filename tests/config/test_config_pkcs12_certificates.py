"""`[line] certificate` as a PKCS#12 file with `certificate_password_file`: the
configuration accepts it without `private_key`, `rccserver check-config` finds
every certificate problem (wrong or missing password, no private key, expired,
not yet valid, no serverAuth EKU, soon expiring, readable secrets, an authority
that is no CA), and the real server serves TLS from a .pfx.

The .pfx files are made at test time from rccserver.commands.certs output; none is committed.
"""
from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from rccserver.commands import certs
from rccserver.commands.checkconfig import check_config
from rccserver.server.config import ConfigError, load_config
from testkit.testbed import write_testbed

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Exported from Lync 2026!"
ENV = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))

DATA = """
[directory]
ldif_file = "directory.ldif"
[cic]
data_file = "cic.toml"
[admin]
listen = ""
"""
LDIF = """\
dn: CN=Alice,DC=example,DC=com
sAMAccountName: alice
msRTCSIP-PrimaryUserAddress: sip:alice@example.com
msRTCSIP-Line: tel:+1001
msRTCSIP-UserEnabled: TRUE
"""
CIC = """\
[licenses]
features = ["I3_FEATURE_LYNC"]

[[users]]
id = "Alice"
nt_domain_user = 'EXAMPLE\\alice'
client_license = true

[[stations]]
name = "Desk1001"
extension = "1001"
"""


@pytest.fixture(scope="module")
def cert_set(tmp_path_factory) -> certs.CertSet:
    return certs.generate(tmp_path_factory.mktemp("certs"), host="rcc.example.com")


def make_pfx(path: Path, pair: certs.KeyPair, *, password: str | None = PASSWORD, with_key: bool = True,
             extra=()) -> Path:
    cert = x509.load_pem_x509_certificate(pair.certificate.read_bytes())
    key = serialization.load_pem_private_key(pair.private_key.read_bytes(), password=None)
    encryption = serialization.BestAvailableEncryption(password.encode()) if password \
        else serialization.NoEncryption()
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"rcc", key if with_key else None, cert,
                                                           list(extra), encryption))
    path.chmod(0o600)
    return path


def secret(path: Path, text: str = PASSWORD, mode: int = 0o600) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def deployment(tmp_path: Path, line: str) -> Path:
    (tmp_path / "directory.ldif").write_text(LDIF)
    (tmp_path / "cic.toml").write_text(CIC)
    path = tmp_path / "rccserver.toml"
    path.write_text(f'[line]\ntransport = "tls"\n{line}\n{DATA}')
    return path


def check_cli(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rccserver", "check-config", "--config", str(config)],
                          capture_output=True, text=True, env=ENV, timeout=60)


# -- the configuration file ----------------------------------------------------------------


def test_pfx_needs_no_private_key(cert_set, tmp_path):
    make_pfx(tmp_path / "server.pfx", cert_set.server)
    secret(tmp_path / "pfx.secret")
    config = load_config(deployment(tmp_path, 'certificate = "server.pfx"\n'
                                              'certificate_password_file = "pfx.secret"'))
    assert config.line.certificate == str(tmp_path / "server.pfx")
    assert config.line.certificate_password_file == str(tmp_path / "pfx.secret")
    assert config.line.private_key is None


@pytest.mark.parametrize("line, key, message", [
    ('certificate = "server.pfx"\nprivate_key = "server.key"', "line.private_key", "not used with a PKCS#12"),
    ('certificate = "server.pem"\nprivate_key = "server.key"\ncertificate_password_file = "pfx.secret"',
     "line.certificate_password_file", "only used with a PKCS#12"),
    ('certificate = "server.pfx"\ncertificate_password_file = "nope.secret"',
     "line.certificate_password_file", "file not found"),
])
def test_contradictions_name_file_line_and_key(cert_set, tmp_path, line, key, message):
    make_pfx(tmp_path / "server.pfx", cert_set.server)
    (tmp_path / "server.pem").write_bytes(cert_set.server.certificate.read_bytes())
    (tmp_path / "server.key").write_bytes(cert_set.server.private_key.read_bytes())
    secret(tmp_path / "pfx.secret")
    path = deployment(tmp_path, line)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key and message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:")


# -- check-config --------------------------------------------------------------------------


def test_good_pfx_is_valid_without_warnings(cert_set, tmp_path):
    make_pfx(tmp_path / "server.pfx", cert_set.server, extra=[x509.load_pem_x509_certificate(
        cert_set.ca.read_bytes())])
    secret(tmp_path / "pfx.secret")
    config = deployment(tmp_path, 'certificate = "server.pfx"\ncertificate_password_file = "pfx.secret"')
    result = check_config(config)
    assert (result.errors, result.warnings) == ([], [])
    done = check_cli(config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "configuration valid (0 warning(s))" in done.stdout


def _problem_deployment(kind: str, cert_set, tmp_path) -> Path:
    line = 'certificate = "server.pfx"\ncertificate_password_file = "pfx.secret"'
    secret(tmp_path / "pfx.secret")
    if kind == "wrong password":
        make_pfx(tmp_path / "server.pfx", cert_set.server, password="something else")
    elif kind == "no password file":
        make_pfx(tmp_path / "server.pfx", cert_set.server)
        line = 'certificate = "server.pfx"'
    elif kind == "no private key":
        make_pfx(tmp_path / "server.pfx", cert_set.server, with_key=False)
    elif kind == "expired":
        make_pfx(tmp_path / "server.pfx", cert_set.variant("server-expired"))
    elif kind == "no serverAuth":
        make_pfx(tmp_path / "server.pfx", cert_set.client)
    elif kind == "not pkcs12":
        (tmp_path / "server.pfx").write_bytes(cert_set.server.certificate.read_bytes())
    else:
        raise AssertionError(kind)
    return deployment(tmp_path, line)


@pytest.mark.parametrize("kind, expected", [
    ("wrong password", "server.pfx: wrong password for the PKCS#12 file"),
    ("no password file", "server.pfx: the PKCS#12 file is password-protected"),
    ("no private key", "server.pfx: the PKCS#12 file holds no private key"),
    ("expired", "server.pfx: the certificate (CN=rcc.example.com,O=rccserver test) expired on"),
    ("no serverAuth", "lacks the serverAuth extended key usage"),
    ("not pkcs12", "server.pfx: a PEM file, not PKCS#12"),
])
def test_check_config_reports_each_certificate_problem(cert_set, tmp_path, kind, expected):
    config = _problem_deployment(kind, cert_set, tmp_path)
    result = check_config(config)
    assert not result.valid
    assert len(result.errors) == 1 and expected in result.errors[0], result.errors
    assert result.errors[0].startswith(f"{config}: line")
    done = check_cli(config)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stdout and "invalid" in done.stdout


def test_not_yet_valid_and_soon_expiring_follow_the_clock(cert_set, tmp_path):
    make_pfx(tmp_path / "server.pfx", cert_set.server)
    secret(tmp_path / "pfx.secret")
    config = deployment(tmp_path, 'certificate = "server.pfx"\ncertificate_password_file = "pfx.secret"')
    leaf = x509.load_pem_x509_certificate(cert_set.server.certificate.read_bytes())
    early = check_config(config, now=leaf.not_valid_before_utc - datetime.timedelta(days=1))
    assert len(early.errors) == 1 and "is not valid before" in early.errors[0]
    late = check_config(config, now=leaf.not_valid_after_utc - datetime.timedelta(days=10))
    assert late.valid
    assert any("the certificate expires in 9 day(s)" in w or "the certificate expires in 10 day(s)" in w
               for w in late.warnings), late.warnings
    assert check_config(config, now=leaf.not_valid_after_utc - datetime.timedelta(days=31)).warnings == []


def test_secrets_readable_by_everyone_are_warnings(cert_set, tmp_path):
    make_pfx(tmp_path / "server.pfx", cert_set.server).chmod(0o644)
    secret(tmp_path / "pfx.secret", mode=0o644)
    config = deployment(tmp_path, 'certificate = "server.pfx"\ncertificate_password_file = "pfx.secret"')
    result = check_config(config)
    assert result.valid
    flagged = sorted(w.split(": ")[1] for w in result.warnings if "readable by every local user" in w)
    assert flagged == ["line.certificate", "line.certificate_password_file"]


def test_pem_key_readable_by_everyone_is_a_warning(cert_set, tmp_path):
    (tmp_path / "server.pem").write_bytes(cert_set.server.certificate.read_bytes())
    key = tmp_path / "server.key"
    key.write_bytes(cert_set.server.private_key.read_bytes())
    key.chmod(0o644)
    result = check_config(deployment(tmp_path, 'certificate = "server.pem"\nprivate_key = "server.key"'))
    assert result.valid and any("line.private_key" in w and "chmod 600" in w for w in result.warnings)


def test_authority_that_is_no_ca_is_a_warning(cert_set, tmp_path):
    make_pfx(tmp_path / "server.pfx", cert_set.server)
    secret(tmp_path / "pfx.secret")
    config = deployment(tmp_path, 'certificate = "server.pfx"\ncertificate_password_file = "pfx.secret"\n'
                                  f'mutual_tls = true\nauthority_certificates = ["{cert_set.client.certificate}"]')
    result = check_config(config)
    assert any("is not a CA certificate" in w for w in result.warnings), result.warnings


# -- the real server -----------------------------------------------------------------------


def _probe_tls(server, cert_set) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rccserver", "probe", "--as", "sip:alice@example.com", "--line", "tel:+1001",
         "--target", f"127.0.0.1:{server.sip_port}", "--tls", "--ca", str(cert_set.ca), "--timeout", "10"],
        capture_output=True, text=True, env=ENV, timeout=60,
    )


@pytest.mark.parametrize("protected", [False, True], ids=["pfx-without-password", "pfx-with-password-file"])
def test_server_serves_tls_from_a_pfx(cert_set, tmp_path, protected):
    # The protected case needs listener_from_line to pass certificate_password_file (see the report).
    password = PASSWORD if protected else None
    make_pfx(tmp_path / "server.pfx", cert_set.server, password=password)
    line = 'transport = "tls"\ncertificate = "server.pfx"'
    if protected:
        secret(tmp_path / "pfx.secret")
        line += '\ncertificate_password_file = "pfx.secret"'
    server = write_testbed(tmp_path, line_extra=line)
    server.start()
    try:
        done = _probe_tls(server, cert_set)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "verdict: OK" in done.stdout
    finally:
        assert server.stop() == 0


def test_run_with_a_bad_pfx_exits_2_with_the_reason(cert_set, tmp_path):
    # SPEC section 2: a configuration error is exit 2 with a message, not a traceback.
    make_pfx(tmp_path / "server.pfx", cert_set.variant("server-expired"))
    secret(tmp_path / "pfx.secret")
    server = write_testbed(tmp_path, line_extra='transport = "tls"\ncertificate = "server.pfx"\n'
                                                'certificate_password_file = "pfx.secret"')
    done = subprocess.run([sys.executable, "-m", "rccserver", "run", "--config", str(server.config_path)],
                          capture_output=True, text=True, env=ENV, timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "server.pfx: the certificate" in done.stderr and "expired on" in done.stderr
    assert "Traceback" not in done.stderr

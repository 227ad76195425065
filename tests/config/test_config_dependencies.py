"""Keys that depend on each other (TLS files, mutual TLS, session timers, LDAP), and relative paths
(SPEC section 3)."""
from __future__ import annotations

import os

import pytest

from rccserver.commands import certs
from rccserver.server.config import ConfigError, load_config


@pytest.fixture(scope="module")
def cert_set(tmp_path_factory):
    return certs.generate(tmp_path_factory.mktemp("conf-certs"), host="rcc.example.com", variants=False)


def load(tmp_path, text: str, name: str = "rccserver.toml"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return load_config(path)


def error_of(tmp_path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value


def line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def test_relative_paths_resolve_against_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    config = load(tmp_path, """
[server]
log_file = "logs/rcc.log"
pid_file = "/run/rcc.pid"
[directory]
ldif_file = "../ad/directory.ldif"
password_file = "secrets/ldap.secret"
ca_file = "~/ca.pem"
[cic]
data_file = "cic/data.toml"
""", name="etc/rccserver.toml")
    etc = tmp_path / "etc"
    assert config.server.log_file == str(etc / "logs/rcc.log")
    assert config.server.pid_file == "/run/rcc.pid"
    assert config.directory.ldif_file == str(etc / "../ad/directory.ldif")
    assert config.directory.password_file == str(etc / "secrets/ldap.secret")
    assert config.directory.ca_file == os.path.expanduser("~/ca.pem")
    assert config.cic.data_file == str(etc / "cic/data.toml")
    assert config.path == str(etc / "rccserver.toml")


def test_tls_paths_resolve_too(tmp_path, cert_set):
    (tmp_path / "certs").mkdir()
    for source, name in ((cert_set.server.certificate, "server.pem"), (cert_set.server.private_key, "server.key"),
                         (cert_set.ca, "ca.pem")):
        (tmp_path / "certs" / name).write_bytes(source.read_bytes())
    config = load(tmp_path, """
[line]
transport = "tls"
mutual_tls = true
certificate = "certs/server.pem"
private_key = "certs/server.key"
authority_certificates = ["certs/ca.pem"]
""")
    assert config.line.certificate == str(tmp_path / "certs/server.pem")
    assert config.line.private_key == str(tmp_path / "certs/server.key")
    assert config.line.authority_certificates == (str(tmp_path / "certs/ca.pem"),)
    assert config.line.mutual_tls is True


@pytest.mark.parametrize("missing", ["certificate", "private_key"])
def test_tls_needs_certificate_and_key(tmp_path, cert_set, missing):
    keys = {"certificate": cert_set.server.certificate, "private_key": cert_set.server.private_key}
    del keys[missing]
    text = '[line]\ntransport = "tls"\n' + "".join(f'{k} = "{v}"\n' for k, v in keys.items())
    error = error_of(tmp_path, text)
    assert error.key == f"line.{missing}"
    assert 'required when transport = "tls"' in error.message
    assert error.line == 1  # the [line] table: the key is absent


@pytest.mark.parametrize("key", ["certificate", "private_key", "authority_certificates"])
def test_tls_files_must_exist(tmp_path, cert_set, key):
    files = {"certificate": f'"{cert_set.server.certificate}"', "private_key": f'"{cert_set.server.private_key}"',
             "authority_certificates": f'["{cert_set.ca}"]'}
    # an authority certificate is missing among others that exist
    files[key] = f'["{cert_set.ca}", "nope"]' if key == "authority_certificates" else '"nope"'
    text = '[line]\ntransport = "tls"\n' + "".join(f"{k} = {v}\n" for k, v in files.items())
    error = error_of(tmp_path, text)
    assert error.key == f"line.{key}"
    assert error.line == line_of(text, f"{key} =")
    assert "not found" in error.message and str(tmp_path / "nope") in error.message


def test_tcp_ignores_tls_keys(tmp_path):
    config = load(tmp_path, '[line]\ntransport = "tcp"\ncertificate = "nope.pem"\n')
    assert config.line.certificate == str(tmp_path / "nope.pem")


def test_mutual_tls_needs_tls(tmp_path):
    text = '[line]\ntransport = "tcp"\nmutual_tls = true\n'
    error = error_of(tmp_path, text)
    assert error.key == "line.mutual_tls" and error.line == 3 and "tls" in error.message


def test_mutual_tls_needs_a_ca(tmp_path, cert_set):
    text = (f'[line]\ntransport = "tls"\nmutual_tls = true\ncertificate = "{cert_set.server.certificate}"\n'
            f'private_key = "{cert_set.server.private_key}"\n')
    error = error_of(tmp_path, text)
    assert error.key == "line.authority_certificates" and "at least one CA" in error.message
    assert error.line == 1  # absent: located at its table


def test_min_se_not_above_session_expires(tmp_path):
    text = "[line]\nsession_expires = 120\nmin_se = 300\n"
    error = error_of(tmp_path, text)
    assert error.key == "line.min_se" and error.line == 3
    assert error.message == "must not exceed line.session_expires (120)"


LDAP = """[directory]
source = "ldap"
url = "ldaps://dc.example.com"
bind_dn = "CN=svc-rcc,CN=Users,DC=example,DC=com"
password_file = "ldap.secret"
search_dn = "CN=Users,DC=example,DC=com"
page_size = 500
start_tls = false
ca_file = "ca.pem"
timeout = 10
"""


def test_ldap_source_with_its_keys(tmp_path):
    directory = load(tmp_path, LDAP).directory
    assert (directory.source, directory.url, directory.search_dn) == (
        "ldap", "ldaps://dc.example.com", "CN=Users,DC=example,DC=com")
    assert (directory.bind_dn, directory.page_size, directory.start_tls, directory.timeout) == (
        "CN=svc-rcc,CN=Users,DC=example,DC=com", 500, False, 10.0)
    # The password and CA files are read when loading the directory, not here: they need not exist yet.
    assert directory.password_file == str(tmp_path / "ldap.secret")
    assert directory.ca_file == str(tmp_path / "ca.pem")
    assert directory.search_filter == "(msRTCSIP-PrimaryUserAddress=*)"
    plain = load(tmp_path, LDAP.replace("ldaps://dc.example.com", "ldap://dc.example.com:389")).directory
    assert plain.url == "ldap://dc.example.com:389"


@pytest.mark.parametrize("key", ["url", "search_dn"])
def test_ldap_source_needs_url_and_search_dn(tmp_path, key):
    text = "\n".join(line for line in LDAP.splitlines() if not line.startswith(f"{key} ="))
    error = error_of(tmp_path, text)
    assert error.key == f"directory.{key}"
    assert 'required when source = "ldap"' in error.message
    assert error.line == 1


def test_bind_dn_needs_a_password_file(tmp_path):
    text = "\n".join(line for line in LDAP.splitlines() if not line.startswith("password_file"))
    error = error_of(tmp_path, text)
    assert error.key == "directory.password_file" and "required with directory.bind_dn" in error.message
    assert error.line == 1


def test_anonymous_ldap_is_allowed(tmp_path):
    text = "\n".join(line for line in LDAP.splitlines() if not line.startswith(("password_file", "bind_dn")))
    assert load(tmp_path, text).directory.bind_dn is None


def test_ldap_url_scheme(tmp_path):
    text = LDAP.replace("ldaps://dc", "http://dc")
    error = error_of(tmp_path, text)
    assert error.key == "directory.url" and error.line == 3 and "ldap://" in error.message


def test_ldif_source_ignores_ldap_keys(tmp_path):
    config = load(tmp_path, '[directory]\nsource = "ldif"\nurl = "not checked"\n')
    assert config.directory.source == "ldif"

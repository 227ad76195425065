"""[stations_line] (SPEC section 9): absent means no SIP stations; present, its keys and
the checks between them and [line], each error with file, line and key.

Per-key type and range errors are in test_config_file.py (BAD_VALUES, ALL_KEYS)."""
from __future__ import annotations

import pytest

from rccserver.commands import certs
from rccserver.commands.checkconfig import check_config
from rccserver.server.config import ConfigError, StationsLineConfig, load_config, read_config


@pytest.fixture(scope="module")
def cert_set(tmp_path_factory):
    return certs.generate(tmp_path_factory.mktemp("stations-certs"), host="rcc.example.com", variants=False)


def load(tmp_path, text: str):
    path = tmp_path / "rccserver.toml"
    path.write_text(text)
    return load_config(path)


def error_of(tmp_path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value


def line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def test_without_the_table_there_are_no_sip_stations(tmp_path):
    assert load(tmp_path, '[line]\ndomain_name = "rcc.example.com"\n').stations_line is None
    assert load(tmp_path, "").stations_line is None


def test_an_empty_table_gives_the_spec_defaults(tmp_path):
    config = load(tmp_path, '[line]\ndomain_name = "pbx.example.com"\n\n[stations_line]\n')
    assert config.stations_line == StationsLineConfig(
        address="0.0.0.0", port=5060, transports=("udp", "tcp"), tls_port=5061,
        realm="pbx.example.com",  # [line] domain_name
        min_expires=60, max_expires=3600, access="granted", access_exceptions=(),
        max_connections_per_source=64, idle_timeout=3600.0, header_timeout=30.0)


def test_every_key_is_read(tmp_path):
    config = load(tmp_path, """
[stations_line]
address = "127.0.0.1"
port = 5070
transports = ["tcp"]
tls_port = 5071
realm = "phones.example.com"
min_expires = 30
max_expires = 600
access = "denied"
access_exceptions = ["10.20.0.0/16"]
max_connections_per_source = 4
idle_timeout = 900
header_timeout = 10
""")
    assert config.stations_line == StationsLineConfig(
        address="127.0.0.1", port=5070, transports=("tcp",), tls_port=5071, realm="phones.example.com",
        min_expires=30, max_expires=600, access="denied", access_exceptions=("10.20.0.0/16",),
        max_connections_per_source=4, idle_timeout=900.0, header_timeout=10.0)


def test_min_expires_not_above_max_expires(tmp_path):
    text = "[stations_line]\nmin_expires = 700\nmax_expires = 600\n"
    error = error_of(tmp_path, text)
    assert (error.key, error.line) == ("stations_line.min_expires", 2)
    assert "must not exceed stations_line.max_expires (600)" in error.message


def test_tls_needs_the_line_certificate(tmp_path):
    text = '[line]\ntransport = "tcp"\n\n[stations_line]\ntransports = ["udp", "tls"]\n'
    (tmp_path / "rccserver.toml").write_text(text)
    reading = read_config(tmp_path / "rccserver.toml")
    assert [(error.key, error.line) for error in reading.errors] == [
        ("stations_line.transports", 5), ("stations_line.transports", 5)]
    assert '"tls" needs [line] certificate' in reading.errors[0].message
    assert '"tls" needs [line] private_key' in reading.errors[1].message


def test_tls_with_the_line_certificate(tmp_path, cert_set):
    config = load(tmp_path, f"""
[line]
transport = "tcp"
certificate = "{cert_set.server.certificate}"
private_key = "{cert_set.server.private_key}"

[stations_line]
transports = ["tls"]
""")
    assert config.stations_line.transports == ("tls",)
    assert config.line.certificate == str(cert_set.server.certificate)


def test_a_missing_line_certificate_file_is_an_error_for_stations_tls(tmp_path):
    text = '[line]\ncertificate = "nope.pem"\nprivate_key = "nope.key"\n\n[stations_line]\ntransports = ["tls"]\n'
    error = error_of(tmp_path, text)
    assert (error.key, error.line) == ("line.certificate", 2)
    assert "file not found" in error.message


def test_tls_port_must_differ_from_the_tcp_port(tmp_path):
    text = '[line]\ncertificate = "c.pem"\nprivate_key = "k.pem"\n\n' \
           '[stations_line]\ntransports = ["tcp", "tls"]\nport = 5070\ntls_port = 5070\n'
    (tmp_path / "c.pem").write_text("")
    (tmp_path / "k.pem").write_text("")
    error = error_of(tmp_path, text)
    assert (error.key, error.line) == ("stations_line.tls_port", line_of(text, "tls_port"))
    assert "must differ from stations_line.port (5070)" in error.message


@pytest.mark.parametrize("stations, collides", [
    ('address = "0.0.0.0"\nport = 11001', True),
    ('address = "127.0.0.1"\nport = 11001\ntransports = ["tcp"]', True),
    ('address = "127.0.0.2"\nport = 11001', False),  # another address of the machine
    ('port = 11001\ntransports = ["udp"]', False),  # UDP next to the RCC line's TCP is fine
    ('port = 0', False),
])
def test_the_stations_line_cannot_take_the_rcc_lines_port(tmp_path, stations, collides):
    text = f'[line]\naddress = "127.0.0.1"\nreceive_port = 11001\n\n[stations_line]\n{stations}\n'
    if not collides:
        assert load(tmp_path, text).stations_line is not None
        return
    error = error_of(tmp_path, text)
    assert (error.key, error.line) == ("stations_line.port", line_of(text, "port ="))
    assert "the RCC line's port" in error.message


def test_read_config_keeps_the_valid_stations_keys(tmp_path):
    text = '[line]\ndomain_name = "bad name"\n\n[stations_line]\nport = 5070\nmin_expires = 0\n'
    (tmp_path / "rccserver.toml").write_text(text)
    reading = read_config(tmp_path / "rccserver.toml")
    assert [error.key for error in reading.errors] == ["line.domain_name", "stations_line.min_expires"]
    assert reading.value("stations_line.port") == 5070
    assert not reading.known("stations_line.realm")  # its default, domain_name, is wrong
    assert reading.has_stations_line


def test_check_config_checks_the_certificate_for_stations_tls(tmp_path, cert_set):
    # [line] is TCP, so only the stations line's TLS asks for the certificate to be checked.
    (tmp_path / "cic.toml").write_text('[licenses]\nfeatures = ["I3_FEATURE_LYNC"]\n')
    (tmp_path / "directory.ldif").write_text("")
    text = f'[line]\ncertificate = "{cert_set.client.certificate}"\nprivate_key = "{cert_set.client.private_key}"\n' \
           f'\n[stations_line]\ntransports = ["tls"]\n'
    (tmp_path / "rccserver.toml").write_text(text)
    result = check_config(tmp_path / "rccserver.toml")
    assert not result.valid
    assert any("line.certificate" in error and "serverAuth" in error for error in result.errors), result.errors

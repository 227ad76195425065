"""The configuration file (SPEC section 3): every key is read and checked, defaults apply,
and every error names the file, the line and the key.

Keys that depend on each other (TLS files, LDAP settings) and relative paths are in
test_config_dependencies.py; PKCS#12 certificates in test_config_pkcs12_certificates.py.
"""
from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from rccserver.server.config import (
    DEFAULT_CONFIG_PATH, OPTIONAL_PATH, PATH, SCHEMA, Config, ConfigError, load_config, read_config,
)

FULL = """\
# a complete configuration
[server]
log_file = "logs/rccserver.log"
pid_file = "/run/rccserver.pid"
log_level = "debug"
log_max_bytes = 2048
log_backups = 2
log_format = "json"

[line]
domain_name = "rcc.example.com"
transport = "tcp"
address = "127.0.0.1"
receive_port = 5061
session_timeout = 120
session_expires = 900
min_se = 120
access = "denied"
access_exceptions = ["10.0.0.0/8", "::1"]
max_connections_per_source = 8
idle_timeout = 600
header_timeout = 5.5

[directory]
source = "ldif"
ldif_file = "ad/export.ldif"
netbios_domain = "CORP"

[cic]
data_file = "cic-data.toml"

[switch]
kind = "embedded"
auto_answer_after = 2.5
ring_interval = 4

[admin]
listen = "[::1]:8011"
"""


# A minimal file with every table: the per-key tests put one key into it.
BASE = """\
# a comment line
[server]
log_file = "rccserver.log"

[line]
domain_name = "rcc.example.com"
transport = "tcp"

[directory]
source = "ldif"

[cic]
data_file = "cic.toml"

[switch]
kind = "embedded"

[admin]
listen = "127.0.0.1:8011"

[state]
backend = "sqlite"

[stations_line]
port = 5070

[dialplan]
country_code = "1"

[trunk]
peer = "sip:127.0.0.1:5080;transport=tcp"
"""


def write(tmp_path: Path, text: str, name: str = "rccserver.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def located_error(tmp_path: Path, text: str) -> ConfigError:
    """The ConfigError for `text`; it names the file, and str() reads `file:line: key: message`."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.file == str(path)
    if error.key:
        assert str(error).startswith(f"{path}:{error.line}: {error.key}: ")
    return error


def line_of(text: str, fragment: str) -> int:
    """1-based number of the first line of `text` that starts with `fragment`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(fragment))


def with_key(table: str, key: str, value: str, base: str = BASE) -> str:
    """The base file with `key = value` in [table]: replacing the key's line, else first in the table."""
    header = f"[{table}]\n"
    assert header in base
    start = base.index(header) + len(header)
    end = base.find("\n[", start)
    body = base[start:] if end < 0 else base[start:end]
    lines = [line for line in body.splitlines(keepends=True) if not line.startswith(f"{key} = ")]
    body = f"{key} = {value}\n" + "".join(lines)
    return base[:start] + body + ("" if end < 0 else base[end:])


def test_every_key_is_read(tmp_path):
    config = load_config(write(tmp_path, FULL))
    assert isinstance(config, Config)
    assert config.path == str(tmp_path / "rccserver.toml")
    assert config.server.log_file == str(tmp_path / "logs" / "rccserver.log")  # relative to the file
    assert config.server.pid_file == "/run/rccserver.pid"  # absolute stays
    assert (config.server.log_level, config.server.log_max_bytes, config.server.log_backups,
            config.server.log_format) == ("debug", 2048, 2, "json")
    line = config.line
    assert (line.domain_name, line.transport, line.address, line.receive_port) == (
        "rcc.example.com", "tcp", "127.0.0.1", 5061)
    assert (line.session_timeout, line.session_expires, line.min_se) == (120, 900, 120)
    assert (line.access, line.access_exceptions) == ("denied", ("10.0.0.0/8", "::1"))
    assert (line.max_connections_per_source, line.idle_timeout, line.header_timeout) == (8, 600.0, 5.5)
    assert config.directory.ldif_file == str(tmp_path / "ad" / "export.ldif")
    assert config.directory.netbios_domain == "CORP"
    assert config.cic.data_file == str(tmp_path / "cic-data.toml")
    assert (config.switch.kind, config.switch.auto_answer_after, config.switch.ring_interval) == (
        "embedded", 2.5, 4.0)
    assert config.admin.listen == "[::1]:8011"


def test_empty_file_gives_the_defaults(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert config.server.log_file == str(tmp_path / "rccserver.log")
    assert config.server.pid_file == str(tmp_path / "rccserver.pid")
    assert (config.server.log_level, config.server.log_max_bytes, config.server.log_backups,
            config.server.log_format) == ("info", 10_000_000, 5, "text")
    line = config.line
    assert (line.transport, line.address, line.receive_port, line.session_timeout) == ("tcp", "0.0.0.0", 11001, 60)
    assert (line.session_expires, line.min_se, line.mutual_tls) == (1800, 90, False)
    assert (line.certificate, line.private_key, line.authority_certificates) == (None, None, ())
    assert line.certificate_password_file is None
    assert (line.access, line.access_exceptions) == ("granted", ())
    assert (line.max_connections_per_source, line.idle_timeout, line.header_timeout) == (64, 3600.0, 30.0)
    directory = config.directory
    assert (directory.source, directory.ldif_file) == ("ldif", str(tmp_path / "directory.ldif"))
    assert directory.netbios_domain == "EXAMPLE"
    assert directory.search_filter == "(msRTCSIP-PrimaryUserAddress=*)"
    assert (directory.page_size, directory.start_tls, directory.ca_file, directory.timeout) == (1000, False, None, 30.0)
    assert config.cic.data_file == str(tmp_path / "cic.toml")
    assert (config.switch.kind, config.switch.auto_answer_after, config.switch.ring_interval) == (
        "embedded", 0.0, 6.0)
    assert config.admin.listen == "127.0.0.1:8011"


def test_values_are_frozen(tmp_path):
    config = load_config(write(tmp_path, FULL))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.line.session_timeout = 5


def test_the_bundled_demo_configuration():
    assert Path(DEFAULT_CONFIG_PATH).is_file()
    config = load_config(DEFAULT_CONFIG_PATH)
    data = Path(DEFAULT_CONFIG_PATH).parent
    assert (config.line.transport, config.line.address, config.line.receive_port) == ("tcp", "0.0.0.0", 11001)
    assert (config.line.domain_name, config.line.session_timeout) == ("rcc.example.com", 60)
    assert config.directory.source == "ldif"
    assert Path(config.directory.ldif_file) == data / "directory.ldif"
    assert Path(config.cic.data_file) == data / "cic.toml"
    assert config.admin.listen == "127.0.0.1:8011"
    assert config.switch.auto_answer_after == 0
    assert Path(config.server.log_file).name == "rccserver.log"
    assert Path(config.server.pid_file).name == "rccserver.pid"


def test_str_reads_file_line_key_message(tmp_path):
    text = FULL.replace("session_timeout = 120", "session_timeout = 1500")
    error = located_error(tmp_path, text)
    number = line_of(text, "session_timeout")
    assert str(error) == f"{tmp_path / 'rccserver.toml'}:{number}: line.session_timeout: must be below 1200 (got 1500)"
    assert (error.line, error.key, error.message) == (number, "line.session_timeout", "must be below 1200 (got 1500)")


# Wrong types: each kind of key with a value of another kind, and what the message says it must be.
WRONG_TYPE = {str: ("12", "must be a string"), int: ('"12"', "must be an integer"),
              float: ('"fast"', "must be a number"), bool: ('"yes"', "must be true or false"),
              PATH: ("3", "must be a path string"), OPTIONAL_PATH: ("3", "must be a path string")}


def _wrong(kind) -> tuple[str, str]:
    if isinstance(kind, list):  # [PATH]: an item is no string; [str]: no list at all
        return ("[1, 2]", "must be a path string") if kind[0] is PATH else ('"x"', "must be a list of strings")
    return WRONG_TYPE[kind]


ALL_KEYS = [(table, key, kind) for table, keys in SCHEMA.items() for key, (kind, _, _) in keys.items()]


@pytest.mark.parametrize("table, key, kind", ALL_KEYS, ids=[f"{t}.{k}" for t, k, _ in ALL_KEYS])
def test_every_key_rejects_the_wrong_type_with_file_line_and_key(tmp_path, table, key, kind):
    value, words = _wrong(kind)
    text = with_key(table, key, value)
    error = located_error(tmp_path, text)
    assert error.key.startswith(f"{table}.{key}")  # a list item: line.authority_certificates[0]
    assert error.line == line_of(text, f"{key} = ")
    assert words in error.message


BAD_VALUES = [
    ("server", "log_file", '""', "must not be empty"),
    ("server", "log_level", '"verbose"', "must be one of"),
    ("server", "log_max_bytes", "100", "at least 1024"),
    ("server", "log_backups", "-1", "at least 0"),
    ("server", "log_format", '"xml"', "must be one of 'text', 'json'"),
    ("line", "domain_name", '"rcc example.com"', "host name"),
    ("line", "domain_name", '"bad\\"quote"', "host name"),
    ("line", "transport", '"udp"', "must be one of 'tcp', 'tls'"),
    ("line", "address", '"rcc.example.com"', "IP address"),
    ("line", "receive_port", "70000", "port number"),
    ("line", "receive_port", "-1", "port number"),
    ("line", "receive_port", "true", "an integer"),  # a bool is no integer here
    ("line", "session_timeout", "1200", "below 1200"),
    ("line", "session_timeout", "-5", "at least 0"),
    ("line", "session_timeout", "60.5", "an integer"),  # a float is not truncated
    ("line", "session_expires", "89", "at least 90"),
    ("line", "min_se", "30", "at least 90"),
    ("line", "access", '"maybe"', "must be one of 'granted', 'denied'"),
    ("line", "access_exceptions", '["10.0.0.0/8", "10.1.2.300"]', "entry 1 '10.1.2.300'"),
    ("line", "max_connections_per_source", "0", "at least 1"),
    ("line", "idle_timeout", "0.5", "at least 1"),
    ("line", "header_timeout", "0", "at least 1"),
    ("directory", "source", '"ad"', "must be one of 'ldif', 'ldap'"),
    ("directory", "netbios_domain", '"  "', "must not be empty"),
    ("directory", "search_filter", '""', "must not be empty"),
    ("directory", "page_size", "0", "at least 1"),
    ("directory", "timeout", "0", "at least 1"),
    ("cic", "data_file", '""', "must not be empty"),
    ("switch", "kind", '"cisco"', "must be one of 'embedded'"),
    ("switch", "auto_answer_after", "-1", "at least 0"),
    ("switch", "ring_interval", "0", "at least 0.1"),
    ("admin", "listen", '"8011"', "HOST:PORT"),
    ("admin", "listen", '"127.0.0.1:99999"', "HOST:PORT"),
    ("admin", "listen", '"::1:8011"', "brackets"),
    ("admin", "listen", '"[::1:8011"', "IPv6"),
    ("admin", "listen", '"example.com:8011"', "not an IP address"),
    ("stations_line", "address", '"pbx.example.com"', "IP address"),
    ("stations_line", "port", "65536", "port number"),
    ("stations_line", "transports", '["udp", "sctp"]', "entry 1 'sctp' is not one of"),
    ("stations_line", "transports", '["tcp", "tcp"]', "entry 1 'tcp' is listed twice"),
    ("stations_line", "transports", "[]", "at least one"),
    ("stations_line", "tls_port", "-1", "port number"),
    ("stations_line", "realm", '""', "must not be empty"),
    ("stations_line", "realm", '"a\\"b"', "quotes"),
    ("stations_line", "min_expires", "0", "at least 1"),
    ("stations_line", "max_expires", "0", "at least 1"),
    ("stations_line", "access", '"open"', "must be one of 'granted', 'denied'"),
    ("stations_line", "access_exceptions", '["192.0.2.0/33"]', "entry 0"),
    ("stations_line", "max_connections_per_source", "0", "at least 1"),
    ("stations_line", "idle_timeout", "0", "at least 1"),
    ("stations_line", "header_timeout", "0", "at least 1"),
]


@pytest.mark.parametrize("table, key, value, words", BAD_VALUES, ids=[f"{t}.{k}={v}" for t, k, v, _ in BAD_VALUES])
def test_bad_values_are_refused_with_file_line_and_key(tmp_path, table, key, value, words):
    text = with_key(table, key, value)
    error = located_error(tmp_path, text)
    assert error.key == f"{table}.{key}"
    assert error.line == line_of(text, f"{key} = ")
    assert words in error.message


GOOD_VALUES = [
    ("line", "session_timeout", "0", 0),  # 0 disables keep-alives
    ("line", "session_timeout", "1199", 1199),
    ("line", "receive_port", "0", 0),
    ("line", "address", '"::"', "::"),
    ("line", "domain_name", '"10.1.2.3"', "10.1.2.3"),
    ("line", "access_exceptions", '["10.0.0.0/8", "192.168.1.7", "fd00::/8"]',
     ("10.0.0.0/8", "192.168.1.7", "fd00::/8")),
    ("line", "idle_timeout", "5", 5.0),
    ("admin", "listen", '""', ""),
    ("admin", "listen", '"[::1]:8011"', "[::1]:8011"),
    ("admin", "listen", '"localhost:8011"', "localhost:8011"),
    ("stations_line", "transports", '["tcp"]', ("tcp",)),
    ("stations_line", "realm", '"phones.example.com"', "phones.example.com"),
    ("stations_line", "port", "0", 0),
]


@pytest.mark.parametrize("table, key, value, expected", GOOD_VALUES, ids=[f"{t}.{k}={v}" for t, k, v, _ in GOOD_VALUES])
def test_good_values_are_taken(tmp_path, table, key, value, expected):
    got = getattr(getattr(load_config(write(tmp_path, with_key(table, key, value))), table), key)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("table, key, known", [("line", "recieve_port", "receive_port"),
                                               ("server", "log_rotate", "log_backups")])
def test_unknown_key_is_located(tmp_path, table, key, known):
    text = with_key(table, key, "1")
    error = located_error(tmp_path, text)
    assert error.key == f"{table}.{key}"
    assert error.line == line_of(text, f"{key} = ")
    assert "unknown key" in error.message and known in error.message  # the known keys are listed


def test_unknown_table_is_located(tmp_path):
    text = BASE + "\n[lines]\nx = 1\n"
    error = located_error(tmp_path, text)
    assert error.key == "lines"
    assert error.line == line_of(text, "[lines]")
    assert "unknown table [lines]" in error.message


def test_a_key_that_should_be_a_table(tmp_path):
    error = located_error(tmp_path, 'admin = "127.0.0.1:8011"\n')
    assert (error.key, error.line, error.message) == ("admin", 1, "must be a table")


def test_a_key_outside_any_table(tmp_path):
    error = located_error(tmp_path, 'receive_port = 11001\n' + BASE)
    assert error.key == "receive_port" and error.line == 1


@pytest.mark.parametrize("broken, line", [
    ('transport = "tcp', 7),
    ("transport = tcp", 7),
    ('transport = "tcp"\ntransport = "tls"', 8),
    ("[line", 5),
])
def test_toml_syntax_errors_have_a_line(tmp_path, broken, line):
    original = '[line]' if broken.startswith("[") else 'transport = "tcp"'
    error = located_error(tmp_path, BASE.replace(original, broken, 1))
    assert error.line == line
    assert error.key is None
    assert error.message.startswith("TOML syntax error")
    assert "(at line" not in error.message  # the line is ours to print, once


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.toml")
    assert str(caught.value) == f"{tmp_path / 'nope.toml'}: file not found"


def test_not_utf8(tmp_path):
    path = tmp_path / "rccserver.toml"
    path.write_bytes(b'[line]\ndomain_name = "r\xe9c"\n')
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(path)


def test_dotted_keys_are_located(tmp_path):
    # TOML's dotted keys: `line.transport = ...` at the top level is [line] transport.
    error = located_error(tmp_path, '# top\nline.transport = "udp"\n')
    assert (error.key, error.line) == ("line.transport", 2)
    # Inside [server] the same text is server.line.transport: an unknown key, at its own line.
    error = located_error(tmp_path, '[server]\nlog_level = "info"\n\nline . "transport" = "udp"\n')
    assert (error.key, error.line) == ("server.line", 4)


def test_quoted_keys_and_trailing_comments_are_located(tmp_path):
    error = located_error(tmp_path, '[line]   # the RCC line\n  "transport" = "udp"  # no\n')
    assert (error.key, error.line) == ("line.transport", 2)


def test_error_lines_follow_comments_and_blank_lines(tmp_path):
    text = "# header\n\n[server]\n# note = 1\n\n[line]\n\n   # indented comment\n   receive_port = -2\n"
    error = located_error(tmp_path, text)
    assert (error.key, error.line) == ("line.receive_port", 9)
    assert re.search(r":9: line\.receive_port: must be a port number", str(error))


def test_read_config_collects_every_error_and_keeps_the_valid_values(tmp_path):
    text = with_key("line", "session_timeout", "5000", with_key("line", "transport", "7",
                                                                 with_key("cic", "data_file", '"data/cic.toml"')))
    text += "\n[nonsense]\n"
    path = write(tmp_path, text)
    reading = read_config(path)
    assert [(error.key, error.line) for error in reading.errors] == [
        ("nonsense", line_of(text, "[nonsense]")),
        ("line.transport", line_of(text, "transport = ")),
        ("line.session_timeout", line_of(text, "session_timeout = ")),
    ]
    assert all(error.file == str(path) for error in reading.errors)
    assert reading.config is None
    assert not reading.known("line.transport") and not reading.known("line.session_timeout")
    assert reading.value("cic.data_file") == str(tmp_path / "data" / "cic.toml")
    assert reading.value("line.domain_name") == "rcc.example.com"
    assert reading.value("directory.ldif_file") == str(tmp_path / "directory.ldif")  # the default
    # load_config stops at the first of them
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == str(reading.errors[0])


def test_read_config_section_with_some_keys_known(tmp_path):
    text = with_key("line", "session_timeout", "5000", with_key("line", "transport", '"tls"'))
    reading = read_config(write(tmp_path, text))
    assert reading.section("line") is None  # not every key is known
    line = reading.section("line", needs=("transport", "domain_name"))
    assert (line.transport, line.domain_name) == ("tls", "rcc.example.com")
    assert reading.section("line", needs=("transport", "session_timeout")) is None
    # a key whose check against another key failed is not known either (tls needs a certificate)
    assert not reading.known("line.certificate")


def test_read_config_of_a_good_file_is_load_config(tmp_path):
    path = write(tmp_path, FULL)
    reading = read_config(path)
    assert reading.errors == () and reading.config == load_config(path)


def test_read_config_of_an_unparsable_file_knows_nothing(tmp_path):
    reading = read_config(write(tmp_path, BASE.replace('"tcp"', '"tcp')))
    [error] = reading.errors
    assert error.message.startswith("TOML syntax error")
    assert not reading.known("cic.data_file") and reading.section("cic") is None

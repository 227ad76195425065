"""SPEC section 3: every configuration key is checked, and every error names file, line and key."""
from __future__ import annotations

import pytest

from rccserver.config import PATH, SCHEMA, ConfigError, load_config

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
"""


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


def located_error(tmp_path, text: str) -> ConfigError:
    path = tmp_path / "rccserver.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.file == str(path)
    assert str(error).startswith(f"{path}:{error.line}: {error.key}: ") if error.key else True
    return error


def line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


WRONG_TYPE = {str: "12", int: '"12"', float: '"fast"', bool: '"yes"', PATH: "3"}


def _wrong(kind) -> str:
    return "[1, 2]" if isinstance(kind, list) and kind[0] is PATH else ('"x"' if isinstance(kind, list)
                                                                         else WRONG_TYPE[kind])


ALL_KEYS = [(table, key, kind) for table, keys in SCHEMA.items() for key, (kind, _, _) in keys.items()]


@pytest.mark.parametrize("table, key, kind", ALL_KEYS, ids=[f"{t}.{k}" for t, k, _ in ALL_KEYS])
def test_every_key_rejects_the_wrong_type_with_file_line_and_key(tmp_path, table, key, kind):
    text = with_key(table, key, _wrong(kind))
    error = located_error(tmp_path, text)
    assert error.key.startswith(f"{table}.{key}")
    assert error.line == line_of(text, f"{key} = ")
    assert "must be" in error.message


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
    ("line", "session_timeout", "1200", "below 1200"),
    ("line", "session_timeout", "-5", "at least 0"),
    ("line", "session_expires", "89", "at least 90"),
    ("line", "min_se", "30", "at least 90"),
    ("line", "access", '"maybe"', "must be one of 'granted', 'denied'"),
    ("line", "access_exceptions", '["10.0.0.0/8", "10.1.2.300"]', "entry 1"),
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
]


@pytest.mark.parametrize("table, key, value, words", BAD_VALUES, ids=[f"{t}.{k}={v}" for t, k, v, _ in BAD_VALUES])
def test_bad_values_are_refused_with_file_line_and_key(tmp_path, table, key, value, words):
    text = with_key(table, key, value)
    error = located_error(tmp_path, text)
    assert error.key == f"{table}.{key}"
    assert error.line == line_of(text, f"{key} = ")
    assert words in error.message


GOOD_VALUES = [
    ("line", "session_timeout", "0", 0),
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
]


@pytest.mark.parametrize("table, key, value, expected", GOOD_VALUES, ids=[f"{t}.{k}={v}" for t, k, v, _ in GOOD_VALUES])
def test_good_values_are_taken(tmp_path, table, key, value, expected):
    path = tmp_path / "rccserver.toml"
    path.write_text(with_key(table, key, value))
    got = getattr(getattr(load_config(path), table), key)
    assert got == expected and type(got) is type(expected)


def test_defaults(tmp_path):
    path = tmp_path / "rccserver.toml"
    path.write_text("")
    config = load_config(path)
    assert (config.line.transport, config.line.receive_port, config.line.session_timeout) == ("tcp", 11001, 60)
    assert (config.line.access, config.line.access_exceptions, config.line.mutual_tls) == ("granted", (), False)
    assert (config.directory.source, config.directory.netbios_domain) == ("ldif", "EXAMPLE")
    assert config.admin.listen == "127.0.0.1:8011"
    assert config.server.log_file == str(tmp_path / "rccserver.log")
    assert config.cic.data_file == str(tmp_path / "cic.toml")
    assert config.directory.ldif_file == str(tmp_path / "directory.ldif")


def test_unknown_key_is_located(tmp_path):
    text = with_key("line", "recieve_port", "11001")
    error = located_error(tmp_path, text)
    assert error.key == "line.recieve_port"
    assert error.line == line_of(text, "recieve_port")
    assert "unknown key" in error.message and "receive_port" in error.message


def test_unknown_table_is_located(tmp_path):
    text = BASE + "\n[lines]\nx = 1\n"
    error = located_error(tmp_path, text)
    assert error.key == "lines"
    assert error.line == line_of(text, "[lines]")
    assert "unknown table [lines]" in error.message


def test_a_table_that_is_not_a_table(tmp_path):
    error = located_error(tmp_path, 'cic = "cic.toml"\n' + BASE.replace("[cic]\n", "[cicx]\n"))
    assert error.key in ("cic", "cicx")


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

"""The configuration file (SPEC section 3): keys, defaults, and errors that name file, line and key."""
from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from rccserver.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config

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


def write(tmp_path: Path, text: str, name: str = "rccserver.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.file == str(path)
    return error


def line_of(text: str, fragment: str) -> int:
    """1-based number of the first line of `text` that starts with `fragment`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(fragment))


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
    assert (line.access, line.access_exceptions) == ("granted", ())
    assert (line.max_connections_per_source, line.idle_timeout, line.header_timeout) == (64, 3600.0, 30.0)
    directory = config.directory
    assert (directory.source, directory.ldif_file) == ("ldif", str(tmp_path / "directory.ldif"))
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
    error = error_for(tmp_path, text)
    number = line_of(text, "session_timeout")
    assert str(error) == f"{tmp_path / 'rccserver.toml'}:{number}: line.session_timeout: must be below 1200 (got 1500)"
    assert (error.line, error.key, error.message) == (number, "line.session_timeout", "must be below 1200 (got 1500)")


# (replace this in FULL, by this, expected key, words in the message)
BAD_VALUES = [
    ('log_level = "debug"', 'log_level = "verbose"', "server.log_level", "must be one of"),
    ('log_format = "json"', 'log_format = "xml"', "server.log_format", "must be one of"),
    ("log_max_bytes = 2048", "log_max_bytes = 10", "server.log_max_bytes", "at least"),
    ("log_backups = 2", "log_backups = -1", "server.log_backups", "at least"),
    ('log_file = "logs/rccserver.log"', "log_file = 5", "server.log_file", "path string"),
    ('domain_name = "rcc.example.com"', 'domain_name = "rcc example"', "line.domain_name", "host name"),
    ('transport = "tcp"', 'transport = "udp"', "line.transport", "'tcp', 'tls'"),
    ('address = "127.0.0.1"', 'address = "my-host"', "line.address", "IP address"),
    ("receive_port = 5061", "receive_port = 70000", "line.receive_port", "port number"),
    ("receive_port = 5061", 'receive_port = "5061"', "line.receive_port", "an integer"),
    ("receive_port = 5061", "receive_port = true", "line.receive_port", "an integer"),
    ("session_timeout = 120", "session_timeout = 1200", "line.session_timeout", "below 1200"),
    ("session_timeout = 120", "session_timeout = -1", "line.session_timeout", "at least 0"),
    ("session_timeout = 120", "session_timeout = 60.5", "line.session_timeout", "an integer"),
    ("session_expires = 900", "session_expires = 30", "line.session_expires", "at least 90"),
    ("min_se = 120", "min_se = 1000", "line.min_se", "must not exceed line.session_expires"),
    ('access = "denied"', 'access = "open"', "line.access", "must be one of"),
    ('access_exceptions = ["10.0.0.0/8", "::1"]', 'access_exceptions = ["10.0.0.0/8", "10.0.0.300"]',
     "line.access_exceptions", "entry 1 '10.0.0.300'"),
    ('access_exceptions = ["10.0.0.0/8", "::1"]', 'access_exceptions = "10.0.0.0/8"',
     "line.access_exceptions", "must be a list"),
    ("max_connections_per_source = 8", "max_connections_per_source = 0", "line.max_connections_per_source",
     "at least 1"),
    ("idle_timeout = 600", 'idle_timeout = "long"', "line.idle_timeout", "a number"),
    ("header_timeout = 5.5", "header_timeout = 0", "line.header_timeout", "at least 1"),
    ('source = "ldif"', 'source = "ad"', "directory.source", "'ldif', 'ldap'"),
    ('netbios_domain = "CORP"', 'netbios_domain = ""', "directory.netbios_domain", "must not be empty"),
    ('data_file = "cic-data.toml"', 'data_file = ""', "cic.data_file", "must not be empty"),
    ('kind = "embedded"', 'kind = "avaya"', "switch.kind", "'embedded'"),
    ("auto_answer_after = 2.5", "auto_answer_after = -1", "switch.auto_answer_after", "at least 0"),
    ('listen = "[::1]:8011"', 'listen = "::1:8011"', "admin.listen", "needs brackets"),
    ('listen = "[::1]:8011"', 'listen = "127.0.0.1"', "admin.listen", "HOST:PORT"),
    ('listen = "[::1]:8011"', 'listen = "127.0.0.1:99999"', "admin.listen", "HOST:PORT"),
    ('listen = "[::1]:8011"', 'listen = "intranet:8011"', "admin.listen", "not an IP address"),
    ("log_backups = 2", "log_backups = 2\nlog_rotate = true", "server.log_rotate", "unknown key"),
    ("receive_port = 5061", "recieve_port = 5061", "line.recieve_port", "unknown key"),
]


@pytest.mark.parametrize("old, new, key, words", BAD_VALUES, ids=[row[2] + ":" + row[1] for row in BAD_VALUES])
def test_each_bad_value_names_file_line_and_key(tmp_path, old, new, key, words):
    assert old in FULL
    text = FULL.replace(old, new, 1)
    error = error_for(tmp_path, text)
    assert error.key == key
    assert words in error.message
    bad_line = new.splitlines()[-1]
    assert text.splitlines()[error.line - 1] == bad_line
    assert str(error).startswith(f"{tmp_path / 'rccserver.toml'}:{error.line}: {key}: ")


def test_session_timeout_zero_disables_keepalives(tmp_path):
    config = load_config(write(tmp_path, "[line]\nsession_timeout = 0\n"))
    assert config.line.session_timeout == 0


def test_unknown_table_is_an_error(tmp_path):
    text = FULL + "\n[lines]\nreceive_port = 1\n"
    error = error_for(tmp_path, text)
    assert error.key == "lines" and "unknown table [lines]" in error.message
    assert error.line == line_of(text, "[lines]")


def test_a_key_that_should_be_a_table(tmp_path):
    error = error_for(tmp_path, 'admin = "127.0.0.1:8011"\n')
    assert (error.key, error.line, error.message) == ("admin", 1, "must be a table")


def test_toml_syntax_error_uses_tomllib_line(tmp_path):
    text = FULL.replace('transport = "tcp"', 'transport = "tcp')
    error = error_for(tmp_path, text)
    assert error.line == line_of(text, "transport")
    assert error.key is None and error.message.startswith("TOML syntax error")
    assert "(at line" not in error.message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.toml")
    assert str(caught.value) == f"{tmp_path / 'nope.toml'}: file not found"


# -- TLS ---------------------------------------------------------------------------------
def tls_text(cert: str = "server.pem", key: str = "server.key", extra: str = "") -> str:
    return f'[line]\ntransport = "tls"\ncertificate = "{cert}"\nprivate_key = "{key}"\n{extra}'


@pytest.fixture
def tls_files(tmp_path):
    for name in ("server.pem", "server.key", "ca.pem"):
        (tmp_path / name).write_text("placeholder; contents are checked by check-config\n")
    return tmp_path


def test_tls_paths_resolve_and_must_exist(tls_files):
    config = load_config(write(tls_files, tls_text(extra='mutual_tls = true\nauthority_certificates = ["ca.pem"]\n')))
    assert config.line.certificate == str(tls_files / "server.pem")
    assert config.line.authority_certificates == (str(tls_files / "ca.pem"),)
    assert config.line.mutual_tls is True


@pytest.mark.parametrize("text, key, words", [
    (tls_text(cert="missing.pem"), "line.certificate", "file not found"),
    (tls_text(key="missing.key"), "line.private_key", "file not found"),
    ('[line]\ntransport = "tls"\nprivate_key = "server.key"\n', "line.certificate", "required"),
    (tls_text(extra='authority_certificates = ["ca.pem", "nothere.pem"]\n'), "line.authority_certificates",
     "nothere.pem"),
    (tls_text(extra="mutual_tls = true\n"), "line.authority_certificates", "at least one CA"),
    ('[line]\nmutual_tls = true\n', "line.mutual_tls", 'transport = "tls"'),
])
def test_tls_errors(tls_files, text, key, words):
    error = error_for(tls_files, text)
    assert error.key == key
    assert words in error.message
    assert error.line is not None


def test_tls_files_are_not_needed_for_tcp(tmp_path):
    config = load_config(write(tmp_path, '[line]\ncertificate = "absent.pem"\n'))
    assert config.line.transport == "tcp"


# -- LDAP ----------------------------------------------------------------------------------
LDAP = """\
[directory]
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


def test_ldap_directory(tmp_path):
    config = load_config(write(tmp_path, LDAP))
    directory = config.directory
    assert (directory.source, directory.url, directory.page_size, directory.timeout) == (
        "ldap", "ldaps://dc.example.com", 500, 10.0)
    # The password file is read when loading, not here: it need not exist yet.
    assert directory.password_file == str(tmp_path / "ldap.secret")
    assert directory.ca_file == str(tmp_path / "ca.pem")


@pytest.mark.parametrize("old, new, key, words", [
    ('url = "ldaps://dc.example.com"\n', "", "directory.url", "required"),
    ('search_dn = "CN=Users,DC=example,DC=com"\n', "", "directory.search_dn", "required"),
    ('url = "ldaps://dc.example.com"', 'url = "http://dc.example.com"', "directory.url", "ldap://"),
    ('password_file = "ldap.secret"\n', "", "directory.password_file", "required with directory.bind_dn"),
    ("page_size = 500", "page_size = 0", "directory.page_size", "at least 1"),
])
def test_ldap_errors(tmp_path, old, new, key, words):
    text = LDAP.replace(old, new)
    error = error_for(tmp_path, text)
    assert error.key == key and words in error.message
    if new:
        assert text.splitlines()[error.line - 1] == new
    else:  # a missing key is reported at its table
        assert text.splitlines()[error.line - 1] == "[directory]"


def test_error_lines_follow_comments_and_blank_lines(tmp_path):
    text = "# header\n\n[server]\n# note = 1\n\n[line]\n\n   # indented comment\n   receive_port = -2\n"
    error = error_for(tmp_path, text)
    assert (error.key, error.line) == ("line.receive_port", 9)
    assert re.search(r":9: line\.receive_port: must be a port number", str(error))

"""The configuration file (SPEC section 3): TOML into frozen attrs classes.

Every key is declared once in SCHEMA with its type, default and check, so
unknown keys and tables are errors (a typo never goes unnoticed) and every
error names the file, the line and the key. Relative paths resolve against
the configuration file's directory.
"""
from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Callable

import attrs

from rccserver.common.tomlfile import LocatedError, TomlDocument

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "data" / "demo.toml"


class ConfigError(LocatedError):
    """A configuration problem: file, line, key and what is wrong."""


@attrs.frozen
class ServerConfig:
    log_file: str
    pid_file: str
    log_level: str
    log_max_bytes: int
    log_backups: int
    log_format: str


@attrs.frozen
class LineConfig:
    domain_name: str
    transport: str
    address: str
    receive_port: int
    session_timeout: int
    session_expires: int
    min_se: int
    mutual_tls: bool
    certificate: str | None
    private_key: str | None
    authority_certificates: tuple[str, ...]
    access: str
    access_exceptions: tuple[str, ...]
    max_connections_per_source: int
    idle_timeout: float
    header_timeout: float
    # PKCS#12 (.pfx/.p12) certificates only: the file holding the export password.
    certificate_password_file: str | None = None


@attrs.frozen
class DirectoryConfig:
    source: str
    ldif_file: str | None
    netbios_domain: str
    url: str | None
    bind_dn: str | None
    password_file: str | None
    search_dn: str | None
    search_filter: str
    page_size: int
    start_tls: bool
    ca_file: str | None
    timeout: float


@attrs.frozen
class CicConfig:
    data_file: str


@attrs.frozen
class SwitchConfig:
    kind: str
    auto_answer_after: float
    ring_interval: float


@attrs.frozen
class AdminConfig:
    listen: str


@attrs.frozen
class Config:
    path: str
    server: ServerConfig
    line: LineConfig
    directory: DirectoryConfig
    cic: CicConfig
    switch: SwitchConfig
    admin: AdminConfig


# -- checks: each returns an error message or None ---------------------------------
def _one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(map(repr, choices))} (got {v!r})"


def _range(low: float | None = None, below: float | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if low is not None and value < low:
            return f"must be at least {low:g} (got {value!r})"
        if below is not None and value >= below:
            return f"must be below {below:g} (got {value!r})"
        return None

    return check


def _port(value: int) -> str | None:
    return None if 0 <= value <= 65535 else f"must be a port number 0-65535 (got {value})"


def _not_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _ip_address(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"must be an IP address to listen on, e.g. 0.0.0.0 or :: (got {value!r})"
    return None


_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")


def _host_name(value: str) -> str | None:
    # It goes into Contact, Record-Route and Warning headers: no room for spaces or quotes.
    if _HOST_NAME.match(value) or _ip_address(value) is None:
        return None
    return f"must be a host name or IP address (got {value!r})"


def _cidrs(values: list[str]) -> str | None:
    for index, value in enumerate(values):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"entry {index} {value!r} is not an IP address or CIDR network"
    return None


def _listen(value: str) -> str | None:
    if value == "":
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        return f"must be HOST:PORT (e.g. 127.0.0.1:8011, [::1]:8011) or \"\" (got {value!r})"
    if host.startswith("["):
        if not host.endswith("]"):
            return f"bad IPv6 literal in {value!r}"
        host = host[1:-1]
    elif ":" in host:
        return f"an IPv6 address needs brackets, e.g. [::1]:8011 (got {value!r})"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            return f"{host!r} is not an IP address"
    return None


PATH = "path"  # a str resolved against the config file's directory
# table -> key -> (type, default, check)
SCHEMA: dict[str, dict[str, tuple[Any, Any, Callable[[Any], str | None] | None]]] = {
    "server": {
        "log_file": (PATH, "rccserver.log", _not_empty),
        "pid_file": (PATH, "rccserver.pid", _not_empty),
        "log_level": (str, "info", _one_of("debug", "info", "warn", "error")),
        "log_max_bytes": (int, 10_000_000, _range(low=1024)),
        "log_backups": (int, 5, _range(low=0)),
        "log_format": (str, "text", _one_of("text", "json")),
    },
    "line": {
        "domain_name": (str, "rcc.example.com", _host_name),
        "transport": (str, "tcp", _one_of("tcp", "tls")),
        "address": (str, "0.0.0.0", _ip_address),
        "receive_port": (int, 11001, _port),
        "session_timeout": (int, 60, _range(low=0, below=1200)),
        "session_expires": (int, 1800, _range(low=90)),
        "min_se": (int, 90, _range(low=90)),
        "mutual_tls": (bool, False, None),
        "certificate": (PATH, None, None),
        "private_key": (PATH, None, None),
        "certificate_password_file": (PATH, None, None),
        "authority_certificates": ([PATH], [], None),
        "access": (str, "granted", _one_of("granted", "denied")),
        "access_exceptions": ([str], [], _cidrs),
        "max_connections_per_source": (int, 64, _range(low=1)),
        "idle_timeout": (float, 3600.0, _range(low=1)),
        "header_timeout": (float, 30.0, _range(low=1)),
    },
    "directory": {
        "source": (str, "ldif", _one_of("ldif", "ldap")),
        "ldif_file": (PATH, "directory.ldif", None),
        "netbios_domain": (str, "EXAMPLE", _not_empty),
        "url": (str, None, None),
        "bind_dn": (str, None, None),
        "password_file": (PATH, None, None),
        "search_dn": (str, None, None),
        "search_filter": (str, "(msRTCSIP-PrimaryUserAddress=*)", _not_empty),
        "page_size": (int, 1000, _range(low=1)),
        "start_tls": (bool, False, None),
        "ca_file": (PATH, None, None),
        "timeout": (float, 30.0, _range(low=1)),
    },
    "cic": {
        "data_file": (PATH, "cic.toml", _not_empty),
    },
    "switch": {
        "kind": (str, "embedded", _one_of("embedded")),
        "auto_answer_after": (float, 0.0, _range(low=0)),
        "ring_interval": (float, 6.0, _range(low=0.1)),
    },
    "admin": {
        "listen": (str, "127.0.0.1:8011", _listen),
    },
}
SECTIONS = {
    "server": ServerConfig, "line": LineConfig, "directory": DirectoryConfig,
    "cic": CicConfig, "switch": SwitchConfig, "admin": AdminConfig,
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", PATH: "a path string"}


def _convert(doc: TomlDocument, key: str, kind: Any, value: Any) -> Any:
    base = doc.path.parent
    if isinstance(kind, list):
        if not isinstance(value, list):
            raise doc.error(key, f"must be a list of {_TYPE_NAMES[kind[0]].split(' ', 1)[1]}s (got {value!r})")
        return tuple(_convert(doc, f"{key}[{i}]", kind[0], item) for i, item in enumerate(value))
    if kind is PATH:
        if not isinstance(value, str):
            raise doc.error(key, f"must be a path string (got {value!r})")
        path = Path(os.path.expanduser(value))
        return str(path if path.is_absolute() else base / path)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise doc.error(key, f"must be {_TYPE_NAMES[kind]} (got {value!r})")
    return value


def _section(doc: TomlDocument, name: str) -> Any:
    raw = doc.data.get(name, {})
    if not isinstance(raw, dict):
        raise doc.error(name, "must be a table")
    schema = SCHEMA[name]
    for key in raw:
        if key not in schema:
            raise doc.error(f"{name}.{key}", f"unknown key (known: {', '.join(schema)})")
    values = {}
    for key, (kind, default, check) in schema.items():
        dotted = f"{name}.{key}"
        if key in raw:
            value = _convert(doc, dotted, kind, raw[key])
            problem = check(raw[key] if kind in (PATH, [PATH]) else value) if check else None
            if problem:
                raise doc.error(dotted, problem)
        elif default is not None and kind is PATH:
            value = str(doc.path.parent / default)
        elif isinstance(default, list):
            value = tuple(default)
        else:
            value = default
        values[key] = value
    return SECTIONS[name](**values)


def _require_file(doc: TomlDocument, key: str, path: str) -> None:
    if not os.path.isfile(path):
        raise doc.error(key, f"file not found: {path}")


PKCS12_SUFFIXES = (".pfx", ".p12")


def is_pkcs12_path(path: str | os.PathLike[str]) -> bool:
    """A `[line] certificate` named .pfx or .p12 is PKCS#12 (key, certificate and chain in one file)."""
    return Path(path).suffix.lower() in PKCS12_SUFFIXES


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check a configuration file; raises ConfigError naming file, line and key."""
    doc = TomlDocument(path, ConfigError)
    for name in doc.data:
        if name not in SCHEMA:
            raise doc.error(name, f"unknown table [{name}] (known: {', '.join(SCHEMA)})")
    sections = {name: _section(doc, name) for name in SCHEMA}
    line: LineConfig = sections["line"]
    if line.min_se > line.session_expires:
        raise doc.error("line.min_se", f"must not exceed line.session_expires ({line.session_expires})")
    if line.transport == "tls":
        # A PKCS#12 file (what Lync's certificate export writes) holds the key itself.
        pkcs12 = line.certificate is not None and is_pkcs12_path(line.certificate)
        keys = ("certificate", "certificate_password_file") if pkcs12 else ("certificate", "private_key")
        for key in keys:
            path = getattr(line, key)
            if path is None and key != "certificate_password_file":
                raise doc.error(f"line.{key}", 'required when transport = "tls"')
            if path is not None:
                _require_file(doc, f"line.{key}", path)
        if pkcs12 and line.private_key is not None:
            raise doc.error("line.private_key", "not used with a PKCS#12 (.pfx/.p12) certificate, which holds "
                                                "the key itself: remove it")
        if not pkcs12 and line.certificate_password_file is not None:
            raise doc.error("line.certificate_password_file", "only used with a PKCS#12 (.pfx/.p12) "
                                                              "certificate; a PEM private key must not be encrypted")
        for path in line.authority_certificates:
            _require_file(doc, "line.authority_certificates", path)
    if line.mutual_tls:
        if line.transport != "tls":
            raise doc.error("line.mutual_tls", 'needs transport = "tls"')
        if not line.authority_certificates:
            raise doc.error("line.authority_certificates", "mutual TLS needs at least one CA certificate")
    directory: DirectoryConfig = sections["directory"]
    if directory.source == "ldap":
        for key in ("url", "search_dn"):
            if not getattr(directory, key):
                raise doc.error(f"directory.{key}", 'required when source = "ldap"')
        if not directory.url.lower().startswith(("ldap://", "ldaps://")):
            raise doc.error("directory.url", f"must start with ldap:// or ldaps:// (got {directory.url!r})")
        if directory.bind_dn and not directory.password_file:
            raise doc.error("directory.password_file", "required with directory.bind_dn")
    return Config(path=str(doc.path), **sections)

"""The configuration file (SPEC section 3): TOML into frozen attrs classes.

Every key is declared once in SCHEMA with its type, default and check, so
unknown keys and tables are errors (a typo never goes unnoticed) and every
error names the file, the line and the key. Relative paths resolve against
the configuration file's directory.

read_config collects every error of the file and keeps the valid keys' values
(check-config reports them all and goes on with what is known); load_config,
for starting the server, raises the first.
"""
from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from collections.abc import Iterable, Mapping
from typing import Any, Callable

import attrs

from rccserver.common.tomlfile import LocatedError, TomlDocument
from rccserver.dialplan import Rule, country_code_problem, rule_problems

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
    # Server/User-Agent name the product without its version unless this is set (SPEC 2).
    advertise_version: bool = False


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
    # keep-alives in a row without a 200 (408 or no answer) that end a session; 0: never (SPEC 7)
    keepalive_misses: int = 3


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
class StateConfig:
    """[state] (SPEC section 11): where forwarding, DND and SIP registrations survive a restart."""

    backend: str = "sqlite"
    file: str = ""  # an absolute path; "" keeps state in memory only
    redis_url: str = "redis://127.0.0.1:6379/0"
    lease_seconds: int = 30


@attrs.frozen
class StationsLineConfig:
    """[stations_line] (SPEC section 9): where SIP desk phones register and call.

    TLS uses [line]'s certificate (PEM with private_key, or PKCS#12), without mutual TLS.
    `access` is the stations line's own list: [line]'s is for Lync front ends, not phones."""

    address: str
    port: int
    transports: tuple[str, ...]
    tls_port: int
    realm: str  # the digest realm; [line] domain_name unless set
    min_expires: int
    max_expires: int
    access: str
    access_exceptions: tuple[str, ...]
    max_connections_per_source: int
    idle_timeout: float
    header_timeout: float
    # offered in this order; some phones (baresip 1.0) give up on any SHA-256 challenge
    digest_algorithms: tuple[str, ...] = ("SHA-256", "MD5")


@attrs.frozen
class TrunkConfig:
    """[trunk] (SPEC section 9): the SIP peer (carrier, SBC, PBX) for every number that is no station.

    Its calls use the stations line's sockets; `accept_from` empty means the peer's own address."""

    peer: str  # sip:HOST[:PORT][;transport=udp|tcp|tls]
    accept_from: tuple[str, ...] = ()
    username: str | None = None  # answers the peer's 401/407 (with password)
    password: str | None = attrs.field(default=None, repr=False)  # never in a log or a traceback
    did_from: str = "request-uri"  # where an inbound call's DID is read: "request-uri" or "to"
    options_interval: float = 30.0  # OPTIONS pings to the peer; 0: none

    @property
    def uri(self):
        from rccserver.sip.uri import parse_uri
        return parse_uri(self.peer)

    @property
    def transport(self) -> str:
        return self.uri.transport or "udp"

    @property
    def host(self) -> str:
        return self.uri.host.strip("[]")

    @property
    def port(self) -> int:
        uri = self.uri
        return uri.port or (5061 if self.transport == "tls" else 5060)


@attrs.frozen
class DialPlanConfig:
    """[dialplan] (SPEC section 10): ordered rules, each knowing its file:line."""

    country_code: str | None = None  # None: national numbers have no E.164 form
    dial: tuple[Rule, ...] = ()
    inbound: tuple[Rule, ...] = ()


@attrs.frozen
class Config:
    path: str
    server: ServerConfig
    line: LineConfig
    directory: DirectoryConfig
    cic: CicConfig
    switch: SwitchConfig
    admin: AdminConfig
    state: StateConfig = StateConfig()  # the default here keeps state in memory; the file's is "rccserver.db"
    # None when the file has no [stations_line]: no SIP stations (SPEC section 9).
    stations_line: StationsLineConfig | None = None
    # Absent [dialplan]: no rules, no country (every number read as it is dialled).
    dialplan: DialPlanConfig = DialPlanConfig()
    # None when the file has no [trunk]: outside numbers reach no carrier (SPEC section 9).
    trunk: TrunkConfig | None = None


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


STATION_TRANSPORTS = ("udp", "tcp", "tls")


def _trunk_peer(value: str) -> str | None:
    from rccserver.sip.errors import SipParseError
    from rccserver.sip.uri import SipUri, parse_uri
    try:
        uri = parse_uri(value)
    except SipParseError as error:
        return f"must be a SIP URI such as \"sip:sbc.example.com:5060;transport=udp\" ({error})"
    if not isinstance(uri, SipUri) or uri.scheme != "sip":
        return f"must be a sip: URI such as \"sip:sbc.example.com:5060;transport=udp\" (got {value!r})"
    if uri.user is not None:
        return f"names the peer's host, not a user (got {value!r}): the called number goes in the user part"
    if (uri.transport or "udp") not in STATION_TRANSPORTS:
        return f"transport must be one of {', '.join(STATION_TRANSPORTS)} (got {uri.transport!r})"
    return None


def _station_transports(values: tuple[str, ...]) -> str | None:
    if not values:
        return 'must name at least one of "udp", "tcp", "tls"'
    for index, value in enumerate(values):
        if value not in STATION_TRANSPORTS:
            return f'entry {index} {value!r} is not one of "udp", "tcp", "tls"'
        if value in values[:index]:
            return f"entry {index} {value!r} is listed twice"
    return None


def _realm(value: str) -> str | None:
    # It goes into a quoted-string of WWW-Authenticate, and into every stored ha1.
    if not value.strip():
        return "must not be empty"
    if any(char in value for char in '"\\') or any(ord(char) < 32 or ord(char) == 127 for char in value):
        return f"must not contain quotes, backslashes or control characters (got {value!r})"
    return None


def _redis_url(value: str) -> str | None:
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in ("redis", "rediss") or not rest.split("/", 1)[0].rpartition("@")[2]:
        return f"must be redis://HOST[:PORT][/DB] or rediss://... (got {value!r})"
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


def _digest_algorithms(values: list[str]) -> str | None:
    if not values:
        return "must name at least one of \"SHA-256\", \"MD5\""
    for value in values:
        if value not in ("SHA-256", "MD5"):
            return f"{value!r} is not a digest algorithm we offer (\"SHA-256\" or \"MD5\")"
    if len(set(values)) != len(values):
        return "names an algorithm twice"
    return None


PATH = "path"  # a str resolved against the config file's directory
OPTIONAL_PATH = "path or empty"  # as PATH, but "" stays "" (the feature is off)
# table -> key -> (type, default, check)
SCHEMA: dict[str, dict[str, tuple[Any, Any, Callable[[Any], str | None] | None]]] = {
    "server": {
        "log_file": (PATH, "rccserver.log", _not_empty),
        "pid_file": (PATH, "rccserver.pid", _not_empty),
        "log_level": (str, "info", _one_of("debug", "info", "warn", "error")),
        "log_max_bytes": (int, 10_000_000, _range(low=1024)),
        "log_backups": (int, 5, _range(low=0)),
        "log_format": (str, "text", _one_of("text", "json")),
        "advertise_version": (bool, False, None),
    },
    "line": {
        "domain_name": (str, "rcc.example.com", _host_name),
        "transport": (str, "tcp", _one_of("tcp", "tls")),
        "address": (str, "0.0.0.0", _ip_address),
        "receive_port": (int, 11001, _port),
        "session_timeout": (int, 60, _range(low=0, below=1200)),
        "keepalive_misses": (int, 3, _range(low=0)),
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
    "state": {
        "backend": (str, "sqlite", _one_of("sqlite", "redis")),
        "file": (OPTIONAL_PATH, "rccserver.db", None),
        "redis_url": (str, "redis://127.0.0.1:6379/0", _redis_url),
        "lease_seconds": (int, 30, _range(low=1)),
    },
    "stations_line": {
        "address": (str, "0.0.0.0", _ip_address),
        "port": (int, 5060, _port),
        "transports": ([str], ["udp", "tcp"], _station_transports),
        "tls_port": (int, 5061, _port),
        "realm": (str, None, _realm),  # None: [line] domain_name (filled in by check_dependencies)
        "min_expires": (int, 60, _range(low=1)),
        "max_expires": (int, 3600, _range(low=1)),
        "access": (str, "granted", _one_of("granted", "denied")),
        "access_exceptions": ([str], [], _cidrs),
        "max_connections_per_source": (int, 64, _range(low=1)),
        "idle_timeout": (float, 3600.0, _range(low=1)),
        "header_timeout": (float, 30.0, _range(low=1)),
        "digest_algorithms": ([str], ["SHA-256", "MD5"], _digest_algorithms),
    },
    "dialplan": {
        "country_code": (str, None, country_code_problem),
    },
    "trunk": {
        "peer": (str, None, _trunk_peer),  # required: checked in check_dependencies
        "accept_from": ([str], [], _cidrs),
        "username": (str, None, _not_empty),
        "password": (str, None, None),
        "did_from": (str, "request-uri", _one_of("request-uri", "to")),
        "options_interval": (float, 30.0, _range(low=0)),
    },
}
REQUIRED = object()  # the default of a key that must be given


def _rule(origin: str, pattern: str, translation: str) -> Rule | list[tuple[str, str]]:
    """A dial plan rule, or what check-config says about it (SPEC 10)."""
    return rule_problems(pattern, translation) or Rule(pattern, translation, origin)


_RULE = {"pattern": (str, REQUIRED, None), "translation": (str, REQUIRED, None)}
# Arrays of tables inside a table ([[dialplan.dial]]): table -> key -> (item schema, item builder).
# An item's keys are read like a table's; the builder sees the item once they are valid and
# returns its value or (key, problem) pairs. Absent, the key is an empty tuple.
TABLE_ARRAYS: dict[str, dict[str, tuple[dict[str, tuple[Any, Any, Any]], Callable[..., Any]]]] = {
    "dialplan": {"dial": (_RULE, _rule), "inbound": (_RULE, _rule)},
}
# Tables that may be left out altogether: absent, their section is None (not the defaults).
OPTIONAL_TABLES = ("stations_line", "trunk")
SECTIONS = {
    "server": ServerConfig, "line": LineConfig, "directory": DirectoryConfig,
    "cic": CicConfig, "switch": SwitchConfig, "admin": AdminConfig, "state": StateConfig,
    "stations_line": StationsLineConfig,
    "dialplan": DialPlanConfig,
    "trunk": TrunkConfig,
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", PATH: "a path string",
               OPTIONAL_PATH: "a path string"}


def _convert(doc: TomlDocument, key: str, kind: Any, value: Any) -> Any:
    base = doc.path.parent
    if isinstance(kind, list):
        if not isinstance(value, list):
            raise doc.error(key, f"must be a list of {_TYPE_NAMES[kind[0]].split(' ', 1)[1]}s (got {value!r})")
        return tuple(_convert(doc, f"{key}[{i}]", kind[0], item) for i, item in enumerate(value))
    if kind is OPTIONAL_PATH and value == "":
        return ""
    if kind in (PATH, OPTIONAL_PATH):
        if not isinstance(value, str):
            raise doc.error(key, f"must be a path string (got {value!r})")
        path = Path(os.path.expanduser(value))
        return str(path if path.is_absolute() else base / path)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise doc.error(key, f"must be {_TYPE_NAMES[kind]} (got {value!r})")
    return value


PKCS12_SUFFIXES = (".pfx", ".p12")


def is_pkcs12_path(path: str | os.PathLike[str]) -> bool:
    """A `[line] certificate` named .pfx or .p12 is PKCS#12 (key, certificate and chain in one file)."""
    return Path(path).suffix.lower() in PKCS12_SUFFIXES


def _default(doc: TomlDocument, kind: Any, default: Any) -> Any:
    if default is not None and kind in (PATH, OPTIONAL_PATH):
        return str(doc.path.parent / default)
    if isinstance(default, list):
        return tuple(default)
    return default


class _Reader:
    """Collects every error of one file; `values` holds the keys that are still valid."""

    def __init__(self, doc: TomlDocument) -> None:
        self.doc = doc
        self.errors: list[ConfigError] = []
        self.values: dict[str, Any] = {}  # dotted key -> checked value (defaults included)
        self.defaults: dict[str, Any] = {}  # dotted key -> default, for every key of a readable table

    def fail(self, key: str, message: str) -> None:
        self.errors.append(self.doc.error(key, message))
        self.values.pop(key, None)

    def known(self, *keys: str) -> bool:
        return all(key in self.values for key in keys)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def read_table(self, name: str) -> None:
        if name in OPTIONAL_TABLES and name not in self.doc.data:
            return
        raw = self.doc.data.get(name, {})
        if not isinstance(raw, dict):
            self.fail(name, "must be a table")
            return
        schema = SCHEMA[name]
        arrays = TABLE_ARRAYS.get(name, {})
        for key in raw:
            if key not in schema and key not in arrays:
                self.fail(f"{name}.{key}", f"unknown key (known: {', '.join([*schema, *arrays])})")
        for key, (kind, default, check) in schema.items():
            dotted = f"{name}.{key}"
            self.defaults[dotted] = _default(self.doc, kind, default)
            if key not in raw:
                self.values[dotted] = self.defaults[dotted]
                continue
            try:
                value = _convert(self.doc, dotted, kind, raw[key])
            except ConfigError as error:
                self.errors.append(error)
                continue
            problem = check(raw[key] if kind in (PATH, [PATH], OPTIONAL_PATH) else value) if check else None
            if problem:
                self.fail(dotted, problem)
            else:
                self.values[dotted] = value
        for key, (item_schema, build) in arrays.items():
            self.read_array(f"{name}.{key}", raw.get(key, []), item_schema, build)

    def read_array(self, dotted: str, raw: Any, item_schema: dict, build: Callable[..., Any]) -> None:
        """An array of tables: every item's every error; the value only when every item is good."""
        self.defaults[dotted] = ()
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.fail(dotted, f"must be an array of tables ([[{dotted}]] with {', '.join(item_schema)})")
            return
        errors_before = len(self.errors)
        items = []
        for index, item in enumerate(raw):
            built = self._read_item(f"{dotted}[{index}]", item, item_schema, build)
            if built is not None:
                items.append(built)
        if len(self.errors) == errors_before:
            self.values[dotted] = tuple(items)

    def _read_item(self, where: str, item: dict, item_schema: dict, build: Callable[..., Any]) -> Any:
        errors_before = len(self.errors)
        values = {}
        for key in item:
            if key not in item_schema:
                self.fail(f"{where}.{key}", f"unknown key (known: {', '.join(item_schema)})")
        for key, (kind, default, check) in item_schema.items():
            if key not in item:
                if default is REQUIRED:
                    self.fail(where, f"{key} is required")
                else:
                    values[key] = default
                continue
            try:
                value = _convert(self.doc, f"{where}.{key}", kind, item[key])
            except ConfigError as error:
                self.errors.append(error)
                continue
            problem = check(value) if check else None
            if problem:
                self.fail(f"{where}.{key}", problem)
            else:
                values[key] = value
        if len(values) < len(item_schema):
            return None
        line = self.doc.line_of(f"{where}.{next(iter(item_schema))}")
        built = build(str(self.doc.path) if line is None else f"{self.doc.path}:{line}", **values)
        if isinstance(built, list):  # the builder's (key, problem) pairs
            for key, problem in built:
                self.fail(f"{where}.{key}", problem)
        return None if len(self.errors) > errors_before else built

    def check_dependencies(self) -> None:
        """Checks between keys; each runs only when the keys it reads are valid."""
        if self.known("line.min_se", "line.session_expires") and self["line.min_se"] > self["line.session_expires"]:
            self.fail("line.min_se", f"must not exceed line.session_expires ({self['line.session_expires']})")
        self._check_tls_files()
        if self.known("line.mutual_tls", "line.transport") and self["line.mutual_tls"]:
            if self["line.transport"] != "tls":
                self.fail("line.mutual_tls", 'needs transport = "tls"')
            elif self.known("line.authority_certificates") and not self["line.authority_certificates"]:
                self.fail("line.authority_certificates", "mutual TLS needs at least one CA certificate")
        self._check_ldap()
        self._check_stations_line()
        self._check_trunk()

    def _check_trunk(self) -> None:
        if "trunk" not in self.doc.data or not isinstance(self.doc.data["trunk"], dict):
            return
        raw = self.doc.data["trunk"]
        if "peer" not in raw:
            self.fail("trunk", "peer is required: the SIP URI of the carrier or SBC, e.g. "
                               "\"sip:sbc.example.com:5060;transport=udp\"")
            self.values.pop("trunk.peer", None)
        if "stations_line" not in self.doc.data:
            self.fail("trunk", "needs [stations_line]: trunk calls use the stations line's SIP sockets")
        elif self.known("trunk.peer", "stations_line.transports") and self["trunk.peer"] is not None:
            transport = TrunkConfig(self["trunk.peer"]).transport
            if transport not in self["stations_line.transports"]:
                self.fail("trunk.peer", f"transport {transport} is not in stations_line.transports "
                                        f"({', '.join(self['stations_line.transports'])})")
        if ("username" in raw) != ("password" in raw):
            self.fail("trunk.username" if "username" in raw else "trunk.password",
                      "username and password go together (the digest credentials for the peer's 401/407)")

    def stations_use_tls(self) -> bool:
        return self.known("stations_line.transports") and "tls" in self["stations_line.transports"]

    def _check_tls_files(self) -> None:
        keys = ("transport", "certificate", "private_key", "certificate_password_file", "authority_certificates")
        if not self.known(*(f"line.{key}" for key in keys)):
            return
        line_tls = self["line.transport"] == "tls"
        if not line_tls and not self.stations_use_tls():
            return
        certificate = self["line.certificate"]
        # A PKCS#12 file (what Lync's certificate export writes) holds the key itself.
        pkcs12 = certificate is not None and is_pkcs12_path(certificate)
        needed = ("certificate", "certificate_password_file") if pkcs12 else ("certificate", "private_key")
        for key in needed:
            path = self[f"line.{key}"]
            if path is None and key != "certificate_password_file":
                if line_tls:
                    self.fail(f"line.{key}", 'required when transport = "tls"')
                else:  # the key is absent from [line]: point at what asks for it
                    self.fail("stations_line.transports", f'"tls" needs [line] {key}: the stations line '
                                                          f"uses the RCC line's certificate")
            elif path is not None and not os.path.isfile(path):
                self.fail(f"line.{key}", f"file not found: {path}")
        if pkcs12 and self["line.private_key"] is not None:
            self.fail("line.private_key", "not used with a PKCS#12 (.pfx/.p12) certificate, which holds "
                                          "the key itself: remove it")
        if not pkcs12 and self["line.certificate_password_file"] is not None:
            self.fail("line.certificate_password_file", "only used with a PKCS#12 (.pfx/.p12) "
                                                        "certificate; a PEM private key must not be encrypted")
        for path in self["line.authority_certificates"]:
            if not os.path.isfile(path):
                self.fail("line.authority_certificates", f"file not found: {path}")

    def _check_stations_line(self) -> None:
        if "stations_line" not in self.doc.data:
            return
        if self.known("stations_line.realm") and self["stations_line.realm"] is None:
            if self.known("line.domain_name"):
                self.values["stations_line.realm"] = self["line.domain_name"]
            else:
                del self.values["stations_line.realm"]  # its default is unknown while domain_name is wrong
        if self.known("stations_line.min_expires", "stations_line.max_expires") \
                and self["stations_line.min_expires"] > self["stations_line.max_expires"]:
            self.fail("stations_line.min_expires",
                      f"must not exceed stations_line.max_expires ({self['stations_line.max_expires']})")
        if not self.known("stations_line.transports", "stations_line.port", "stations_line.tls_port"):
            return
        transports = self["stations_line.transports"]
        port, tls_port = self["stations_line.port"], self["stations_line.tls_port"]
        # Port 0 picks a free port per listener, so it never collides.
        if "tls" in transports and tls_port and tls_port == port and "tcp" in transports:
            self.fail("stations_line.tls_port", f"must differ from stations_line.port ({port}): TCP listens there")
        if not self.known("line.receive_port", "line.address", "stations_line.address"):
            return
        receive_port = self["line.receive_port"]
        if receive_port == 0 or not _overlap(self["line.address"], self["stations_line.address"]):
            return
        # UDP may share the RCC line's port (that one is TCP); TCP and TLS may not.
        for transport, key, value in (("tcp", "stations_line.port", port), ("tls", "stations_line.tls_port", tls_port)):
            if transport in transports and value == receive_port:
                self.fail(key, f"{value} is the RCC line's port (line.receive_port): choose another")

    def _check_ldap(self) -> None:
        if not self.known("directory.source") or self["directory.source"] != "ldap":
            return
        for key in ("directory.url", "directory.search_dn"):
            if self.known(key) and not self[key]:
                self.fail(key, 'required when source = "ldap"')
        if self.known("directory.url") and not self["directory.url"].lower().startswith(("ldap://", "ldaps://")):
            self.fail("directory.url", f"must start with ldap:// or ldaps:// (got {self['directory.url']!r})")
        if self.known("directory.bind_dn", "directory.password_file") \
                and self["directory.bind_dn"] and not self["directory.password_file"]:
            self.fail("directory.password_file", "required with directory.bind_dn")


def _overlap(first: str, second: str) -> bool:
    """Whether listening on both addresses (same port) would collide."""
    wildcards = ("0.0.0.0", "::")
    return first == second or first in wildcards or second in wildcards


@attrs.frozen
class ConfigReading:
    """A configuration file read as far as it goes: every error, and the value of each key
    that is still valid. check-config uses it to check the files a partly invalid file names."""

    path: str
    errors: tuple[ConfigError, ...]
    values: Mapping[str, Any]  # dotted key -> value, defaults included; keys with an error are absent
    defaults: Mapping[str, Any]  # dotted key -> default, for the tables that could be read

    def known(self, key: str) -> bool:
        return key in self.values

    def value(self, key: str) -> Any:
        """The checked value of a dotted key; KeyError when it has an error (see `known`)."""
        return self.values[key]

    def section(self, name: str, needs: Iterable[str] | None = None) -> Any:
        """The table's section object when the keys in `needs` (default: all) are valid, else None.

        A key outside `needs` that has an error stands at its default: use only the needed keys."""
        keys = [*SCHEMA[name], *TABLE_ARRAYS.get(name, {})]
        needed = set(keys if needs is None else needs)
        values = {}
        for key in keys:
            dotted = f"{name}.{key}"
            if dotted in self.values:
                values[key] = self.values[dotted]
            elif key in needed or dotted not in self.defaults:
                return None
            else:
                values[key] = self.defaults[dotted]
        return SECTIONS[name](**values)

    @property
    def config(self) -> Config | None:
        """The whole configuration; None when there is any error."""
        if self.errors:
            return None
        return Config(path=self.path, **{name: self.section(name) for name in SCHEMA})

    @property
    def has_stations_line(self) -> bool:
        """The file has a [stations_line] table (whether or not its keys are valid)."""
        return any(key.startswith("stations_line.") for key in self.defaults)


def read_config(path: str | os.PathLike[str]) -> ConfigReading:
    """Read and check a configuration file, collecting every error instead of stopping at the first."""
    try:
        doc = TomlDocument(path, ConfigError)
    except ConfigError as error:
        return ConfigReading(path=os.fspath(path), errors=(error,), values={}, defaults={})
    reader = _Reader(doc)
    for name in doc.data:
        if name not in SCHEMA:
            reader.fail(name, f"unknown table [{name}] (known: {', '.join(SCHEMA)})")
    for name in SCHEMA:
        reader.read_table(name)
    reader.check_dependencies()
    return ConfigReading(path=str(doc.path), errors=tuple(reader.errors), values=reader.values,
                         defaults=reader.defaults)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check a configuration file; raises the first ConfigError (file, line and key)."""
    reading = read_config(path)
    if reading.errors:
        raise reading.errors[0]
    return reading.config

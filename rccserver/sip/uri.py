"""SIP, SIPS, tel and other URIs, and name-addr header values (RFC 3261 §19, §25; RFC 3966).

The grammar lives here once, as regular-expression fragments: the parse
functions fullmatch a compiled pattern (fast, in C) and then read the pieces;
`rccserver.sip.parser` reuses the same fragments to validate header values
without building objects, so "validates" and "parses" can never disagree.
When a pattern does not match, a slower diagnosis names what is wrong.

Values keep their written form: user parts stay %-escaped, parameter values
stay as written (quoted strings keep their quotes). Use `uri_equal` to compare
URIs by the RFC 3261 §19.1.4 rules.
"""
from __future__ import annotations

import functools
import re
from typing import Union
from urllib.parse import unquote_to_bytes

import attrs

from rccserver.sip.errors import UriError

# --- grammar fragments (strings, combined into larger patterns) -------------

SWS = r"[ \t]*"
LWS = r"[ \t]+"
TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
# qdtext is lenient about control characters; only CR/LF and unescaped quotes end it.
QUOTED = r'"(?:[^"\\\r\n]|\\[^\r\n])*"'
_HEX2 = r"%[0-9A-Fa-f]{2}"
_UNRESERVED = r"A-Za-z0-9\-_.!~*'()"
_USER = rf"(?:[{_UNRESERVED}&=+$,;?/]|{_HEX2})+"
_PASSWORD = rf"(?:[{_UNRESERVED}&=+$,]|{_HEX2})*"
# Outside <> a URI ends at ';', ',' or '?' (RFC 3261 §20), so those cannot occur in it.
_USER_BARE = rf"(?:[{_UNRESERVED}&=+$/]|{_HEX2})+"
_PASSWORD_BARE = rf"(?:[{_UNRESERVED}&=+$]|{_HEX2})*"
# Lenient IPv6 reference: RFC 5118 §4.10 asks to tolerate RFC 3261's 3-colon ABNF bug.
IPV6_REFERENCE = r"\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\]"
# Underscores are not in RFC 1123 hostnames but Windows machine names carry them.
_HOSTNAME = r"[A-Za-z0-9_][A-Za-z0-9_\-.]*"
HOST = rf"(?:{IPV6_REFERENCE}|{_HOSTNAME})"
PORT = r"0*(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
_PARAMCHAR = rf"(?:[{_UNRESERVED}\[\]/:&+$]|{_HEX2})"
# '=' inside a URI parameter value is tolerated (base64-ish Microsoft route signatures).
_URI_PVALUE = rf"(?:[{_UNRESERVED}\[\]/:&+$=]|{_HEX2})+"
_URI_PARAM = rf";{_PARAMCHAR}+(?:={_URI_PVALUE})?"
_HNVCHAR = rf"(?:[{_UNRESERVED}\[\]/?:+$]|{_HEX2})"
_URI_HEADER = rf"{_HNVCHAR}+={_HNVCHAR}*"
_TEL_NUMBER = r"\+?[\-.()]*[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()]*"
_TEL_PARAM = rf";[A-Za-z0-9\-]+(?:={_PARAMCHAR}+)?"
_URIC = rf"(?:[{_UNRESERVED};/?:@&=+$,]|{_HEX2})"
_URIC_BARE = rf"(?:[{_UNRESERVED}/:@&=+$]|{_HEX2})"
_OTHER_SCHEME = r"(?!(?i:sips?|tel):)[A-Za-z][A-Za-z0-9+\-.]*"

SIP_URI_CAP = (
    r"(?P<scheme>[Ss][Ii][Pp][Ss]?):"
    rf"(?:(?P<user>{_USER})(?::(?P<password>{_PASSWORD}))?@)?"
    rf"(?P<host>{HOST})(?::(?P<port>{PORT}))?"
    rf"(?P<params>(?:{_URI_PARAM})*)"
    rf"(?:\?(?P<headers>{_URI_HEADER}(?:&{_URI_HEADER})*))?"
)
TEL_URI_CAP = rf"(?P<scheme>[Tt][Ee][Ll]):(?P<number>{_TEL_NUMBER})(?P<params>(?:{_TEL_PARAM})*)"
ABSOLUTE_URI_CAP = rf"(?P<scheme>{_OTHER_SCHEME}):(?P<rest>{_URIC}+)"


def nocap(pattern: str) -> str:
    """The same pattern with its named groups made non-capturing (for embedding)."""
    return re.sub(r"\(\?P<\w+>", "(?:", pattern)


URI_ANY = f"(?:{nocap(SIP_URI_CAP)}|{nocap(TEL_URI_CAP)}|{nocap(ABSOLUTE_URI_CAP)})"
_URI_BARE = (
    rf"(?:[Ss][Ii][Pp][Ss]?:(?:{_USER_BARE}(?::{_PASSWORD_BARE})?@)?{HOST}(?::{PORT})?"
    rf"|[Tt][Ee][Ll]:{_TEL_NUMBER}"
    rf"|{_OTHER_SCHEME}:{_URIC_BARE}+)"
)
# gen-value = token / host / quoted-string; ':' lets a bare IPv6 received= through (RFC 5118 §4.5).
PARAM_VALUE = rf"(?:{QUOTED}|[A-Za-z0-9\-.!%*_+`'~:\[\]]+)"
GENERIC_PARAM_CAP = rf"{SWS};{SWS}(?P<name>{TOKEN})(?:{SWS}={SWS}(?P<value>{PARAM_VALUE}))?"
GENERIC_PARAMS = f"(?:{nocap(GENERIC_PARAM_CAP)})*"
_DISPLAY_CAP = rf"(?:(?P<quoted>{QUOTED})|(?P<tokens>{TOKEN}(?:{LWS}{TOKEN})*))"
NAME_ADDR_CAP = (
    rf"(?:{_DISPLAY_CAP}?{SWS}<(?P<uri>{URI_ANY})>|(?P<bare>{_URI_BARE}))"
    rf"(?P<params>{GENERIC_PARAMS})"
)
# One element of a name-addr list (Contact); Route-like headers demand the <> form.
NAME_ADDR_ITEM = nocap(NAME_ADDR_CAP)
ROUTE_ITEM = rf"(?:{nocap(_DISPLAY_CAP)})?{SWS}<{URI_ANY}>{GENERIC_PARAMS}"

_SIP_URI_RE = re.compile(SIP_URI_CAP)
_TEL_URI_RE = re.compile(TEL_URI_CAP)
_ABSOLUTE_URI_RE = re.compile(ABSOLUTE_URI_CAP)
_NAME_ADDR_RE = re.compile(NAME_ADDR_CAP)
_GENERIC_PARAM_RE = re.compile(GENERIC_PARAM_CAP)
_GENERIC_PARAMS_RE = re.compile(GENERIC_PARAMS)
_TOKEN_RE = re.compile(TOKEN)
_QUOTED_RE = re.compile(QUOTED)
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.S)
_USER_RE = re.compile(_USER)
_PASSWORD_RE = re.compile(_PASSWORD)
_HOST_RE = re.compile(HOST)
_URI_PARAM_RE = re.compile(_URI_PARAM)
_URI_HEADER_RE = re.compile(_URI_HEADER)
_TEL_NUMBER_RE = re.compile(_TEL_NUMBER)
_TEL_PARAM_RE = re.compile(_TEL_PARAM)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_LIST_ITEM_RE = re.compile(r'(?:[^,"<]+|"(?:[^"\\]|\\.)*(?:"|$)|<[^>]*(?:>|$))+', re.S)
_NEEDS_ESCAPE_RE = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f"\\]')

Params = tuple[tuple[str, Union[str, None]], ...]


def _lookup(params: Params, name: str) -> str | None:
    """Value of a parameter (names compare case-insensitively): None if absent, '' for a flag."""
    lname = name.lower()
    for pname, value in params:
        if pname.lower() == lname:
            return "" if value is None else value
    return None


def _format_params(params: Params) -> str:
    return "".join(f";{name}" if value is None else f";{name}={value}" for name, value in params)


def _split_uri_params(text: str) -> Params:
    """';a=b;c' (already validated) -> (('a', 'b'), ('c', None))."""
    if not text:
        return ()
    out = []
    for piece in text[1:].split(";"):
        name, eq, value = piece.partition("=")
        out.append((name, value if eq else None))
    return tuple(out)


# --- URI classes -------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SipUri:
    """A sip: or sips: URI. `user`/`password` stay %-escaped; IPv6 hosts keep their brackets."""

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        """URI parameter value: None if absent, '' if present without a value."""
        return _lookup(self.params, name)

    @property
    def transport(self) -> str | None:
        value = self.param("transport")
        return value.lower() if value else None

    @property
    def hostport(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        text = self.scheme + ":"
        if self.user is not None:
            text += self.user if self.password is None else f"{self.user}:{self.password}"
            text += "@"
        text += self.hostport + _format_params(self.params)
        if self.headers:
            text += "?" + "&".join(f"{name}={value}" for name, value in self.headers)
        return text


@attrs.frozen(kw_only=True)
class TelUri:
    """A tel: URI (RFC 3966). `number` is kept exactly as written, separators included."""

    number: str
    params: Params = ()

    scheme = "tel"

    def param(self, name: str) -> str | None:
        return _lookup(self.params, name)

    @property
    def digits(self) -> str:
        """The number without the visual separators '-', '.', '(' and ')'."""
        return self.number.translate(_VISUAL_SEPARATORS)

    def __str__(self) -> str:
        return f"tel:{self.number}{_format_params(self.params)}"


_VISUAL_SEPARATORS = str.maketrans("", "", "-.()")


@attrs.frozen(kw_only=True)
class AbsoluteUri:
    """Any other scheme (http:, urn:, mailto:, soap.beep:, ...), kept opaque."""

    scheme: str
    rest: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"


Uri = Union[SipUri, TelUri, AbsoluteUri]


# Results are immutable, and within a dialog the same From/To/Request-URI text comes back
# with every request, so a small cache pays; it is bounded, and errors are never cached.
_CACHE_SIZE = 2048


@functools.lru_cache(maxsize=_CACHE_SIZE)
def parse_uri(text: str) -> Uri:
    """Parse a URI as it appears in a Request-URI or inside '<' '>'.

    Raises UriError naming the problem.
    """
    colon = text.find(":")
    scheme = text[:colon].lower() if colon > 0 else ""
    if scheme in ("sip", "sips"):
        m = _SIP_URI_RE.fullmatch(text)
        if m is None:
            raise UriError(_diagnose_uri(text))
        port = m.group("port")
        headers = m.group("headers")
        return SipUri(
            scheme=scheme,
            user=m.group("user"),
            password=m.group("password"),
            host=m.group("host"),
            port=None if port is None else int(port),
            params=_split_uri_params(m.group("params")),
            headers=() if headers is None else tuple(
                tuple(h.partition("=")[::2]) for h in headers.split("&")  # type: ignore[misc]
            ),
        )
    if scheme == "tel":
        m = _TEL_URI_RE.fullmatch(text)
        if m is None:
            raise UriError(_diagnose_uri(text))
        return TelUri(number=m.group("number"), params=_split_uri_params(m.group("params")))
    m = _ABSOLUTE_URI_RE.fullmatch(text)
    if m is None:
        raise UriError(_diagnose_uri(text))
    return AbsoluteUri(scheme=scheme, rest=m.group("rest"))


def _diagnose_uri(text: str) -> str:
    """Why `text` is not a URI (called only after the fast pattern failed)."""
    if not text:
        return "empty URI"
    if text[0] == "<" or text[-1] == ">":
        return "URI must not be enclosed in '<' '>' here"
    if any(c in text for c in " \t\r\n"):
        return f"whitespace inside URI {text!r}"
    colon = text.find(":")
    if colon <= 0 or not _SCHEME_RE.fullmatch(text[:colon]):
        return f"missing or invalid URI scheme in {text!r}"
    scheme = text[:colon].lower()
    rest = text[colon + 1:]
    if scheme == "tel":
        number, _, params = rest.partition(";")
        if not _TEL_NUMBER_RE.fullmatch(number):
            return f"invalid telephone number {number!r} in tel URI"
        return _diagnose_params(";" + params, _TEL_PARAM_RE, "tel URI parameter")
    if scheme not in ("sip", "sips"):
        return f"invalid characters in {scheme}: URI {text!r}"
    if not rest:
        return "empty SIP URI"
    at = rest.find("@")
    if at >= 0:
        user, has_password, password = rest[:at].partition(":")
        if not user:
            return "empty user part in SIP URI"
        if not _USER_RE.fullmatch(user):
            return f"invalid character or escape in SIP URI user part {user!r}"
        if has_password and not _PASSWORD_RE.fullmatch(password):
            return "invalid character or escape in SIP URI password"
        rest = rest[at + 1:]
    rest, has_headers, headers = rest.partition("?")
    hostport, has_params, params = rest.partition(";")
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return "unterminated IPv6 reference in SIP URI host"
        host, port_part = hostport[: end + 1], hostport[end + 1:]
        if port_part and not port_part.startswith(":"):
            return f"unexpected characters after IPv6 reference {host!r}"
        port = port_part[1:] if port_part else None
    elif hostport.count(":") > 1:
        return f"IPv6 address must be enclosed in '[' ']' in SIP URI host {hostport!r}"
    else:
        host, has_port, port_text = hostport.partition(":")
        port = port_text if has_port else None
    if not host:
        return "missing host in SIP URI"
    if not _HOST_RE.fullmatch(host):
        return f"invalid SIP URI host {host!r}"
    if port is not None and not re.fullmatch(PORT, port):
        return f"invalid port {port!r} in SIP URI"
    if has_params:
        reason = _diagnose_params(";" + params, _URI_PARAM_RE, "SIP URI parameter")
        if reason:
            return reason
    if has_headers:
        for header in headers.split("&"):
            if not _URI_HEADER_RE.fullmatch(header):
                return f"invalid SIP URI header {header!r}"
    return f"malformed SIP URI {text!r}"


def _diagnose_params(text: str, pattern: re.Pattern[str], what: str) -> str:
    for piece in text[1:].split(";"):
        if not piece:
            return f"empty {what}"
        if not pattern.fullmatch(";" + piece):
            return f"invalid {what} {piece!r}"
    return ""


def uri_equal(a: Uri | str, b: Uri | str) -> bool:
    """RFC 3261 §19.1.4 comparison (escapes decoded, host and parameter names case-insensitive).

    Strings are parsed first; an unparsable string compares unequal to everything.
    """
    try:
        ua = parse_uri(a) if isinstance(a, str) else a
        ub = parse_uri(b) if isinstance(b, str) else b
    except UriError:
        return False
    if isinstance(ua, SipUri) and isinstance(ub, SipUri):
        return _sip_uri_equal(ua, ub)
    if isinstance(ua, TelUri) and isinstance(ub, TelUri):
        return (
            ua.digits.lower() == ub.digits.lower()
            and _param_map(ua.params) == _param_map(ub.params)
        )
    if isinstance(ua, AbsoluteUri) and isinstance(ub, AbsoluteUri):
        return ua.scheme == ub.scheme and _unescape(ua.rest) == _unescape(ub.rest)
    return False


def _unescape(text: str | None) -> bytes | None:
    return None if text is None else unquote_to_bytes(text)


def _param_map(params: Params) -> dict[str, bytes | None]:
    return {name.lower(): None if value is None else _unescape(value.lower()) for name, value in params}


# Parameters that make URIs differ when only one side has them (RFC 3261 §19.1.4).
_SIGNIFICANT_PARAMS = ("user", "ttl", "method", "maddr", "transport")


def _sip_uri_equal(a: SipUri, b: SipUri) -> bool:
    if a.scheme != b.scheme or a.port != b.port or a.host.lower() != b.host.lower():
        return False
    if _unescape(a.user) != _unescape(b.user) or _unescape(a.password) != _unescape(b.password):
        return False
    pa, pb = _param_map(a.params), _param_map(b.params)
    for name in _SIGNIFICANT_PARAMS:
        if pa.get(name, "absent") != pb.get(name, "absent"):
            return False
    for name in pa.keys() & pb.keys():
        if pa[name] != pb[name]:
            return False
    ha = {(n.lower(), _unescape(v)) for n, v in a.headers}
    hb = {(n.lower(), _unescape(v)) for n, v in b.headers}
    return ha == hb


# --- name-addr ----------------------------------------------------------------


def _check_display_name(instance: object, attribute: object, value: str | None) -> None:
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError("a display name cannot contain CR or LF")


@attrs.frozen(kw_only=True)
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI, header parameters."""

    display_name: str | None = attrs.field(default=None, validator=_check_display_name)
    uri: Uri
    params: Params = ()

    def param(self, name: str) -> str | None:
        """Header parameter value: None if absent, '' if present without a value."""
        return _lookup(self.params, name)

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    def with_param(self, name: str, value: str | None) -> NameAddr:
        """A copy with parameter `name` set (replacing any existing one; None = flag)."""
        lname = name.lower()
        kept = tuple(p for p in self.params if p[0].lower() != lname)
        return attrs.evolve(self, params=kept + ((name, value),))

    def __str__(self) -> str:
        text = f"<{self.uri}>{_format_params(self.params)}"
        if self.display_name is None:
            return text
        return f"{quote_string(self.display_name)} {text}"


def quote_string(text: str) -> str:
    """`text` as a SIP quoted-string (quotes, backslashes and controls escaped)."""
    return '"' + _NEEDS_ESCAPE_RE.sub(lambda m: "\\" + m.group(0), text) + '"'


def unquote_string(text: str) -> str:
    """Inverse of quote_string for a valid quoted-string (strips quotes, resolves quoted-pairs)."""
    return _QUOTED_PAIR_RE.sub(r"\1", text[1:-1])


def split_params(text: str) -> Params:
    """Header parameters ';a = b ; c' (already validated) -> (('a', 'b'), ('c', None))."""
    if '"' not in text and " " not in text and "\t" not in text:
        # Without quotes or blanks a validated list is ';name' / ';name=value' pieces, and
        # neither a token nor an unquoted value holds ';' or '=': plain splitting reads it.
        if not text:
            return ()
        pairs = []
        for piece in text[1:].split(";"):
            name, eq, value = piece.partition("=")
            pairs.append((name, value) if eq else (name, None))
        return tuple(pairs)
    return tuple((m.group("name"), m.group("value")) for m in _GENERIC_PARAM_RE.finditer(text))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def parse_name_addr(text: str) -> NameAddr:
    """Parse `"Display" <uri>;p=v`, `Display <uri>`, `<uri>` or a bare addr-spec `uri;p=v`.

    In the bare form every ';' parameter is a header parameter (RFC 3261 §20.10).
    Raises UriError naming the problem.
    """
    text = text.strip(" \t")
    m = _NAME_ADDR_RE.fullmatch(text)
    if m is None:
        raise UriError(diagnose_name_addr(text))
    quoted = m.group("quoted")
    if quoted is not None:
        display: str | None = unquote_string(quoted)
    else:
        display = m.group("tokens")
    uri_text = m.group("uri")
    uri = parse_uri(uri_text if uri_text is not None else m.group("bare"))
    return NameAddr(display_name=display, uri=uri, params=split_params(m.group("params")))


def split_header_list(value: str, *, keep_empty: bool = False) -> list[str]:
    """Split a header value at top-level commas (not inside quotes or '<' '>').

    Items are stripped; empty ones are dropped unless `keep_empty` (for diagnostics).
    """
    if keep_empty:
        return _split_keeping_empty(value)
    if '"' not in value and "<" not in value:
        return [item for item in (piece.strip(" \t") for piece in value.split(",")) if item]
    return [item for item in (m.group(0).strip(" \t") for m in _LIST_ITEM_RE.finditer(value)) if item]


def _split_keeping_empty(value: str) -> list[str]:
    items: list[str] = []
    start = 0
    in_quotes = in_brackets = False
    index, length = 0, len(value)
    while index < length:
        char = value[index]
        if in_quotes:
            if char == "\\":
                index += 1
            elif char == '"':
                in_quotes = False
        elif in_brackets:
            in_brackets = char != ">"
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_brackets = True
        elif char == ",":
            items.append(value[start:index].strip(" \t"))
            start = index + 1
        index += 1
    items.append(value[start:].strip(" \t"))
    return items


def diagnose_name_addr(text: str, *, require_brackets: bool = False) -> str:
    """Why `text` is not a valid name-addr / addr-spec with parameters."""
    if not text:
        return "empty value"
    pos = 0
    if text.startswith('"'):
        m = _QUOTED_RE.match(text)
        if m is None:
            return "unterminated quoted display name"
        pos = m.end()
        lt = text.find("<", pos)
        if lt < 0 or text[pos:lt].strip(" \t"):
            return "a quoted display name must be followed by '<' addr-spec '>'"
    else:
        lt = text.find("<")
    if lt < 0:
        if require_brackets:
            return "the URI must be enclosed in '<' '>'"
        addr, has_params, params = text.partition(";")
        addr = addr.rstrip(" \t")
        if any(c in addr for c in "?,"):
            return f"an addr-spec containing '?' or ',' must be enclosed in '<' '>': {addr!r}"
        if " " in addr or "\t" in addr:
            return f"display name or whitespace without '<' '>' in {addr!r}"
        return _diagnose_uri_then_params(addr, has_params + params)
    display = text[pos:lt].strip(" \t")
    if not pos and display and not re.fullmatch(rf"{TOKEN}(?:{LWS}{TOKEN})*", display):
        return f"display name {display!r} has characters that require quoting"
    gt = text.find(">", lt)
    if gt < 0:
        return "missing '>' after the URI"
    inner = text[lt + 1: gt]
    if inner != inner.strip(" \t"):
        return "whitespace inside '<' '>' around the URI"
    return _diagnose_uri_then_params(inner, text[gt + 1:])


def _diagnose_uri_then_params(uri_text: str, params: str) -> str:
    try:
        parse_uri(uri_text)
    except UriError as exc:
        return exc.reason
    return diagnose_params(params)


def diagnose_params(params: str) -> str:
    """Why a header parameter list (';a=b;c') does not parse."""
    stripped = params.strip(" \t")
    if not stripped:
        return "unexpected characters"
    if not stripped.startswith(";"):
        return f"unexpected characters {stripped[:20]!r} where ';' parameters were expected"
    for piece in stripped[1:].split(";"):
        piece = piece.strip(" \t")
        if not piece:
            return "empty parameter (stray ';')"
        if not _GENERIC_PARAMS_RE.fullmatch(";" + piece):
            return f"malformed parameter {piece[:40]!r}"
    return "malformed parameters"

"""Bytes -> `Request` / `Response`, validating syntax per RFC 3261 §7 and §25.

`parse_message` reads exactly one message (the framer cuts a stream; a datagram
may carry trailing octets after Content-Length, which are ignored). It checks
the start line, every header field's name, the mandatory and single-valued
headers, the scalar headers (CSeq, Max-Forwards, Expires, Content-Length, ...)
and the syntax of the address headers (Via, From, To, Contact, Route,
Record-Route) with the grammar of `rccserver.sip.uri`, without building
objects: those are built when a property asks for them.

Any input either parses or raises `SipParseError` whose `reason` names the
problem and whose `status` is the code to answer (400, or 505 for a SIP version
other than 2.0). For a request whose start line and header section were
readable, `partial` holds the request so the endpoint can send that answer.

Header bytes are decoded as UTF-8 with surrogateescape, so any octet survives a
parse / serialize round trip. Bare-LF line ends are tolerated in whole messages.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from rccserver.sip.errors import HeaderError, SipParseError, UriError
from rccserver.sip.headers import FIRST_VALUE_NAMES, Headers, canonical_name
from rccserver.sip.message import Request, Response, _parse_cseq, _parse_first_via
from rccserver.sip.uri import (
    GENERIC_PARAMS,
    NAME_ADDR_ITEM,
    ROUTE_ITEM,
    SWS,
    TOKEN,
    SipUri,
    diagnose_name_addr,
    parse_uri,
    split_header_list,
)
from rccserver.sip.via import VIA_LIST, Via, _assembled_via, _parse_plain_via, diagnose_via

__all__ = ["SipParseError", "parse_message", "parse_message_general", "MANDATORY_REQUEST_HEADERS"]

MANDATORY_REQUEST_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")
# A second copy with a different value makes the message ambiguous (RFC 4475 §3.3.8, §3.3.9).
_SINGLE_VALUED = frozenset({"Call-ID", "From", "To", "CSeq", "Content-Length", "Max-Forwards"})
_MAX_UINT32 = 0xFFFFFFFF

_TOKEN_RE = re.compile(TOKEN)
_VERSION_RE = re.compile(r"[Ss][Ii][Pp]/[0-9]+\.[0-9]+")
_STATUS_LINE_RE = re.compile(r"([Ss][Ii][Pp]/[0-9]+\.[0-9]+) ([0-9]+)(?: (.*))?", re.S)
_DIGITS_RE = re.compile(r"[0-9]+")
# RFC 3261 makes Call-ID `word ["@" word]`; stacks in the field use more characters
# (e.g. base64 '='), and the value is only ever compared, so any run of non-blanks is taken.
_CALL_ID_RE = re.compile(r"[^ \t]+")
_VIA_RE = re.compile(VIA_LIST)
_NAME_ADDR_RE = re.compile(NAME_ADDR_ITEM)
_CONTACT_RE = re.compile(rf"\*|{NAME_ADDR_ITEM}(?:{SWS},{SWS}{NAME_ADDR_ITEM})*")
_ROUTE_RE = re.compile(rf"{ROUTE_ITEM}(?:{SWS},{SWS}{ROUTE_ITEM})*")
_MEDIA_TYPE_RE = re.compile(rf"{TOKEN}{SWS}/{SWS}{TOKEN}{GENERIC_PARAMS}")
_DATE_RE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)
_RETRY_AFTER_RE = re.compile(r"([0-9]+)(?:[ \t]*\(.*\))?(?:[ \t]*;.*)?", re.S)
_WARNING_RE = re.compile(r"[0-9]{3}[ \t]+\S+[ \t]+\".*\"", re.S)


def _bad(reason: str) -> SipParseError:
    return SipParseError(reason)


def _check_uint(name: str, value: str, maximum: int) -> None:
    if not _DIGITS_RE.fullmatch(value):
        if value.startswith("-"):
            raise _bad(f"negative {name} {value!r}")
        raise _bad(f"{name} must be a decimal number, not {value!r}")
    if len(value.lstrip("0")) > len(str(maximum)) or int(value) > maximum:
        raise _bad(f"{name} {value} is out of range (max {maximum})")


# --- per-header syntax checks ---------------------------------------------------


def _check_via(value: str) -> None:
    if not _VIA_RE.fullmatch(value):
        raise _bad(f"malformed Via header: {diagnose_via(value)}")


def _check_name_addr(name: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if not _NAME_ADDR_RE.fullmatch(value):
            raise _bad(f"malformed {name} header: {diagnose_name_addr(value)}")
    return check


def _check_contact(value: str) -> None:
    if not _CONTACT_RE.fullmatch(value):
        raise _bad(f"malformed Contact header: {_diagnose_list(value, False)}")


def _check_route(name: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if not _ROUTE_RE.fullmatch(value):
            raise _bad(f"malformed {name} header: {_diagnose_list(value, True)}")
    return check


def _diagnose_list(value: str, require_brackets: bool) -> str:
    items = split_header_list(value, keep_empty=True)
    if items == [""]:
        return "empty value"
    if "" in items:
        return "empty element (stray ',')"
    for item in items:
        pattern = _ROUTE_RE if require_brackets else _NAME_ADDR_RE
        if not pattern.fullmatch(item):
            return diagnose_name_addr(item, require_brackets=require_brackets)
    return "malformed list"


def _check_cseq(value: str) -> None:
    try:
        _parse_cseq(value)
    except SipParseError as exc:
        raise _bad(exc.reason) from None


def _check_call_id(value: str) -> None:
    if not _CALL_ID_RE.fullmatch(value):
        raise _bad(f"malformed Call-ID {value!r}")


def _check_max_forwards(value: str) -> None:
    _check_uint("Max-Forwards", value, 255)


def _check_content_length(value: str) -> None:
    _check_uint("Content-Length", value, _MAX_UINT32)


def _check_expires(value: str) -> None:
    _check_uint("Expires", value, _MAX_UINT32)


def _check_date(value: str) -> None:
    if not _DATE_RE.fullmatch(value):
        raise _bad(f"Date {value!r} is not an RFC 1123 date in GMT")


def _check_retry_after(value: str) -> None:
    m = _RETRY_AFTER_RE.fullmatch(value)
    if m is None:
        raise _bad(f"malformed Retry-After {value!r}")
    _check_uint("Retry-After", m.group(1), _MAX_UINT32)


def _check_warning(value: str) -> None:
    for item in split_header_list(value):
        if not _WARNING_RE.fullmatch(item):
            raise _bad(f"malformed Warning {item!r} (expected a 3-digit code, agent and quoted text)")


def _check_content_type(value: str) -> None:
    if not _MEDIA_TYPE_RE.fullmatch(value):
        raise _bad(f"malformed Content-Type {value!r}")


_CHECKS: dict[str, Callable[[str], None]] = {
    "Via": _check_via,
    "From": _check_name_addr("From"),
    "To": _check_name_addr("To"),
    "Contact": _check_contact,
    "Route": _check_route("Route"),
    "Record-Route": _check_route("Record-Route"),
    "CSeq": _check_cseq,
    "Call-ID": _check_call_id,
    "Max-Forwards": _check_max_forwards,
    "Content-Length": _check_content_length,
    "Expires": _check_expires,
    "Date": _check_date,
    "Retry-After": _check_retry_after,
    "Warning": _check_warning,
    "Content-Type": _check_content_type,
}


# --- the parser -------------------------------------------------------------------


def parse_message(data: bytes) -> Request | Response:
    """Parse one SIP message. Raises SipParseError (only) for anything invalid."""
    message = _parse_common_shape(data)
    if message is None:
        message = parse_message_general(data)
    return message


def parse_message_general(data: bytes) -> Request | Response:
    """The full parser: every shape RFC 3261 allows, and the reason for every refusal."""
    data = bytes(data)
    start = 0
    while data.startswith(b"\r\n", start):  # RFC 3261 §7.5: ignore CRLFs before the start line
        start += 2
    first_lf = data.find(b"\n", start)
    if first_lf < 0:
        raise _bad("incomplete message: no line end after the start line")
    if first_lf > start and data[first_lf - 1] == 13:
        eol, eol_bytes = "\r\n", b"\r\n"
    else:
        eol, eol_bytes = "\n", b"\n"
    end = data.find(eol_bytes + eol_bytes, start)
    if end >= 0:
        head = data[start:end]
        body_start = end + 2 * len(eol_bytes)
    elif data.endswith(eol_bytes):
        # Datagram semantics: the end of the data closes an unterminated header section.
        head = data[start: len(data) - len(eol_bytes)]
        body_start = len(data)
    else:
        raise _bad("incomplete message: header section is not terminated by an empty line")
    if eol == "\r\n":
        crlf = head.count(b"\r\n")
        if head.count(b"\n") != crlf or head.count(b"\r") != crlf:
            raise _bad("bare CR or LF inside the header section")
    elif b"\r" in head:
        raise _bad("bare CR inside the header section")

    lines = head.decode("utf-8", "surrogateescape").split(eol)
    start_line = lines[0]
    request_line = None
    if start_line[:4].upper() == "SIP/":
        status, reason, version = _parse_status_line(start_line)
    else:
        request_line = start_line

    items = _read_fields(lines)
    try:
        if request_line is not None:
            method, uri, version = _parse_request_line(request_line)
        _check_fields(items)
        if request_line is not None:
            cseq_method = _parse_cseq(_field(items, "CSeq"))[1]
            if cseq_method != method:
                raise _bad(f"CSeq method {cseq_method!r} does not match the request method {method!r}")
        body = _body(data, body_start, items)
    except SipParseError as exc:
        if request_line is not None:
            exc.partial = _partial_request(request_line, items)
        raise

    if request_line is None:
        response = Response.__new__(Response)
        response.status, response.reason, response.version = status, reason, version
        message: Request | Response = response
    else:
        request = Request.__new__(Request)
        request.method, request.uri, request.version = method, uri, version
        message = request
    message.headers = Headers._trusted(items)
    message.body = body
    message._cache = {}
    return message


def _parse_status_line(line: str) -> tuple[int, str, str]:
    m = _STATUS_LINE_RE.fullmatch(line)
    if m is None:
        if re.match(r"[Ss][Ii][Pp]/[0-9]+\.[0-9]+ [0-9]+\S", line):
            raise _bad(f"status code in {line[:40]!r} must be exactly three digits")
        raise _bad(f"malformed Status-Line {line[:80]!r}")
    version, code, reason = m.group(1), m.group(2), m.group(3) or ""
    if version.upper() != "SIP/2.0":
        raise SipParseError(f"unsupported SIP version {version!r}", status=505)
    if len(code) != 3 or not 100 <= int(code) <= 699:
        raise _bad(f"status code {code[:20]!r} must be three digits in 100..699")
    return int(code), reason, "SIP/2.0"


def _parse_request_line(line: str) -> tuple[str, str, str]:
    if line != line.rstrip(" \t"):
        raise _bad("trailing whitespace at the end of the Request-Line")
    if "  " in line or "\t" in line or line != line.lstrip(" \t"):
        raise _bad("the Request-Line elements must be separated by exactly one SP")
    parts = line.split(" ")
    if len(parts) < 3:
        raise _bad(f"malformed Request-Line {line[:80]!r}: expected 'Method Request-URI SIP/2.0'")
    if len(parts) > 3:
        if _VERSION_RE.fullmatch(parts[-1]):
            raise _bad(f"whitespace inside the Request-URI {' '.join(parts[1:-1])[:80]!r}")
        raise _bad(f"malformed Request-Line {line[:80]!r}: expected 'Method Request-URI SIP/2.0'")
    method, uri, version = parts
    if not _TOKEN_RE.fullmatch(method):
        raise _bad(f"invalid method {method[:40]!r}")
    if not _VERSION_RE.fullmatch(version):
        raise _bad(f"malformed SIP-Version {version[:20]!r} in the Request-Line")
    if version.upper() != "SIP/2.0":
        raise SipParseError(f"unsupported SIP version {version!r}", status=505)
    if uri.startswith("<"):
        raise _bad("the Request-URI must not be enclosed in '<' '>'")
    try:
        parsed = parse_uri(uri)
    except UriError as exc:
        raise _bad(f"invalid Request-URI: {exc.reason}") from None
    if isinstance(parsed, SipUri) and parsed.headers:
        raise _bad("the Request-URI must not contain escaped headers ('?' part)")
    return method, uri, "SIP/2.0"


# Raw spelling -> canonical name, only for names that passed the token check; bounded.
_KNOWN_NAMES: dict[str, str] = {}
_KNOWN_NAMES_LIMIT = 4096


def _learn_name(raw_name: str) -> str | None:
    """The canonical name for a raw spelling (remembered), or None if it is not a token."""
    stripped = raw_name.rstrip(" \t")
    if not _TOKEN_RE.fullmatch(stripped):
        return None
    name = canonical_name(stripped)
    if len(_KNOWN_NAMES) < _KNOWN_NAMES_LIMIT:
        _KNOWN_NAMES[raw_name] = name
    return name


def _read_fields(lines: list[str]) -> list[tuple[str, str]]:
    """Split header lines into (canonical name, value), joining folded lines.

    An error here means the header section is unreadable, so no `partial` is offered.
    """
    items: list[tuple[str, str]] = []
    known = _KNOWN_NAMES
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            if not items:
                raise _bad("continuation line before the first header field")
            name, value = items[-1]
            more = line.strip(" \t")
            items[-1] = (name, f"{value} {more}" if value else more)
            continue
        raw_name, colon, value = line.partition(":")
        if not colon:
            raise _bad(f"header line without ':' {line[:60]!r}")
        name = known.get(raw_name)
        if name is None:
            name = _learn_name(raw_name)
            if name is None:
                stripped = raw_name.rstrip(" \t")
                raise _bad(f"invalid header name {stripped[:60]!r}")
        items.append((name, value.strip(" \t")))
    return items


def _check_fields(items: list[tuple[str, str]]) -> None:
    first: dict[str, str] = {}
    checks = _CHECKS
    for name, value in items:
        if name in _SINGLE_VALUED:
            previous = first.get(name)
            if previous is None:
                first[name] = value
            elif previous != value:
                raise _bad(f"multiple {name} header fields with different values")
        elif name == "Via":
            first.setdefault("Via", value)
        check = checks.get(name)
        if check is not None:
            check(value)
    missing = [name for name in MANDATORY_REQUEST_HEADERS if name not in first]
    if missing:
        raise _bad(f"missing mandatory header field(s): {', '.join(missing)}")


def _field(items: list[tuple[str, str]], name: str) -> str:
    for item_name, value in items:
        if item_name == name:
            return value
    raise _bad(f"missing {name} header")


def _body(data: bytes, body_start: int, items: list[tuple[str, str]]) -> bytes:
    length_text = None
    for name, value in items:
        if name == "Content-Length":
            length_text = value
            break
    if length_text is None:
        return data[body_start:]  # no Content-Length: the rest of the datagram
    length = int(length_text)
    available = len(data) - body_start
    if length > available:
        raise _bad(f"Content-Length {length} exceeds the {available} body bytes present")
    return data[body_start: body_start + length]


def _partial_request(request_line: str, items: list[tuple[str, str]]) -> Request | None:
    """The request as read, for answering it; None without a usable method and URI."""
    parts = request_line.split()
    if len(parts) < 2 or not _TOKEN_RE.fullmatch(parts[0]):
        return None
    request = Request.__new__(Request)
    request.method, request.uri, request.version = parts[0], parts[1], "SIP/2.0"
    request.headers = Headers._trusted(list(items))
    request.body = b""
    request._cache = {}
    return request


# --- the common-shape fast path -------------------------------------------------
#
# Nearly every message on the RCC line has one shape: CRLF line ends, no folding,
# header names spelled as before, and the same From/To/Call-ID/Request-URI/Contact
# on every request of a dialog. `_parse_common_shape` reads such a message in one
# pass and skips the grammar checks of values it has already seen pass them (a
# check is a pure function of the value). It never refuses anything: on any
# doubt or error it returns None and `parse_message_general` parses the input
# from scratch, so what is accepted and every refusal's reason stay the general
# parser's. tests/sip/test_parser_fast_path.py checks both give the same result.

# (canonical header name, value) pairs that passed their check in `_CHECKS`;
# Via values are remembered in `_VIA_SHAPES`, with their branch masked (see `_via_key`).
_VALID_VALUES: set[tuple[str, str]] = set()
_VALID_VALUES_LIMIT = 8192
_VALID_VALUE_MAX_LENGTH = 512  # longer values are checked every time, not remembered
# Start line -> what its parse returned (request: method, URI, version; status: status, reason, version).
_START_LINES: dict[str, tuple] = {}
_START_LINES_LIMIT = 4096

_BRANCH = ";branch="
_UNSEEN = object()
_TOKEN_RUN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")


def _via_key(value: str) -> str:
    """`value` with the run of token characters after its first ';branch=' replaced by one
    fixed token. Whether a Via is well-formed does not depend on that run: '=' followed by
    it can only begin an unquoted parameter value (a run of such characters) or sit inside
    a quoted string, and in both any non-empty run of token characters may stand for any
    other. So each peer's Vias, which differ per request only in the branch, share one key."""
    at = value.find(_BRANCH)
    if at < 0:
        return value
    start = at + len(_BRANCH)
    m = _TOKEN_RUN_RE.match(value, start)
    if m is None:
        return value
    return f"{value[:start]}z9hG4bK{value[m.end():]}"


# Masked Via value (`_via_key`) -> how to build the parsed top Via of any value with that
# mask, or None when there is no quick way (no branch, or not the plain shape `via.py`
# reads by splitting). Being a key here means the Via passed its check. The parser reads
# the top Via anyway, and every request's handling asks for `top_via`: building it from
# the template spares a second regex pass over the value.
_VIA_SHAPES: dict[str, tuple[Via, tuple, tuple] | None] = {}
_VIA_SHAPES_LIMIT = 4096


def _learn_via_shape(masked: str, branch_at: int) -> tuple[Via, tuple, tuple] | None:
    """For a plain Via whose first ';branch=' is at `branch_at`: the Via parsed from the
    masked value, with its parameters before and after the branch. In the plain shape ';'
    only separates parameters and no value is quoted, so the branch is the parameter after
    the `branch_at`-th ';' and its value runs to the next ';' (or the end)."""
    shape = None
    if branch_at >= 0:
        template = _parse_plain_via(masked)
        if template is not None:
            index = masked.count(";", 0, branch_at)
            params = template.params
            if index < len(params) and params[index][0] == "branch":
                shape = (template, params[:index], params[index + 1:])
    if len(_VIA_SHAPES) >= _VIA_SHAPES_LIMIT:
        _VIA_SHAPES.clear()  # bounded: a flood of distinct Vias only costs re-checking
    _VIA_SHAPES[masked] = shape
    return shape


def _top_via_from(shape: tuple[Via, tuple, tuple], value: str, branch_start: int) -> Via:
    """`parse_via(value)` for a value with the mask `shape` was learnt from."""
    template, before, after = shape
    semi = value.find(";", branch_start)
    branch = value[branch_start:] if semi < 0 else value[branch_start:semi]
    return _assembled_via(template.protocol, template.transport, template.host, template.port,
                          (*before, ("branch", branch), *after))


def _shared_via(value: str) -> Via | None:
    """The parsed top Via of a branch-less value, shared by every message repeating the
    line (a Via is immutable); None if it does not parse (the property then says why)."""
    try:
        return _parse_first_via(value)
    except HeaderError:
        return None


def _remember(key: tuple[str, str]) -> None:
    if len(key[1]) > _VALID_VALUE_MAX_LENGTH:
        return
    if len(_VALID_VALUES) >= _VALID_VALUES_LIMIT:
        _VALID_VALUES.clear()  # bounded: a flood of distinct values only costs re-checking
    _VALID_VALUES.add(key)


def _start_line(line: str) -> tuple | None:
    """The parsed start line (remembered), or None if it does not parse."""
    parsed = _START_LINES.get(line)
    if parsed is None:
        if "\r" in line or "\n" in line:
            return None
        try:
            if line[:4].upper() == "SIP/":
                parsed = _parse_status_line(line)
            else:
                parsed = _parse_request_line(line)
        except SipParseError:
            return None
        if len(_START_LINES) >= _START_LINES_LIMIT:
            _START_LINES.clear()
        _START_LINES[line] = parsed
    return parsed


_COMMON_METHODS = frozenset({"INFO", "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE", "REGISTER",
                             "SUBSCRIBE", "NOTIFY", "MESSAGE", "REFER", "PRACK", "PUBLISH"})


def _common_cseq(value: str) -> tuple[int, str] | None:
    """CSeq as `_parse_cseq` reads it, without the regex for '<up to 9 digits> <common method>'."""
    number, space, method = value.partition(" ")
    if space and method in _COMMON_METHODS and number.isascii() and number.isdigit() and len(number) <= 9:
        return int(number), method  # 9 digits are always below 2**32
    try:
        return _parse_cseq(value)
    except SipParseError:
        return None


# What the fast path does with a field, by its canonical name.
_UNCHECKED = "unchecked"
_CHECKED = "checked"  # by its `_CHECKS` entry
_SINGLE = "single"  # checked, and a second copy must equal the first
_CSEQ = "cseq"
_VIA = "via"
_NOTED = "noted"  # unchecked, may repeat; its first value is noted for `Headers` (Require)
# Raw spelling -> (canonical name, what to do); only spellings that passed the token check.
_FIELD_SHAPES: dict[str, tuple[str, str]] = {}


def _learn_shape(raw_name: str) -> tuple[str, str] | None:
    name = _learn_name(raw_name)
    if name is None:
        return None
    if name == "CSeq":
        kind = _CSEQ
    elif name == "Via":
        kind = _VIA
    elif name in _SINGLE_VALUED:
        kind = _SINGLE
    elif name in FIRST_VALUE_NAMES:  # not single-valued, not Via, not checked: Require
        kind = _NOTED
    elif name in _CHECKS:
        kind = _CHECKED
    else:
        kind = _UNCHECKED
    if len(_FIELD_SHAPES) < _KNOWN_NAMES_LIMIT:
        _FIELD_SHAPES[raw_name] = (name, kind)
    return name, kind


# Whole header line -> ((canonical name, value), what is left to do, its CSeq if it is one),
# for lines that passed every check that depends on the line alone. Most lines of a
# dialog's requests repeat byte for byte (From, To, Call-ID, Contact, Content-Type, ...,
# even "CSeq: 3 INFO" across dialogs), so a hit skips splitting, stripping and checking;
# only the duplicate and mandatory-field rules, which span lines, are applied per message.
# Kinds here: _CHECKED (nothing left; unchecked fields too), _VIA (the top Via is noted;
# the third slot holds its parsed Via, shared: see `_shared_via`),
# _SINGLE (a copy must equal the first) and _CSEQ (single, and its parse is kept).
# Vias with a branch change per request and are not remembered (their checks are).
_KNOWN_LINES: dict[str, tuple[tuple[str, str], str, tuple[int, str] | Via | None]] = {}
_KNOWN_LINES_LIMIT = 8192


def _remember_line(line: str, item: tuple[str, str], kind: str, cseq: tuple[int, str] | Via | None) -> None:
    if len(line) > _VALID_VALUE_MAX_LENGTH:
        return
    if len(_KNOWN_LINES) >= _KNOWN_LINES_LIMIT:
        _KNOWN_LINES.clear()  # bounded: a flood of distinct lines only costs reading them again
    _KNOWN_LINES[line] = (item, kind, cseq)


def _parse_common_shape(data: bytes) -> Request | Response | None:
    """The message, if it has the common shape and is valid; None to let the general parser decide."""
    if type(data) is not bytes or data[:2] == b"\r\n":
        return None
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end]
    lines = head.decode("utf-8", "surrogateescape").split("\r\n")
    # A bare CR or LF would be inside one of the lines: each line not remembered (as
    # start line or header line; only lines without them are) is searched for them.
    start_line = _start_line(lines[0])
    if start_line is None:
        return None

    shapes = _FIELD_SHAPES
    valid = _VALID_VALUES
    known_lines = _KNOWN_LINES
    items: list[tuple[str, str]] = []
    first: dict[str, str] = {}  # FIRST_VALUE_NAMES' first values: single-valued fields, top Via, Require
    cseq = None
    top_via = None
    via_shapes = _VIA_SHAPES
    for line in lines[1:]:
        known = known_lines.get(line)
        if known is not None:  # read and checked before: only the per-message rules remain
            item, kind, line_cseq = known
            items.append(item)
            if kind is _CHECKED:  # or unchecked
                continue
            value = item[1]
            if kind is _VIA:
                if "Via" not in first:
                    first["Via"] = value
                    top_via = line_cseq  # for a Via line: its shared parsed Via, or None
                continue
            previous = first.setdefault(item[0], value)
            if previous is not value and previous != value:
                if kind is _NOTED:  # may differ: only the first is noted
                    continue
                return None
            if kind is _CSEQ and cseq is None:
                cseq = line_cseq
            continue
        if "\r" in line or "\n" in line:
            return None
        raw_name, colon, value = line.partition(":")
        if not colon:
            return None
        shape = shapes.get(raw_name)
        if shape is None:
            shape = _learn_shape(raw_name)
            if shape is None:  # not a token (a folded line starts with blanks, so it lands here too)
                return None
        name, kind = shape
        value = value.strip(" \t")
        item = (name, value)
        items.append(item)
        if kind is _UNCHECKED:
            _remember_line(line, item, _CHECKED, None)
            continue
        if kind is _VIA:
            # `_via_key`, inline: mask the run of token characters after the first ';branch='.
            at = value.find(_BRANCH)
            masked = value
            if at >= 0:
                m = _TOKEN_RUN_RE.match(value, at + 8)
                if m is not None:
                    masked = f"{value[:at + 8]}z9hG4bK{value[m.end():]}"
            shape = via_shapes.get(masked, _UNSEEN)
            if shape is _UNSEEN:
                if not _VIA_RE.fullmatch(value):
                    return None
                shape = _learn_via_shape(masked, at if masked is not value else -1)
            if masked is value:  # no branch: the same line may well come again
                # parsed now only if it is the top Via or kept for the next messages
                is_top = "Via" not in first
                shared = _shared_via(value) if is_top or len(line) <= _VALID_VALUE_MAX_LENGTH else None
                _remember_line(line, item, _VIA, shared)
                if is_top:
                    first["Via"] = value
                    top_via = shared
            elif "Via" not in first:
                first["Via"] = value
                if shape is not None:
                    top_via = _top_via_from(shape, value, at + 8)
            continue
        if kind is _NOTED:
            first.setdefault(name, value)
            _remember_line(line, item, _NOTED, None)
            continue
        if kind is not _CHECKED:  # single-valued
            previous = first.setdefault(name, value)
            if previous is not value:  # a later copy: must repeat the first, which was checked
                if previous != value:
                    return None
                continue
            if kind is _CSEQ:
                cseq = _common_cseq(value)
                if cseq is None:
                    return None
                _remember_line(line, item, _CSEQ, cseq)
                continue
        key = (name, value)
        if key not in valid:
            try:
                _CHECKS[name](value)
            except SipParseError:
                return None
            _remember(key)
        _remember_line(line, item, kind, None)
    if cseq is None or "Via" not in first or "From" not in first or "To" not in first or "Call-ID" not in first:
        return None  # a mandatory field is missing

    body_start = end + 4
    length_text = first.get("Content-Length")
    if length_text is None:
        body = data[body_start:]
    else:
        length = int(length_text)
        if length > len(data) - body_start:
            return None
        body = data[body_start: body_start + length]

    if len(start_line) == 3 and isinstance(start_line[0], str):
        method, uri, version = start_line
        if cseq[1] != method:
            return None
        request = Request.__new__(Request)
        request.method, request.uri, request.version = method, uri, version
        message: Request | Response = request
    else:
        response = Response.__new__(Response)
        response.status, response.reason, response.version = start_line
        message = response
    message.headers = Headers._trusted(items, first)  # `first` holds FIRST_VALUE_NAMES' first values
    message.body = body
    cache = {"CSeq": (first["CSeq"], cseq)}
    if top_via is not None:
        cache["top_via"] = (first["Via"], top_via)
    message._cache = cache
    return message

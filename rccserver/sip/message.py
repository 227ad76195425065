"""SIP requests and responses, their serializer, and `make_response`.

Messages hold header values as strings and parse structured headers (From, To,
Via, the Request-URI) only when a property asks for them; the parsed value is
cached against the raw text, so editing `headers` afterwards is safe.

Equality: two messages are equal when their start lines, their header fields
(names, values and order) other than Content-Length, and their bodies are
equal. Content-Length is left out because `to_bytes` always rewrites it from
the body, so a parsed message that lacked it still equals its re-parse.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, Union

from rccserver.sip.errors import HeaderError, SipParseError
from rccserver.sip.headers import Headers
from rccserver.sip.uri import NameAddr, Uri, parse_name_addr, parse_uri, split_header_list
from rccserver.sip.via import Via, parse_via

REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    437: "Unsupported Certificate",
    438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded",
    469: "Bad Info Package",
    470: "Consent Needed",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
}

_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_CSEQ_RE = re.compile(r"([0-9]+)[ \t]+([A-Za-z0-9\-.!%*_+`'~]+)")
_T = TypeVar("_T")


def reason_phrase(status: int) -> str:
    """The standard reason phrase for `status` (a generic one for unknown codes)."""
    phrase = REASON_PHRASES.get(status)
    if phrase is not None:
        return phrase
    return {1: "Provisional", 2: "Success", 3: "Redirection", 4: "Client Error",
            5: "Server Error", 6: "Global Failure"}.get(status // 100, "Unknown")


class _Message:
    """What requests and responses share: headers, body, header helpers, serializer."""

    __slots__ = ("headers", "body", "_cache")

    headers: Headers
    body: bytes
    _cache: dict[str, tuple[Any, Any]]

    def _init_common(self, headers: Headers | Iterable[tuple[str, str]] | None, body: bytes) -> None:
        if headers is None:
            headers = Headers()
        elif not isinstance(headers, Headers):
            headers = Headers(headers)
        if not isinstance(body, (bytes, bytearray)):
            raise TypeError(f"body must be bytes, not {type(body).__name__}")
        self.headers = headers
        self.body = bytes(body)
        self._cache = {}

    def _cached(self, key: str, raw: Any, build: Callable[[Any], _T]) -> _T:
        """build(raw), remembered until the raw header text changes."""
        hit = self._cache.get(key)
        if hit is not None and hit[0] == raw:
            return hit[1]  # type: ignore[no-any-return]
        value = build(raw)
        self._cache[key] = (raw, value)
        return value

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise HeaderError(f"missing {name} header")
        return value

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        """(sequence number, method) from CSeq."""
        return self._cached("CSeq", self._required("CSeq"), _parse_cseq)

    @property
    def from_(self) -> NameAddr:
        return self._cached("From", self._required("From"), parse_name_addr)

    @property
    def to(self) -> NameAddr:
        return self._cached("To", self._required("To"), parse_name_addr)

    @property
    def vias(self) -> list[Via]:
        """Every via-parm, top first (comma lists inside one Via line are split)."""
        raw = tuple(self.headers.get_all("Via"))
        return list(self._cached("Via", raw, lambda values: tuple(parse_via(v) for v in values)))

    @property
    def top_via(self) -> Via:
        """The first via-parm (only that one is parsed)."""
        raw = self.headers.get("Via")
        if raw is None:
            raise HeaderError("missing Via header")
        return self._cached("top_via", raw, _parse_first_via)

    @property
    def content_type(self) -> str | None:
        """Media type, lowercased, without parameters ('application/csta+xml'), or None."""
        value = self.headers.get("Content-Type")
        if value is None:
            return None
        return value.partition(";")[0].strip(" \t").lower()

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        if value is None:
            return None
        value = value.strip(" \t")
        if not value.isdigit() or len(value.lstrip("0")) > 3:
            raise HeaderError(f"invalid Max-Forwards {value!r}")
        return int(value)

    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The wire form. Content-Length is always written as len(body), in place of any
        existing one (or last); names are written in their canonical long form."""
        lines = [self._start_line()]
        length_line = f"Content-Length: {len(self.body)}"
        length_written = False
        for name, value in self.headers._items:
            if name == "Content-Length":
                if not length_written:
                    lines.append(length_line)
                    length_written = True
            else:
                lines.append(f"{name}: {value}")
        if not length_written:
            lines.append(length_line)
        lines.append("\r\n")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape") + self.body

    def _fields(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Message)
        return (
            self._fields() == other._fields()
            and self.body == other.body
            and _without_length(self.headers) == _without_length(other.headers)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable


def _without_length(headers: Headers) -> list[tuple[str, str]]:
    return [item for item in headers._items if item[0] != "Content-Length"]


def _parse_first_via(raw: str) -> Via:
    if "," in raw:
        items = split_header_list(raw)
        if items:
            return parse_via(items[0])
    return parse_via(raw)


def _parse_cseq(value: str) -> tuple[int, str]:
    m = _CSEQ_RE.fullmatch(value.strip(" \t"))
    if m is None:
        raise HeaderError(f"malformed CSeq {value!r} (expected '<number> <method>')")
    number = m.group(1)
    if len(number.lstrip("0")) > 10 or int(number) > 0xFFFFFFFF:
        raise HeaderError(f"CSeq sequence number {number} is out of range (max 2**32-1)")
    return int(number), m.group(2)


class Request(_Message):
    """A SIP request. `uri` is the Request-URI text exactly as on the wire."""

    __slots__ = ("method", "uri", "version")

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Headers | Iterable[tuple[str, str]] | None = None,
        body: bytes = b"",
        version: str = "SIP/2.0",
    ) -> None:
        if not _TOKEN_RE.fullmatch(method):
            raise ValueError(f"invalid method {method!r}")
        if not uri or any(c in uri for c in " \t\r\n"):
            raise ValueError(f"invalid Request-URI {uri!r}")
        self.method = method
        self.uri = uri
        self.version = version
        self._init_common(headers, body)

    @property
    def request_uri(self) -> Uri:
        """The Request-URI parsed (cached); raises UriError if it is not a URI."""
        return self._cached("request_uri", self.uri, parse_uri)

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def _fields(self) -> tuple[Any, ...]:
        return (self.method, self.uri, self.version)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri} headers={len(self.headers)} body={len(self.body)}B>"


class Response(_Message):
    """A SIP response."""

    __slots__ = ("status", "reason", "version")

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | Iterable[tuple[str, str]] | None = None,
        body: bytes = b"",
        version: str = "SIP/2.0",
    ) -> None:
        if not isinstance(status, int) or not 100 <= status <= 699:
            raise ValueError(f"status must be an int in 100..699, not {status!r}")
        if reason is None:
            reason = reason_phrase(status)
        if "\r" in reason or "\n" in reason:
            raise ValueError("reason phrase must not contain CR or LF")
        self.status = status
        self.reason = reason
        self.version = version
        self._init_common(headers, body)

    def _start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def _fields(self) -> tuple[Any, ...]:
        return (self.status, self.reason, self.version)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} headers={len(self.headers)} body={len(self.body)}B>"


Message = Union[Request, Response]


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    copy_record_route: bool = False,
) -> Response:
    """A response to `request` (RFC 3261 §8.2.6): Via (all, in order), From, To, Call-ID,
    CSeq and, if asked, Record-Route are copied as written; then `headers`.

    `to_tag` is added to To unless To already has a tag. Fields the request lacks are
    skipped, so a `SipParseError.partial` request can be answered too (if its To does
    not parse, it is copied without adding the tag).
    """
    copied = _COPIED_WITH_RECORD_ROUTE if copy_record_route else _COPIED
    items: list[tuple[str, str]] = []
    for item in request.headers._items:
        if item[0] in copied:
            if to_tag is not None and item[0] == "To":
                item = ("To", with_to_tag(item[1], to_tag))
            items.append(item)
    response = Response(status, reason, Headers._trusted(items), body)
    response.headers.extend(headers)
    return response


_COPIED = frozenset({"Via", "From", "To", "Call-ID", "CSeq"})
_COPIED_WITH_RECORD_ROUTE = _COPIED | {"Record-Route"}


def with_to_tag(value: str, to_tag: str) -> str:
    """`value` (a To header value) with `to_tag` as its tag, as a UAS answer writes it."""
    try:
        to = parse_name_addr(value)
    except SipParseError:
        return value
    if to.tag is not None:
        return value
    return f"{value};tag={to_tag}"

"""Header field names and the ordered, case-insensitive header list of a SIP message.

Names are stored in one canonical spelling (compact forms expanded, well-known
names in their RFC case, others Title-Case per dash), so lookups compare plain
strings and the serializer writes long forms. Values are stored as read:
folded lines joined with one space, surrounding whitespace removed.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from rccserver.sip.uri import split_header_list

COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "r": "Refer-To",
    "x": "Session-Expires",
    "u": "Allow-Events",
    "a": "Accept-Contact",
    "b": "Referred-By",
    "d": "Request-Disposition",
    "j": "Reject-Contact",
    "y": "Identity",
    "n": "Identity-Info",
}

# Names whose canonical case is not plain Title-Case, plus the common ones (a cache hit).
_WELL_KNOWN = (
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
    "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
    "Content-Transfer-Encoding", "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires",
    "From", "History-Info", "Identity", "Identity-Info", "In-Reply-To", "Max-Forwards",
    "MIME-Version", "Min-Expires", "Min-SE", "Organization", "P-Asserted-Identity",
    "P-Preferred-Identity", "Path", "Priority", "Privacy", "Proxy-Authenticate",
    "Proxy-Authorization", "Proxy-Require", "RAck", "Reason", "Record-Route", "Refer-To",
    "Referred-By", "Reject-Contact", "Replaces", "Reply-To", "Request-Disposition", "Require",
    "Retry-After", "Route", "RSeq", "Server", "Service-Route", "Session-Expires", "SIP-ETag",
    "SIP-If-Match", "Subject", "Subscription-State", "Supported", "Timestamp", "To",
    "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate",
)
_CANONICAL: dict[str, str] = {name.lower(): name for name in _WELL_KNOWN}
_CANONICAL.update(COMPACT_FORMS)
# Names that are their own canonical spelling: lookups by them (the usual case: code asks
# for "From", "Via", "Call-ID") skip `canonical_name`.
_ALREADY_CANONICAL = frozenset(_WELL_KNOWN)
# Exact spelling -> canonical, filled as names are seen; bounded so hostile input cannot grow it.
_SEEN: dict[str, str] = {}
_SEEN_LIMIT = 4096

# Headers whose values are comma-separated lists (RFC 3261 §7.3.1 and extensions).
LIST_HEADERS = frozenset({
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Call-Info", "Contact", "Content-Encoding", "Content-Language", "Error-Info",
    "History-Info", "In-Reply-To", "P-Asserted-Identity", "P-Preferred-Identity", "Path",
    "Privacy", "Proxy-Require", "Reason", "Record-Route", "Reject-Contact", "Require", "Route",
    "Service-Route", "Supported", "Unsupported", "Via", "Warning",
})


def canonical_name(name: str) -> str:
    """Canonical spelling of a header name: 'v' -> 'Via', 'call-id' -> 'Call-ID', 'x-foo' -> 'X-Foo'.

    Microsoft's own 'ms-' headers keep their lowercase spelling.
    """
    seen = _SEEN.get(name)
    if seen is not None:
        return seen
    lower = name.lower()
    canonical = _CANONICAL.get(lower)
    if canonical is None:
        if lower.startswith("ms-"):
            canonical = lower
        else:
            canonical = "-".join(part.capitalize() for part in lower.split("-"))
    if len(_SEEN) < _SEEN_LIMIT:
        _SEEN[name] = canonical
    return canonical


def _check_value(name: str, value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"header {name} value must be str, not {type(value).__name__}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} value must not contain CR or LF: {value!r}")


_BAD_NAME_CHARS = frozenset(" \t\r\n:")
_GOOD_NAMES: set[str] = set()  # names already checked; the same few dozen recur on every message


def _check_name(name: str) -> None:
    if name in _GOOD_NAMES:
        return
    if not name or not _BAD_NAME_CHARS.isdisjoint(name):
        raise ValueError(f"invalid header name {name!r}")
    if len(_GOOD_NAMES) < 4096:  # bounded: peers may send arbitrary names
        _GOOD_NAMES.add(name)


# The names whose first value the parser's fast path collects (see `Headers._first`);
# Require because every request's handling asks whether it is there.
FIRST_VALUE_NAMES = frozenset({"Via", "From", "To", "Call-ID", "CSeq", "Content-Length", "Max-Forwards",
                               "Require"})


class Headers:
    """Ordered list of (canonical name, value) pairs with case-insensitive lookups.

    The same name may occur several times (Via, Route, Contact, ...); order is kept.
    """

    # `_first`: the first value of each name in FIRST_VALUE_NAMES that occurs, when the
    # parser's fast path collected it anyway (None otherwise). A request's handlers ask
    # for From, To, Via, Call-ID and CSeq one after another: a dict answers them without
    # a scan of the list. Every method that changes `_items` drops it; nothing else
    # writes `_items`.
    __slots__ = ("_items", "_first")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self._first: dict[str, str] | None = None
        for name, value in items:
            self.add(name, value)

    @classmethod
    def _trusted(cls, items: list[tuple[str, str]], first: dict[str, str] | None = None) -> Headers:
        """Wrap items the parser already canonicalised and checked (no copying); `first`,
        if given, maps every name of FIRST_VALUE_NAMES in `items` to its first value."""
        headers = cls.__new__(cls)
        headers._items = items
        headers._first = first
        return headers

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name` as written (a list header is not split), or `default`."""
        if name not in _ALREADY_CANONICAL:
            name = canonical_name(name)
        first = self._first
        if first is not None and name in FIRST_VALUE_NAMES:
            return first.get(name, default)
        for item_name, value in self._items:
            if item_name == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of `name`; values of list headers are split at top-level commas."""
        if name not in _ALREADY_CANONICAL:
            name = canonical_name(name)
        values = [value for item_name, value in self._items if item_name == name]
        if name in LIST_HEADERS:
            return [item for value in values for item in split_header_list(value)]
        return values

    def add(self, name: str, value: str) -> None:
        """Append a field at the end."""
        _check_name(name)
        _check_value(name, value)
        self._items.append((canonical_name(name), value))
        self._first = None

    def extend(self, items: Iterable[tuple[str, str]]) -> None:
        """Append fields at the end, in order (each checked as `add` checks it)."""
        self._first = None
        append = self._items.append
        for name, value in items:
            _check_name(name)
            _check_value(name, value)
            append((canonical_name(name), value))

    def prepend(self, name: str, value: str) -> None:
        """Insert a field before all others (a new top Via, for instance)."""
        _check_name(name)
        _check_value(name, value)
        self._items.insert(0, (canonical_name(name), value))
        self._first = None

    def set(self, name: str, value: str) -> None:
        """Replace every value of `name` by one value at the position of the first (or at the end)."""
        _check_name(name)
        _check_value(name, value)
        name = canonical_name(name)
        out: list[tuple[str, str]] = []
        placed = False
        for item in self._items:
            if item[0] == name:
                if not placed:
                    out.append((name, value))
                    placed = True
            else:
                out.append(item)
        if not placed:
            out.append((name, value))
        self._items = out
        self._first = None

    def replace_first(self, name: str, value: str) -> None:
        """Replace the first field of `name` where it stands, leaving every other field as it is
        (checked fields are not checked again: a proxy stamping a Via touches one field)."""
        _check_value(name, value)
        name = canonical_name(name)
        for index, (item_name, _) in enumerate(self._items):
            if item_name == name:
                self._items[index] = (name, value)
                self._first = None
                return
        raise KeyError(f"no {name} field to replace")

    def remove(self, name: str) -> None:
        """Remove every field called `name` (nothing happens if there is none)."""
        name = canonical_name(name)
        self._items = [item for item in self._items if item[0] != name]
        self._first = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name not in _ALREADY_CANONICAL:
            name = canonical_name(name)
        first = self._first
        if first is not None and name in FIRST_VALUE_NAMES:  # a look-up, not a scan
            return name in first
        for item_name, _ in self._items:
            if item_name == name:
                return True
        return False

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def fields(self) -> Sequence[tuple[str, str]]:
        """The (name, value) pairs in order, without the copy `__iter__` and `items` make:
        for reading at once (a response copying the request's Vias, From, To...). Do not
        keep it, and do not change these headers while reading it."""
        return self._items

    def copy(self) -> Headers:
        return Headers._trusted(list(self._items))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

"""Header-value readers the endpoint needs on every request, kept apart from dispatch.

The full grammar lives in `uri.py`, `via.py` and `headers.py`; these are the
few shortcuts and checks the endpoint applies to values the parser has already
validated, and the rule for the reason phrases we write.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

MAX_REASON = 120  # a reason phrase says what is wrong; it need not echo the whole input


def uri_text(name_addr: str) -> str:
    """The URI inside a name-addr or addr-spec header value, kept as written."""
    start = name_addr.find("<")
    if start >= 0:
        end = name_addr.find(">", start)
        return name_addr[start + 1 : end if end > 0 else None].strip()
    return name_addr.split(";", 1)[0].strip()


_MISSING = object()
# Raw From/To value -> its tag, for the values the scan reads: every request of a
# dialog repeats the same From and To, so most requests find both here. Bounded:
# a flood of distinct values only costs scanning again.
_TAGS: dict[str, str | None] = {}
_TAGS_LIMIT = 4096


def _scan_tag(raw: str) -> str | None | object:
    """The tag parameter after the URI, or _MISSING if the parameters hold a quoted string."""
    close = raw.rfind(">")
    tail = raw[close + 1 :] if close >= 0 else raw.partition(";")[2]
    if '"' in tail:
        return _MISSING
    for param in tail.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "tag":
            return value.strip() or None
    return None


def tag_of(raw: str | None, parsed: Callable[[], object]) -> str | None:
    """The tag parameter of a From/To value the parser has already validated.

    A plain scan of the header parameters after the URI is several times faster
    than a full name-addr parse, and From/To are read for every request (and
    remembered by raw value); if the parameters hold a quoted string, fall back
    to the real parser.
    """
    if raw is None:
        return parsed().tag  # type: ignore[attr-defined]
    tag = _TAGS.get(raw, _MISSING)
    if tag is _MISSING:
        tag = _scan_tag(raw)
        if tag is _MISSING:
            return parsed().tag  # type: ignore[attr-defined]
        if len(_TAGS) >= _TAGS_LIMIT:
            _TAGS.clear()
        _TAGS[raw] = tag  # type: ignore[assignment]
    return tag  # type: ignore[return-value]


def field_tag(message: Any, name: str) -> str | None:
    """`tag_of` for a message's From or To (`name`), without a closure per call."""
    raw = message.headers.get(name)
    if raw is not None:
        tag = _TAGS.get(raw, _MISSING)
        if tag is not _MISSING:
            return tag  # type: ignore[return-value]
    return tag_of(raw, lambda: message.from_ if name == "From" else message.to)


def from_to_tags(message: Any) -> tuple[str | None, str | None]:
    """(`field_tag(message, "From")`, `field_tag(message, "To")`) in one call: every
    request received reads both; a remembered raw value is answered without a frame."""
    get = message.headers.get
    from_tag = _TAGS.get(get("From"), _MISSING)  # None (absent) is never a key
    if from_tag is _MISSING:
        from_tag = field_tag(message, "From")
    to_tag = _TAGS.get(get("To"), _MISSING)
    if to_tag is _MISSING:
        to_tag = field_tag(message, "To")
    return from_tag, to_tag  # type: ignore[return-value]


def safe_reason(text: str) -> str:
    """A reason phrase from free text: one line, bounded, never empty."""
    reason = " ".join(text.replace("\r", " ").replace("\n", " ").split()) or "Bad Request"
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."


def unsupported_options(require_values: Iterable[str], supported: Iterable[str]) -> list[str]:
    """The option tags of `Require` header values that are not in `supported` (RFC 3261 8.2.2.3)."""
    known = {tag.lower() for tag in supported}
    unsupported = []
    for value in require_values:
        for tag in value.split(","):
            tag = tag.strip()
            if tag and tag.lower() not in known:
                unsupported.append(tag)
    return unsupported

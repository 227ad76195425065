"""Header fields the endpoint sends again and again, checked and rendered once.

The application answers and sends events with the same few constant tuples
(`Content-Type: application/csta+xml`), followed or preceded by our
User-Agent/Server; checking every name and value through `Headers` on every
message was a large part of building one. A tuple is checked through `Headers`
the first time it is seen (so a bad field raises exactly as there) and its wire
lines are remembered.
"""
from __future__ import annotations

from rccserver.sip.headers import Headers

_MISSING = object()


class RenderedFields:
    """Wire lines ("Name: value\\r\\n" each, names canonical) of header-field tuples."""

    __slots__ = ("_lines", "_limit", "_last")

    def __init__(self, limit: int = 64) -> None:
        self._lines: dict[tuple[tuple[str, str], ...], str | None] = {}
        self._limit = limit
        # (fields, name, value, text) of the last `lines_then` answer with text
        self._last: tuple[object, object, object, str] = ((), None, None, "")

    def __len__(self) -> int:
        return len(self._lines)

    def lines(self, fields: tuple[tuple[str, str], ...]) -> str | None:
        """The fields as wire lines; None when the caller must build the message the
        general way: a Content-Length among them (the serializer puts it in that
        place), or something that is not a tuple of pairs of strings."""
        try:
            text = self._lines.get(fields, _MISSING)
        except TypeError:  # unhashable: the general path says what is wrong with it
            return None
        if text is _MISSING:
            items = Headers(fields).items()  # raises ValueError/TypeError as Headers.add does
            text = None if any(name == "Content-Length" for name, _ in items) else "".join(
                [f"{name}: {value}\r\n" for name, value in items]
            )
            if len(self._lines) >= self._limit:
                self._lines.clear()  # bounded: a caller inventing fields per message gains nothing
            self._lines[fields] = text
        return text  # type: ignore[return-value]

    def lines_then(self, fields: tuple[tuple[str, str], ...], name: str, value: str) -> str | None:
        """`lines((*fields, (name, value)))`; the same objects as last time (the
        application's constant tuple, our Server field) are answered without building
        and hashing the tuple again. Only a checked answer is remembered, and the
        memo holds `fields`, so its identity is not reused while it is remembered."""
        last = self._last
        if fields is last[0] and name is last[1] and value is last[2]:
            return last[3]
        text = self.lines((*fields, (name, value)))
        if text is not None:
            self._last = (fields, name, value, text)
        return text

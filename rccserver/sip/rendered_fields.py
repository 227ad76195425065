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

    __slots__ = ("_lines", "_limit")

    def __init__(self, limit: int = 64) -> None:
        self._lines: dict[tuple[tuple[str, str], ...], str | None] = {}
        self._limit = limit

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

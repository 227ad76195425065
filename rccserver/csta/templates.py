"""Encoding by templates: one function per message class and edition, generated from its layout.

The general encoder (layout.encode_record) walks the layout for every message: per
field it checks the edition, dispatches on the kind, validates and escapes, one call
per element. Here that walk is done once per (class, edition) and written out as the
source of one function (as attrs and dataclasses write their __init__): the constant
tags are literals, nested records are inlined, and a value is checked in line for the
common case (a plain str within bounds that needs no escaping, a known token). Any
other value goes through the kind's own encode, so the text and the errors stay the
general encoder's; tests/csta/test_templates.py compares the two on generated
messages, and `source_of` shows what was generated.
"""
import re
from typing import Any, Callable

from .capabilities import ServiceSet
from .devices import DeviceAbsence, EventDeviceKind
from .layout import Record, RecordList, Text, Token, layout_of

Render = Callable[[Any], str]

# A string needs escaping (or is refused) when it holds one of these; see layout.escape_text.
_NEEDS_ESCAPING = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]").search

# Strings seen to need no escaping. The same lines, URIs and call IDs recur in every
# event of a call, and a set lookup costs a fifth of the regular expression's search.
_PLAIN: set[str] = set()
_PLAIN_LIMIT = 4096


def _is_plain(value: str) -> bool:
    if _NEEDS_ESCAPING(value) is not None:
        return False
    if len(_PLAIN) >= _PLAIN_LIMIT:
        _PLAIN.clear()
    _PLAIN.add(value)
    return True


def _general(kind: Any, edition: int) -> Render:
    """The general encoder for one value of `kind`: escapes, or raises its error."""
    def render(value: Any) -> str:
        out: list[str] = []
        kind.encode(value, out, edition)
        return "".join(out)
    return render


def _remembered(kind: ServiceSet, edition: int) -> Render:
    """The capability lists: the server offers one set, so its text is kept, not rebuilt."""
    general = _general(kind, edition)
    known: dict[frozenset, str] = {}

    def render(value: Any) -> str:
        if type(value) is not frozenset:
            return general(value)
        text = known.get(value)
        if text is None:
            text = general(value)
            if len(known) < 16:
                known[value] = text
        return text
    return render


class _Writer:
    """Writes the body of one render function; constants go into its namespace."""

    def __init__(self, edition: int) -> None:
        self.edition = edition
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_plain": _PLAIN, "_is_plain": _is_plain, "DeviceAbsence": DeviceAbsence}
        self.counter = 0

    def constant(self, value: Any, prefix: str) -> str:
        self.counter += 1
        name = f"{prefix}{self.counter}"
        self.names[name] = value
        return name

    def variable(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def record(self, cls: type, var: str, depth: int) -> None:
        """Append the fields of the record in `var` (already known to be a `cls`)."""
        for field in layout_of(cls).fields:
            if field.since > self.edition:
                continue
            value = self.variable()
            self.emit(depth, f"{value} = {var}.{field.name}")
            self.emit(depth, f"if {value} is not None:")
            self.value(field.kind, value, field.opening, field.closing, depth + 1)

    def value(self, kind: Any, var: str, opening: str, closing: str, depth: int) -> None:
        """Append `opening`, the value in `var` as `kind` encodes it, `closing`."""
        if isinstance(kind, RecordList):
            item = self.variable()
            self.emit(depth, f"out.append({opening!r})")
            self.emit(depth, f"for {item} in {var}:")
            self.value(kind.record, item, f"<{kind.item}>", f"</{kind.item}>", depth + 1)
            self.emit(depth, f"out.append({closing!r})")
            return
        general = self.constant(_remembered(kind, self.edition) if isinstance(kind, ServiceSet)
                                else _general(kind, self.edition), "general")
        if isinstance(kind, (Text, EventDeviceKind)):
            text = kind if isinstance(kind, Text) else kind.device
            inner = ("", "") if isinstance(kind, Text) else ("<deviceIdentifier>", "</deviceIdentifier>")
            self.emit(depth, f"if type({var}) is str and 0 < len({var}) <= {text.max_length} "
                             f"and ({var} in _plain or _is_plain({var})):")
            self.emit(depth + 1, f"out.append({opening + inner[0]!r} + {var} + {inner[1] + closing!r})")
            if isinstance(kind, EventDeviceKind):
                self.emit(depth, f"elif type({var}) is DeviceAbsence:")
                self.emit(depth + 1, f"out.append({opening + '<'!r} + {var}.kind + {'/>' + closing!r})")
            self.emit(depth, "else:")
            depth += 1
        elif isinstance(kind, Token):
            values = self.constant(kind.values, "tokens")
            self.emit(depth, f"if type({var}) is str and {var} in {values}:")
            self.emit(depth + 1, f"out.append({opening!r} + {var} + {closing!r})")
            self.emit(depth, "else:")
            depth += 1
        elif isinstance(kind, Record):
            cls = self.constant(kind.cls, "record")
            self.emit(depth, f"if type({var}) is {cls}:")
            self.emit(depth + 1, f"out.append({opening!r})")
            self.record(kind.cls, var, depth + 1)
            self.emit(depth + 1, f"out.append({closing!r})")
            self.emit(depth, "else:")
            depth += 1
        # anything else, and every value the lines above do not take: the general encoder
        self.emit(depth, f"out.append({opening!r} + {general}({var}) + {closing!r})")


_RENDERERS: dict[tuple[type, int], Render] = {}
_SOURCES: dict[tuple[type, int], str] = {}


def renderer(cls: type, edition: int) -> Render:
    """message -> the text of its fields (what encode_record appends), for `edition`."""
    render = _RENDERERS.get((cls, edition))
    if render is None:
        writer = _Writer(edition)
        writer.record(cls, "message", 1)
        source = "\n".join([f"def render_{cls.__name__}_ed{edition}(message):", "    out = []",
                            *writer.lines, "    return ''.join(out)"])
        namespace = dict(writer.names)
        exec(compile(source, f"<csta template {cls.__name__} ed{edition}>", "exec"), namespace)  # noqa: S102
        render = _RENDERERS[(cls, edition)] = namespace[f"render_{cls.__name__}_ed{edition}"]
        _SOURCES[(cls, edition)] = source
    return render


def source_of(cls: type, edition: int) -> str:
    """The generated source of the renderer (for reading and debugging)."""
    renderer(cls, edition)
    return _SOURCES[(cls, edition)]

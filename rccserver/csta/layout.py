"""How message fields map to XML elements: one table per class, read by both codec directions.

A message (or a nested record such as ConnectionID) is an attrs class whose fields
carry a `Spec` in their metadata: the element path below the record, the value
kind, and the first ECMA-323 edition that has the element. The codec never names
a message class; adding a message is declaring its fields.
"""
import re
from typing import Any, Callable, ClassVar, Optional

import attrs

from .errors import (
    BAD_DEVICE, BAD_VALUE, MALFORMED, CstaDecodeError, CstaEncodeError, ErrorCode,
)
from .namespaces import RCC_EXTENSION

_SPEC = "rccserver.csta"

# XML 1.0 forbids these characters even as character references.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape_text(value: str) -> str:
    """Element content for `value`; CR becomes a reference so that parsing keeps it."""
    if _ILLEGAL_XML.search(value):
        raise CstaEncodeError(f"character not allowed in XML in {value!r}")
    return (value.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\r", "&#13;"))


def local_name(tag: str) -> str:
    return tag[tag.rfind("}") + 1:]


class Text:
    """A string element, echoed exactly (no whitespace folding).

    `wrappers` are child element names that may hold the text instead (ECMA
    allows e.g. `newDestination/device` and `deviceID/staticID`).
    """

    __slots__ = ("max_length", "error", "wrappers", "missing")

    def __init__(self, max_length: int, error: ErrorCode, wrappers: tuple[str, ...] = ()) -> None:
        self.max_length = max_length
        self.error = error
        self.missing = error
        self.wrappers = wrappers

    def decode(self, element: Any, where: str) -> str:
        if len(element):
            for child in element:
                if local_name(child.tag) in self.wrappers:
                    return self.decode(child, where)
            raise CstaDecodeError(MALFORMED, f"<{where}> must hold text, not <{local_name(element[0].tag)}>")
        text = element.text
        if not text:
            raise CstaDecodeError(self.error, f"<{where}> is empty")
        if len(text) > self.max_length:
            raise CstaDecodeError(self.error, f"<{where}> is longer than {self.max_length} characters")
        return text

    def encode(self, value: Any, out: list[str], edition: int) -> None:
        if not isinstance(value, str) or not value or len(value) > self.max_length:
            raise CstaEncodeError(f"expected a string of 1..{self.max_length} characters, got {value!r}")
        out.append(escape_text(value))


class Token:
    """An enumerated value; surrounding whitespace is ignored as XML Schema does."""

    __slots__ = ("values", "missing")

    def __init__(self, values: frozenset) -> None:
        self.values = values
        self.missing = MALFORMED

    def decode(self, element: Any, where: str) -> str:
        text = (element.text or "").strip()
        if len(element) or text not in self.values:
            raise CstaDecodeError(BAD_VALUE, f"<{where}> has an unknown value {text[:40]!r}")
        return text

    def encode(self, value: Any, out: list[str], edition: int) -> None:
        if value not in self.values:
            raise CstaEncodeError(f"{value!r} is not one of the allowed values")
        out.append(value)


class Boolean:
    __slots__ = ("missing",)
    _WORDS: ClassVar[dict[str, bool]] = {"true": True, "1": True, "false": False, "0": False}

    def __init__(self) -> None:
        self.missing = MALFORMED

    def decode(self, element: Any, where: str) -> bool:
        text = (element.text or "").strip()
        value = self._WORDS.get(text)
        if value is None or len(element):
            raise CstaDecodeError(BAD_VALUE, f"<{where}> is not a boolean: {text[:40]!r}")
        return value

    def encode(self, value: Any, out: list[str], edition: int) -> None:
        if not isinstance(value, bool):
            raise CstaEncodeError(f"expected a bool, got {value!r}")
        out.append("true" if value else "false")


class Integer:
    __slots__ = ("low", "high", "missing")

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.missing = MALFORMED

    def decode(self, element: Any, where: str) -> int:
        text = (element.text or "").strip()
        # int() would also take "1_0", "٣" and huge strings; accept plain ASCII digits only.
        if not (0 < len(text) <= 9 and text.isascii() and text.isdigit()) or len(element):
            raise CstaDecodeError(BAD_VALUE, f"<{where}> is not a number: {text[:40]!r}")
        value = int(text)
        if not self.low <= value <= self.high:
            raise CstaDecodeError(BAD_VALUE, f"<{where}> {value} is outside {self.low}..{self.high}")
        return value

    def encode(self, value: Any, out: list[str], edition: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            raise CstaEncodeError(f"expected an integer in {self.low}..{self.high}, got {value!r}")
        out.append(str(value))


class Record:
    """A nested structure described by its own layout (ConnectionID, list items...)."""

    __slots__ = ("cls", "need_one", "missing")

    def __init__(self, cls: type, need_one: Optional[ErrorCode] = None) -> None:
        self.cls = cls
        # when set: at least one field must be present, else this error
        self.need_one = need_one
        self.missing = need_one or MALFORMED

    def decode(self, element: Any, where: str) -> Any:
        return decode_record(layout_of(self.cls), element, where, self.need_one)

    def encode(self, value: Any, out: list[str], edition: int) -> None:
        if type(value) is not self.cls:
            raise CstaEncodeError(f"expected a {self.cls.__name__}, got {value!r}")
        encode_record(layout_of(self.cls), value, out, edition)


class RecordList:
    """A container element of repeated `item` elements, each a record; other children are skipped."""

    __slots__ = ("item", "record", "missing")

    def __init__(self, item: str, record: Record) -> None:
        self.item = item
        self.record = record
        self.missing = MALFORMED

    def decode(self, element: Any, where: str) -> tuple:
        item = self.item
        return tuple(self.record.decode(child, item) for child in element
                     if local_name(child.tag) == item)

    def encode(self, value: Any, out: list[str], edition: int) -> None:
        opening, closing = f"<{self.item}>", f"</{self.item}>"
        for entry in value:
            out.append(opening)
            self.record.encode(entry, out, edition)
            out.append(closing)


@attrs.frozen
class Spec:
    path: tuple[str, ...]
    kind: Any
    since: int = 3
    namespace: Optional[str] = None  # of the innermost element, when not the CSTA one


def child(path: str, kind: Any, *, default: Any = attrs.NOTHING, since: int = 3,
          namespace: Optional[str] = None, converter: Optional[Callable] = None) -> Any:
    """Declare a message field stored at `path` (slash-separated local names)."""
    return attrs.field(default=default, converter=converter,
                       metadata={_SPEC: Spec(tuple(path.split("/")), kind, since, namespace)})


def line_extension() -> Any:
    """The Microsoft `extensions/privateData/private/lcs:line` field (the Line URI)."""
    return child("extensions/privateData/private/line", DEVICE, default=None, namespace=RCC_EXTENSION)


@attrs.frozen
class Field:
    name: str
    path: tuple[str, ...]
    kind: Any
    since: int
    required: bool
    opening: str
    closing: str


@attrs.frozen
class Layout:
    cls: type
    element: str
    fields: tuple[Field, ...]
    by_first: dict[str, Field]


_LAYOUTS: dict[type, Layout] = {}


def layout_of(cls: type) -> Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        layout = _LAYOUTS[cls] = _build_layout(cls)
    return layout


def _build_layout(cls: type) -> Layout:
    fields = []
    for attribute in attrs.fields(cls):
        spec: Spec = attribute.metadata[_SPEC]
        names = list(spec.path)
        tags = list(names)
        if spec.namespace == RCC_EXTENSION:
            tags[-1] = f'lcs:{names[-1]} xmlns:lcs="{RCC_EXTENSION}"'
            names[-1] = f"lcs:{names[-1]}"
        opening = "".join(f"<{tag}>" for tag in tags)
        closing = "".join(f"</{name}>" for name in reversed(names))
        fields.append(Field(attribute.name, spec.path, spec.kind, spec.since,
                            attribute.default is attrs.NOTHING, opening, closing))
    by_first = {field.path[0]: field for field in fields}
    if len(by_first) != len(fields):
        raise TypeError(f"{cls.__name__}: two fields share a first element")
    return Layout(cls, getattr(cls, "ELEMENT", cls.__name__), tuple(fields), by_first)


def decode_record(layout: Layout, element: Any, where: str, need_one: Optional[ErrorCode] = None) -> Any:
    found: dict[str, Any] = {}
    by_first = layout.by_first
    for child_element in element:
        name = local_name(child_element.tag)
        if name not in by_first:
            continue  # unknown or extension element: tolerated
        if name in found:
            raise CstaDecodeError(MALFORMED, f"<{where}> has more than one <{name}>")
        found[name] = child_element
    values: dict[str, Any] = {}
    for field in layout.fields:
        node = found.get(field.path[0])
        for step in field.path[1:]:
            if node is None:
                break
            node = next((c for c in node if local_name(c.tag) == step), None)
        if node is None:
            if field.required:
                raise CstaDecodeError(field.kind.missing, f"<{where}> lacks <{'/'.join(field.path)}>")
            continue
        values[field.name] = field.kind.decode(node, field.path[-1])
    if need_one is not None and not values:
        raise CstaDecodeError(need_one, f"<{where}> is empty")
    return layout.cls(**values)


def encode_record(layout: Layout, record: Any, out: list[str], edition: int) -> None:
    for field in layout.fields:
        value = getattr(record, field.name)
        if value is None or field.since > edition:
            continue
        out.append(field.opening)
        field.kind.encode(value, out, edition)
        out.append(field.closing)


# Shared kinds. ECMA does not bound identifiers; 256 is our documented limit.
DEVICE = Text(256, BAD_DEVICE)
CONNECTION_DEVICE = Text(256, BAD_DEVICE, wrappers=("staticID", "dynamicID"))
DESTINATION = Text(256, BAD_DEVICE, wrappers=("device", "deviceIdentifier"))

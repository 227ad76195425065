"""Requests in the plain shapes Lync sends, decoded by one regular expression each, no tree.

Lync writes its requests compactly and always alike: an optional XML declaration,
the root in an ECMA-323 namespace, the fields in reference order, ASCII values.
For those exact serialisations a pattern derived from the class layout yields the
same message as the general decoder (codec.decode_document) at a fraction of the
cost. Anything else at all - another field order, an unknown or repeated element,
an attribute, an entity or character reference, a comment, non-ASCII text, an empty
or too long value, another encoding - does not match, and `decode_plain` answers
None: the caller then takes the hardened lxml path, which gives bad input its CSTA
error. So this module may only ever recognise a subset of what the general decoder
accepts, never decide a refusal; tests/csta/test_fast_decode.py checks it against
the general decoder on generated and mutated bodies.
"""
import re
from typing import Any, Callable, Optional

from .errors import CstaDecodeError
from .layout import Boolean, Integer, Record, Text, Token, layout_of
from .namespaces import BY_URI, RCC_EXTENSION, Namespace
from .requests import REQUESTS

# Whitespace between tags: text the general decoder never reads (it walks child elements).
_GAP = "[ \t\r\n]*"
# A value: printable ASCII without markup. Such text is the same str before and after XML
# parsing (no references, no line-end normalisation, no `]]>`), and one byte is one character.
_VALUE_CHAR = "[\x20-\x25\x27-\x3b\x3d\x3f-\x7e]"

# The declaration, the root's name and namespace (looked up in BY_URI), and whether the
# root declares the lcs: prefix.
_HEAD = re.compile(
    '(?:<\\?xml version="1\\.0"(?: encoding="(?:UTF-8|utf-8)")?\\?>' + _GAP + ")?"
    '<([A-Za-z]{1,40}) xmlns="([^"<&]{1,80})"'
    '( xmlns:lcs="' + re.escape(RCC_EXTENSION) + '")?'
)

_ABSENT = object()  # the field's element is not there: the class default applies
_REFUSED = object()  # the shape matched but the general decoder must judge the value


class _Slot:
    """One field's pattern, how many groups it holds, and how they become the value:
    `convert(groups, first)` reads its groups from index `first` on; None: the text itself."""

    __slots__ = ("pattern", "groups", "convert")

    def __init__(self, pattern: str, groups: int, convert: Optional[Callable[[tuple, int], Any]]) -> None:
        self.pattern, self.groups, self.convert = pattern, groups, convert


def _value_slot(kind: Any) -> Optional[_Slot]:
    """The leaf value of `kind`, or None when no plain shape is offered for it."""
    if isinstance(kind, Text):
        return _Slot(f"({_VALUE_CHAR}{{1,{kind.max_length}}})", 1, None)
    if isinstance(kind, Token):
        values = "|".join(re.escape(v) for v in sorted(kind.values, key=len, reverse=True))
        return _Slot(f"({values})", 1, None)
    if isinstance(kind, Boolean):
        words = kind._WORDS
        return _Slot("(true|false|1|0)", 1, lambda g, i: words[g[i]])
    if isinstance(kind, Integer):
        low, high = kind.low, kind.high

        def number(g: tuple, i: int) -> Any:
            value = int(g[i])
            return value if low <= value <= high else _REFUSED

        return _Slot("([0-9]{1,9})", 1, number)
    if isinstance(kind, Record):
        return _record_slot(kind)
    return None


def _record_slot(kind: Record) -> Optional[_Slot]:
    fields = _field_slots(kind.cls, lcs_declared=False)
    if fields is None:
        return None
    build = _builder(fields)
    cls, need_one = kind.cls, kind.need_one

    def convert(g: tuple, i: int) -> Any:
        values = build(g, i)
        if values is _REFUSED or (need_one is not None and not values):
            return _REFUSED
        return cls(**values)

    return _Slot("".join(slot.pattern for _, slot in fields), sum(slot.groups for _, slot in fields), convert)


def _element(name: str, inner: _Slot, *, leaf: bool) -> _Slot:
    """`<name>` around a value (leaf) or around child elements, each of which ends in a gap."""
    opening = f"<{name}>" if leaf else f"<{name}>{_GAP}"
    return _Slot(f"{opening}{inner.pattern}</{name}>{_GAP}", inner.groups, inner.convert)


def _extension_element(name: str, inner: _Slot, lcs_declared: bool) -> _Slot:
    """The Microsoft element in its own namespace, declared on it or (lcs:) on the root."""
    assert inner.groups == 1
    uri = re.escape(RCC_EXTENSION)
    forms = [f'<{name} xmlns="{uri}">{inner.pattern}</{name}>',
             f'<lcs:{name} xmlns:lcs="{uri}">{inner.pattern}</lcs:{name}>']
    if lcs_declared:
        forms.append(f"<lcs:{name}>{inner.pattern}</lcs:{name}>")
    assert inner.convert is None  # a Text: the value is whichever form's group matched
    count = len(forms)

    def first(g: tuple, i: int) -> Any:
        return next(value for value in g[i:i + count] if value is not None)

    return _Slot(f"(?:{'|'.join(forms)}){_GAP}", count, first)


def _field_slots(cls: type, lcs_declared: bool) -> Optional[list[tuple[Any, _Slot]]]:
    """Each field of `cls` in layout order; an optional one starts with an empty group that
    says whether its element is there at all (an empty record element is not an absent one)."""
    slots = []
    for field in layout_of(cls).fields:
        slot = _value_slot(field.kind)
        if slot is None:
            return None
        *outer, last = field.path
        if field.path[0] == "extensions":  # lcs:line, the only extension we read
            slot = _extension_element(last, slot, lcs_declared)
        else:
            slot = _element(last, slot, leaf=not isinstance(field.kind, Record))
        for name in reversed(outer):
            slot = _element(name, slot, leaf=False)
        if not field.required:
            slot = _Slot(f"(?:(){slot.pattern})?", slot.groups + 1, slot.convert)
        slots.append((field, slot))
    return slots


def _builder(fields: list[tuple[Any, _Slot]]) -> Callable[[tuple], Any]:
    """(groups, first) -> {field name: value} for the fields present, or _REFUSED."""
    plan = []
    start = 0
    for field, slot in fields:
        # (name, index of the presence marker or -1, index of the first value group, convert)
        if field.required:
            plan.append((field.name, -1, start, slot.convert))
        else:
            plan.append((field.name, start, start + 1, slot.convert))
        start += slot.groups
    plan = tuple(plan)

    def build(g: tuple, offset: int = 0) -> Any:
        values = {}
        for name, marker, first, convert in plan:
            if marker >= 0 and g[offset + marker] is None:
                continue
            if convert is None:
                values[name] = g[offset + first]
                continue
            value = convert(g, offset + first)
            if value is _REFUSED:
                return _REFUSED
            values[name] = value
        return values

    return build


class _Shape:
    __slots__ = ("cls", "pattern", "build")

    def __init__(self, cls: type, lcs_declared: bool) -> None:
        fields = _field_slots(cls, lcs_declared)
        assert fields is not None
        element = cls.ELEMENT
        body = "".join(slot.pattern for _, slot in fields)
        forms = [f">{_GAP}{body}</{element}>"]
        if not any(field.required for field, _ in fields):
            forms.append("/>")
        self.cls = cls
        self.pattern = re.compile(f"(?:{'|'.join(forms)}){_GAP}")
        self.build = _builder(fields)


def _shapes() -> dict[tuple[str, bool], _Shape]:
    shapes = {}
    for cls in REQUESTS:
        if _field_slots(cls, False) is None:
            continue
        for lcs_declared in (False, True):
            shapes[(cls.ELEMENT, lcs_declared)] = _Shape(cls, lcs_declared)
    return shapes


_SHAPES = _shapes()


def decode_plain(data: Any) -> Optional[tuple[Any, Namespace]]:
    """(message, namespace) when `data` is a request in one of Lync's plain shapes, else None."""
    if type(data) is not bytes or len(data) > 4096:
        return None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    head = _HEAD.match(text)
    if head is None:
        return None
    element, uri, lcs_declared = head.groups()
    shape = _SHAPES.get((element, lcs_declared is not None))
    namespace = BY_URI.get(uri)
    if shape is None or namespace is None:
        return None
    body = shape.pattern.fullmatch(text, head.end())
    if body is None:
        return None
    values = shape.build(body.groups())
    if values is _REFUSED:
        return None
    try:
        return shape.cls(**values), namespace
    except (CstaDecodeError, ValueError, TypeError):
        return None

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

import attrs

from rccserver.common.records import slot_setter, stores_only
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
    `convert(groups, first)` reads its groups from index `first` on; None: the text itself.
    `emit(source, first)` writes the same reading as source lines (see _Source) and returns
    the expression of the value; None: no generated form (the shape keeps the plan walk)."""

    __slots__ = ("pattern", "groups", "convert", "emit")

    def __init__(self, pattern: str, groups: int, convert: Optional[Callable[[tuple, int], Any]],
                 emit: Optional[Callable[["_Source", int], str]] = None) -> None:
        self.pattern, self.groups, self.convert = pattern, groups, convert
        self.emit = emit if emit is not None or convert is not None else _emit_text


def _emit_text(source: "_Source", first: int) -> str:
    return f"g[{first}]"


_emit_text.none_when_absent = True  # an optional element's text: None when the element is absent


def _value_slot(kind: Any) -> Optional[_Slot]:
    """The leaf value of `kind`, or None when no plain shape is offered for it."""
    if isinstance(kind, Text):
        return _Slot(f"({_VALUE_CHAR}{{1,{kind.max_length}}})", 1, None)
    if isinstance(kind, Token):
        values = "|".join(re.escape(v) for v in sorted(kind.values, key=len, reverse=True))
        return _Slot(f"({values})", 1, None)
    if isinstance(kind, Boolean):
        words = kind._WORDS

        def emit_boolean(source: _Source, first: int) -> str:
            return f"{source.constant(words)}[g[{first}]]"

        return _Slot("(true|false|1|0)", 1, lambda g, i: words[g[i]], emit_boolean)
    if isinstance(kind, Integer):
        low, high = kind.low, kind.high

        def number(g: tuple, i: int) -> Any:
            value = int(g[i])
            return value if low <= value <= high else _REFUSED

        def emit_number(source: _Source, first: int) -> str:
            value = source.variable()
            source.line(f"{value} = int(g[{first}])")
            source.line(f"if not {low} <= {value} <= {high}:")
            source.line("    return _REFUSED")
            return value

        return _Slot("([0-9]{1,9})", 1, number, emit_number)
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

    def emit_record(source: _Source, first: int) -> str:
        arguments, markers = _emit_fields(source, cls, fields, first)
        if need_one is not None and len(markers) == len(fields):  # every field optional
            source.line(f"if {' and '.join(f'g[{m}] is None' for m in markers)}:")
            source.line("    return _REFUSED")
        return _construct(source, cls, arguments)

    return _Slot("".join(slot.pattern for _, slot in fields), sum(slot.groups for _, slot in fields), convert,
                 emit_record)


def _element(name: str, inner: _Slot, *, leaf: bool) -> _Slot:
    """`<name>` around a value (leaf) or around child elements, each of which ends in a gap."""
    opening = f"<{name}>" if leaf else f"<{name}>{_GAP}"
    return _Slot(f"{opening}{inner.pattern}</{name}>{_GAP}", inner.groups, inner.convert, inner.emit)


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

    def emit_first(source: _Source, at: int) -> str:
        # whichever form matched; all None (and so None) only when the element is absent
        *earlier, last = range(at, at + count)
        return "".join(f"g[{i}] if g[{i}] is not None else " for i in earlier) + f"g[{last}]"

    emit_first.none_when_absent = True
    return _Slot(f"(?:{'|'.join(forms)}){_GAP}", count, first, emit_first)


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
            slot = _Slot(f"(?:(){slot.pattern})?", slot.groups + 1, slot.convert, slot.emit)
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


class _Source:
    """The body of one generated build function (as templates.py writes the encoders): the
    plan walk of _builder done once per shape, nested records inlined, each field read from
    its group by index, the message class called with keywords. Constants go into its namespace."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_REFUSED": _REFUSED}
        self.counter = 0
        self.depth = 1

    def constant(self, value: Any) -> str:
        self.counter += 1
        self.names[f"c{self.counter}"] = value
        return f"c{self.counter}"

    def variable(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)


def _emit_fields(source: _Source, cls: type, fields: list[tuple[Any, _Slot]],
                 first: int) -> tuple[list[tuple[str, str]], list[int]]:
    """Write the reading of `fields` (groups from `first` on): (field name, expression) of
    each value, and the group indexes of the optional fields' presence markers."""
    arguments, markers = [], []
    defaults = attrs.fields_dict(cls)
    at = first
    for field, slot in fields:
        if field.required:
            arguments.append((field.name, slot.emit(source, at)))
        elif defaults[field.name].default is None and getattr(slot.emit, "none_when_absent", False):
            markers.append(at)
            arguments.append((field.name, slot.emit(source, at + 1)))  # None: the default
        else:
            markers.append(at)
            # An absent optional field takes its declared default, as attrs gives it when
            # the keyword is left out (converters and validators run on defaults too).
            default = source.constant(defaults[field.name].default)
            value = source.variable()
            source.line(f"if g[{at}] is not None:")
            source.depth += 1
            source.line(f"{value} = {slot.emit(source, at + 1)}")
            source.depth -= 1
            source.line("else:")
            source.line(f"    {value} = {default}")
            arguments.append((field.name, value))
        at += slot.groups
    return arguments, markers


def _construct(source: _Source, cls: type, arguments: list[tuple[str, str]]) -> str:
    """Write the making of a `cls` from (field name, expression) pairs; returns its variable.

    A frozen attrs class's __init__ stores each field through object.__setattr__ (a bound
    method call per field, most of a small record's cost): where that __init__ only stores,
    the generated code makes the instance with object.__new__ and fills each slot through its
    member descriptor, which is the store attrs does, then calls __attrs_post_init__ as attrs
    would. Equality, repr, hash and immutability are the class's own, unchanged; every other
    class is called with keywords. tests/csta/test_fast_decode.py compares both forms."""
    value = source.variable()
    if not stores_only(cls):
        keywords = ", ".join(f"{name}={expression}" for name, expression in arguments)
        source.line(f"{value} = {source.constant(cls)}({keywords})")
        return value
    # Fields left out take their declared defaults, as attrs gives them (_generable has
    # refused factories, so each default is a plain value).
    given = dict(arguments)
    source.line(f"{value} = {source.constant(object.__new__)}({source.constant(cls)})")
    for field in attrs.fields(cls):
        expression = given[field.name] if field.name in given else source.constant(field.default)
        source.line(f"{source.constant(slot_setter(cls, field.name))}({value}, {expression})")
    if hasattr(cls, "__attrs_post_init__"):
        source.line(f"{value}.__attrs_post_init__()")
    return value


def _generable(cls: type, fields: list[tuple[Any, _Slot]]) -> bool:
    defaults = attrs.fields_dict(cls)
    for field, slot in fields:
        if slot.emit is None or isinstance(defaults[field.name].default, attrs.Factory):
            return False
        if isinstance(field.kind, Record) and not _generable(field.kind.cls, _field_slots(field.kind.cls, False)):
            return False
    return True


def _generated_builder(cls: type, fields: list[tuple[Any, _Slot]]) -> Optional[Callable[[tuple], Any]]:
    """groups -> the message, or _REFUSED; None when a field has no generated form or its
    default is not a plain value (a factory)."""
    if not _generable(cls, fields):
        return None
    source = _Source()
    arguments, _ = _emit_fields(source, cls, fields, 0)
    source.line(f"return {_construct(source, cls, arguments)}")
    name = f"build_{cls.__name__}"
    text = "\n".join([f"def {name}(g):", *source.lines])
    namespace = dict(source.names)
    exec(compile(text, f"<csta plain shape {cls.__name__}>", "exec"), namespace)  # noqa: S102
    build = namespace[name]
    build.source = text
    return build


class _Shape:
    """One request class's plain shape: its pattern, the generated build (groups -> message
    or _REFUSED) and the plan walk it was generated from (groups -> keywords), kept as the
    reference the tests compare it with."""

    __slots__ = ("cls", "pattern", "build", "plan_build")

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
        self.plan_build = plan_build = _builder(fields)
        generated = _generated_builder(cls, fields)
        if generated is None:
            def generated(g: tuple) -> Any:
                values = plan_build(g)
                return values if values is _REFUSED else cls(**values)
        self.build = generated


def _shapes() -> dict[tuple[str, bool], _Shape]:
    shapes = {}
    for cls in REQUESTS:
        if _field_slots(cls, False) is None:
            continue
        for lcs_declared in (False, True):
            shapes[(cls.ELEMENT, lcs_declared)] = _Shape(cls, lcs_declared)
    return shapes


_SHAPES = _shapes()


# The head of a root start tag (declaration, gap, name, namespace attributes: everything
# before its `>` or `/>`) -> the shape and namespace it leads to. Lync sends a handful of
# heads, always alike; a dict look-up of the text is a fifth of the cost of _HEAD's match.
# Only heads that lead to a shape are kept, at most _HEADS_LIMIT (then the dict starts over).
_HEADS: dict[str, tuple[_Shape, Namespace]] = {}
_HEADS_LIMIT = 256
_HEAD_LENGTH_LIMIT = 300


def _shape_of(text: str, end: int) -> Optional[tuple[_Shape, Namespace]]:
    """The shape and namespace of the head text[:end], by _HEAD; None when it leads to none."""
    head = _HEAD.fullmatch(text, 0, end)
    if head is None:
        return None
    element, uri, lcs_declared = head.groups()
    shape = _SHAPES.get((element, lcs_declared is not None))
    namespace = BY_URI.get(uri)
    if shape is None or namespace is None:
        return None
    return shape, namespace


def decode_plain(data: Any) -> Optional[tuple[Any, Namespace]]:
    """(message, namespace) when `data` is a request in one of Lync's plain shapes, else None."""
    if type(data) is not bytes or len(data) > 4096:
        return None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    # Where the root's start tag ends: its first `>` after the declaration's `?>` (a `>` in
    # a namespace value would cut the head short: no shape, the general decoder reads it).
    start = text.find("?>") + 2 if text.startswith("<?") else 0
    end = text.find(">", start)
    if start == 1 or end <= 0:
        return None
    if text[end - 1] == "/":
        end -= 1
    key = text[:end]
    known = _HEADS.get(key)
    if known is None:
        known = _shape_of(text, end)
        if known is None:
            return None
        if end <= _HEAD_LENGTH_LIMIT:
            if len(_HEADS) >= _HEADS_LIMIT:
                _HEADS.clear()
            _HEADS[key] = known
    shape, namespace = known
    body = shape.pattern.fullmatch(text, end)
    if body is None:
        return None
    try:
        message = shape.build(body.groups())
    except (CstaDecodeError, ValueError, TypeError):
        return None  # a value the class refuses: the general decoder gives the error
    if message is _REFUSED:
        return None
    return message, namespace

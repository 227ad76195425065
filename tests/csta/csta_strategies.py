"""Hypothesis strategies for every CSTA message class, derived from the class layouts.

Deriving them from the field specs means a new message class is covered the
moment it is declared; the golden tests (test_wire_shapes.py) pin the element
names independently.
"""
from typing import Any

import attrs
from hypothesis import strategies as st

from rccserver.csta import (
    CATEGORIES, MESSAGES, NOT_KNOWN, NOT_REQUIRED, ConnectionID, DeviceAbsence, ErrorCode, Namespace,
)
from rccserver.csta.capabilities import LIST_OF_SERVICE, ServiceSet
from rccserver.csta.devices import EventDeviceKind
from rccserver.csta.layout import Boolean, Integer, Record, RecordList, Text, Token, layout_of

NAMESPACES = st.sampled_from(list(Namespace))

# Anything XML 1.0 can carry, including CR/LF/TAB and non-ASCII.
XML_CHARACTERS = st.one_of(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn")),
    st.sampled_from("\t\n\r &<>\"'"),
)


def text(max_length: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(XML_CHARACTERS, min_size=1, max_size=min(max_length, 40)),
        # realistic Line URIs and boundary lengths
        st.sampled_from(["tel:+13175551010", "tel:73124;phone-context=dialstring;partition=BE_BRS_INT",
                         "sip:alice@example.com", "x" * max_length]),
    )


def for_kind(kind: Any) -> st.SearchStrategy:
    if isinstance(kind, Text):
        return text(kind.max_length)
    if isinstance(kind, Token):
        return st.sampled_from(sorted(kind.values))
    if isinstance(kind, Boolean):
        return st.booleans()
    if isinstance(kind, Integer):
        return st.integers(kind.low, kind.high)
    if isinstance(kind, EventDeviceKind):
        return st.one_of(text(kind.device.max_length), st.just(NOT_KNOWN), st.just(NOT_REQUIRED))
    if isinstance(kind, Record):
        return for_class(kind.cls)
    if isinstance(kind, RecordList):
        return st.lists(for_kind(kind.record), max_size=3).map(tuple)
    if isinstance(kind, ServiceSet):
        return st.frozensets(st.sampled_from(sorted(LIST_OF_SERVICE)))
    raise TypeError(f"no strategy for {kind!r}")


def for_class(cls: type) -> st.SearchStrategy:
    fields = {}
    for field in layout_of(cls).fields:
        strategy = for_kind(field.kind)
        fields[field.name] = strategy if field.required else st.one_of(st.none(), strategy)
    built = st.fixed_dictionaries(fields)
    if cls is ConnectionID:
        built = built.filter(lambda f: f["call_id"] is not None or f["device_id"] is not None)
    return built.map(lambda f: cls(**{k: v for k, v in f.items() if v is not None}))


ERROR_CODES = st.sampled_from([ErrorCode(c, v) for c in sorted(CATEGORIES) for v in sorted(CATEGORIES[c])])

MESSAGE_CLASSES = sorted(MESSAGES.values(), key=lambda cls: cls.ELEMENT)

ANY_MESSAGE = st.one_of([for_class(cls) for cls in MESSAGE_CLASSES] + [ERROR_CODES])


def for_edition(value: Any, edition: int) -> Any:
    """What survives encoding in `edition`: fields newer than it are dropped."""
    if isinstance(value, tuple):
        return tuple(for_edition(item, edition) for item in value)
    if not attrs.has(type(value)) or type(value) in (ErrorCode, DeviceAbsence):
        return value
    changes = {}
    for field in layout_of(type(value)).fields:
        current = getattr(value, field.name)
        if field.since > edition and current is not None:
            changes[field.name] = None
        elif current is not None:
            changes[field.name] = for_edition(current, edition)
    return attrs.evolve(value, **changes)

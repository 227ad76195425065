"""Making a frozen, slotted attrs record without its __init__, for the hot path.

A frozen attrs class's __init__ binds keywords and stores each field through
object.__setattr__: a bound-method call per field, most of a small record's cost. Where
that __init__ does nothing but store (no validator, converter or pre-init hook, every
field in __init__), the same record can be made with object.__new__ and each slot
filled through its own member descriptor, the store attrs itself does. Equality, repr,
hash and immutability are the class's own. The SIP parser's Vias, the framer's messages,
the granted logon decision and the CSTA fast decoder's records are made this way.
"""
from __future__ import annotations

from typing import Any, Callable

import attrs


def stores_only(cls: type) -> bool:
    """Whether attrs' __init__ of `cls` does nothing but store each argument in its slot (and
    call __attrs_post_init__): no validator, converter, pre-init or field left out of __init__."""
    if "__attrs_pre_init__" in dir(cls) or not getattr(cls, "__slots__", None):
        return False
    for field in attrs.fields(cls):
        if field.validator is not None or field.converter is not None or not field.init:
            return False
        if not hasattr(cls.__dict__.get(field.name), "__set__"):  # the slot's member descriptor
            return False
    return True


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The member descriptor's store for field `name` of `cls` (for generated code)."""
    return cls.__dict__[name].__set__


def record_maker(cls: type) -> Callable[..., Any]:
    """A function taking every field of `cls` positionally, in attrs' order, and returning
    the record its __init__ would make. TypeError if that __init__ does more than store."""
    if not stores_only(cls):
        raise TypeError(f"{cls.__name__}.__init__ does more than store its fields")
    names = [field.name for field in attrs.fields(cls)]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def make_{cls.__name__}({', '.join(names)}):", "    _record = _new(_cls)"]
    for index, name in enumerate(names):
        namespace[f"_set{index}"] = slot_setter(cls, name)
        lines.append(f"    _set{index}(_record, {name})")
    if hasattr(cls, "__attrs_post_init__"):
        lines.append("    _record.__attrs_post_init__()")
    lines.append("    return _record")
    exec("\n".join(lines), namespace)  # noqa: S102 - our own text, from the class's field names
    return namespace[f"make_{cls.__name__}"]

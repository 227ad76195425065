"""Root element name -> message class, filled by the `message` class decorator."""
from typing import Callable, TypeVar

import attrs

T = TypeVar("T")

MESSAGES: dict[str, type] = {}


def message(element: str) -> Callable[[type[T]], type[T]]:
    """Make `cls` a frozen, keyword-only attrs message whose root element is `element`."""

    def register(cls: type[T]) -> type[T]:
        if element in MESSAGES:
            raise TypeError(f"two message classes for <{element}>")
        cls = attrs.frozen(kw_only=True)(cls)
        cls.ELEMENT = element
        MESSAGES[element] = cls
        return cls

    return register


def record(cls: type[T]) -> type[T]:
    """A frozen, keyword-only attrs structure nested inside messages (never a root element)."""
    return attrs.frozen(kw_only=True)(cls)

"""Dial strings: turning what a client or administrator typed into a device name.

A station is named by its extension; any other dialable number is an external
party. `tel:+1 (317) 555-2020;phone-context=x` becomes `+13175552020`; the
leading `+` is kept for external numbers and ignored when matching an extension
(SPEC section 5).
"""
from __future__ import annotations

import re

MAX_DIGITS = 32
_SEPARATORS = re.compile(r"[\s\-.()]")
_DIALABLE = re.compile(r"\+?[0-9*#]+")
_EXTENSION = re.compile(r"[0-9*#]+")


def normalize_dial_string(text: str) -> str | None:
    """The device name for `text`, or None when it is not a dialable number."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if value[:4].lower() == "tel:":
        value = value[4:]
    value = value.split(";", 1)[0]
    value = _SEPARATORS.sub("", value)
    if not _DIALABLE.fullmatch(value) or len(value.lstrip("+")) > MAX_DIGITS:
        return None
    return value


def extension_key(device: str) -> str:
    """The form compared against station extensions (no leading '+')."""
    return device.lstrip("+")


def is_valid_extension(text: str) -> bool:
    return isinstance(text, str) and bool(_EXTENSION.fullmatch(text)) and len(text) <= MAX_DIGITS

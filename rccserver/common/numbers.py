"""Telephone numbers: one reading of every form a number is written in.

A number arrives as a tel URI (`tel:+1 (317) 555-0188;phone-context=+1`), as
the user part of a `sip:`/`sips:` URI (`sip:+13175550188@example.com`), as a
dial string typed by a person (`9 (317) 555-0188`) or as a bare extension
(`44770`). Reading it drops `tel:` (of a sip URI it keeps the user part),
every parameter, and the visual separators `-.() ` (tab too); what is left is
the number as written. The callers ask three things of it:

- `canonical_number`: the number to dial: digits, `*`, `#` and a leading `+`
  (SPEC section 10 matches the dial plan against exactly this string), or
  None when the text is not a dialable number.
- `line_number`: the number SPEC section 5 compares with a station extension,
  which is the same without its leading `+`. `same_line` compares two lines.
- `is_valid_extension`: whether a string can name a station.

Parameters are ignored on purpose, `;ext=` included: `tel:+13175551010;ext=12`
is the number 13175551010. Lync administrators write `;ext=` to give the
desk phone's extension behind a DID, and both sides of a comparison (the
user's msRTCSIP-Line and the lcs:line Lync sends) come from the same AD
attribute, so the main number alone identifies the line. A station that must
be matched by its full URI, parameters and all, says so with its
`identification_address`. `;phone-context=` is ignored too: we compare
digits, not dialling plans.
"""
from __future__ import annotations

import re

# Longest number (not counting its '+') the switch takes; E.164 needs 15.
MAX_DIGITS = 32

# SPEC's visual separators, plus tab, which both former readers accepted. Other
# whitespace inside a number is not a separator, so such text is not a number.
_SEPARATORS = re.compile(r"[-.() \t]")
_DIALABLE = re.compile(rf"\+?[0-9*#]{{1,{MAX_DIGITS}}}")
_EXTENSION = re.compile(rf"[0-9*#]{{1,{MAX_DIGITS}}}")


# Reading is pure and the same numbers come again and again (a user's own line, the
# numbers it dials, for every request): the readings are kept by input text. Bounded in
# entries and in text length; emptied when full.
_CACHE_SIZE = 8192
_CACHED_LENGTH = 256
_readings: dict[str, tuple[str | None, str]] = {}
_NOT_TEXT = (None, "")


def _as_written(text: str | None) -> str:
    """The number part of `text` without its wrapping or separators; not validated."""
    if not isinstance(text, str):
        return ""
    text = text.strip()
    scheme = text[:5].lower()
    if scheme.startswith("tel:"):
        text = text[4:]
    elif scheme.startswith(("sip:", "sips:")):
        text = text.split(":", 1)[1].split("@", 1)[0]
    return _SEPARATORS.sub("", text.split(";", 1)[0])


def _read(text: str | None) -> tuple[str | None, str]:
    """(canonical_number, line_number) of `text`, computed."""
    number = _as_written(text)
    return (number if _DIALABLE.fullmatch(number) else None), (number[1:] if number.startswith("+") else number)


def _reading(text: str | None) -> tuple[str | None, str]:
    """(canonical_number, line_number) of `text`, from the cache when it is there."""
    if type(text) is not str:
        return _read(text) if isinstance(text, str) else _NOT_TEXT
    reading = _readings.get(text)
    if reading is None:
        reading = _read(text)
        if len(text) <= _CACHED_LENGTH:
            if len(_readings) >= _CACHE_SIZE:
                _readings.clear()
            _readings[text] = reading
    return reading


def canonical_number(text: str | None) -> str | None:
    """The dialable number: `tel:+1 (317) 555-0188;ext=5` is `+13175550188`; None if not a number."""
    return _reading(text)[0]


def line_number(text: str | None) -> str:
    """The number compared with a station extension (SPEC section 5); '' when there is none.

    Not validated: two lines written alike compare equal whatever they hold.
    Whether the number can be dialled is `canonical_number`'s question.
    """
    return _reading(text)[1]


def same_line(a: str | None, b: str | None) -> bool:
    """Whether two Line URIs name the same line: equal numbers, and not empty."""
    number = line_number(a)
    return bool(number) and number == line_number(b)


def is_valid_extension(text: str | None) -> bool:
    """Whether `text` can name a station: 1 to MAX_DIGITS of digits, `*` and `#`, nothing else."""
    return isinstance(text, str) and _EXTENSION.fullmatch(text) is not None

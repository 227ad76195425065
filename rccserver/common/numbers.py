"""Telephone numbers as SPEC section 5 compares them.

A Line URI names a number: `tel:+1 (317) 555-1010` is the number 13175551010.
We drop `tel:` (of a `sip:`/`sips:` URI we take the user part), a leading
`+`, the visual separators `-.() ` and every parameter.

Parameters are ignored on purpose, `;ext=` included: `tel:+13175551010;ext=12`
is the number 13175551010. Lync administrators write `;ext=` to give the
desk phone's extension behind a DID, and both sides of a comparison (the
user's msRTCSIP-Line and the lcs:line Lync sends) come from the same AD
attribute, so the main number alone identifies the line. A station that must
be matched by its full URI, parameters and all, says so with its
`identification_address`. `;phone-context=` is ignored too: we compare
digits, not dialling plans. Two lines are the same line when their numbers
are equal and not empty.
"""
from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[-.() \t]")


def line_number(uri: str | None) -> str:
    """The bare number of a tel URI (or dial string); '' when there is none."""
    if not uri:
        return ""
    text = uri.strip()
    lowered = text[:5].lower()
    if lowered.startswith("tel:"):
        text = text[4:]
    elif lowered.startswith(("sip:", "sips:")):
        text = text.split(":", 1)[1].split("@", 1)[0]
    text = text.split(";", 1)[0]
    text = _SEPARATORS.sub("", text)
    if text.startswith("+"):
        text = text[1:]
    return text


def same_line(a: str | None, b: str | None) -> bool:
    number = line_number(a)
    return bool(number) and number == line_number(b)

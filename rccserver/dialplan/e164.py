"""E.164 presentation (SPEC section 10): Lync looks a caller up only by an E.164 number.

Which numbers are real numbers of which country is the `phonenumbers` library's
knowledge (Google's libphonenumber metadata), not ours: a number is presented
as E.164 when phonenumbers says it is a valid number, read as international
when it starts with `+`, else as a national number of `[dialplan]
country_code` (with that country's trunk prefix dropped: UK 020 7946 0018 is
+442079460018). Anything else (an extension, a short code, a number of no
country) has no E.164 form and is shown as it is.
"""
from __future__ import annotations

import functools

import phonenumbers

# Presentation runs for every outside party of every event; the cache keeps it a dict read.
_CACHE_SIZE = 4096


def country_code_problem(value: str) -> str | None:
    """What is wrong with a `country_code` setting, or None: the calling code of a country."""
    if not value.isascii() or not value.isdigit() or not 1 <= len(value) <= 3:
        return f"must be a country calling code of 1-3 digits without '+', e.g. \"1\" or \"44\" (got {value!r})"
    if _region(value) is None:
        return f"{value!r} is not the calling code of a country (phonenumbers knows no region for it)"
    return None


def _region(country_code: str) -> str | None:
    """The main region of a country calling code; None for unknown or non-geographic ones (800, 882...)."""
    region = phonenumbers.region_code_for_country_code(int(country_code))
    return None if region in (phonenumbers.UNKNOWN_REGION, "001") else region


@functools.lru_cache(maxsize=_CACHE_SIZE)
def e164(number: str, country_code: str | None = None) -> str | None:
    """`+<E.164>` for a canonical number phonenumbers calls valid, else None.

    An international number (`+...`) needs no country code; a national one is
    read as a number of `country_code`'s country, and has none without it.
    """
    if not number or not number.lstrip("+").isdigit():
        return None  # '*' and '#' (feature codes) are never E.164
    if number.startswith("+"):
        region = None
    elif country_code:
        region = _region(country_code)
        if region is None:
            return None
    else:
        return None
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

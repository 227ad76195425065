"""Telephone numbers (SPEC sections 5 and 10): the canonical number, the number a line
is compared by, and valid extensions.

How a Line URI picks a CIC station is in tests/cic/test_station_for_line.py.
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rccserver.common.numbers import canonical_number, is_valid_extension, line_number, same_line
from tests.common.number_forms import digit_strings, extensions, numbers, written

# ------------------------------------------------------------------ tables


@pytest.mark.parametrize("text, number", [
    # bare extensions and dial strings as people type them
    ("1001", "1001"),
    ("*86#", "*86#"),
    (" 555.1234 ", "5551234"),
    ("9 (317) 555-0188", "93175550188"),
    ("+1 317 555 0188", "+13175550188"),
    ("1\t001", "1001"),
    # tel URIs: scheme, separators and parameters go, a leading '+' stays
    ("tel:+1001", "+1001"),
    ("tel:+44770", "+44770"),
    ("TEL:+1 (317) 555-2020", "+13175552020"),
    ("tel:+1.317.555.1010", "+13175551010"),
    ("tel:+13175552020;phone-context=dialstring", "+13175552020"),
    ("tel:3175550188;phone-context=+1", "3175550188"),
    ("tel:+1-317-555-1010;ext=99;phone-context=+1", "+13175551010"),
    ("tel:+44770;ext=12", "+44770"),
    # the user part of sip/sips URIs
    ("sip:+13175550188@example.com;user=phone", "+13175550188"),
    ("sips:1001@example.com", "1001"),
    ("SIP:44770;phone-context=+1@example.com", "44770"),
    # up to 32 digits, not counting the '+'
    ("1" * 32, "1" * 32),
    ("+" + "1" * 32, "+" + "1" * 32),
])
def test_canonical_number(text, number):
    assert canonical_number(text) == number


@pytest.mark.parametrize("text", [
    None,
    "",
    "   ",
    "tel:",
    "+",
    "++1",
    "1+1",
    "12a",
    "sip:bob@example.com",
    "tel:sip:1001@example.com",
    "1" * 33,
    "+" + "1" * 33,
    "1\n001",                # only SPEC's separators (and tab) may stand between digits
    "+1\u00a0317 555 0188",  # a no-break space is not one of them
    "\u0664\u0664\u0667",    # digits of another script
])
def test_not_a_number(text):
    assert canonical_number(text) is None


@pytest.mark.parametrize("uri, number", [
    ("tel:+44770", "44770"),
    ("tel:44770", "44770"),
    ("TEL:+44770", "44770"),
    ("tel:+1 (317) 555-1010", "13175551010"),
    ("tel:+1.317.555.1010", "13175551010"),
    ("tel:+44770;ext=12", "44770"),
    ("tel:44770;phone-context=example.com", "44770"),
    ("tel:+1-317-555-1010;ext=99;phone-context=+1", "13175551010"),
    ("  tel:+44770  ", "44770"),
    ("sip:+44770@example.com;user=phone", "44770"),
    ("sips:44770@example.com", "44770"),
    ("44770", "44770"),
    ("+44770", "44770"),
    ("", ""),
    ("tel:", ""),
    (None, ""),
])
def test_line_number(uri, number):
    assert line_number(uri) == number


def test_line_number_compares_what_is_written_even_when_it_cannot_be_dialled():
    # Logon compares lcs:line with msRTCSIP-Line; both come from the same AD attribute.
    assert line_number("tel:+1555CALLNOW") == "1555CALLNOW"
    assert same_line("tel:+1555CALLNOW", "tel:1555-CALLNOW")


def test_same_line_needs_a_number():
    assert same_line("tel:+44770", "tel:44770")
    assert same_line("tel:+1 (317) 555-1010", "tel:13175551010;ext=5")
    assert same_line("tel:+44770", "sip:+44770@example.com;user=phone")
    assert not same_line("tel:+44770", "tel:+44771")
    assert not same_line("", "")
    assert not same_line(None, "tel:")


@pytest.mark.parametrize("text, valid", [
    ("44770", True),
    ("*86#", True),
    ("1" * 32, True),
    ("1" * 33, False),
    ("+1", False),
    ("", False),
    (None, False),
    ("4477 0", False),
    ("44770\n", False),
    ("tel:44770", False),
    ("\u0664\u0664\u0667", False),
])
def test_is_valid_extension(text, valid):
    assert is_valid_extension(text) is valid


# ------------------------------------------------------------------ properties


@given(st.data(), numbers)
def test_every_written_form_reads_as_the_number(data, number):
    """Separators, `tel:`, a sip URI's wrapping and parameters never change the result."""
    text = data.draw(written(number))
    assert canonical_number(text) == number
    assert line_number(text) == number.removeprefix("+")


@given(st.one_of(st.text(), numbers.flatmap(written)))
def test_canonical_number_is_idempotent_on_its_output(text):
    number = canonical_number(text)
    if number is not None:
        assert canonical_number(number) == number
        assert line_number(number) == line_number(text)


@given(st.text())
def test_canonical_number_has_the_dial_plan_shape(text):
    """SPEC section 10: digits (with '*', '#') and at most one '+', leading; 1 to 32 of them."""
    number = canonical_number(text)
    if number is not None:
        body = number.removeprefix("+")
        assert 1 <= len(body) <= 32
        assert all(char in "0123456789*#" for char in body)
        assert line_number(text) == body


@given(extensions)
def test_a_valid_extension_is_its_own_canonical_form(extension):
    assert is_valid_extension(extension)
    assert canonical_number(extension) == extension
    assert line_number(extension) == extension


@given(st.text())
def test_only_canonical_strings_are_valid_extensions(text):
    if is_valid_extension(text):
        assert canonical_number(text) == text


@given(st.one_of(st.text(max_size=8), numbers.flatmap(written)), st.one_of(st.text(max_size=8), numbers.flatmap(written)))
def test_same_line_is_symmetric(a, b):
    assert same_line(a, b) == same_line(b, a)


@given(st.data(), digit_strings)
def test_two_forms_of_one_number_are_the_same_line(data, number):
    assert same_line(data.draw(written(number)), data.draw(written("+" + number)))


@given(digit_strings, digit_strings)
def test_different_numbers_never_match(a, b):
    if a != b:
        assert not same_line(f"tel:+{a}", f"tel:{b}")


# ------------------------------------------------------------------ the reading cache

@given(st.one_of(numbers.flatmap(written), st.text(max_size=40)))
def test_cached_readings_equal_the_computed_ones(text):
    """The cache kept by input text answers what reading the text again would."""
    from rccserver.common.numbers import _read

    computed = _read(text)
    first = (canonical_number(text), line_number(text))  # maybe computed and kept
    again = (canonical_number(text), line_number(text))  # from the cache when kept
    assert first == again == computed


def test_the_reading_cache_is_bounded(monkeypatch):
    from rccserver.common import numbers as module

    monkeypatch.setattr(module, "_CACHE_SIZE", 8)
    module._readings.clear()
    for index in range(50):
        assert line_number(f"tel:+1555{index}") == f"1555{index}"
        assert len(module._readings) <= 8
    long_text = "1" * (module._CACHED_LENGTH + 1)
    assert line_number(long_text) == long_text
    assert long_text not in module._readings

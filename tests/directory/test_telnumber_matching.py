"""SPEC section 5: when a Line URI names a station."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rccserver.cic.data import CicData, Station
from rccserver.common.numbers import line_number, same_line


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
    ("44770", "44770"),
    ("", ""),
    (None, ""),
])
def test_line_number(uri, number):
    assert line_number(uri) == number


def test_same_line_needs_a_number():
    assert same_line("tel:+44770", "tel:44770")
    assert same_line("tel:+1 (317) 555-1010", "tel:13175551010;ext=5")
    assert not same_line("tel:+44770", "tel:+44771")
    assert not same_line("", "")
    assert not same_line(None, "tel:")


def data(*stations: Station) -> CicData:
    return CicData(users=(), stations=stations, features=())


DESK = Station(name="JohnMillerDesk", extension="44770", identification_address="tel:+44770")
US_DESK = Station(name="Indy", extension="13175551010", identification_address=None)
# A station whose extension is short but whose identification address is a full E.164 number.
SHORT = Station(name="Short", extension="1234", identification_address="tel:+4930555;ext=1234")


@pytest.mark.parametrize("line, station", [
    ("tel:+44770", DESK),
    ("tel:44770", DESK),
    ("tel:+4-47-70", DESK),
    ("tel:+44770;ext=1", DESK),
    ("tel:44770;phone-context=dial.example.com", DESK),
    ("tel:+1 (317) 555-1010", US_DESK),
    ("tel:13175551010", US_DESK),
    ("tel:+4930555;ext=1234", SHORT),  # the whole URI is the identification address
    ("tel:+1234", SHORT),  # the number is the extension
    ("tel:+4930555", None),  # only the whole identification address counts, not its number
    ("tel:+447700", None),
    ("tel:", None),
])
def test_station_for_line(line, station):
    assert data(DESK, US_DESK, SHORT).station_for_line(line) == station


digits = st.text(alphabet="0123456789", min_size=1, max_size=15)


@st.composite
def written(draw, number: str) -> str:
    """`number` as a person might write it in a tel URI: +, separators, parameters."""
    out = []
    for digit in number:
        out.append(draw(st.sampled_from(["", "", "", "-", ".", " ", "(", ")"])))
        out.append(digit)
    text = "".join(out).strip()
    prefix = draw(st.sampled_from(["tel:", "tel:+", "TEL:+", "tel:"]))
    params = draw(st.lists(st.sampled_from([";ext=12", ";phone-context=example.com", ";phone-context=+1"]),
                           max_size=2))
    return prefix + text + "".join(params)


@given(st.data(), digits)
def test_any_written_form_matches_the_extension(data_, number):
    line = data_.draw(written(number))
    assert line_number(line) == number
    station = Station(name="S", extension=number, identification_address=None)
    assert data(station).station_for_line(line) == station


@given(digits, digits)
def test_different_numbers_never_match(a, b):
    if a != b:
        assert not same_line(f"tel:+{a}", f"tel:{b}")

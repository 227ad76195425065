"""SPEC section 5: which CIC station a Line URI names.

Its number (tel URI without `tel:`, a leading `+`, separators and parameters)
equals the station's extension, or the whole URI equals its
`identification_address`. How numbers are read is in tests/common/test_numbers.py.
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rccserver.cic.data import CicData, Station
from tests.common.number_forms import digit_strings, written


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


@given(st.data(), digit_strings, st.booleans())
def test_any_written_form_matches_the_extension(data_, number, plus):
    line = data_.draw(written("+" + number if plus else number))
    station = Station(name="S", extension=number, identification_address=None)
    assert data(station).station_for_line(line) == station

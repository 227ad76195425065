"""E.164 presentation (SPEC section 10): what phonenumbers calls a valid number is shown as
tel:+<E.164>; national numbers need the country code; the rest has no E.164 form."""
from __future__ import annotations

import pytest

from rccserver.dialplan import DialPlan, country_code_problem, e164


@pytest.mark.parametrize("number, country_code, expected", [
    ("+13175550199", None, "+13175550199"),
    ("+13175550199", "44", "+13175550199"),  # international: the country code plays no part
    ("3175550199", "1", "+13175550199"),  # national, North America
    ("3175550199", None, None),  # national without a country: unknown
    ("02079460018", "44", "+442079460018"),  # UK: the trunk prefix 0 is dropped
    ("+4402079460018", None, "+442079460018"),  # ... also when written after +44
    ("2079460018", "44", "+442079460018"),
    ("+33123456789", "1", "+33123456789"),
    ("1001", "1", None),  # an extension
    ("+1001", None, None),  # the demo's identification addresses: no country's number
    ("44770", "44", None),
    ("5550100", "1", None),  # seven digits: no area code
    ("+15555550100", None, None),  # area code 555 does not exist
    ("+447700900123", None, None),  # Ofcom's drama range: reserved, never assigned
    ("*86", "1", None),
    ("3175550199#", "1", None),
    ("", "1", None),
])
def test_e164(number, country_code, expected):
    assert e164(number, country_code) == expected


def test_presentation_is_a_tel_uri_or_nothing():
    plan = DialPlan(country_code="1")
    assert plan.presentation("3175550199") == "tel:+13175550199"
    assert plan.presentation("+1 317 555 0199".replace(" ", "")) == "tel:+13175550199"
    assert plan.presentation("1001") is None


@pytest.mark.parametrize("value, words", [
    ("1", None), ("44", None), ("353", None), ("7", None),
    ("+1", "1-3 digits without '+'"), ("", "1-3 digits"), ("1234", "1-3 digits"), ("０４", "1-3 digits"),
    ("999", "not the calling code of a country"), ("800", "not the calling code of a country"),
])
def test_country_code(value, words):
    problem = country_code_problem(value)
    assert (problem is None) if words is None else (words in problem)

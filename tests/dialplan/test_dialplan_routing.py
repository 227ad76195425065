"""Where a number goes after the rules (SPEC section 10): a station by extension or
identification address, '+...' outside, anything else nowhere; DIDs only to stations."""
from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings, strategies as st

from rccserver.dialplan import DialPlan, DialPlanRouter, Kind, Rule, StationNumbers
from tests.dialplan.dialplan_examples import DID_INBOUND_RULES, NORTH_AMERICA_RULES


@attrs.frozen
class Desk:
    extension: str
    identification_address: str | None = None


STATIONS = (
    Desk("1001", "tel:+13175551001"),
    Desk("1002", "sip:+1-317-555-1002@example.com;user=phone"),
    Desk("1003"),
    Desk("44770", "tel:+44770"),
    Desk("2001", "sip:amy@example.com"),  # no number in it
)


def router(stations=STATIONS) -> DialPlanRouter:
    plan = DialPlan(dial=[Rule(*r) for r in NORTH_AMERICA_RULES], inbound=[Rule(*r) for r in DID_INBOUND_RULES],
                    country_code="1")
    return DialPlanRouter(plan, lambda: stations)


@pytest.mark.parametrize("dialled, kind, target", [
    ("1001", Kind.STATION, "1001"),
    ("tel:+1001", Kind.STATION, "1001"),  # SPEC 5: a line's number without '+'
    ("+1 317 555 1001", Kind.STATION, "1001"),  # the identification address
    ("9 317 555 1001", Kind.STATION, "1001"),  # ... reached through a rule
    ("91 317 555 1002", Kind.STATION, "1002"),  # a sip: identification address's number
    ("1003", Kind.STATION, "1003"),
    ("+44770", Kind.STATION, "44770"),
    ("9 (317) 555-0188", Kind.EXTERNAL, "+13175550188"),
    ("tel:+44 20 7946 0018", Kind.EXTERNAL, "+442079460018"),
    ("3175550188", Kind.NOWHERE, None),  # national, but no rule makes it international
    ("4242", Kind.NOWHERE, None),  # four digits, no such station
    ("*86", Kind.NOWHERE, None),
    ("sip:amy@example.com", Kind.NOT_A_NUMBER, None),
    ("9 317 555 O188", Kind.NOT_A_NUMBER, None),
])
def test_dialled(dialled, kind, target):
    route = router().route_dialled(dialled)
    assert (route.kind, route.target) == (kind, target)


@pytest.mark.parametrize("did, station", [
    ("+13175551001", "1001"),
    ("3175551003", "1003"),
    ("+13175551002", "1002"),  # the rule gives 1002 itself
    ("+13175551999", None),  # in the range, but no such station
    ("+13175550188", None),  # no rule, no station: the trunk answers 404
    ("+44770", "44770"),  # no rule, but a station's identification address
    ("1001", "1001"),  # a DID that is an extension already
    ("not a number", None),
])
def test_station_for_did(did, station):
    assert router().station_for_did(did) == station


def test_the_switch_gets_identification_addresses_as_extensions():
    plan = router()
    assert plan.dialled("9 317 555 1001") == "1001"
    assert plan.dialled("9 317 555 0188") == "+13175550188"
    assert plan.dialled("4242") == "4242"  # whether it is a station is the switch's question
    assert plan.dialled("sip:amy@example.com") is None
    assert plan.inbound("+13175551999") == "1999"


def test_new_cic_data_is_seen_at_once():
    current = [STATIONS]
    plan = DialPlanRouter(DialPlan(), lambda: current[0])
    assert plan.route_dialled("+13175551003").kind is Kind.EXTERNAL
    current[0] = STATIONS + (Desk("1004", "tel:+13175551003"),)
    assert plan.route_dialled("+13175551003").target == "1004"


def test_identification_address_before_extension():
    # SPEC 5 order: the whole address first, the extension second.
    numbers = StationNumbers([Desk("13175551001"), Desk("1001", "tel:+13175551001")])
    assert numbers.station("+13175551001") == "1001"
    assert numbers.station("13175551001") == "13175551001"


def test_dialled_sees_new_cic_data_at_once():
    # dialled() keeps its answers, but only while the same CIC data is in force.
    current = [STATIONS]
    plan = DialPlanRouter(DialPlan(), lambda: current[0])
    assert plan.dialled("+13175551003") == "+13175551003"
    assert plan.dialled("+13175551003") == "+13175551003"  # kept
    current[0] = STATIONS + (Desk("1004", "tel:+13175551003"),)
    assert plan.dialled("+13175551003") == "1004"
    current[0] = STATIONS
    assert plan.dialled("+13175551003") == "+13175551003"


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.one_of(
    st.sampled_from(["1001", "+1 317 555 1001", "9 317 555 1001", "91 317 555 1002", "4242",
                     "sip:amy@example.com", "9 (317) 555-0188", "tel:+44770", "", "x" * 300]),
    st.text(alphabet="0123456789+*# -()tel:;", max_size=20)), max_size=30))
def test_dialled_kept_answers_are_the_reading(texts):
    # The same texts asked again and again (kept answers) read as a fresh router reads them.
    kept = router()
    for text in texts + texts:
        assert kept.dialled(text) == router().dialled(text)

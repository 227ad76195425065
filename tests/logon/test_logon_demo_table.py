"""SPEC section 6 as one table, decided against the bundled demo data (rccserver/data).

Each row names the attempt and what the decision must say; rows the demo
data cannot produce on its own (ambiguous user, no licence, station in use)
change one thing first. The table also checks that the demo files keep the
cases their header comments promise.
"""
from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from rccserver.cic.data import CicData, CicUser, load_cic_data
from rccserver.server.config import DEFAULT_CONFIG_PATH
from rccserver.directory.ldif import load_ldif
from rccserver.rcc.logon import LogonAttempt, decide_logon, warning_header
from rccserver.rcc.occupancy import OccupancyRegistry

DATA = Path(DEFAULT_CONFIG_PATH).parent
CSTA = "application/csta+xml"


@pytest.fixture(scope="module")
def demo():
    return load_ldif(DATA / "directory.ldif", "EXAMPLE"), load_cic_data(DATA / "cic.toml")


def no_licence(cic: CicData, registry: OccupancyRegistry) -> CicData:
    return CicData(cic.users, cic.stations, ())


def alice_twice(cic: CicData, registry: OccupancyRegistry) -> CicData:
    return CicData((*cic.users, CicUser("AliceToo", "example\\ALICE", None, True, False)), cic.stations, cic.features)


def bob_on_1001(cic: CicData, registry: OccupancyRegistry) -> CicData:
    assert registry.acquire("1001", "BobBaker", "client:1001", "client").ok
    return cic


def alice_on_1001(cic: CicData, registry: OccupancyRegistry) -> CicData:
    assert registry.acquire("1001", "AliceArcher", "other-dialog", "rcc").ok
    return cic


# (id, content type, csta ok, from, line, change, code, status, cic user, station, remote number)
ROWS = [
    ("alice signs in", CSTA, True, "sip:alice@example.com", "tel:+1001", None,
     "Cs_Success", 200, "AliceArcher", "1001", None),
    ("wrong body type", "application/sdp", True, "sip:alice@example.com", "tel:+1001", None,
     "Cs_BadRequest", 415, None, None, None),
    ("no body type", None, False, "sip:alice@example.com", None, None, "Cs_BadRequest", 415, None, None, None),
    ("not RequestSystemStatus", CSTA, False, "sip:alice@example.com", None, None,
     "Cs_BadRequest", 400, None, None, None),
    ("no I3_FEATURE_LYNC", CSTA, True, "sip:alice@example.com", "tel:+1001", no_licence,
     "Cs_NoFeatureLicense", 403, None, None, None),
    ("unknown user", CSTA, True, "sip:nobody@example.com", "tel:+1001", None,
     "Cs_UserNotInDirectory", 404, None, None, None),
    ("erin is disabled", CSTA, True, "sip:erin@example.com", "tel:+1004", None,
     "Cs_UserNotInDirectory", 404, None, None, None),
    ("alice asks for bob's line", CSTA, True, "sip:alice@example.com", "tel:+1002", None,
     "Cs_LineNotAssigned", 403, None, None, None),
    ("frank has no CIC user", CSTA, True, "sip:frank@example.com", "tel:+1005", None,
     "Cs_UserNotFound", 404, None, None, None),
    ("two CIC users for alice", CSTA, True, "sip:alice@example.com", "tel:1001", alice_twice,
     "Cs_AmbiguousUser", 409, None, None, None),
    ("carol has no client licence", CSTA, True, "sip:carol@example.com", "tel:+1003", None,
     "Cs_NoClientLicense", 403, "CarolClark", None, None),
    ("dave's line is no station", CSTA, True, "sip:dave@example.com", "tel:+1099", None,
     "Cs_StationNotFound", 404, "DaveDunn", None, None),
    ("ivan may use a remote number", CSTA, True, "sip:ivan@example.com", "tel:+1 555-0100", None,
     "Cs_Success", 200, "IvanIvanov", None, "15550100"),
    ("bob's client holds 1001", CSTA, True, "sip:alice@example.com", "tel:+1001", bob_on_1001,
     "Cs_StationInUseByAnotherUser", 486, "AliceArcher", "1001", None),
    ("alice already holds 1001", CSTA, True, "SIP:Alice@Example.com", "tel:+1001", alice_on_1001,
     "Cs_Success", 200, "AliceArcher", "1001", None),
]


@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_spec_row(demo, row):
    _, content_type, csta_ok, from_uri, line, change, code, status, cic_user, station, remote = row
    directory, cic = demo
    registry = OccupancyRegistry()
    if change is not None:
        cic = change(cic, registry)
    before = list(registry)
    decision = decide_logon(LogonAttempt(content_type, csta_ok, line, from_uri), directory, cic, registry)
    assert (decision.code, decision.sip_status) == (code, status), decision.detail
    assert (decision.cic_user, decision.station, decision.remote_number) == (cic_user, station, remote)
    assert (decision.lync_uri, decision.line) == (from_uri, line)
    assert decision.ok is (code == "Cs_Success")
    assert list(registry) == before  # deciding never occupies
    if status != 200:
        header = warning_header(decision, "rcc.example.com")
        assert header.startswith(f'399 rcc.example.com "{code}: ') and header.endswith('"')


def test_facts_name_the_object_at_fault(demo):
    directory, cic = demo
    registry = OccupancyRegistry()
    decision = decide_logon(LogonAttempt(CSTA, True, "tel:+1005", "sip:frank@example.com"), directory, cic, registry)
    assert decision.domain_account == "EXAMPLE\\frank"
    assert decision.detail == "no CIC user has domain account EXAMPLE\\frank"
    bob_on_1001(cic, registry)
    busy = decide_logon(LogonAttempt(CSTA, True, "tel:+1001", "sip:alice@example.com"), directory, cic, registry)
    assert busy.other_user == "BobBaker" and "BobBaker" in busy.detail and "1001" in busy.detail
    assert busy.station_name == "Desk1001"


def test_warning_header_escapes_backslashes_and_quotes():
    decision = attrs.evolve(
        decide_logon(LogonAttempt(None, False, None, "sip:x@y"), None, None, None), detail='say "hi" to A\\B')
    assert warning_header(decision, "rcc.example.com") == (
        '399 rcc.example.com "Cs_BadRequest: say \\"hi\\" to A\\\\B"')

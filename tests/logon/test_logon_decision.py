"""SPEC section 6 at the function level: decide_logon runs the checks in the SPEC's order, first failure wins.

Each row's test breaks that row's check AND every later one, so a wrong order
shows up as a later code. A property test breaks any combination.
"""
from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rccserver.cic.data import LYNC_FEATURE, CicData, CicUser, Station
from rccserver.directory.cache import DirectoryCache, DirectoryUser
from rccserver.rcc.logon import CSTA_CONTENT_TYPE, LogonAttempt, decide_logon, warning_header
from rccserver.common.numbers import line_number
from rccserver.rcc.occupancy import OccupancyRegistry

URI = "sip:john.miller@example.com"
LINE = "tel:+44770"
ACCOUNT = "EXAMPLE\\JohnMiller"

# SPEC order: (breakable check, code, SIP status)
ROWS = [
    ("content_type", "Cs_BadRequest", 415),
    ("csta", "Cs_BadRequest", 400),
    ("feature", "Cs_NoFeatureLicense", 403),
    ("directory", "Cs_UserNotInDirectory", 404),
    ("line", "Cs_LineNotAssigned", 403),
    ("cic_user", "Cs_UserNotFound", 404),  # or Cs_AmbiguousUser 409: see World.ambiguous
    ("client_license", "Cs_NoClientLicense", 403),
    ("station", "Cs_StationNotFound", 404),
    ("in_use", "Cs_StationInUseByAnotherUser", 486),
]
CHECKS = [name for name, _, _ in ROWS]


@attrs.frozen
class World:
    broken: frozenset[str] = frozenset()
    disabled: bool = False  # break "directory" with a disabled user instead of an unknown one
    ambiguous: bool = False  # break "cic_user" with two CIC users instead of none

    def decide(self):
        broken = self.broken
        attempt = LogonAttempt(
            content_type="text/plain" if "content_type" in broken else CSTA_CONTENT_TYPE,
            csta_ok="csta" not in broken,
            line=LINE,
            from_uri=URI,
        )
        users = [DirectoryUser(sip_uri="sip:John.Miller@example.com", sam_account_name="JohnMiller",
                               domain_account=ACCOUNT, line="tel:+9999" if "line" in broken else "tel:44770",
                               line_server="sip:rcc@rcc.example.com", enabled=True, display_name="John",
                               dn="CN=John,DC=example,DC=com")]
        if "directory" in broken:
            if self.disabled:
                users = [attrs.evolve(users[0], enabled=False)]
            else:
                users = []
        users.append(DirectoryUser(sip_uri="sip:other@example.com", sam_account_name="other",
                                   domain_account="EXAMPLE\\other", line="tel:+44771", line_server=None,
                                   enabled=True, display_name=None, dn="CN=other,DC=example,DC=com"))
        directory = DirectoryCache(users)
        cic_users = [CicUser(id="JohnMiller", nt_domain_user="example\\johnmiller", extension="8891",
                             client_license="client_license" not in broken, allow_remote_number=False)]
        if "cic_user" in broken:
            if self.ambiguous:
                cic_users.append(attrs.evolve(cic_users[0], id="JohnMiller2"))
            else:
                cic_users = []
        cic_users.append(CicUser(id="Other", nt_domain_user="EXAMPLE\\other", extension="8892",
                                 client_license=True, allow_remote_number=False))
        stations = [Station(name="Lobby", extension="44771", identification_address=None)]
        if "station" not in broken:
            stations.append(Station(name="JohnMillerDesk", extension="44770", identification_address="tel:+44770"))
        cic = CicData(cic_users, stations, () if "feature" in broken else (LYNC_FEATURE, "OTHER"))
        occupancy = OccupancyRegistry()
        if "in_use" in broken:
            assert occupancy.acquire("44770", "Other", "client:44770", "client").ok
        return decide_logon(attempt, directory, cic, occupancy)


def expected(world: World) -> tuple[str, int]:
    for name, code, status in ROWS:
        if name in world.broken:
            if name == "directory" and world.disabled:
                return code, status
            if name == "cic_user" and world.ambiguous:
                return "Cs_AmbiguousUser", 409
            return code, status
    return "Cs_Success", 200


def from_row(index: int, **variant) -> World:
    """Row `index` broken, and every row after it too."""
    return World(broken=frozenset(CHECKS[index:]), **variant)


def test_all_checks_pass():
    decision = World().decide()
    assert (decision.code, decision.sip_status, decision.ok) == ("Cs_Success", 200, True)
    assert (decision.lync_uri, decision.domain_account, decision.cic_user, decision.line, decision.station) == (
        URI, ACCOUNT, "JohnMiller", LINE, "44770")
    assert decision.remote_number is None


# One test per SPEC row, in SPEC order.
def test_row_1_body_type_not_csta_is_415_bad_request():
    decision = from_row(0).decide()
    assert (decision.code, decision.sip_status) == ("Cs_BadRequest", 415)
    assert "text/plain" in decision.detail and CSTA_CONTENT_TYPE in decision.detail


def test_row_1_content_type_parameters_and_case_are_accepted():
    world = World()
    attempt = LogonAttempt(content_type="Application/CSTA+XML; charset=utf-8", csta_ok=False, line=LINE, from_uri=URI)
    decision = decide_logon(attempt, DirectoryCache([]), CicData([], [], []), OccupancyRegistry())
    assert (decision.code, decision.sip_status) == ("Cs_BadRequest", 400)  # past row 1, stopped at row 2
    assert world.decide().ok


def test_row_1_missing_content_type():
    attempt = LogonAttempt(content_type=None, csta_ok=False, line=None, from_uri=URI)
    decision = decide_logon(attempt, DirectoryCache([]), CicData([], [], []), OccupancyRegistry())
    assert (decision.code, decision.sip_status) == ("Cs_BadRequest", 415)


def test_row_2_not_a_request_system_status_is_400_bad_request():
    decision = from_row(1).decide()
    assert (decision.code, decision.sip_status) == ("Cs_BadRequest", 400)
    assert "RequestSystemStatus" in decision.detail


def test_row_3_no_lync_feature_licence():
    decision = from_row(2).decide()
    assert (decision.code, decision.sip_status) == ("Cs_NoFeatureLicense", 403)
    assert LYNC_FEATURE in decision.detail


def test_row_4_user_not_in_directory():
    decision = from_row(3).decide()
    assert (decision.code, decision.sip_status) == ("Cs_UserNotInDirectory", 404)
    assert URI in decision.detail
    assert decision.domain_account is None


def test_row_4_disabled_user_is_not_in_directory():
    decision = from_row(3, disabled=True).decide()
    assert (decision.code, decision.sip_status) == ("Cs_UserNotInDirectory", 404)
    assert "enabled" in decision.detail


def test_row_5_line_not_assigned():
    decision = from_row(4).decide()
    assert (decision.code, decision.sip_status) == ("Cs_LineNotAssigned", 403)
    assert LINE in decision.detail and "tel:+9999" in decision.detail
    assert decision.domain_account == ACCOUNT


def test_row_6_no_cic_user():
    decision = from_row(5).decide()
    assert (decision.code, decision.sip_status) == ("Cs_UserNotFound", 404)
    assert ACCOUNT in decision.detail
    assert decision.cic_user is None


def test_row_6_two_cic_users_is_ambiguous():
    decision = from_row(5, ambiguous=True).decide()
    assert (decision.code, decision.sip_status) == ("Cs_AmbiguousUser", 409)
    assert "JohnMiller, JohnMiller2" in decision.detail


def test_row_7_no_client_licence():
    decision = from_row(6).decide()
    assert (decision.code, decision.sip_status) == ("Cs_NoClientLicense", 403)
    assert decision.cic_user == "JohnMiller" and "JohnMiller" in decision.detail


def test_row_8_station_not_found():
    decision = from_row(7).decide()
    assert (decision.code, decision.sip_status) == ("Cs_StationNotFound", 404)
    assert LINE in decision.detail and decision.station is None


def test_row_9_station_in_use_by_another_user():
    decision = from_row(8).decide()
    assert (decision.code, decision.sip_status) == ("Cs_StationInUseByAnotherUser", 486)
    assert decision.station == "44770" and decision.other_user == "Other"
    assert "Other" in decision.detail


@given(st.sets(st.sampled_from(CHECKS)), st.booleans(), st.booleans())
def test_first_failure_wins_for_any_combination(broken, disabled, ambiguous):
    world = World(frozenset(broken), disabled=disabled, ambiguous=ambiguous)
    decision = world.decide()
    assert (decision.code, decision.sip_status) == expected(world)
    assert decision.ok == (not broken)


# -- details of the checks ------------------------------------------------------------------
def decide(line: str, user_line: str | None, *, station_extension: str = "13175551010",
           allow_remote: bool = False, extension: str | None = "8891", holder: str | None = None):
    directory = DirectoryCache([DirectoryUser(URI, "JohnMiller", ACCOUNT, user_line, None, True, None, "CN=j")])
    cic = CicData([CicUser("JohnMiller", ACCOUNT, extension, True, allow_remote)],
                  [Station("Desk", station_extension, None)], [LYNC_FEATURE])
    occupancy = OccupancyRegistry()
    if holder:
        occupancy.acquire(station_extension, holder, f"client:{station_extension}", "client")
    return decide_logon(LogonAttempt(CSTA_CONTENT_TYPE, True, line, URI.upper()), directory, cic, occupancy)


@pytest.mark.parametrize("line, user_line", [
    ("tel:+1 (317) 555-1010", "tel:13175551010"),
    ("tel:13175551010;ext=1", "tel:+1-317-555-1010"),
    ("tel:+13175551010", "tel:+13175551010;phone-context=example.com"),
])
def test_lines_are_compared_as_numbers(line, user_line):
    decision = decide(line, user_line)
    assert decision.ok and decision.station == "13175551010" and decision.line == line


@pytest.mark.parametrize("line, user_line", [(None, "tel:+13175551010"), ("tel:+13175551010", None), ("", "")])
def test_a_missing_line_is_not_assigned(line, user_line):
    assert decide(line, user_line).code == "Cs_LineNotAssigned"


@given(st.sampled_from(["tel:+13175551010", "tel:13175551010", "tel:+1 (317) 555-1010", "tel:", "tel:;ext=1",
                        "sip:+13175551010@example.com;user=phone", "tel:+13175551011", "", "tel:abc"]),
       st.booleans())
def test_the_same_line_text_decides_as_the_number_comparison(line, same):
    # decide_logon skips the directory line's number when the text is the one sent; the
    # decision is the one a comparison of numbers gives.
    user_line = line if same else "tel:+13175551010"
    assigned = bool(line_number(line)) and line_number(line) == line_number(user_line)
    assert (decide(line, user_line).code != "Cs_LineNotAssigned") == assigned


def test_same_user_holding_the_station_may_log_on_again():
    assert decide("tel:+13175551010", "tel:+13175551010", holder="JohnMiller").ok


def test_remote_number_when_allowed():
    decision = decide("tel:+15550100", "tel:+15550100", allow_remote=True)
    assert decision.ok and decision.station is None and decision.remote_number == "15550100"


def test_remote_number_needs_the_users_extension():
    decision = decide("tel:+15550100", "tel:+15550100", allow_remote=True, extension=None)
    assert decision.code == "Cs_StationNotFound"


def test_remote_number_not_allowed():
    assert decide("tel:+15550100", "tel:+15550100").code == "Cs_StationNotFound"


@pytest.mark.parametrize("line", ["tel:+1555CALLNOW", "tel:+" + "1" * 33])
def test_remote_number_must_be_dialable(line):
    """The line is the user's own, but the switch could not ring it (SPEC section 10: digits and a
    leading '+'), so the logon is refused instead of answered 200 with nothing to ring."""
    decision = decide(line, line, allow_remote=True)
    assert (decision.code, decision.sip_status, decision.remote_number) == ("Cs_StationNotFound", 404, None)
    assert "not a dialable number" in decision.detail


def test_decide_changes_no_state():
    occupancy = OccupancyRegistry()
    directory = DirectoryCache([DirectoryUser(URI, "JohnMiller", ACCOUNT, LINE, None, True, None, "CN=j")])
    cic = CicData([CicUser("JohnMiller", ACCOUNT, None, True, False)], [Station("D", "44770", None)], [LYNC_FEATURE])
    attempt = LogonAttempt(CSTA_CONTENT_TYPE, True, LINE, URI)
    assert decide_logon(attempt, directory, cic, occupancy).ok
    assert occupancy.occupant("44770") is None and len(occupancy) == 0


def test_warning_header_quotes_the_code_and_detail():
    decision = from_row(5).decide()
    header = warning_header(decision, "rcc.example.com")
    # The domain account's backslash is escaped inside the quoted string (RFC 3261 quoted-pair).
    assert header == f'399 rcc.example.com "Cs_UserNotFound: no CIC user has domain account EXAMPLE\\\\JohnMiller"'


def test_warning_header_escapes_quotes():
    decision = attrs.evolve(World().decide(), code="Cs_BadRequest", detail='say "hi"\r\nX: y')
    header = warning_header(decision, "rcc.example.com")
    assert header == '399 rcc.example.com "Cs_BadRequest: say \\"hi\\"  X: y"'


# -- the granted decision, filled slot by slot (rcc.logon._granted_station) ----------------
TEXTS = st.one_of(st.none(), st.text(max_size=8))


def test_logon_decision_init_only_stores():
    """_granted_station skips attrs' __init__: right only while that __init__ does nothing
    but store (no validator, converter, pre/post-init, factory) and the class keeps slots."""
    from rccserver.rcc.logon import LogonDecision

    assert not any(hasattr(LogonDecision, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__"))
    for field in attrs.fields(LogonDecision):
        assert field.validator is None and field.converter is None and field.init
        assert not isinstance(field.default, attrs.Factory)
    assert "__dict__" not in dir(LogonDecision) or not hasattr(LogonDecision(
        code="c", sip_status=1, detail="d", lync_uri="u"), "__dict__")


@given(detail=st.text(max_size=8), lync_uri=st.text(max_size=8), account=TEXTS, user=st.text(max_size=8),
       line=TEXTS, station=st.text(max_size=8), name=TEXTS)
def test_granted_station_equals_the_attrs_constructor(detail, lync_uri, account, user, line, station, name):
    from rccserver.rcc.logon import LogonDecision, _granted_station

    fast = _granted_station(detail, lync_uri, account, user, line, station, name)
    slow = LogonDecision(code="Cs_Success", sip_status=200, detail=detail, lync_uri=lync_uri,
                         domain_account=account, cic_user=user, line=line, station=station, station_name=name)
    assert type(fast) is LogonDecision and fast == slow and repr(fast) == repr(slow) and hash(fast) == hash(slow)
    assert fast.ok and attrs.evolve(fast, code="x") == attrs.evolve(slow, code="x")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.code = "Cs_UserNotFound"

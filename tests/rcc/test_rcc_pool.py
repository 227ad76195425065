"""The logon in a pool of servers (sans-IO core, SPEC section 11): an INVITE whose station
this server does not lease yet is answered only once the pool answered the claim; a
Conflict is Cs_StationInUseByAnotherUser (486), a pool that cannot be asked is
Cs_StationPoolUnavailable (503), and the lease is given back with the station's last
local holder."""
from __future__ import annotations

from rccserver.rcc.occupancy import Conflict
from rccserver.rcc.pool import Granted, PoolUnavailable
from rccserver.sip import Response
from tests.rcc.rcc_harness import Core, Lync


class LaterLeases:
    """Holds each claim until the test answers it; records releases."""

    def __init__(self) -> None:
        self.claims: list[tuple[str, str, object]] = []
        self.released: list[str] = []

    def claim(self, station, user_id, reply) -> None:
        self.claims.append((station, user_id, reply))

    def release(self, station) -> None:
        self.released.append(station)

    def answer(self, result) -> None:
        _, _, reply = self.claims.pop(0)
        reply(result)


def invite_finals(messages) -> list[Response]:
    return [m for m in messages if isinstance(m, Response) and m.cseq[1] == "INVITE" and m.status >= 200]


def start_sign_in(core: Core, lync: Lync) -> list:
    from rccserver import csta
    from tests.rcc.rcc_harness import ED3

    body = (f'<RequestSystemStatus xmlns="{ED3}"><extensions><privateData><private>'
            f'<lcs:line xmlns:lcs="{csta.RCC_EXTENSION}">{lync.line}</lcs:line></private></privateData>'
            f"</extensions></RequestSystemStatus>").encode()
    return core.feed(lync.request("INVITE", body, (("Supported", "timer"),)))


def pooled_core() -> tuple[Core, LaterLeases]:
    core = Core()
    leases = LaterLeases()
    core.app.leases = leases
    return core, leases


def test_the_invite_is_answered_once_the_pool_granted_the_lease_and_it_is_given_back_with_the_last_holder():
    core, leases = pooled_core()
    alice = Lync(core)
    assert invite_finals(start_sign_in(core, alice)) == []
    assert [(station, user) for station, user, _ in leases.claims] == [("1001", core.occupancy.occupant("1001"))]
    leases.answer(Granted("1001"))
    [answer] = invite_finals(core.drain())
    assert answer.status == 200
    alice.to_tag = answer.to.tag
    core.feed(alice.request("ACK"))
    # The same user's second endpoint on this server: answered at once, the pool not asked again.
    second = Lync(core)
    assert second.sign_in().status == 200 and leases.claims == []
    core.feed(alice.request("BYE"))
    assert leases.released == []  # the second endpoint still holds the station
    core.feed(second.request("BYE"))
    assert leases.released == ["1001"] and core.occupancy.occupant("1001") is None


def test_another_user_through_another_server_is_refused_with_486_and_the_station_stays_free_here():
    core, leases = pooled_core()
    alice = Lync(core)
    start_sign_in(core, alice)
    leases.answer(Conflict("1001", "Dave"))
    [answer] = invite_finals(core.drain())
    assert answer.status == 486
    warning = answer.headers.get("Warning")
    assert "Cs_StationInUseByAnotherUser" in warning and "Dave" in warning and "another server" in warning
    assert core.occupancy.occupant("1001") is None and leases.released == []


def test_a_pool_that_cannot_be_asked_refuses_with_503_and_its_cause():
    core, leases = pooled_core()
    alice = Lync(core)
    start_sign_in(core, alice)
    leases.answer(PoolUnavailable("1001", "Redis redis://10.0.0.9:6379/0 unreachable"))
    [answer] = invite_finals(core.drain())
    assert answer.status == 503
    warning = answer.headers.get("Warning")
    assert "Cs_StationPoolUnavailable" in warning and "redis://10.0.0.9:6379/0" in warning
    assert core.occupancy.occupant("1001") is None



class GrantingLeases:
    """LocalLeases' answers, but not a LocalLeases: the application takes the general path
    (a claim with its reply) for it."""

    def __init__(self) -> None:
        self.claims = 0
        self.released: list[str] = []

    def claim(self, station, user_id, reply) -> None:
        self.claims += 1
        reply(Granted(station))

    def release(self, station) -> None:
        self.released.append(station)


def _held(core: Core) -> list:
    """The occupancy snapshot without the (random) session ids."""
    return [(row["station"], row["user"], [h["kind"] for h in row["holders"]]) for row in core.occupancy.snapshot()]


def _logon_story(core: Core) -> list:
    """Sign-ins, a second endpoint, a refusal and sign-outs: what the peers and the server see."""
    alice, second = Lync(core), Lync(core)
    dave = Lync(core, user="sip:dave@example.com", line="tel:+1001")
    seen = [alice.sign_in().status, second.sign_in().status, dave.sign_in().status,
            sorted(core.app._leased), _held(core), len(core.app.sessions)]
    core.feed(alice.request("BYE"))
    seen += [sorted(core.app._leased), _held(core)]
    core.feed(second.request("BYE"))
    seen += [sorted(core.app._leased), _held(core), len(core.app.sessions)]
    again = Lync(core)
    seen += [again.sign_in().status, sorted(core.app._leased), _held(core)]
    return seen


def test_a_server_alone_answers_logons_as_the_general_claim_path_does():
    # LocalLeases is answered without a claim (no closure per logon); the same story through
    # the general path, with leases that grant every claim at once, ends the same.
    alone = Core()
    general = Core()
    leases = general.app.leases = GrantingLeases()
    assert _logon_story(alone) == _logon_story(general)
    assert leases.claims == 2 and leases.released == ["1001"]

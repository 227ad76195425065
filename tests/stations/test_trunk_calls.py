"""The call layer and the trunk peer (SPEC 9/10): outside parties that ring become legs to the
peer, trunk calls ring the station their DID names, and nothing else gets out."""
from __future__ import annotations

import attrs
import pytest

from rccserver.common.clock import Scheduler
from rccserver.dialplan import DialPlan, DialPlanRouter, Rule
from rccserver.stations.trunk import calling_number
from rccserver.stations import sdp
from rccserver.stations.legs import AutoAnswer, LegRole, NotRegistered
from rccserver.stations.terminal import PhoneSettings, SipTerminals
from rccserver.stations.trunk import TrunkMonitor, TrunkRoute
from rccserver.switch import ConnectionState as S, EmbeddedSwitch
from rccserver.switch.model import ForwardingType
from phone_fakes import FakeLeg, FakeLine, phone_sdp

A, B, SIM = "1001", "1002", "1009"
MOBILE = "+13175550177"
CALLER = "+13175550199"


@attrs.frozen
class StationRow:
    extension: str
    identification_address: str | None


@attrs.frozen
class Cic:
    stations: tuple


CIC = Cic((StationRow(A, "tel:+13175551001"), StationRow(B, "tel:+1002"), StationRow(SIM, None)))


class TrunkLine(FakeLine):
    """The fake phone line with a trunk peer: `invite_peer` legs, and calls from the peer."""

    def __init__(self, registered=()) -> None:
        super().__init__(registered)
        self.peer_down = False

    def invite_peer(self, uri, sdp_body, *, caller, identity=None, auth=None, label=None, diversion=None):
        if self.peer_down:
            raise NotRegistered("no trunk")
        leg = FakeLeg(self, label, LegRole.OUTGOING, offer=sdp_body, caller=caller)
        leg.uri, leg.identity, leg.diversion = uri, identity, diversion
        self.legs.append(leg)
        return leg

    def trunk_call(self, caller: str, did: str, body: bytes) -> FakeLeg:
        leg = FakeLeg(self, caller, LegRole.INCOMING, dialled=did, remote_sdp=body)
        self.legs.append(leg)
        self.listener.trunk_called(leg)
        return leg


class World:
    def __init__(self) -> None:
        self.now = 1000.0
        self.scheduler = Scheduler(lambda: self.now)
        plan = DialPlan(dial=[Rule(r"^9(\d{10})$", "+1$1")], inbound=[Rule(r"^\+1317555(1\d{3})$", "$1")],
                        country_code="1")
        router = DialPlanRouter(plan, lambda: CIC.stations)
        self.switch = EmbeddedSwitch([A, B, SIM], scheduler=self.scheduler, dial_plan=router)
        settings = PhoneSettings(auto_answer=AutoAnswer.CALL_INFO)
        self.notes = []
        self.terminals = SipTerminals(self.switch, {A: settings, B: settings}, domain_name="rcc.example.com",
                                      observer=lambda *note: self.notes.append(note))
        self.line = TrunkLine({A, B})
        self.line.listener = self.terminals
        self.terminals.attach(self.line)
        self.pings = []
        self.monitor = TrunkMonitor(self.scheduler, self.pings.append, interval=30)
        self.route = TrunkRoute(peer_host="sbc.example.net:5060", calling_number=calling_number(lambda: CIC, plan.e164),
                                station_for_did=router.station_for_did, monitor=self.monitor)
        self.terminals.attach_trunk(self.route)

    def states(self, device: str) -> list:
        return [item.state for item in self.switch.snapshot(device)]

    def peer(self) -> FakeLeg:
        return next(leg for leg in reversed(self.line.legs) if hasattr(leg, "uri"))

    def calls(self) -> list:
        return [[(p.device, p.state) for p in view.parties] for view in self.switch.calls()]


@pytest.fixture
def world() -> World:
    return World()


def test_a_phone_dialling_an_outside_number_calls_the_peer_from_the_stations_e164_number(world):
    a = world.line.dial(A, "9 (317) 555-0188", phone_sdp(4000))
    peer = world.peer()
    assert peer.uri == "sip:+13175550188@sbc.example.net:5060"
    assert peer.caller == peer.identity == "+13175551001"  # identification_address, E.164
    assert peer.diversion is None
    assert sdp.media_of(peer.offer) == sdp.media_of(phone_sdp(4000))  # the phone's media, passed through
    world.terminals.leg_ringing(peer)
    assert a.names() == ["ringing"]
    world.terminals.leg_answered(peer, phone_sdp(7000))
    (_, answer) = a.last("answer")
    assert sdp.media_of(answer) == sdp.media_of(phone_sdp(7000))
    assert world.calls() == [[(A, S.CONNECTED), ("+13175550188", S.CONNECTED)]]
    world.terminals.leg_ended(peer, "BYE")  # the outside party hangs up
    assert a.names()[-1] == "hang_up" and world.calls() == []


def test_a_station_whose_identification_is_not_e164_calls_from_its_extension(world):
    world.line.dial(B, "93175550188", phone_sdp(4000))
    assert world.peer().caller == B


def test_make_call_from_a_simulated_station_reaches_the_peer_with_a_parked_offer(world):
    world.switch.make_call(SIM, "9 317 555 0188")
    peer = world.peer()
    assert peer.caller == SIM and sdp.direction_of(peer.offer) == "inactive"
    world.terminals.leg_answered(peer, phone_sdp(7000))
    assert world.states(SIM) == [S.CONNECTED]


def test_a_peer_that_refuses_fails_the_call_and_the_phone_hears_its_status(world):
    a = world.line.dial(A, "93175550188", phone_sdp(4000))
    world.switch.take_events()
    world.terminals.leg_failed(world.peer(), 503, "Service Unavailable")
    assert a.last("reject") == ("reject", 503)
    assert world.calls() == []
    assert ("+13175550188", "leg-failed", "503 Service Unavailable") in world.notes
    assert "Failed" in [e.kind.value for e in world.switch.take_events() if e.station == A]


def test_a_trunk_that_is_down_takes_no_call_and_says_why(world):
    world.monitor.start()
    world.scheduler.tick(world.now)
    world.pings[-1](503, "Maintenance")
    assert world.monitor.state == "down"
    a = world.line.dial(A, "93175550188", phone_sdp(4000))
    assert not any(hasattr(leg, "uri") for leg in world.line.legs)
    assert a.last("reject") == ("reject", 503)
    [(number, what, detail)] = [n for n in world.notes if n[1] == "trunk-down"]
    assert number == "+13175550188" and "Maintenance" in detail


def test_a_trunk_call_for_a_did_rings_the_stations_phone_with_the_callers_media(world):
    trunk = world.line.trunk_call(CALLER, "+13175551001", phone_sdp(6000))
    a = world.line.to(A)
    assert a.role is LegRole.OUTGOING and a.caller == CALLER
    assert sdp.media_of(a.offer) == sdp.media_of(phone_sdp(6000))
    world.terminals.leg_ringing(a)
    assert trunk.names() == ["ringing"]
    world.terminals.leg_answered(a, phone_sdp(5000))
    (_, answer) = trunk.last("answer")
    assert sdp.media_of(answer) == sdp.media_of(phone_sdp(5000))
    assert world.calls() == [[(CALLER, S.CONNECTED), (A, S.CONNECTED)]]


def test_a_trunk_call_for_a_number_that_is_no_station_gets_404_and_goes_nowhere(world):
    trunk = world.line.trunk_call(CALLER, "+13175550188", phone_sdp(6000))
    assert trunk.last("reject") == ("reject", 404)
    assert world.calls() == [] and world.line.legs == [trunk]
    assert [n[1] for n in world.notes] == ["trunk-no-station"]


def test_a_trunk_call_whose_caller_reads_as_a_station_is_refused(world):
    trunk = world.line.trunk_call("1002", "+13175551001", phone_sdp(6000))
    assert trunk.last("reject") == ("reject", 403)
    assert world.calls() == []


def test_a_did_call_for_a_station_on_dnd_gets_486(world):
    world.switch.set_dnd(A, True)
    trunk = world.line.trunk_call(CALLER, "+13175551001", phone_sdp(6000))
    assert trunk.last("reject") == ("reject", 486)


def test_a_did_call_forwarded_to_a_mobile_leaves_through_the_trunk_from_the_caller(world):
    world.switch.set_forwarding(A, ForwardingType.IMMEDIATE, True, "9 317 555 0177")
    trunk = world.line.trunk_call(CALLER, "+13175551001", phone_sdp(6000))
    peer = world.peer()
    assert peer.uri.startswith(f"sip:{MOBILE}@") and peer.caller == CALLER
    assert peer.diversion == "+13175551001"  # the station whose forwarding sent it out
    assert sdp.media_of(peer.offer) == sdp.media_of(phone_sdp(6000))
    world.terminals.leg_answered(peer, phone_sdp(7000))
    (_, answer) = trunk.last("answer")
    assert sdp.media_of(answer) == sdp.media_of(phone_sdp(7000))
    world.terminals.leg_ended(trunk, "BYE")  # the caller hangs up: the mobile's leg ends too
    assert peer.names()[-1] == "hang_up" and world.calls() == []


def test_the_peer_cannot_transfer_a_call_anywhere(world):
    world.line.trunk_call(CALLER, "+13175551001", phone_sdp(6000))
    trunk = world.line.legs[0]
    world.terminals.leg_answered(world.line.to(A), phone_sdp(5000))
    assert world.terminals.leg_referred(trunk, "sip:+13175550188@sbc.example.net", None) is False
    assert not any(hasattr(leg, "uri") for leg in world.line.legs)


def test_without_a_trunk_outside_parties_stay_parked(world):
    world.terminals.attach_trunk(None)
    a = world.line.dial(A, "93175550188", phone_sdp(4000))
    assert not any(hasattr(leg, "uri") for leg in world.line.legs)
    assert a.names() == ["ringing"]


def test_a_did_call_for_a_simulated_station_hears_ringback_and_is_answered_parked(world):
    trunk = world.line.trunk_call(CALLER, "+13175551009", phone_sdp(6000))
    assert trunk.names() == ["ringing"] and world.states(SIM) == [S.ALERTING]
    world.switch.answer_call(SIM, world.switch.snapshot(SIM)[0].call_id)
    (_, answer) = trunk.last("answer")
    assert sdp.direction_of(answer) == "inactive"  # nobody's media to give it


def test_a_peer_that_never_answers_fails_the_call_like_a_refusal(world):
    a = world.line.dial(A, "93175550188", phone_sdp(4000))
    world.terminals.leg_failed(world.peer(), 408, "No Answer From The Phone")
    assert a.last("reject") == ("reject", 408) and world.calls() == []


def test_a_busy_peer_is_heard_as_busy(world):
    a = world.line.dial(A, "93175550188", phone_sdp(4000))
    world.terminals.leg_failed(world.peer(), 600, "Busy Everywhere")
    assert a.last("reject") == ("reject", 486)


def test_the_request_uri_names_the_transport_when_it_is_not_udp():
    route = TrunkRoute(peer_host="sbc.example.net:5061", transport="tls")
    assert route.uri_for("+13175550188") == "sip:+13175550188@sbc.example.net:5061;transport=tls"

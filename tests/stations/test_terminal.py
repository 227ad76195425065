"""The call layer: the switch's calls carried by (fake) phones, legs and media in step."""
from __future__ import annotations

import pytest

from rccserver.common.clock import Scheduler
from rccserver.stations import sdp
from rccserver.stations.legs import AutoAnswer, LegRole
from rccserver.stations.terminal import PhoneSettings, SipTerminals
from rccserver.switch import ConnectionState as S, EmbeddedSwitch, SwitchError
from rccserver.switch.model import ForwardingType
from phone_fakes import FakeLine, phone_sdp

A, B, C, SIM = "1001", "1002", "1003", "1009"
X = "+13175550100"


class World:
    def __init__(self, registered=(A, B, C), remote_answer="none") -> None:
        self.now = 1000.0
        self.scheduler = Scheduler(lambda: self.now)
        self.switch = EmbeddedSwitch([A, B, C, SIM], scheduler=self.scheduler)
        settings = PhoneSettings(auto_answer=AutoAnswer.CALL_INFO, remote_answer=remote_answer)
        self.notes = []
        self.terminals = SipTerminals(self.switch, {A: settings, B: settings, C: settings},
                                      domain_name="rcc.example.com",
                                      observer=lambda *note: self.notes.append(note))
        self.line = FakeLine(registered)
        self.line.listener = self.terminals
        self.terminals.attach(self.line)

    def states(self, station: str) -> list[S]:
        return [item.state for item in self.switch.snapshot(station)]

    def kinds(self, station: str) -> list[str]:
        return [e.kind.value for e in self.switch.take_events() if e.station == station]


@pytest.fixture
def world() -> World:
    return World()


def media(body: bytes) -> tuple:
    return sdp.media_of(body)


def test_a_phone_dials_a_phone_rings_is_answered_and_hangs_up(world):
    offer_a = phone_sdp(4000)
    a = world.line.dial(A, "1002", offer_a)
    b = world.line.to(B)
    assert b.role is LegRole.OUTGOING and b.auto_answer is AutoAnswer.NONE and b.caller == A
    assert media(b.offer) == media(offer_a) and b"o=rccserver" in b.offer  # passed through, our origin
    assert world.states(A) == [S.CONNECTED] and world.states(B) == [S.ALERTING]

    world.terminals.leg_ringing(b)
    assert a.names() == ["ringing"]
    answer_b = phone_sdp(5000)
    world.terminals.leg_answered(b, answer_b)
    (_, answered_with) = a.last("answer")
    assert media(answered_with) == media(answer_b)
    assert world.states(A) == [S.CONNECTED] and world.states(B) == [S.CONNECTED]

    world.terminals.leg_ended(b, "bye")
    assert a.names()[-1] == "hang_up"
    assert world.switch.calls() == () and world.terminals.leg_count == 0


def test_make_call_rings_the_calling_phone_first_then_the_called_one_then_bridges(world):
    world.switch.take_events()
    call = world.switch.make_call(A, B).call_id
    a = world.line.to(A)
    assert a.offer is None and a.auto_answer is AutoAnswer.CALL_INFO and a.caller == B
    assert world.states(B) == []  # nothing rings there before the calling phone is off-hook
    offer_a = phone_sdp(4000)
    world.terminals.leg_answered(a, offer_a)
    (_, parked) = a.last("ack")
    assert sdp.direction_of(parked) == "inactive"
    b = world.line.to(B)
    assert media(b.offer) == media(offer_a)
    answer_b = phone_sdp(5000)
    world.terminals.leg_answered(b, answer_b)
    (_, reoffer) = a.last("reinvite")
    assert media(reoffer) == media(answer_b) and sdp.direction_of(reoffer) == "sendrecv"
    events = [(e.station, e.kind.value) for e in world.switch.take_events() if e.station == A]
    assert [k for _, k in events] == ["ServiceInitiated", "Originated", "Delivered", "Established"]
    assert world.switch.call(call).parties[0].state is S.CONNECTED


def test_make_call_from_a_phone_that_is_not_registered_is_refused_naming_its_state():
    world = World(registered=(B,))
    with pytest.raises(SwitchError) as caught:
        world.switch.make_call(A, B)
    assert (caught.value.category, caught.value.value) == ("systemResourceAvailability", "resourceOutOfService")
    assert "not registered" in str(caught.value)
    assert world.switch.calls() == () and world.line.legs == []


def test_a_calling_phone_that_does_not_answer_ends_the_make_call(world):
    world.switch.make_call(A, B)
    world.switch.take_events()
    world.terminals.leg_failed(world.line.to(A), 408, "no answer")
    assert world.kinds(A) == ["ConnectionCleared"]
    assert world.switch.calls() == () and world.terminals.leg_count == 0


def test_a_called_phone_that_is_not_registered_fails_the_call():
    world = World(registered=(A,))
    world.switch.take_events()
    world.switch.place_call(X, B)
    assert world.switch.calls() == () and world.line.legs == []
    assert ("1002", "not-registered") == world.notes[0][:2]
    world.switch.make_call(A, B)
    a = world.line.to(A)
    world.terminals.leg_answered(a, phone_sdp(4000))  # the calling phone first (prompted)
    events = world.switch.take_events()
    assert [(e.station, e.cause.value) for e in events if e.kind.value == "Failed"] == [(A, "destNotObtainable")]
    assert [e.kind.value for e in events if e.station == B] == []  # never "Delivered" to a phone that never rang
    assert a.names()[-1] == "hang_up" and world.switch.calls() == ()


def test_dnd_refuses_a_phones_call_with_486(world):
    world.switch.set_dnd(B, True)
    a = world.line.dial(A, "1002", phone_sdp(4000))
    assert a.last("reject") == ("reject", 486)
    assert world.switch.calls() == () and [l for l in world.line.legs if l.station == B] == []


def test_an_unknown_number_is_refused_with_404(world):
    a = world.line.dial(A, "not-a-number", phone_sdp(4000))
    assert a.last("reject") == ("reject", 404)


def test_a_phone_calling_an_outside_number_hears_ringback_and_is_answered_parked(world):
    offer = phone_sdp(4000)
    a = world.line.dial(A, X, offer)
    assert a.names() == ["ringing"]
    (call,) = world.switch.calls()
    world.switch.external_answer(call.call_id)
    (_, answer) = a.last("answer")
    assert sdp.direction_of(answer) == "inactive" and media(answer) == media(offer)


def test_hold_and_resume_on_the_phone_hold_the_call_and_repair_the_media(world):
    a = world.line.dial(A, "1002", phone_sdp(4000))
    b = world.line.to(B)
    world.terminals.leg_answered(b, phone_sdp(5000))
    world.terminals.leg_acknowledged(a, None)
    world.switch.take_events()

    world.terminals.leg_reinvited(a, phone_sdp(4000, "sendonly"))
    assert world.states(A) == [S.HOLD]
    (_, answer, status) = a.last("answer_reinvite")
    assert status == 200 and sdp.direction_of(answer) == "recvonly" and media(answer) == media(phone_sdp(5000))
    (_, to_b) = b.last("reinvite")
    assert sdp.direction_of(to_b) == "inactive"
    world.terminals.leg_reinvite_answered(b, phone_sdp(5000, "inactive"))

    resume = phone_sdp(4000)
    world.terminals.leg_reinvited(a, resume)
    assert world.states(A) == [S.CONNECTED]
    (_, to_b) = b.last("reinvite")
    assert media(to_b) == media(resume) and sdp.direction_of(to_b) == "sendrecv"
    world.terminals.leg_reinvite_answered(b, phone_sdp(5000))
    (_, answer, status) = a.last("answer_reinvite")
    assert status == 200 and sdp.direction_of(answer) == "sendrecv" and media(answer) == media(phone_sdp(5000))
    assert [e.kind.value for e in world.switch.take_events() if e.station == A] == ["Held", "Retrieved"]


def test_hold_from_lync_parks_both_phones_and_retrieve_pairs_them_again(world):
    world.line.dial(A, "1002", phone_sdp(4000))
    a, b = world.line.to(A), world.line.to(B)
    world.terminals.leg_answered(b, phone_sdp(5000))
    world.terminals.leg_acknowledged(a, None)
    (call,) = world.switch.calls()
    world.switch.hold_call(A, call.call_id)
    assert sdp.direction_of(a.last("reinvite")[1]) == "inactive"
    assert sdp.direction_of(b.last("reinvite")[1]) == "inactive"
    world.terminals.leg_reinvite_answered(a, phone_sdp(4000, "inactive"))
    world.terminals.leg_reinvite_answered(b, phone_sdp(5000, "inactive"))

    world.switch.retrieve_call(A, call.call_id)
    reinvites = [leg for leg in (a, b) if leg.actions[-1] == ("reinvite", None)]
    assert len(reinvites) == 1  # one side is asked for a fresh offer
    first = reinvites[0]
    second = b if first is a else a
    fresh = phone_sdp(4100 if first is a else 5100)
    world.terminals.leg_reinvite_answered(first, fresh)
    (_, passed) = second.last("reinvite")
    assert media(passed) == media(fresh) and sdp.direction_of(passed) == "sendrecv"
    world.terminals.leg_reinvite_answered(second, phone_sdp(6000))
    assert media(first.last("ack")[1]) == media(phone_sdp(6000))


def test_answer_call_needs_the_talk_event(world):
    call = world.switch.place_call(X, B).call_id
    b = world.line.to(B)
    with pytest.raises(SwitchError) as caught:
        world.switch.answer_call(B, call)
    assert "remote_answer = none" in str(caught.value)
    assert "notify_talk" not in b.names() and world.states(B) == [S.ALERTING]


def test_answer_call_sends_the_talk_event_to_a_phone_that_offers_it():
    world = World(remote_answer="talk-event")
    call = world.switch.place_call(X, B).call_id
    b = world.line.to(B)
    with pytest.raises(SwitchError):
        world.switch.answer_call(B, call)  # not advertised in its 180
    b.talk_event = True
    world.terminals.leg_ringing(b)
    world.switch.answer_call(B, call)
    assert b.names()[-1] == "notify_talk" and world.states(B) == [S.ALERTING]
    world.terminals.leg_answered(b, phone_sdp(5000))
    assert world.states(B) == [S.CONNECTED]


def test_conference_with_a_phone_is_refused(world):
    first = world.switch.place_call(X, A).call_id
    world.terminals.leg_answered(world.line.to(A), phone_sdp(4000))
    second = world.switch.consultation_call(A, first, SIM).call_id
    world.switch.answer_call(SIM, second)
    with pytest.raises(SwitchError) as caught:
        world.switch.conference_call(A, first, second)
    assert "mixes no audio" in str(caught.value)


def test_a_busy_phone_with_busy_forwarding_sends_the_call_on(world):
    world.switch.set_forwarding(B, ForwardingType.BUSY, True, C)
    a = world.line.dial(A, "1002", phone_sdp(4000))
    world.terminals.leg_failed(world.line.to(B), 486, "Busy Here")
    c = world.line.to(C)
    assert media(c.offer) == media(phone_sdp(4000))
    world.terminals.leg_answered(c, phone_sdp(7000))
    assert media(a.last("answer")[1]) == media(phone_sdp(7000))


def test_a_busy_phone_without_forwarding_fails_the_call_and_the_caller_hears_busy(world):
    a = world.line.dial(A, "1002", phone_sdp(4000))
    world.terminals.leg_failed(world.line.to(B), 486, "Busy Here")
    assert a.last("reject") == ("reject", 486)
    assert world.switch.calls() == ()


def test_a_phone_that_vanishes_clears_its_call(world):
    a = world.line.dial(A, "1002", phone_sdp(4000))
    b = world.line.to(B)
    world.terminals.leg_answered(b, phone_sdp(5000))
    world.terminals.leg_ended(a, "no answer to BYE/re-INVITE")
    assert b.names()[-1] == "hang_up" and world.switch.calls() == ()


def test_blind_transfer_from_the_phone_rebridges_the_other_party(world):
    a = world.line.dial(A, "1002", phone_sdp(4000))
    b = world.line.to(B)
    world.terminals.leg_answered(b, phone_sdp(5000))
    world.terminals.leg_acknowledged(a, None)
    assert world.terminals.leg_referred(a, "1003", None) is True
    assert a.last("refer_progress") == ("refer_progress", 200) and a.names()[-1] == "hang_up"
    c = world.line.to(C)
    assert c.offer is None  # B's media is asked for again: no stale offer
    world.terminals.leg_answered(c, phone_sdp(7000))  # C offers; parked until paired
    assert sdp.direction_of(c.last("ack")[1]) == "inactive"
    assert world.states(B) == [S.CONNECTED] and world.states(C) == [S.CONNECTED]
    (_, parked) = b.last("reinvite")  # B waited, parked, while C rang
    assert sdp.direction_of(parked) == "inactive"
    world.terminals.leg_reinvite_answered(b, phone_sdp(5000, "inactive"))
    first = b if b.actions[-1] == ("reinvite", None) else c
    assert first.actions[-1] == ("reinvite", None)  # a fresh offer/answer for the new pair
    second = c if first is b else b
    world.terminals.leg_reinvite_answered(first, phone_sdp(8000))
    assert media(second.last("reinvite")[1]) == media(phone_sdp(8000))


def test_digits_go_to_the_far_phone(world):
    world.line.dial(A, "1002", phone_sdp(4000))
    b = world.line.to(B)
    world.terminals.leg_answered(b, phone_sdp(5000))
    (call,) = world.switch.calls()
    world.switch.generate_digits(A, call.call_id, "42#")
    assert b.names()[-1] == "dtmf" and b.last("dtmf") == ("dtmf", "42#")


def test_the_phones_call_cancelled_before_an_answer_cancels_the_ringing_phone(world):
    a = world.line.dial(A, "1002", phone_sdp(4000))
    b = world.line.to(B)
    world.terminals.leg_ended(a, "cancelled")
    assert b.names()[-1] == "hang_up" and world.switch.calls() == () and world.terminals.leg_count == 0


def test_a_phone_calling_a_station_whose_phone_is_not_registered_hears_480_not_busy():
    # The station is not busy: nobody can be reached there (RFC 3261 21.4.18, 480 for a
    # callee that is not logged in). Before: the switch's cause (busy) made it 486.
    world = World(registered=(A,))
    a = world.line.dial(A, "1002", phone_sdp(4000))
    assert a.last("reject") == ("reject", 480)
    assert world.switch.calls() == () and world.terminals.leg_count == 0
    assert ("1002", "not-registered") == world.notes[0][:2]


@pytest.mark.parametrize("status, heard", [(480, 480), (408, 480), (503, 480), (603, 486), (600, 486)])
def test_a_called_phone_that_fails_without_forwarding_gives_the_caller_a_status_of_its_kind(world, status, heard):
    # Busy-like answers (486, 600, 603) are busy to the caller; a phone that did not answer
    # (408, 480) or could not be reached (503) is not busy.
    a = world.line.dial(A, "1002", phone_sdp(4000))
    world.terminals.leg_failed(world.line.to(B), status, "from the phone")
    assert a.last("reject") == ("reject", heard)
    assert world.switch.calls() == ()


def test_a_consultation_from_lync_calls_the_phone_for_it_and_pairs_it_with_the_consulted_phone(world):
    # A talks to an outside caller; Lync consults B from A: the switch has A connected in the
    # consultation at once (no prompt), so its phone is called for it, with its auto-answer hint.
    first = world.switch.place_call(X, A).call_id
    a1 = world.line.to(A)
    world.terminals.leg_answered(a1, phone_sdp(4000))
    second = world.switch.consultation_call(A, first, B).call_id
    assert world.states(A) == [S.HOLD, S.CONNECTED]
    a2 = world.line.to(A)
    assert a2 is not a1 and not a1.ended
    assert a2.role is LegRole.OUTGOING and a2.offer is None and a2.auto_answer is AutoAnswer.CALL_INFO
    assert a2.caller == B
    b = world.line.to(B)
    world.switch.take_events()

    world.terminals.leg_answered(a2, phone_sdp(4100))  # off-hook: its offer, parked until B answers
    assert sdp.direction_of(a2.last("ack")[1]) == "inactive"
    assert world.states(A) == [S.HOLD, S.CONNECTED] and world.switch.take_events() == []
    world.terminals.leg_answered(b, phone_sdp(5000))
    assert world.states(B) == [S.CONNECTED]
    first_offerer = a2 if a2.actions[-1] == ("reinvite", None) else b
    assert first_offerer.actions[-1] == ("reinvite", None)  # a fresh offer/answer for the new pair
    other = b if first_offerer is a2 else a2
    world.terminals.leg_reinvite_answered(first_offerer, phone_sdp(6000))
    assert media(other.last("reinvite")[1]) == media(phone_sdp(6000))
    assert world.terminals.leg_count == 3 and second in {c.call_id for c in world.switch.calls()}


def test_a_consultation_whose_phone_does_not_answer_ends(world):
    first = world.switch.place_call(X, A).call_id
    world.terminals.leg_answered(world.line.to(A), phone_sdp(4000))
    second = world.switch.consultation_call(A, first, SIM).call_id
    world.switch.take_events()
    world.terminals.leg_failed(world.line.to(A), 480, "Temporarily Unavailable")
    assert world.states(A) == [S.HOLD]
    assert second not in {c.call_id for c in world.switch.calls()}


def test_a_consultation_from_a_phone_that_is_no_longer_registered_ends_at_once(world):
    first = world.switch.place_call(X, A).call_id
    world.terminals.leg_answered(world.line.to(A), phone_sdp(4000))
    world.line.registered.discard(A)
    second = world.switch.consultation_call(A, first, SIM).call_id
    assert world.states(A) == [S.HOLD]
    assert second not in {c.call_id for c in world.switch.calls()}
    assert ("1001", "not-registered") in [note[:2] for note in world.notes]


def _consulting(world):
    """A talks to B, holds B on the phone and dials C, who answers: two calls on A's phone."""
    a1 = world.line.dial(A, "1002", phone_sdp(4000))
    world.terminals.leg_answered(world.line.to(B), phone_sdp(5000))
    world.terminals.leg_acknowledged(a1, None)
    world.terminals.leg_reinvited(a1, phone_sdp(4000, "sendonly"))
    world.terminals.leg_reinvite_answered(world.line.to(B), phone_sdp(5000, "inactive"))
    a2 = world.line.dial(A, "1003", phone_sdp(4002))
    world.terminals.leg_answered(world.line.to(C), phone_sdp(7000))
    world.terminals.leg_acknowledged(a2, None)
    return a1, a2


def test_attended_transfer_with_replaces_joins_the_two_far_parties(world):
    from rccserver.stations.legs import Replaces

    a1, a2 = _consulting(world)
    replaces = Replaces(a2.sip_call_id, to_tag=a2.tags[0], from_tag=a2.tags[1])
    assert world.terminals.leg_referred(a1, "1003", replaces) is True
    assert world.states(A) == []
    (call,) = world.switch.calls()
    assert sorted(p.device for p in call.parties) == [B, C]
    assert a1.last("refer_progress") == ("refer_progress", 200)


def test_a_replaces_with_a_tag_of_no_dialog_of_the_phone_is_refused(world):
    from rccserver.stations.legs import Replaces

    a1, a2 = _consulting(world)
    wrong = Replaces(a2.sip_call_id, to_tag="not-" + a2.tags[0], from_tag=a2.tags[1])
    assert world.terminals.leg_referred(a1, "1003", wrong) is False
    assert len(world.switch.calls()) == 2 and world.states(A) == [S.HOLD, S.CONNECTED]

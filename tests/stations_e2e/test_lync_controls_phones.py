"""Lync controls real desk phones (SPEC sections 7, 8, 9): the RCC dialog's CSTA requests
carried out by baresip phones registered on SIP stations, over UDP and over TCP.

alice's desk phone is station 1001 (A), bob's 1002 (B). What each service must do on the
wire is docs/sip-stations.md, "Calls on SIP stations":

* MakeCall rings the calling phone first (A), and only once its person picks up does the
  destination ring (B); when B answers, A's media is paired with B's by a re-INVITE;
* HoldCall parks both phones (`a=inactive`), RetrieveCall pairs them again;
* ClearConnection ends the call on both phones;
* a call dialled on the phone is a call of the station in Lync.

baresip 1.0 stops recording what a phone hears at the first session description that is
not `sendrecv` (docs/sip-stations.md, "Quirks"): MakeCall's calling phone is parked with
`a=inactive` until the destination answers, so what A hears is proven by its RTP
(it sends to B's port, receives from it) and what B hears by B's tone analysis; in a call
dialled on the phone there is no parking and both phones' ears are measured.
"""
from __future__ import annotations

import pytest

from rccserver import csta
from tests.stations_e2e.desk import (
    ALICE, BOB, WAIT, assert_hears, assert_paired, call_events, clear_connection, desk_phone,
    events_until, hold_call, make_call, names, received_requests, retrieve_call, rtp_ports, sdp_direction,
    sdp_port, wait_no_calls,
)

TRANSPORTS = pytest.mark.parametrize("transport", ["udp", "tcp"])


def make_call_established(server, phones, lync, transport):
    """alice's MakeCall from A to B, both picked up: (alice, A, B, call id, alice's events)."""
    a = desk_phone(phones, server, "1001", transport, sip_trace=True)
    b = desk_phone(phones, server, "1002", transport, sip_trace=True)
    alice = lync("sip:alice@example.com", ALICE)

    response = make_call(alice, BOB)
    assert isinstance(response, csta.MakeCallResponse), response
    call_id = response.calling_device.call_id
    assert response.calling_device.device_id == ALICE

    # A rings first; B's phone has not seen anything yet.
    ringing_a = a.wait_event("CALL_INCOMING", timeout=WAIT)
    assert ringing_a["peeruri"].startswith("sip:1002@"), ringing_a  # the display shows whom it will call
    assert call_events(b) == []
    assert b.active_calls() == 0
    status, calls = server.admin("GET", "/api/calls")
    assert status == 200 and [[p["device"] for p in call["parties"]] for call in calls] == [["1001"]], calls

    a.accept()
    a.wait_event("CALL_ESTABLISHED", timeout=WAIT)
    b.wait_event("CALL_INCOMING", timeout=WAIT)
    b.accept()
    b.wait_event("CALL_ESTABLISHED", timeout=WAIT)
    events = events_until(alice, "EstablishedEvent")
    return alice, a, b, call_id, events


@TRANSPORTS
def test_make_call_rings_the_calling_phone_first_then_the_called_one_and_pairs_their_media(
        desk_phones_server, phones, lync, transport):
    server = desk_phones_server
    alice, a, b, call_id, events = make_call_established(server, phones, lync, transport)

    assert names(events) == ["ServiceInitiated", "Originated", "Delivered", "Established"]
    initiated, originated, delivered, established = events
    assert initiated.initiated_connection == csta.ConnectionID(call_id=call_id, device_id=ALICE)
    assert initiated.monitor_cross_ref_id == alice.xref
    assert originated.originated_connection.call_id == call_id and originated.called_device == BOB
    assert delivered.alerting_device == BOB and delivered.connection.call_id == call_id
    assert established.answering_device == BOB and established.established_connection.call_id == call_id
    assert established.local_connection_info == "connected"

    # The media: each phone sends to the other's RTP port, and B hears A's tone.
    assert_paired(a, b)
    (port_a, _), (port_b, _) = rtp_ports(a), rtp_ports(b)
    # On the wire: A is called without SDP, asked to go off-hook by itself, and parked by
    # the ACK until B answers; B gets A's offer; A then gets B's description in a re-INVITE.
    prompt, pairing = received_requests(a, "INVITE")
    assert prompt.body == b"" and prompt.headers.get("Call-Info") == "<sip:rcc.example.com>;answer-after=0"
    parked = received_requests(a, "ACK")[0]
    assert sdp_port(parked.body) == port_a and sdp_direction(parked.body) == "inactive"
    assert sdp_port(pairing.body) == port_b and sdp_direction(pairing.body) == "sendrecv"
    [ringing] = received_requests(b, "INVITE")
    assert sdp_port(ringing.body) == port_a and sdp_direction(ringing.body) == "sendrecv"
    assert_hears(b, "1001")
    assert a.media().direction == b.media().direction == "sendrecv"

    a.hangup()
    b.wait_event("CALL_CLOSED", timeout=WAIT)
    cleared = events_until(alice, "ConnectionClearedEvent")[-1]
    assert cleared.dropped_connection == csta.ConnectionID(call_id=call_id, device_id=ALICE)
    wait_no_calls(server)


@TRANSPORTS
def test_hold_and_retrieve_from_lync_park_and_pair_both_phones(desk_phones_server, phones, lync, transport):
    server = desk_phones_server
    alice, a, b, call_id, _ = make_call_established(server, phones, lync, transport)
    assert_paired(a, b)
    mark_a, mark_b = a.event_mark(), b.event_mark()

    assert isinstance(hold_call(alice, call_id), csta.HoldCallResponse)
    held = events_until(alice, "HeldEvent")[-1]
    assert held.held_connection == csta.ConnectionID(call_id=call_id, device_id=ALICE)
    assert held.local_connection_info == "hold"
    # Both phones get a re-INVITE that parks them (a=inactive): no RTP either way.
    a.wait_event("CALL_REMOTE_SDP", timeout=WAIT, since=mark_a, param="offer")
    b.wait_event("CALL_REMOTE_SDP", timeout=WAIT, since=mark_b, param="offer")
    assert a.media().direction == "inactive" and b.media().direction == "inactive"
    stopped_a, stopped_b = a.media(), b.media()
    assert a.active_calls() == b.active_calls() == 1  # held, not hung up

    mark_a, mark_b = a.event_mark(), b.event_mark()
    assert isinstance(retrieve_call(alice, call_id), csta.RetrieveCallResponse)
    retrieved = events_until(alice, "RetrievedEvent")[-1]
    assert retrieved.retrieved_connection.call_id == call_id and retrieved.local_connection_info == "connected"
    # One phone is asked for a fresh offer, the other gets it: both are talking again.
    a.wait_event("CALL_REMOTE_SDP", timeout=WAIT, since=mark_a)
    b.wait_event("CALL_REMOTE_SDP", timeout=WAIT, since=mark_b)
    assert_paired(a, b)
    assert a.media().direction == b.media().direction == "sendrecv"
    assert a.media().sent > stopped_a.sent and b.media().received > stopped_b.received
    assert "CALL_CLOSED" not in call_events(a) + call_events(b)


@TRANSPORTS
def test_clear_connection_from_lync_ends_the_call_on_both_phones(desk_phones_server, phones, lync, transport):
    server = desk_phones_server
    alice, a, b, call_id, _ = make_call_established(server, phones, lync, transport)

    assert isinstance(clear_connection(alice, call_id), csta.ClearConnectionResponse)
    cleared = events_until(alice, "ConnectionClearedEvent")[-1]
    assert cleared.dropped_connection == csta.ConnectionID(call_id=call_id, device_id=ALICE)
    a.wait_event("CALL_CLOSED", timeout=WAIT)
    b.wait_event("CALL_CLOSED", timeout=WAIT)
    assert a.active_calls() == b.active_calls() == 0
    wait_no_calls(server)


@TRANSPORTS
def test_a_call_dialled_on_the_phone_shows_in_lync_and_both_phones_hear_each_other(
        desk_phones_server, phones, lync, transport):
    server = desk_phones_server
    a = desk_phone(phones, server, "1001", transport)
    b = desk_phone(phones, server, "1002", transport)
    alice = lync("sip:alice@example.com", ALICE)
    bob = lync("sip:bob@example.com", BOB)

    a.dial("1002")
    b.wait_event("CALL_INCOMING", timeout=WAIT)
    delivered = events_until(alice, "DeliveredEvent")
    assert names(delivered) == ["ServiceInitiated", "Originated", "Delivered"]
    call_id = delivered[0].initiated_connection.call_id
    assert delivered[0].initiated_connection.device_id == ALICE
    assert delivered[1].called_device == BOB and delivered[2].alerting_device == BOB
    ringing_at_bob = events_until(bob, "DeliveredEvent")[-1]
    assert ringing_at_bob.local_connection_info == "alerting" and ringing_at_bob.calling_device == ALICE
    a.wait_event("CALL_RINGING", timeout=WAIT)  # ringback: 180 while B rings

    b.accept()
    a.wait_event("CALL_ESTABLISHED", timeout=WAIT)
    established = events_until(alice, "EstablishedEvent")[-1]
    assert established.established_connection == csta.ConnectionID(call_id=call_id, device_id=ALICE)
    assert established.answering_device == BOB
    assert events_until(bob, "EstablishedEvent")[-1].answering_device == BOB

    assert_hears(a, "1002")
    assert_hears(b, "1001")
    assert_paired(a, b)

    a.hangup()
    b.wait_event("CALL_CLOSED", timeout=WAIT)
    cleared = events_until(alice, "ConnectionClearedEvent")[-1]
    assert cleared.dropped_connection == csta.ConnectionID(call_id=call_id, device_id=ALICE)
    assert events_until(bob, "ConnectionClearedEvent")[-1].dropped_connection.call_id == call_id
    wait_no_calls(server)


@TRANSPORTS
def test_clear_connection_from_lync_while_the_calling_phone_rings_cancels_it(
        desk_phones_server, phones, lync, transport):
    server = desk_phones_server
    a = desk_phone(phones, server, "1001", transport)
    b = desk_phone(phones, server, "1002", transport)
    alice = lync("sip:alice@example.com", ALICE)
    call_id = make_call(alice, BOB).calling_device.call_id
    a.wait_event("CALL_INCOMING", timeout=WAIT)
    assert names(events_until(alice, "ServiceInitiatedEvent")) == ["ServiceInitiated"]

    assert isinstance(clear_connection(alice, call_id), csta.ClearConnectionResponse)
    cleared = events_until(alice, "ConnectionClearedEvent")
    assert names(cleared) == ["ConnectionCleared"]  # nothing was originated
    assert cleared[0].dropped_connection == csta.ConnectionID(call_id=call_id, device_id=ALICE)
    a.wait_event("CALL_CLOSED", timeout=WAIT)  # CANCEL: the phone stops ringing
    assert "CALL_ESTABLISHED" not in call_events(a)
    assert call_events(b) == [] and b.active_calls() == 0
    wait_no_calls(server)


def test_an_ack_carries_sdp_only_when_it_answers_the_phones_offer(desk_phones_server, phones, lync):
    server = desk_phones_server
    alice, a, b, call_id, _ = make_call_established(server, phones, lync, "udp")
    assert_paired(a, b)
    # A's 200 to our offerless INVITE held its offer: our ACK answers it (parked).
    acks_a = received_requests(a, "ACK")
    assert sdp_direction(acks_a[0].body) == "inactive"
    # B's 200 answered the offer our INVITE carried, A's 200 the one our re-INVITE carried:
    # the offer/answer is complete and the ACKs carry nothing.
    assert [ack.body for ack in received_requests(b, "ACK")] == [b""]
    assert [ack.body for ack in acks_a[1:]] == [b""]

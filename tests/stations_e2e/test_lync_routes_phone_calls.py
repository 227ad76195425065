"""Lync decides where a phone's call goes (SPEC sections 7, 8, 9): AnswerCall on a phone that
cannot be answered remotely, DeflectCall, forwarding and DND set from Lync, and a called
station without a registered phone, each with real baresip phones on SIP stations.

alice's desk phone is station 1001 (A), bob's 1002 (B), 1003 (C) is a third phone, and
1004's phone never registers. Every station keeps the default `remote_answer = "none"`.
Phones run over UDP, C over TCP (transports are covered both ways by
test_lync_controls_phones.py).
"""
from __future__ import annotations

from rccserver import csta
from tests.stations_e2e.desk import (
    ALICE, BOB, CAROL, HANK, WAIT, answer_call, assert_hears, call_events, deflect_call, desk_phone,
    events_until, make_call, names, quiet, set_dnd, set_forwarding, wait_no_calls,
)


def test_answer_call_on_a_phone_without_remote_answer_is_refused_and_changes_nothing(
        desk_phones_server, phones, lync):
    server = desk_phones_server
    a = desk_phone(phones, server, "1001", "udp")
    b = desk_phone(phones, server, "1002", "udp")
    alice = lync("sip:alice@example.com", ALICE)
    bob = lync("sip:bob@example.com", BOB)
    a.dial("1002")
    b.wait_event("CALL_INCOMING", timeout=WAIT)
    ringing = events_until(bob, "DeliveredEvent")[-1]
    assert ringing.local_connection_info == "alerting"
    events_until(alice, "DeliveredEvent")
    call_id = ringing.connection.call_id

    refused = answer_call(bob, call_id)
    assert refused == csta.ErrorCode("operation", "requestIncompatibleWithObject")
    # Nothing changed: the phone still rings, and neither Lync hears of anything.
    assert quiet(bob) == [] and quiet(alice) == []
    assert call_events(b) == ["CALL_INCOMING"] and b.active_calls() == 1
    assert "CALL_CLOSED" not in call_events(a)
    [call] = server.admin("GET", "/api/calls")[1]
    assert {party["device"]: party["state"] for party in call["parties"]} == {
        "1001": "connected", "1002": "alerting"}, call

    # It was ringing all along: the person picks up.
    b.accept()
    assert events_until(bob, "EstablishedEvent")[-1].answering_device == BOB
    a.wait_event("CALL_ESTABLISHED", timeout=WAIT)


def test_deflect_call_from_lync_moves_the_ringing_call_to_another_phone(desk_phones_server, phones, lync):
    server = desk_phones_server
    a = desk_phone(phones, server, "1001", "udp")
    b = desk_phone(phones, server, "1002", "udp")
    c = desk_phone(phones, server, "1003", "tcp")
    alice = lync("sip:alice@example.com", ALICE)
    b.dial("1001")
    a.wait_event("CALL_INCOMING", timeout=WAIT)
    call_id = events_until(alice, "DeliveredEvent")[-1].connection.call_id

    assert isinstance(deflect_call(alice, call_id, CAROL), csta.DeflectCallResponse)
    diverted = events_until(alice, "DivertedEvent")[-1]
    assert diverted.connection == csta.ConnectionID(call_id=call_id, device_id=ALICE)
    assert diverted.new_destination == CAROL
    a.wait_event("CALL_CLOSED", timeout=WAIT)  # A's phone stops ringing (CANCEL)
    assert a.active_calls() == 0 and "CALL_ESTABLISHED" not in call_events(a)
    ringing_c = c.wait_event("CALL_INCOMING", timeout=WAIT)
    assert ringing_c["peeruri"].startswith("sip:1002@"), ringing_c  # C sees who calls: B

    c.accept()
    b.wait_event("CALL_ESTABLISHED", timeout=WAIT)
    assert_hears(b, "1003")
    assert_hears(c, "1002")
    b.hangup()
    c.wait_event("CALL_CLOSED", timeout=WAIT)
    wait_no_calls(server)


def test_forwarding_set_from_lync_rings_the_destination_phone_not_the_station(desk_phones_server, phones, lync):
    server = desk_phones_server
    a = desk_phone(phones, server, "1001", "udp")
    b = desk_phone(phones, server, "1002", "udp")
    c = desk_phone(phones, server, "1003", "tcp")
    bob = lync("sip:bob@example.com", BOB)
    assert isinstance(set_forwarding(bob, CAROL), csta.SetForwardingResponse)
    forwarding = events_until(bob, "ForwardingEvent")[-1]
    assert forwarding.forwarding_type == "forwardImmediate" and forwarding.forward_status is True

    a.dial("1002")
    ringing_c = c.wait_event("CALL_INCOMING", timeout=WAIT)
    assert ringing_c["peeruri"].startswith("sip:1001@"), ringing_c
    c.accept()
    a.wait_event("CALL_ESTABLISHED", timeout=WAIT)
    assert_hears(a, "1003")
    assert_hears(c, "1001")
    # B's phone never rang: the switch sent the call on before ringing it.
    assert call_events(b) == [] and b.active_calls() == 0
    a.hangup()
    c.wait_event("CALL_CLOSED", timeout=WAIT)
    wait_no_calls(server)


def test_do_not_disturb_set_from_lync_refuses_a_phones_call_with_486(desk_phones_server, phones, lync):
    server = desk_phones_server
    a = desk_phone(phones, server, "1001", "udp")
    b = desk_phone(phones, server, "1002", "udp")
    alice = lync("sip:alice@example.com", ALICE)
    bob = lync("sip:bob@example.com", BOB)
    assert isinstance(set_dnd(bob), csta.SetDoNotDisturbResponse)
    assert events_until(bob, "DoNotDisturbEvent")[-1].do_not_disturb_on is True

    a.dial("1002")
    closed = a.wait_event("CALL_CLOSED", timeout=WAIT)
    assert closed["param"].startswith("486 "), closed  # baresip names the final status
    assert "CALL_ESTABLISHED" not in call_events(a)
    events = events_until(alice, "ConnectionClearedEvent")
    assert "Failed" in names(events), names(events)
    failed = next(event for event in events if isinstance(event, csta.FailedEvent))
    assert failed.failing_device == BOB and failed.cause == "doNotDisturb"
    assert call_events(b) == [] and b.active_calls() == 0
    assert [event for event in quiet(bob) if not isinstance(event, csta.DoNotDisturbEvent)] == []
    wait_no_calls(server)


def test_make_call_to_a_station_whose_phone_is_not_registered_fails_in_lync(desk_phones_server, phones, lync):
    server = desk_phones_server
    a = desk_phone(phones, server, "1001", "udp")
    alice = lync("sip:alice@example.com", ALICE)
    response = make_call(alice, HANK)
    assert isinstance(response, csta.MakeCallResponse), response
    call_id = response.calling_device.call_id
    a.wait_event("CALL_INCOMING", timeout=WAIT)
    a.accept()  # the person picks up; only now is 1004 called, and it has no phone

    events = events_until(alice, "ConnectionClearedEvent")
    assert "Failed" in names(events), names(events)
    failed = next(event for event in events if isinstance(event, csta.FailedEvent))
    assert failed.failed_connection.call_id == call_id and failed.called_device == HANK
    assert events[-1].dropped_connection == csta.ConnectionID(call_id=call_id, device_id=ALICE)
    a.wait_event("CALL_CLOSED", timeout=WAIT)  # A's phone is hung up
    wait_no_calls(server)
    assert "station-call station=1004 what=not-registered" in server.log_text


def test_a_phone_dialling_a_station_whose_phone_is_not_registered_hears_480(desk_phones_server, phones, lync):
    server = desk_phones_server
    a = desk_phone(phones, server, "1001", "udp")
    alice = lync("sip:alice@example.com", ALICE)
    a.dial("1004")
    closed = a.wait_event("CALL_CLOSED", timeout=WAIT)
    # Nobody can be reached there; the station is not busy (RFC 3261 21.4.18).
    assert closed["param"].startswith("480 "), closed
    events = events_until(alice, "ConnectionClearedEvent")
    assert "Failed" in names(events), names(events)
    assert next(event for event in events if isinstance(event, csta.FailedEvent)).failing_device == HANK
    wait_no_calls(server)


def test_make_call_from_a_station_whose_phone_is_not_registered_is_refused(desk_phones_server, phones, lync):
    server = desk_phones_server
    b = desk_phone(phones, server, "1002", "udp")
    alice = lync("sip:alice@example.com", ALICE)  # station 1001 has no phone registered
    refused = make_call(alice, BOB)
    assert refused == csta.ErrorCode("systemResourceAvailability", "resourceOutOfService")
    assert quiet(alice) == []
    assert call_events(b) == [] and server.admin("GET", "/api/calls")[1] == []

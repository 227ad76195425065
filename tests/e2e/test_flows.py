"""Reference section 6 flows end to end over real TCP, checking each CSTA body the client gets.

Line URIs are sent with an extra parameter so that echoing "exactly as sent"
is actually tested.
"""
from __future__ import annotations

import pytest

from rccserver import csta
from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from testkit.testbed import write_testbed

ALICE_LINE = "tel:+1001;phone-context=dialstring"
BOB_LINE = "tel:+1002"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = write_testbed(tmp_path_factory.mktemp("flows")).start()
    yield process
    assert process.stop() == 0


def monitored(server, user, line):
    client = LyncClient("127.0.0.1", server.sip_port, user=user, line=line)
    response = client.sign_in()
    assert response.status == 200, response.headers.get("Warning")
    features = client.csta(f'<GetCSTAFeatures xmlns="{ED3}"/>')
    assert isinstance(features, csta.GetCSTAFeaturesResponse)
    started = client.csta(
        f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{line}</deviceObject></monitorObject></MonitorStart>'
    )
    assert isinstance(started, csta.MonitorStartResponse)
    client.xref = started.monitor_cross_ref_id
    return client


@pytest.fixture
def alice(server):
    client = monitored(server, "sip:alice@example.com", ALICE_LINE)
    yield client
    client.sign_out()
    client.close()


@pytest.fixture
def bob(server):
    client = monitored(server, "sip:bob@example.com", BOB_LINE)
    yield client
    client.sign_out()
    client.close()


def conn(call_id, line):
    return f"<callID>{call_id}</callID><deviceID>{line}</deviceID>"


def answered_inbound_call(server, client, caller: str, to: str = "1001") -> str:
    """An outside caller rings the client's station and the client answers from Lync."""
    status, body = server.admin("POST", "/api/calls", {"from": caller, "to": to})
    assert status == 200
    call_id = body["call_id"]
    client.wait_event("DeliveredEvent")
    client.csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered>{conn(call_id, client.line)}</callToBeAnswered></AnswerCall>')
    client.wait_event("EstablishedEvent")
    return call_id


def test_features_offer_exactly_the_implemented_services(alice):
    features = alice.csta(f'<GetCSTAFeatures xmlns="{ED3}"/>')
    for service in ("makeCall", "answerCall", "clearConnection", "holdCall", "retrieveCall",
                    "singleStepTransfer", "consultationCall", "transferCall", "deflectCall",
                    "setForwarding", "monitorStart", "monitorStop"):
        assert service in features.supported_services


def test_monitor_cross_ref_ids_are_unique(server, alice, bob):
    assert alice.xref != bob.xref


def test_inbound_call_answered_from_lync_then_cleared(server, alice):
    status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550199", "to": "1001"})
    assert status == 200
    call_id = body["call_id"]
    delivered = alice.wait_event("DeliveredEvent")
    assert delivered.monitor_cross_ref_id == alice.xref
    assert delivered.connection == csta.ConnectionID(call_id=call_id, device_id=ALICE_LINE)
    assert delivered.alerting_device == ALICE_LINE
    assert delivered.local_connection_info == "alerting"
    answered = alice.csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered>{conn(call_id, ALICE_LINE)}</callToBeAnswered></AnswerCall>')
    assert isinstance(answered, csta.AnswerCallResponse)
    established = alice.wait_event("EstablishedEvent")
    assert established.established_connection.call_id == call_id
    assert established.answering_device == ALICE_LINE
    assert established.local_connection_info == "connected"
    assert server.admin("POST", f"/api/calls/{call_id}/hangup")[0] == 200
    cleared = alice.wait_event("ConnectionClearedEvent")
    assert cleared.dropped_connection.call_id == call_id


def test_answer_with_nothing_ringing_is_state_incompatibility(alice):
    answer = alice.csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered>{conn("nope", ALICE_LINE)}</callToBeAnswered></AnswerCall>')
    assert isinstance(answer, csta.ErrorCode)
    assert answer.category in ("operation", "stateIncompatibility")


def test_make_call_to_external_party(server, alice):
    response = alice.csta(
        f'<MakeCall xmlns="{ED3}"><callingDevice>{ALICE_LINE}</callingDevice>'
        f"<calledDirectoryNumber>tel:+13175552020</calledDirectoryNumber><autoOriginate>doNotPrompt</autoOriginate></MakeCall>"
    )
    assert isinstance(response, csta.MakeCallResponse)
    assert response.calling_device.device_id == ALICE_LINE  # exactly as sent: sipe compares strings
    call_id = response.calling_device.call_id
    originated = alice.wait_event("OriginatedEvent")
    assert originated.originated_connection == csta.ConnectionID(call_id=call_id, device_id=ALICE_LINE)
    delivered = alice.wait_event("DeliveredEvent")
    assert delivered.connection.call_id == call_id
    assert delivered.alerting_device == "tel:+13175552020"
    assert server.admin("POST", f"/api/calls/{call_id}/answer")[0] == 200
    established = alice.wait_event("EstablishedEvent")
    assert established.answering_device == "tel:+13175552020"
    # hold / retrieve
    assert isinstance(alice.csta(f'<HoldCall xmlns="{ED3}"><callToBeHeld>{conn(call_id, ALICE_LINE)}</callToBeHeld></HoldCall>'),
                      csta.HoldCallResponse)
    held = alice.wait_event("HeldEvent")
    assert held.held_connection.call_id == call_id and held.local_connection_info == "hold"
    assert isinstance(alice.csta(f'<RetrieveCall xmlns="{ED3}"><callToBeRetrieved>{conn(call_id, ALICE_LINE)}</callToBeRetrieved></RetrieveCall>'),
                      csta.RetrieveCallResponse)
    retrieved = alice.wait_event("RetrievedEvent")
    assert retrieved.local_connection_info == "connected"
    assert isinstance(alice.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared>{conn(call_id, ALICE_LINE)}</connectionToBeCleared></ClearConnection>'),
                      csta.ClearConnectionResponse)
    alice.wait_event("ConnectionClearedEvent")


def test_station_to_station_call_rings_the_other_station(alice, bob):
    response = alice.csta(
        f'<MakeCall xmlns="{ED3}"><callingDevice>{ALICE_LINE}</callingDevice>'
        f"<calledDirectoryNumber>tel:+1002</calledDirectoryNumber></MakeCall>"
    )
    call_id = response.calling_device.call_id
    ringing = bob.wait_event("DeliveredEvent")
    assert ringing.connection.device_id == BOB_LINE
    assert ringing.local_connection_info == "alerting"
    bob_call = ringing.connection.call_id
    bob.csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered>{conn(bob_call, BOB_LINE)}</callToBeAnswered></AnswerCall>')
    bob.wait_event("EstablishedEvent")
    established = alice.wait_event("EstablishedEvent")
    assert established.established_connection.call_id == call_id
    alice.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared>{conn(call_id, ALICE_LINE)}</connectionToBeCleared></ClearConnection>')
    alice.wait_event("ConnectionClearedEvent")
    bob.wait_event("ConnectionClearedEvent")


def test_single_step_transfer(server, alice):
    call_id = answered_inbound_call(server, alice, "tel:+13175550111", to="tel:+1001")
    response = alice.csta(
        f'<SingleStepTransferCall xmlns="{ED3}"><activeCall>{conn(call_id, ALICE_LINE)}</activeCall>'
        f"<transferredTo>tel:+13175553030</transferredTo></SingleStepTransferCall>"
    )
    assert isinstance(response, csta.SingleStepTransferCallResponse)
    transferred = alice.wait_event("TransferedEvent")
    assert transferred.primary_old_call.call_id == call_id
    assert transferred.transferred_to_device == "tel:+13175553030"


def test_consultation_then_transfer(server, alice):
    first = answered_inbound_call(server, alice, "tel:+13175550112")
    consult = alice.csta(
        f'<ConsultationCall xmlns="{ED3}"><existingCall>{conn(first, ALICE_LINE)}</existingCall>'
        f"<consultedDevice>tel:+13175554040</consultedDevice></ConsultationCall>"
    )
    assert isinstance(consult, csta.ConsultationCallResponse)
    second = consult.initiated_call.call_id
    assert consult.initiated_call.device_id == ALICE_LINE
    assert alice.wait_event("HeldEvent").held_connection.call_id == first
    assert alice.wait_event("OriginatedEvent").originated_connection.call_id == second
    alice.wait_event("DeliveredEvent")
    server.admin("POST", f"/api/calls/{second}/answer")
    alice.wait_event("EstablishedEvent")
    response = alice.csta(
        f'<TransferCall xmlns="{ED3}"><heldCall>{conn(first, ALICE_LINE)}</heldCall>'
        f"<activeCall>{conn(second, ALICE_LINE)}</activeCall></TransferCall>"
    )
    assert isinstance(response, csta.TransferCallResponse)
    transferred = alice.wait_event("TransferedEvent")
    assert transferred.primary_old_call.call_id == first
    assert transferred.secondary_old_call.call_id == second


def test_forwarding_on_and_off(alice):
    on = alice.csta(
        f'<SetForwarding xmlns="{ED3}"><device>{ALICE_LINE}</device><forwardingType>forwardImmediate</forwardingType>'
        f"<activateForward>true</activateForward><forwardDN>tel:+13175553030</forwardDN></SetForwarding>"
    )
    assert isinstance(on, csta.SetForwardingResponse)
    event = alice.wait_event("ForwardingEvent")
    assert event.forwarding_type == "forwardImmediate" and event.forward_status is True
    got = alice.csta(f'<GetForwarding xmlns="{ED3}"><device>{ALICE_LINE}</device></GetForwarding>')
    assert any(item.forwarding_type == "forwardImmediate" and item.forward_status for item in got.forwarding_list)
    off = alice.csta(
        f'<SetForwarding xmlns="{ED3}"><device>{ALICE_LINE}</device><forwardingType>forwardImmediate</forwardingType>'
        f"<activateForward>false</activateForward></SetForwarding>"
    )
    assert isinstance(off, csta.SetForwardingResponse)
    assert alice.wait_event("ForwardingEvent").forward_status is False


def test_unsupported_or_undecodable_info_gets_csta_error_in_200(alice):
    response = alice.info(b"")
    assert response.status == 200
    assert isinstance(csta.decode(response.body), csta.ErrorCode)
    response = alice.info(f'<FrobnicateCall xmlns="{ED3}"/>'.encode())
    assert response.status == 200
    error = csta.decode(response.body)
    assert error == csta.ErrorCode("operation", "invalidFeature")
    long_device = "tel:+1" + "0" * 300
    error = alice.csta(f'<SnapshotDevice xmlns="{ED3}"><snapshotObject>{long_device}</snapshotObject></SnapshotDevice>')
    assert error == csta.ErrorCode("operation", "invalidDeviceIdentifier")


def test_events_only_to_monitoring_dialogs(server, alice):
    stop = alice.csta(f'<MonitorStop xmlns="{ED3}"><monitorCrossRefID>{alice.xref}</monitorCrossRefID></MonitorStop>')
    assert isinstance(stop, csta.MonitorStopResponse)
    status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550113", "to": "1001"})
    alice.drain(0.5)
    assert not [r for r in alice.server_requests if b"DeliveredEvent" in r.body]
    server.admin("POST", f"/api/calls/{body['call_id']}/hangup")


def test_bye_overtaking_monitor_stop_gets_481_for_the_late_info(server):
    client = monitored(server, "sip:bob@example.com", BOB_LINE)
    client.request("INFO", f'<MonitorStop xmlns="{ED3}"><monitorCrossRefID>{client.xref}</monitorCrossRefID></MonitorStop>'.encode())
    bye = client.request("BYE")
    assert client.wait_response(bye, "BYE").status == 200
    late = client.request("INFO", f'<GetCSTAFeatures xmlns="{ED3}"/>'.encode())
    assert client.wait_response(late, "INFO").status == 481
    client.close()


def test_deflect_a_ringing_call_from_the_toast(server, alice):
    status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550114", "to": "1001"})
    call_id = body["call_id"]
    alice.wait_event("DeliveredEvent")
    response = alice.csta(
        f'<DeflectCall xmlns="{ED3}"><callToBeDiverted>{conn(call_id, ALICE_LINE)}</callToBeDiverted>'
        f"<newDestination>tel:+13175556060</newDestination></DeflectCall>"
    )
    assert isinstance(response, csta.DeflectCallResponse)
    diverted = alice.wait_event("DivertedEvent")
    assert diverted.connection.call_id == call_id
    assert diverted.new_destination == "tel:+13175556060"
    server.admin("POST", f"/api/calls/{call_id}/hangup")


def test_conference_held_and_active_call(server, alice):
    first = answered_inbound_call(server, alice, "tel:+13175550115")
    consult = alice.csta(
        f'<ConsultationCall xmlns="{ED3}"><existingCall>{conn(first, ALICE_LINE)}</existingCall>'
        f"<consultedDevice>tel:+13175557070</consultedDevice></ConsultationCall>"
    )
    second = consult.initiated_call.call_id
    server.admin("POST", f"/api/calls/{second}/answer")
    alice.wait_event("EstablishedEvent")
    response = alice.csta(
        f'<ConferenceCall xmlns="{ED3}"><heldCall>{conn(first, ALICE_LINE)}</heldCall>'
        f"<activeCall>{conn(second, ALICE_LINE)}</activeCall></ConferenceCall>"
    )
    assert isinstance(response, csta.ConferenceCallResponse)
    conferenced = alice.wait_event("ConferencedEvent")
    assert {conferenced.primary_old_call.call_id, conferenced.secondary_old_call.call_id} == {first, second}
    conference = response.conference_call.call_id
    alice.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared>{conn(conference, ALICE_LINE)}</connectionToBeCleared></ClearConnection>')
    alice.wait_event("ConnectionClearedEvent")


def test_do_not_disturb_and_digits(server, alice):
    on = alice.csta(f'<SetDoNotDisturb xmlns="{ED3}"><device>{ALICE_LINE}</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>')
    assert isinstance(on, csta.SetDoNotDisturbResponse)
    assert alice.wait_event("DoNotDisturbEvent").do_not_disturb_on is True
    got = alice.csta(f'<GetDoNotDisturb xmlns="{ED3}"><device>{ALICE_LINE}</device></GetDoNotDisturb>')
    assert got.do_not_disturb_on is True
    alice.csta(f'<SetDoNotDisturb xmlns="{ED3}"><device>{ALICE_LINE}</device><doNotDisturbOn>false</doNotDisturbOn></SetDoNotDisturb>')
    assert alice.wait_event("DoNotDisturbEvent").do_not_disturb_on is False
    response = alice.csta(
        f'<MakeCall xmlns="{ED3}"><callingDevice>{ALICE_LINE}</callingDevice>'
        f"<calledDirectoryNumber>tel:+13175558080</calledDirectoryNumber></MakeCall>"
    )
    call_id = response.calling_device.call_id
    server.admin("POST", f"/api/calls/{call_id}/answer")
    alice.wait_event("EstablishedEvent")
    digits = alice.csta(f'<GenerateDigits xmlns="{ED3}"><connectionToSendDigits>{conn(call_id, ALICE_LINE)}'
                        f"</connectionToSendDigits><charactersToSend>12#</charactersToSend></GenerateDigits>")
    assert isinstance(digits, csta.GenerateDigitsResponse)
    assert alice.wait_event("DigitsGeneratedEvent").digit_generated_list == "12#"
    snapshot = alice.csta(f'<SnapshotDevice xmlns="{ED3}"><snapshotObject>{ALICE_LINE}</snapshotObject></SnapshotDevice>')
    assert [(i.connection.call_id, i.local_connection_state) for i in snapshot.calls] == [(call_id, "connected")]
    alice.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared>{conn(call_id, ALICE_LINE)}</connectionToBeCleared></ClearConnection>')


def test_ed4_and_ed5_clients_are_answered_in_their_namespace(server):
    for edition in ("ed4", "ed5"):
        ns = ED3.replace("ed3", edition)
        client = LyncClient("127.0.0.1", server.sip_port, user="sip:bob@example.com", line=BOB_LINE)
        from testkit.messages import request_system_status

        response = client.sign_in(body=request_system_status(BOB_LINE, ns))
        assert response.status == 200
        assert f'xmlns="{ns}"'.encode() in response.body
        answer = client.info(f'<MonitorStart xmlns="{ns}"><monitorObject><deviceObject>{BOB_LINE}</deviceObject></monitorObject></MonitorStart>'.encode())
        assert f'xmlns="{ns}"'.encode() in answer.body
        client.sign_out()
        client.close()


def test_monitor_start_on_someone_elses_line_is_refused(alice):
    answer = alice.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>tel:+1002</deviceObject></monitorObject></MonitorStart>')
    assert answer == csta.ErrorCode("operation", "privilegeViolationOnSpecifiedDevice")

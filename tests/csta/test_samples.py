"""Requests as Lync-like clients send them decode to the expected messages."""
import pathlib

import pytest

from rccserver.csta import (
    ED3, ED4, ED5, AlternateCall, AnswerCall, ClearConnection, ConferenceCall, ConnectionID,
    ConsultationCall, DeflectCall, GenerateDigits, GetCSTAFeatures, GetDoNotDisturb, GetForwarding,
    HoldCall, MakeCall, MonitorStart, MonitorStop, ReconnectCall, RequestSystemStatus, RetrieveCall,
    SetDoNotDisturb, SetForwarding, SingleStepTransferCall, SnapshotDevice, TransferCall,
    decode_document,
)

SAMPLES = pathlib.Path(__file__).parent / "samples"
LINE = "tel:+13175551010"
C7, C8, C9 = (ConnectionID(call_id=c, device_id=LINE) for c in ("c7", "c8", "c9"))

EXPECTED = {
    "request-system-status.xml": (RequestSystemStatus(
        line="tel:73124;phone-context=dialstring;partition=BE_BRS_INT"), ED3),
    "get-csta-features.xml": (GetCSTAFeatures(line=LINE), ED3),
    "monitor-start.xml": (MonitorStart(monitor_object=LINE), ED3),
    "monitor-stop.xml": (MonitorStop(monitor_cross_ref_id="99fda87c"), ED3),
    "make-call.xml": (MakeCall(calling_device=LINE, called_directory_number="tel:+13175552020",
                               auto_originate="doNotPrompt"), ED3),
    "make-call-unknown-extension.xml": (MakeCall(calling_device=LINE,
                                                 called_directory_number="tel:+3222220220"), ED3),
    "make-call-latin1.xml": (MakeCall(calling_device="sip:andr\u00e9@example.com",
                                      called_directory_number="tel:+13175552020"), ED3),
    "clear-connection.xml": (ClearConnection(connection_to_be_cleared=ConnectionID(
        call_id="0_99f261b4", device_id=LINE)), ED3),
    "answer-call-ed4.xml": (AnswerCall(call_to_be_answered=C7), ED4),
    "hold-call-no-declaration.xml": (HoldCall(call_to_be_held=C8), ED3),
    "retrieve-call.xml": (RetrieveCall(call_to_be_retrieved=C8), ED3),
    "alternate-call.xml": (AlternateCall(held_call=C8, active_call=C9), ED3),
    "reconnect-call.xml": (ReconnectCall(held_call=C8, active_call=C9), ED3),
    "deflect-call-device-child-ed5.xml": (DeflectCall(call_to_be_diverted=C7,
                                                      new_destination="tel:+13175553030"), ED5),
    "deflect-call-bare.xml": (DeflectCall(call_to_be_diverted=C7, new_destination="tel:+13175553030"), ED3),
    "single-step-transfer-call.xml": (SingleStepTransferCall(active_call=C8,
                                                             transferred_to="tel:+13175554040"), ED3),
    "consultation-call.xml": (ConsultationCall(existing_call=C8, consulted_device="tel:+13175554040"), ED3),
    "transfer-call.xml": (TransferCall(held_call=C8, active_call=C9), ED3),
    "conference-call.xml": (ConferenceCall(held_call=C8, active_call=C9), ED3),
    "generate-digits.xml": (GenerateDigits(connection_to_send_digits=C8, characters_to_send="12#*"), ED3),
    "set-forwarding-ed4.xml": (SetForwarding(device=LINE, forwarding_type="forwardNoAns",
                                             activate_forward=True, forward_dn="tel:+13175553030",
                                             ring_count=4, ring_duration=20), ED4),
    "set-forwarding-off.xml": (SetForwarding(device=LINE, forwarding_type="forwardImmediate",
                                             activate_forward=False), ED3),
    "get-forwarding.xml": (GetForwarding(device=LINE), ED3),
    "set-do-not-disturb.xml": (SetDoNotDisturb(device=LINE, do_not_disturb_on=True), ED3),
    "get-do-not-disturb.xml": (GetDoNotDisturb(device=LINE), ED3),
    "snapshot-device.xml": (SnapshotDevice(snapshot_object=LINE), ED3),
}


def test_every_sample_has_an_expectation():
    assert sorted(p.name for p in SAMPLES.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_decodes(name):
    assert decode_document((SAMPLES / name).read_bytes()) == EXPECTED[name]


def test_utf8_bom_is_accepted():
    body = b"\xef\xbb\xbf" + (SAMPLES / "make-call.xml").read_bytes()
    assert decode_document(body) == EXPECTED["make-call.xml"]

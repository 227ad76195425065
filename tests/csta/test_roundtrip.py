"""decode(encode(m, ns)) == m for every message class in ed3, ed4 and ed5."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rccserver.csta import (
    CATEGORIES, ED3, ED4, EVENTS, MESSAGES, REQUESTS, ErrorCode, ForwardListItem,
    GetForwardingResponse, Namespace, SetForwarding, decode, decode_document, encode,
)
from csta_strategies import ERROR_CODES, MESSAGE_CLASSES, NAMESPACES, for_class, for_edition

SPEC_REQUESTS = {
    "RequestSystemStatus", "GetCSTAFeatures", "MonitorStart", "MonitorStop", "SnapshotDevice",
    "MakeCall", "AnswerCall", "ClearConnection", "HoldCall", "RetrieveCall", "AlternateCall",
    "DeflectCall", "SingleStepTransferCall", "ConsultationCall", "TransferCall", "ConferenceCall",
    "GenerateDigits", "SetForwarding", "GetForwarding", "SetDoNotDisturb", "GetDoNotDisturb",
}
SPEC_EVENTS = {
    "ServiceInitiated", "Originated", "Delivered", "Established", "ConnectionCleared", "Held",
    "Retrieved", "Diverted", "Transfered", "Conferenced", "Failed", "Forwarding", "DoNotDisturb",
    "DigitsGenerated",
}


def test_every_spec_service_has_a_request_and_a_response_class():
    for name in SPEC_REQUESTS | {"SystemStatus", "ReconnectCall"}:
        request = MESSAGES[name]
        assert request in REQUESTS
        assert request.RESPONSE is MESSAGES[name + "Response"]


def test_every_spec_event_has_a_class():
    assert {cls.ELEMENT for cls in EVENTS} == {name + "Event" for name in SPEC_EVENTS}


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: cls.ELEMENT)
@settings(max_examples=25, deadline=None)
@given(data=st.data(), namespace=NAMESPACES)
def test_round_trip(cls, data, namespace):
    message = data.draw(for_class(cls))
    decoded, came_in = decode_document(encode(message, namespace))
    assert came_in is namespace
    assert decoded == for_edition(message, namespace.edition)


@settings(max_examples=60, deadline=None)
@given(code=ERROR_CODES, namespace=NAMESPACES)
def test_error_code_round_trip(code, namespace):
    assert decode_document(encode(code, namespace)) == (code, namespace)


def test_all_eight_error_categories():
    assert set(CATEGORIES) == {
        "operation", "security", "stateIncompatibility", "systemResourceAvailability",
        "subscribedResourceAvailability", "performanceManagement", "privateData", "unspecified",
    }
    with pytest.raises(ValueError):
        ErrorCode("operation", "noSuchValue")
    with pytest.raises(ValueError):
        ErrorCode("nonsense", "generic")


def test_ring_duration_is_left_out_of_ed3_and_kept_in_ed4():
    request = SetForwarding(device="tel:+1", forwarding_type="forwardNoAns", activate_forward=True,
                            forward_dn="tel:+2", ring_count=4, ring_duration=20)
    assert b"ringDuration" not in encode(request, ED3)
    assert decode(encode(request, ED3)).ring_duration is None
    assert decode(encode(request, ED4)) == request
    answer = GetForwardingResponse(forwarding_list=[ForwardListItem(
        forwarding_type="forwardBusy", forward_status=True, ring_duration=9)])
    assert decode(encode(answer, Namespace.ED5)) == answer
    assert decode(encode(answer, ED3)).forwarding_list[0].ring_duration is None


def test_equality_does_not_depend_on_the_namespace():
    request = SetForwarding(device="tel:+1", activate_forward=False)
    assert decode(encode(request, ED3)) == decode(encode(request, Namespace.ED5))

"""What we send has the element names and order of reference section 3 (checked on the XML)."""
from lxml import etree

from rccserver.csta import (
    ED3, ED5, NOT_KNOWN, ConferenceCallResponse, ConnectionID, ConnectionListItem, DeliveredEvent,
    ErrorCode, EstablishedEvent, ForwardingEvent, ForwardListItem, GetForwardingResponse,
    MakeCallResponse, MonitorStartResponse, RequestSystemStatusResponse, SnapshotDeviceResponse,
    SnapshotDeviceResponseInfo, SystemStatus, TransferedEvent, encode,
)

LINE = "tel:73124;phone-context=dialstring;partition=BE_BRS_INT"
C7 = ConnectionID(call_id="c7", device_id=LINE)


def tree(body: bytes):
    return etree.fromstring(body)


def names(element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def test_make_call_response_echoes_the_line_exactly():
    root = tree(encode(MakeCallResponse(calling_device=ConnectionID(call_id="c8", device_id=LINE),
                                        called_device="tel:+13175552020"), ED3))
    assert root.tag == f"{{{ED3}}}MakeCallResponse"
    assert names(root) == ["callingDevice", "calledDevice"]
    assert names(root[0]) == ["callID", "deviceID"]
    assert root[0][1].text == LINE


def test_delivered_event_children_in_reference_order():
    event = DeliveredEvent(monitor_cross_ref_id="m1", connection=C7, alerting_device=LINE,
                           calling_device="tel:+13175552020", called_device=LINE,
                           last_redirection_device=NOT_KNOWN, local_connection_info="alerting",
                           cause="newCall")
    root = tree(encode(event, ED5))
    assert root.tag == f"{{{ED5}}}DeliveredEvent"
    assert names(root) == ["monitorCrossRefID", "connection", "alertingDevice", "callingDevice",
                           "calledDevice", "lastRedirectionDevice", "localConnectionInfo", "cause"]
    assert names(root.find("{*}callingDevice")) == ["deviceIdentifier"]
    assert names(root.find("{*}lastRedirectionDevice")) == ["notKnown"]


def test_established_event_leaves_out_absent_optional_children():
    event = EstablishedEvent(monitor_cross_ref_id="m1", established_connection=C7,
                             answering_device=LINE, calling_device="tel:+2", called_device=LINE)
    assert names(tree(encode(event, ED3))) == [
        "monitorCrossRefID", "establishedConnection", "answeringDevice", "callingDevice",
        "calledDevice", "cause"]


def test_transfered_event_spelling_and_connection_list():
    event = TransferedEvent(monitor_cross_ref_id="m1", primary_old_call=C7,
                            transferring_device=LINE, transferred_to_device="tel:+4",
                            transferred_connections=[ConnectionListItem(new_connection=C7)],
                            local_connection_info="null", cause="singleStepTransfer")
    root = tree(encode(event, ED3))
    assert etree.QName(root).localname == "TransferedEvent"
    assert names(root) == ["monitorCrossRefID", "primaryOldCall", "transferringDevice",
                           "transferredToDevice", "transferredConnections", "localConnectionInfo",
                           "cause"]
    assert names(root.find("{*}transferredConnections/{*}connectionListItem")) == ["newConnection"]


def test_forwarding_event_shape():
    event = ForwardingEvent(monitor_cross_ref_id="m1", device=LINE, forwarding_type="forwardImmediate",
                            forward_status=True, forward_to="tel:+3")
    root = tree(encode(event, ED3))
    assert names(root) == ["monitorCrossRefID", "device", "forwardingType", "forwardStatus", "forwardTo"]
    assert root.find("{*}forwardStatus").text == "true"


def test_monitor_start_response_and_system_status():
    assert names(tree(encode(MonitorStartResponse(monitor_cross_ref_id="99fda87c"), ED3))) == [
        "monitorCrossRefID"]
    for message, element in ((RequestSystemStatusResponse(), "RequestSystemStatusResponse"),
                             (SystemStatus(), "SystemStatus")):
        root = tree(encode(message, ED3))
        assert etree.QName(root).localname == element
        assert root.find("{*}systemStatus").text == "normal"


def test_snapshot_response_shape():
    answer = SnapshotDeviceResponse(calls=[SnapshotDeviceResponseInfo(connection=C7,
                                                                      local_connection_state="alerting")])
    root = tree(encode(answer, ED3))
    info = root.find("{*}crossRefIDorSnapshotData/{*}snapshotData/{*}snapshotDeviceResponseInfo")
    assert names(info) == ["connectionIdentifier", "localCallState"]
    assert info.findtext("{*}localCallState/{*}compoundCallState/{*}localConnectionState") == "alerting"


def test_get_forwarding_and_conference_responses():
    root = tree(encode(GetForwardingResponse(forwarding_list=[ForwardListItem(
        forwarding_type="forwardBusy", forward_status=False, forward_dn="tel:+5", ring_count=3)]), ED3))
    assert names(root.find("{*}forwardingList/{*}forwardListItem")) == [
        "forwardingType", "forwardStatus", "forwardDN", "ringCount"]
    root = tree(encode(ConferenceCallResponse(conference_call=C7, connections=[
        ConnectionListItem(new_connection=C7, old_connection=C7)]), ED3))
    assert names(root) == ["conferenceCall", "connections"]
    assert names(root.find("{*}connections/{*}connectionListItem")) == ["newConnection", "oldConnection"]


def test_error_code_shape():
    root = tree(encode(ErrorCode("operation", "invalidFeature"), ED3))
    assert root.tag == f"{{{ED3}}}CSTAErrorCode"
    assert names(root) == ["operation"] and root[0].text == "invalidFeature"
    assert names(tree(encode(ErrorCode("unspecified", ""), ED3))) == ["unspecified"]


def test_text_is_escaped():
    body = encode(MonitorStartResponse(monitor_cross_ref_id="a<b&c>\r"), ED3)
    assert tree(body).findtext("{*}monitorCrossRefID") == "a<b&c>\r"

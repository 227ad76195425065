"""Positive responses, one class per service (root element `<Service>Response`)."""
from typing import Iterable, Optional

from .capabilities import ServiceSet
from .devices import CONNECTION, ConnectionID
from .errors import BAD_CROSS_REF
from .layout import DESTINATION, DEVICE, Boolean, Integer, Record, RecordList, Text, Token, child
from .registry import message, record
from .values import FORWARDING_TYPES, LOCAL_CONNECTION_STATES, SYSTEM_STATUSES

CROSS_REF = Text(256, BAD_CROSS_REF)
SYSTEM_STATUS = Token(SYSTEM_STATUSES)
RING_COUNT = Integer(1, 100)
RING_DURATION = Integer(0, 100_000)  # seconds; ed4+


def _as_tuple(value: Iterable) -> tuple:
    return tuple(value)


@message("RequestSystemStatusResponse")
class RequestSystemStatusResponse:
    system_status: str = child("systemStatus", SYSTEM_STATUS, default="normal")


@message("SystemStatusResponse")
class SystemStatusResponse:
    pass


@message("GetCSTAFeaturesResponse")
class GetCSTAFeaturesResponse:
    """Build it with `features_response()` so it lists exactly the implemented services."""

    supported_services: frozenset = child("supportedServices", ServiceSet(),
                                          default=frozenset(), converter=frozenset)


@message("MonitorStartResponse")
class MonitorStartResponse:
    monitor_cross_ref_id: str = child("monitorCrossRefID", CROSS_REF)


@message("MonitorStopResponse")
class MonitorStopResponse:
    pass


@record
class SnapshotDeviceResponseInfo:
    """One call at the device: its connection and the device's local connection state."""

    connection: ConnectionID = child("connectionIdentifier", CONNECTION)
    local_connection_state: Optional[str] = child(
        "localCallState/compoundCallState/localConnectionState",
        Token(LOCAL_CONNECTION_STATES), default=None)


@message("SnapshotDeviceResponse")
class SnapshotDeviceResponse:
    calls: tuple = child("crossRefIDorSnapshotData/snapshotData",
                         RecordList("snapshotDeviceResponseInfo", Record(SnapshotDeviceResponseInfo)),
                         default=(), converter=_as_tuple)


@message("MakeCallResponse")
class MakeCallResponse:
    calling_device: ConnectionID = child("callingDevice", CONNECTION)
    called_device: Optional[str] = child("calledDevice", DEVICE, default=None)


@message("AnswerCallResponse")
class AnswerCallResponse:
    pass


@message("ClearConnectionResponse")
class ClearConnectionResponse:
    pass


@message("HoldCallResponse")
class HoldCallResponse:
    pass


@message("RetrieveCallResponse")
class RetrieveCallResponse:
    pass


@message("AlternateCallResponse")
class AlternateCallResponse:
    pass


@message("ReconnectCallResponse")
class ReconnectCallResponse:
    pass


@message("DeflectCallResponse")
class DeflectCallResponse:
    pass


@message("SingleStepTransferCallResponse")
class SingleStepTransferCallResponse:
    transferred_call: Optional[ConnectionID] = child("transferredCall", CONNECTION, default=None)


@message("ConsultationCallResponse")
class ConsultationCallResponse:
    initiated_call: ConnectionID = child("initiatedCall", CONNECTION)


@message("TransferCallResponse")
class TransferCallResponse:
    transferred_call: Optional[ConnectionID] = child("transferredCall", CONNECTION, default=None)


@record
class ConnectionListItem:
    """A connection's old and new identity after a transfer or conference."""

    new_connection: Optional[ConnectionID] = child("newConnection", CONNECTION, default=None)
    old_connection: Optional[ConnectionID] = child("oldConnection", CONNECTION, default=None)


CONNECTION_LIST = RecordList("connectionListItem", Record(ConnectionListItem))


@message("ConferenceCallResponse")
class ConferenceCallResponse:
    conference_call: ConnectionID = child("conferenceCall", CONNECTION)
    connections: tuple = child("connections", CONNECTION_LIST, default=(), converter=_as_tuple)


@message("GenerateDigitsResponse")
class GenerateDigitsResponse:
    pass


@message("SetForwardingResponse")
class SetForwardingResponse:
    pass


@record
class ForwardListItem:
    forwarding_type: str = child("forwardingType", Token(FORWARDING_TYPES))
    forward_status: bool = child("forwardStatus", Boolean())
    forward_dn: Optional[str] = child("forwardDN", DESTINATION, default=None)
    ring_count: Optional[int] = child("ringCount", RING_COUNT, default=None)
    ring_duration: Optional[int] = child("ringDuration", RING_DURATION, default=None, since=4)


@message("GetForwardingResponse")
class GetForwardingResponse:
    forwarding_list: tuple = child("forwardingList", RecordList("forwardListItem", Record(ForwardListItem)),
                                   default=(), converter=_as_tuple)


@message("SetDoNotDisturbResponse")
class SetDoNotDisturbResponse:
    pass


@message("GetDoNotDisturbResponse")
class GetDoNotDisturbResponse:
    do_not_disturb_on: bool = child("doNotDisturbOn", Boolean())

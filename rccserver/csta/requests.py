"""Requests (services), one class per root element; `RESPONSE` names the positive answer.

Lync sends all of them except `SystemStatus`, which is our keep-alive to Lync.
"""
from typing import ClassVar, Optional

from . import responses as r
from .devices import CONNECTION, ConnectionID
from .layout import DESTINATION, DEVICE, Boolean, Text, Token, child, line_extension
from .errors import MALFORMED
from .registry import message
from .responses import CROSS_REF, RING_COUNT, RING_DURATION, SYSTEM_STATUS
from .values import AUTO_ORIGINATE, FORWARDING_TYPES

DIGITS = Text(64, MALFORMED)


@message("RequestSystemStatus")
class RequestSystemStatus:
    RESPONSE: ClassVar[type] = r.RequestSystemStatusResponse
    line: Optional[str] = line_extension()


@message("SystemStatus")
class SystemStatus:
    RESPONSE: ClassVar[type] = r.SystemStatusResponse
    system_status: str = child("systemStatus", SYSTEM_STATUS, default="normal")


@message("GetCSTAFeatures")
class GetCSTAFeatures:
    RESPONSE: ClassVar[type] = r.GetCSTAFeaturesResponse
    line: Optional[str] = line_extension()


@message("MonitorStart")
class MonitorStart:
    RESPONSE: ClassVar[type] = r.MonitorStartResponse
    monitor_object: str = child("monitorObject/deviceObject", DEVICE)


@message("MonitorStop")
class MonitorStop:
    RESPONSE: ClassVar[type] = r.MonitorStopResponse
    monitor_cross_ref_id: str = child("monitorCrossRefID", CROSS_REF)


@message("SnapshotDevice")
class SnapshotDevice:
    RESPONSE: ClassVar[type] = r.SnapshotDeviceResponse
    snapshot_object: str = child("snapshotObject", DEVICE)


@message("MakeCall")
class MakeCall:
    RESPONSE: ClassVar[type] = r.MakeCallResponse
    calling_device: str = child("callingDevice", DEVICE)
    called_directory_number: str = child("calledDirectoryNumber", DEVICE)
    auto_originate: Optional[str] = child("autoOriginate", Token(AUTO_ORIGINATE), default=None)


@message("AnswerCall")
class AnswerCall:
    RESPONSE: ClassVar[type] = r.AnswerCallResponse
    call_to_be_answered: ConnectionID = child("callToBeAnswered", CONNECTION)


@message("ClearConnection")
class ClearConnection:
    RESPONSE: ClassVar[type] = r.ClearConnectionResponse
    connection_to_be_cleared: ConnectionID = child("connectionToBeCleared", CONNECTION)


@message("HoldCall")
class HoldCall:
    RESPONSE: ClassVar[type] = r.HoldCallResponse
    call_to_be_held: ConnectionID = child("callToBeHeld", CONNECTION)


@message("RetrieveCall")
class RetrieveCall:
    RESPONSE: ClassVar[type] = r.RetrieveCallResponse
    call_to_be_retrieved: ConnectionID = child("callToBeRetrieved", CONNECTION)


@message("AlternateCall")
class AlternateCall:
    RESPONSE: ClassVar[type] = r.AlternateCallResponse
    held_call: ConnectionID = child("heldCall", CONNECTION)
    active_call: ConnectionID = child("activeCall", CONNECTION)


@message("ReconnectCall")
class ReconnectCall:
    RESPONSE: ClassVar[type] = r.ReconnectCallResponse
    active_call: ConnectionID = child("activeCall", CONNECTION)
    held_call: ConnectionID = child("heldCall", CONNECTION)


@message("DeflectCall")
class DeflectCall:
    """`newDestination` may hold the device ID itself or a `device` child; both decode alike."""

    RESPONSE: ClassVar[type] = r.DeflectCallResponse
    call_to_be_diverted: ConnectionID = child("callToBeDiverted", CONNECTION)
    new_destination: str = child("newDestination", DESTINATION)


@message("SingleStepTransferCall")
class SingleStepTransferCall:
    RESPONSE: ClassVar[type] = r.SingleStepTransferCallResponse
    active_call: ConnectionID = child("activeCall", CONNECTION)
    transferred_to: str = child("transferredTo", DEVICE)


@message("ConsultationCall")
class ConsultationCall:
    RESPONSE: ClassVar[type] = r.ConsultationCallResponse
    existing_call: ConnectionID = child("existingCall", CONNECTION)
    consulted_device: str = child("consultedDevice", DEVICE)


@message("TransferCall")
class TransferCall:
    RESPONSE: ClassVar[type] = r.TransferCallResponse
    held_call: ConnectionID = child("heldCall", CONNECTION)
    active_call: ConnectionID = child("activeCall", CONNECTION)


@message("ConferenceCall")
class ConferenceCall:
    RESPONSE: ClassVar[type] = r.ConferenceCallResponse
    held_call: ConnectionID = child("heldCall", CONNECTION)
    active_call: ConnectionID = child("activeCall", CONNECTION)


@message("GenerateDigits")
class GenerateDigits:
    RESPONSE: ClassVar[type] = r.GenerateDigitsResponse
    connection_to_send_digits: ConnectionID = child("connectionToSendDigits", CONNECTION)
    characters_to_send: str = child("charactersToSend", DIGITS)


@message("SetForwarding")
class SetForwarding:
    """`ring_duration` exists from ed4 on; it is left out when answering in ed3."""

    RESPONSE: ClassVar[type] = r.SetForwardingResponse
    device: str = child("device", DEVICE)
    forwarding_type: Optional[str] = child("forwardingType", Token(FORWARDING_TYPES), default=None)
    activate_forward: bool = child("activateForward", Boolean())
    forward_dn: Optional[str] = child("forwardDN", DESTINATION, default=None)
    ring_count: Optional[int] = child("ringCount", RING_COUNT, default=None)
    ring_duration: Optional[int] = child("ringDuration", RING_DURATION, default=None, since=4)


@message("GetForwarding")
class GetForwarding:
    RESPONSE: ClassVar[type] = r.GetForwardingResponse
    device: str = child("device", DEVICE)


@message("SetDoNotDisturb")
class SetDoNotDisturb:
    RESPONSE: ClassVar[type] = r.SetDoNotDisturbResponse
    device: str = child("device", DEVICE)
    do_not_disturb_on: bool = child("doNotDisturbOn", Boolean())


@message("GetDoNotDisturb")
class GetDoNotDisturb:
    RESPONSE: ClassVar[type] = r.GetDoNotDisturbResponse
    device: str = child("device", DEVICE)


REQUESTS: tuple[type, ...] = (
    RequestSystemStatus, SystemStatus, GetCSTAFeatures, MonitorStart, MonitorStop,
    SnapshotDevice, MakeCall, AnswerCall, ClearConnection, HoldCall, RetrieveCall,
    AlternateCall, ReconnectCall, DeflectCall, SingleStepTransferCall, ConsultationCall,
    TransferCall, ConferenceCall, GenerateDigits, SetForwarding, GetForwarding,
    SetDoNotDisturb, GetDoNotDisturb,
)

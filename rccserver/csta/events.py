"""Events we send to Lync in INFOs (reference section 3.4).

Every event starts with `monitorCrossRefID`; the other children follow in the
order of the reference table, which is the field order here.
"""
from typing import Iterable, Optional

from .devices import CONNECTION, EVENT_DEVICE, ConnectionID, EventDevice
from .layout import DESTINATION, Boolean, Text, Token, child
from .errors import MALFORMED
from .registry import message
from .responses import CONNECTION_LIST, CROSS_REF, RING_COUNT, RING_DURATION
from .values import EVENT_CAUSES, FORWARDING_TYPES, LOCAL_CONNECTION_STATES

CAUSE = Token(EVENT_CAUSES)
LOCAL_CONNECTION_INFO = Token(LOCAL_CONNECTION_STATES)
DIGIT_LIST = Text(256, MALFORMED)


def _cross_ref() -> str:
    return child("monitorCrossRefID", CROSS_REF)


def _info() -> Optional[str]:
    return child("localConnectionInfo", LOCAL_CONNECTION_INFO, default=None)


def _cause(default: str) -> str:
    return child("cause", CAUSE, default=default)


def _redirection() -> Optional[EventDevice]:
    return child("lastRedirectionDevice", EVENT_DEVICE, default=None)


def _as_tuple(value: Iterable) -> tuple:
    return tuple(value)


@message("ServiceInitiatedEvent")
class ServiceInitiatedEvent:
    monitor_cross_ref_id: str = _cross_ref()
    initiated_connection: ConnectionID = child("initiatedConnection", CONNECTION)
    initiating_device: EventDevice = child("initiatingDevice", EVENT_DEVICE)
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("makeCall")


@message("OriginatedEvent")
class OriginatedEvent:
    monitor_cross_ref_id: str = _cross_ref()
    originated_connection: ConnectionID = child("originatedConnection", CONNECTION)
    calling_device: EventDevice = child("callingDevice", EVENT_DEVICE)
    called_device: EventDevice = child("calledDevice", EVENT_DEVICE)
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("normal")


@message("DeliveredEvent")
class DeliveredEvent:
    monitor_cross_ref_id: str = _cross_ref()
    connection: ConnectionID = child("connection", CONNECTION)
    alerting_device: EventDevice = child("alertingDevice", EVENT_DEVICE)
    calling_device: EventDevice = child("callingDevice", EVENT_DEVICE)
    called_device: EventDevice = child("calledDevice", EVENT_DEVICE)
    last_redirection_device: Optional[EventDevice] = _redirection()
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("normal")


@message("EstablishedEvent")
class EstablishedEvent:
    monitor_cross_ref_id: str = _cross_ref()
    established_connection: ConnectionID = child("establishedConnection", CONNECTION)
    answering_device: EventDevice = child("answeringDevice", EVENT_DEVICE)
    calling_device: EventDevice = child("callingDevice", EVENT_DEVICE)
    called_device: EventDevice = child("calledDevice", EVENT_DEVICE)
    last_redirection_device: Optional[EventDevice] = _redirection()
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("normal")


@message("ConnectionClearedEvent")
class ConnectionClearedEvent:
    monitor_cross_ref_id: str = _cross_ref()
    dropped_connection: ConnectionID = child("droppedConnection", CONNECTION)
    releasing_device: EventDevice = child("releasingDevice", EVENT_DEVICE)
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("normalClearing")


@message("HeldEvent")
class HeldEvent:
    monitor_cross_ref_id: str = _cross_ref()
    held_connection: ConnectionID = child("heldConnection", CONNECTION)
    holding_device: EventDevice = child("holdingDevice", EVENT_DEVICE)
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("normal")


@message("RetrievedEvent")
class RetrievedEvent:
    monitor_cross_ref_id: str = _cross_ref()
    retrieved_connection: ConnectionID = child("retrievedConnection", CONNECTION)
    retrieving_device: EventDevice = child("retrievingDevice", EVENT_DEVICE)
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("normal")


@message("DivertedEvent")
class DivertedEvent:
    monitor_cross_ref_id: str = _cross_ref()
    connection: ConnectionID = child("connection", CONNECTION)
    diverting_device: EventDevice = child("divertingDevice", EVENT_DEVICE)
    new_destination: EventDevice = child("newDestination", EVENT_DEVICE)
    last_redirection_device: Optional[EventDevice] = _redirection()
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("redirected")


@message("TransferedEvent")
class TransferedEvent:
    """ECMA spells it with one "r"; `secondary_old_call` only for a consultative transfer."""

    monitor_cross_ref_id: str = _cross_ref()
    primary_old_call: ConnectionID = child("primaryOldCall", CONNECTION)
    secondary_old_call: Optional[ConnectionID] = child("secondaryOldCall", CONNECTION, default=None)
    transferring_device: EventDevice = child("transferringDevice", EVENT_DEVICE)
    transferred_to_device: EventDevice = child("transferredToDevice", EVENT_DEVICE)
    transferred_connections: tuple = child("transferredConnections", CONNECTION_LIST,
                                           default=(), converter=_as_tuple)
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("transfer")


@message("ConferencedEvent")
class ConferencedEvent:
    monitor_cross_ref_id: str = _cross_ref()
    primary_old_call: ConnectionID = child("primaryOldCall", CONNECTION)
    secondary_old_call: Optional[ConnectionID] = child("secondaryOldCall", CONNECTION, default=None)
    conferencing_device: EventDevice = child("conferencingDevice", EVENT_DEVICE)
    conference_connections: tuple = child("conferenceConnections", CONNECTION_LIST,
                                          default=(), converter=_as_tuple)
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("conference")


@message("FailedEvent")
class FailedEvent:
    monitor_cross_ref_id: str = _cross_ref()
    failed_connection: ConnectionID = child("failedConnection", CONNECTION)
    failing_device: EventDevice = child("failingDevice", EVENT_DEVICE)
    calling_device: EventDevice = child("callingDevice", EVENT_DEVICE)
    called_device: EventDevice = child("calledDevice", EVENT_DEVICE)
    last_redirection_device: Optional[EventDevice] = _redirection()
    local_connection_info: Optional[str] = _info()
    cause: str = _cause("busy")


@message("ForwardingEvent")
class ForwardingEvent:
    monitor_cross_ref_id: str = _cross_ref()
    device: EventDevice = child("device", EVENT_DEVICE)
    forwarding_type: str = child("forwardingType", Token(FORWARDING_TYPES))
    forward_status: bool = child("forwardStatus", Boolean())
    forward_to: Optional[str] = child("forwardTo", DESTINATION, default=None)
    ring_count: Optional[int] = child("ringCount", RING_COUNT, default=None)
    ring_duration: Optional[int] = child("ringDuration", RING_DURATION, default=None, since=4)


@message("DoNotDisturbEvent")
class DoNotDisturbEvent:
    monitor_cross_ref_id: str = _cross_ref()
    device: EventDevice = child("device", EVENT_DEVICE)
    do_not_disturb_on: bool = child("doNotDisturbOn", Boolean())


@message("DigitsGeneratedEvent")
class DigitsGeneratedEvent:
    monitor_cross_ref_id: str = _cross_ref()
    connection: ConnectionID = child("connection", CONNECTION)
    digit_generated_list: str = child("digitGeneratedList", DIGIT_LIST)


EVENTS: tuple[type, ...] = (
    ServiceInitiatedEvent, OriginatedEvent, DeliveredEvent, EstablishedEvent,
    ConnectionClearedEvent, HeldEvent, RetrievedEvent, DivertedEvent, TransferedEvent,
    ConferencedEvent, FailedEvent, ForwardingEvent, DoNotDisturbEvent, DigitsGeneratedEvent,
)

"""Switch events: one small immutable class per CSTA event kind.

Each event names the station it is for (`station`, an extension); the RCC layer
routes it to the dialogs monitoring that station. Call events carry
`connection`, the receiving station's own connection in the call, with one
exception: a ConnectionCleared seen by a station that stays in the call names
the connection that dropped (CSTA's droppedConnection). `local_connection_info`
is always the receiving station's own state after the event.
"""
from __future__ import annotations

import enum
from typing import ClassVar, Union, get_args

import attrs

from rccserver.switch.model import (
    ConnectionId,
    ConnectionListItem,
    ConnectionState,
    ForwardingType,
)


class EventKind(str, enum.Enum):
    SERVICE_INITIATED = "ServiceInitiated"
    ORIGINATED = "Originated"
    DELIVERED = "Delivered"
    ESTABLISHED = "Established"
    CONNECTION_CLEARED = "ConnectionCleared"
    HELD = "Held"
    RETRIEVED = "Retrieved"
    DIVERTED = "Diverted"
    TRANSFERRED = "Transferred"  # CSTA spells the event "Transfered"
    CONFERENCED = "Conferenced"
    FAILED = "Failed"
    FORWARDING = "Forwarding"
    DO_NOT_DISTURB = "DoNotDisturb"
    DIGITS_GENERATED = "DigitsGenerated"


class Cause(str, enum.Enum):
    """ECMA-269 event causes the switch reports."""

    NORMAL = "normal"
    NEW_CALL = "newCall"
    MAKE_CALL = "makeCall"
    NORMAL_CLEARING = "normalClearing"
    CALL_CANCELLED = "callCancelled"
    BUSY = "busy"
    TRANSFER = "transfer"
    SINGLE_STEP_TRANSFER = "singleStepTransfer"
    CONSULTATION = "consultation"
    CONFERENCE = "conference"
    REDIRECTED = "redirected"
    CALL_FORWARD_IMMEDIATE = "callForwardImmediate"
    CALL_FORWARD_BUSY = "callForwardBusy"
    CALL_FORWARD_NO_ANSWER = "callForwardNoAnswer"
    DO_NOT_DISTURB = "doNotDisturb"
    DEST_NOT_OBTAINABLE = "destNotObtainable"  # the called station's phone cannot ring
    ALTERNATE = "alternate"


_frozen = attrs.frozen(slots=True)


@_frozen
class ServiceInitiated:
    kind: ClassVar[EventKind] = EventKind.SERVICE_INITIATED
    station: str
    connection: ConnectionId
    initiating_device: str
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Originated:
    kind: ClassVar[EventKind] = EventKind.ORIGINATED
    station: str
    connection: ConnectionId
    calling_device: str | None
    called_device: str | None
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Delivered:
    kind: ClassVar[EventKind] = EventKind.DELIVERED
    station: str
    connection: ConnectionId
    alerting_device: str
    calling_device: str | None
    called_device: str | None
    last_redirection_device: str | None
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Established:
    kind: ClassVar[EventKind] = EventKind.ESTABLISHED
    station: str
    connection: ConnectionId
    answering_device: str
    calling_device: str | None
    called_device: str | None
    last_redirection_device: str | None
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class ConnectionCleared:
    kind: ClassVar[EventKind] = EventKind.CONNECTION_CLEARED
    station: str
    connection: ConnectionId  # the dropped connection
    releasing_device: str
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Held:
    kind: ClassVar[EventKind] = EventKind.HELD
    station: str
    connection: ConnectionId
    holding_device: str
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Retrieved:
    kind: ClassVar[EventKind] = EventKind.RETRIEVED
    station: str
    connection: ConnectionId
    retrieving_device: str
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Diverted:
    kind: ClassVar[EventKind] = EventKind.DIVERTED
    station: str
    connection: ConnectionId
    diverting_device: str
    new_destination: str
    last_redirection_device: str | None
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Transferred:
    """Sent to the transferring station (state null, its connections then clear) and
    to every station carried into the resulting call (`connection` = its old one)."""

    kind: ClassVar[EventKind] = EventKind.TRANSFERRED
    station: str
    connection: ConnectionId
    primary_old_call: ConnectionId
    secondary_old_call: ConnectionId | None
    transferring_device: str
    transferred_to_device: str
    transferred_connections: tuple[ConnectionListItem, ...]
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Conferenced:
    """Sent to every station of the new conference call (`connection` = its old one;
    for the conferencing station, its connection in the held call)."""

    kind: ClassVar[EventKind] = EventKind.CONFERENCED
    station: str
    connection: ConnectionId
    primary_old_call: ConnectionId
    secondary_old_call: ConnectionId
    conferencing_device: str
    added_parties: tuple[str, ...]
    conference_connections: tuple[ConnectionListItem, ...]
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Failed:
    kind: ClassVar[EventKind] = EventKind.FAILED
    station: str
    connection: ConnectionId
    failing_device: str
    calling_device: str | None
    called_device: str | None
    last_redirection_device: str | None
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class DigitsGenerated:
    kind: ClassVar[EventKind] = EventKind.DIGITS_GENERATED
    station: str
    connection: ConnectionId
    digits: str
    local_connection_info: ConnectionState
    cause: Cause


@_frozen
class Forwarding:
    kind: ClassVar[EventKind] = EventKind.FORWARDING
    station: str
    forwarding_type: ForwardingType
    forward_status: bool
    forward_to: str | None
    ring_count: int | None


@_frozen
class DoNotDisturb:
    kind: ClassVar[EventKind] = EventKind.DO_NOT_DISTURB
    station: str
    do_not_disturb_on: bool


CallEvent = Union[
    ServiceInitiated,
    Originated,
    Delivered,
    Established,
    ConnectionCleared,
    Held,
    Retrieved,
    Diverted,
    Transferred,
    Conferenced,
    Failed,
    DigitsGenerated,
]
DeviceEvent = Union[Forwarding, DoNotDisturb]
SwitchEvent = Union[CallEvent, DeviceEvent]

# Derived from the unions above, so a new event class is listed in one place only.
EVENT_CLASSES: dict[EventKind, type] = {cls.kind: cls for cls in get_args(SwitchEvent)}

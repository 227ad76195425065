"""Stations and calls: the connection state table, the Switch interface and the embedded switch."""
from rccserver.switch.embedded import EmbeddedSwitch, SwitchOptions
from rccserver.switch.errors import SwitchError
from rccserver.switch.events import Cause, EventKind, SwitchEvent
from rccserver.switch.interface import CallResult, ConferenceResult, OutsideWorld, Switch
from rccserver.switch.model import (
    CallView,
    ConnectionId,
    ConnectionListItem,
    ConnectionState,
    ForwardingSetting,
    ForwardingType,
    PartyView,
    SnapshotItem,
)

__all__ = [
    "CallResult",
    "CallView",
    "Cause",
    "ConferenceResult",
    "ConnectionId",
    "ConnectionListItem",
    "ConnectionState",
    "EmbeddedSwitch",
    "EventKind",
    "ForwardingSetting",
    "ForwardingType",
    "OutsideWorld",
    "PartyView",
    "SnapshotItem",
    "Switch",
    "SwitchError",
    "SwitchEvent",
    "SwitchOptions",
]

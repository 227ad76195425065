"""Value classes of the switch: connection states, connection ids, forwarding, views.

These are what the switch hands out; its internal bookkeeping lives in embedded.py.
"""
from __future__ import annotations

import enum

import attrs


class ConnectionState(str, enum.Enum):
    """ECMA-269 local connection states (the `localConnectionInfo` values)."""

    NULL = "null"
    INITIATED = "initiated"
    ALERTING = "alerting"
    CONNECTED = "connected"
    HOLD = "hold"
    QUEUED = "queued"
    FAIL = "fail"


@attrs.frozen
class ConnectionId:
    """One party's connection in one call: CSTA's {callID, deviceID}."""

    call_id: str
    device: str


@attrs.frozen
class ConnectionListItem:
    """Old and new connection of one party after a transfer or conference."""

    new: ConnectionId | None
    old: ConnectionId | None


class ForwardingType(str, enum.Enum):
    """The CSTA forwardingType values the embedded switch supports."""

    IMMEDIATE = "forwardImmediate"
    BUSY = "forwardBusy"
    NO_ANSWER = "forwardNoAns"


@attrs.frozen
class ForwardingSetting:
    type: ForwardingType
    active: bool
    destination: str | None = None
    ring_count: int | None = None


@attrs.frozen
class SnapshotItem:
    """One call at a station, as SnapshotDevice reports it."""

    call_id: str
    state: ConnectionState


@attrs.frozen
class PartyView:
    """One party of a call: a station (maybe ringing at a remote number) or an external number."""

    device: str
    state: ConnectionState
    is_station: bool
    remote_number: str | None = None


@attrs.frozen
class CallView:
    call_id: str
    parties: tuple[PartyView, ...]
    calling_device: str | None
    called_device: str | None

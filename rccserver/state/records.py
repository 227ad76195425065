"""The records a state store keeps: plain values, nothing of the switch or SIP in them.

Times are wall-clock epoch seconds: a record outlives the process whose monotonic
or reactor clock wrote it.
"""
from __future__ import annotations

import attrs


@attrs.frozen
class ForwardingRecord:
    """One forwarding type of one station (the switch's ForwardingSetting, by value)."""

    station: str  # extension
    forwarding_type: str  # "forwardImmediate", "forwardBusy" or "forwardNoAns"
    active: bool
    destination: str | None = None  # as the switch canonicalised it
    ring_count: int | None = None  # forwardNoAns only


@attrs.frozen
class DndRecord:
    station: str
    on: bool


@attrs.frozen(kw_only=True)
class RegistrationRecord:
    """One binding of a SIP station's phone (rccserver.stations.binding.Binding, by value)."""

    sip_user: str  # the address of record's user
    extension: str  # the station, for reading the file; the key is (sip_user, contact)
    contact: str
    contact_params: tuple[tuple[str, str | None], ...]
    call_id: str
    cseq: int
    transport: str
    source_host: str
    source_port: int
    user_agent: str | None
    registered_at: float
    updated_at: float
    expires_at: float


@attrs.frozen
class SavedState:
    """Everything a store held at start."""

    forwarding: tuple[ForwardingRecord, ...] = ()
    dnd: tuple[DndRecord, ...] = ()
    registrations: tuple[RegistrationRecord, ...] = ()

    def stations(self) -> set[str]:
        """The stations that have a setting saved (registrations aside)."""
        return {record.station for record in self.forwarding} | {record.station for record in self.dnd}

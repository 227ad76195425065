"""The state store interface, and the backend that keeps state in memory only.

A save is asynchronous: the backend calls `done(None)` once the record is durable,
or `done(StoreError)` when it could not be written (and then nothing of it was
kept). The edge calls `done` on the reactor thread, in the order of the saves;
the memory store calls it at once, before `save_*` returns. Saves of one kind and
key replace the previous one.

`load()` is for the start only: it blocks, and runs before the core exists.
"""
from __future__ import annotations

from typing import Callable, Optional, Protocol

from rccserver.state.records import DndRecord, ForwardingRecord, RegistrationRecord, SavedState


class StoreError(Exception):
    """A write the store could not make durable: disk full, file locked, I/O error."""


Done = Callable[[Optional[StoreError]], None]


class StateStore(Protocol):
    def load(self, now: float) -> SavedState:
        """What was saved; registrations that expired by `now` (epoch seconds) are left out."""

    def save_forwarding(self, record: ForwardingRecord, done: Done | None = None) -> None:
        """Replace the station's setting of this forwarding type."""

    def save_dnd(self, record: DndRecord, done: Done | None = None) -> None:
        """Replace the station's do-not-disturb."""

    def save_registrations(self, sip_user: str, records: tuple[RegistrationRecord, ...],
                           done: Done | None = None) -> None:
        """Replace every binding of the address of record (an empty tuple removes them all)."""

    def close(self) -> None:
        """Finish the saves under way, then release the backend."""


class MemoryStore:
    """`file = ""`: state lives as long as the process. Confirms every save at once."""

    def __init__(self, saved: SavedState = SavedState()) -> None:
        self.forwarding: dict[tuple[str, str], ForwardingRecord] = {
            (r.station, r.forwarding_type): r for r in saved.forwarding}
        self.dnd: dict[str, DndRecord] = {r.station: r for r in saved.dnd}
        self.registrations: dict[str, tuple[RegistrationRecord, ...]] = {}
        for record in saved.registrations:
            self.registrations[record.sip_user] = self.registrations.get(record.sip_user, ()) + (record,)

    def load(self, now: float) -> SavedState:
        return SavedState(
            forwarding=tuple(self.forwarding.values()),
            dnd=tuple(self.dnd.values()),
            registrations=tuple(r for records in self.registrations.values() for r in records if r.expires_at > now),
        )

    def save_forwarding(self, record: ForwardingRecord, done: Done | None = None) -> None:
        self.forwarding[(record.station, record.forwarding_type)] = record
        if done is not None:
            done(None)

    def save_dnd(self, record: DndRecord, done: Done | None = None) -> None:
        self.dnd[record.station] = record
        if done is not None:
            done(None)

    def save_registrations(self, sip_user: str, records: tuple[RegistrationRecord, ...],
                           done: Done | None = None) -> None:
        if records:
            self.registrations[sip_user] = tuple(records)
        else:
            self.registrations.pop(sip_user, None)
        if done is not None:
            done(None)

    def close(self) -> None:
        pass

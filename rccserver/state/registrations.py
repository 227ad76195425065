"""The SIP stations' registrations across a restart: the registrar's bindings, saved.

After every binding change of an address of record (added, refreshed, removed,
expired) its whole set of bindings is saved, replacing the saved one. Nobody waits
for that write: a REGISTER's 200 goes out at once. A registration is soft state by
design (RFC 3261 section 10: the phone refreshes it and registers again whenever its
registrar has forgotten it), so a binding lost to a crash in the few milliseconds
before its write is back at the phone's next refresh, while waiting would put a disk
write into every phone's refresh.

At start the registrar is seeded with the saved bindings that have not expired, so a
phone stays reachable without registering again. The registrar's clock may be any
clock; records hold wall-clock times, converted with the two clocks given.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from rccserver.sip.errors import SipParseError
from rccserver.sip.uri import SipUri, parse_uri
from rccserver.state.records import RegistrationRecord
from rccserver.state.store import StateStore
from rccserver.stations.binding import Binding
from rccserver.stations.registrar_events import BindingAdded, BindingExpired, BindingRefreshed, BindingRemoved

_CHANGES = (BindingAdded, BindingRefreshed, BindingRemoved, BindingExpired)


class RegistrationPersistence:
    """An observer of the stations line's events (see server/station_observers.py)."""

    def __init__(self, store: StateStore, *, clock: Callable[[], float], wall_clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock  # the registrar's `now`
        self.wall_clock = wall_clock  # epoch seconds, what the records hold
        self.registrar: Any = None  # rccserver.stations.registrar.Registrar, once attached
        self._saved: dict[str, tuple[RegistrationRecord, ...]] = {}

    def attach(self, registrar) -> None:
        self.registrar = registrar

    def __call__(self, event: Any) -> None:
        if isinstance(event, _CHANGES) and self.registrar is not None:
            self.save(event.sip_user, event.extension)

    def save(self, sip_user: str, extension: str) -> None:
        """Save the AOR's bindings as the registrar has them now (skipped when unchanged:
        the events of one REGISTER that binds several contacts share one write)."""
        shift = self.wall_clock() - self.clock()
        records = tuple(_record(binding, extension, shift) for binding in self.registrar.bindings(sip_user))
        if self._saved.get(sip_user, ()) == records:
            return
        self._saved[sip_user] = records
        self.store.save_registrations(sip_user, records)

    def restore(self, records: Iterable[RegistrationRecord]) -> tuple[int, int]:
        """Seed the registrar with saved bindings; (restored, left out: expired, unreadable,
        or of a station that is no SIP station now)."""
        records = tuple(records)
        now = self.clock()
        shift = self.wall_clock() - now
        restored = left_out = 0
        for record in records:
            binding = _binding(record, shift)
            if binding is not None and self.registrar.restore_binding(binding, now):
                restored += 1
            else:
                left_out += 1
        extensions = {record.sip_user: record.extension for record in records}
        for sip_user, extension in extensions.items():
            # What the store holds for the AOR from now on, as `save` would write it.
            self._saved[sip_user] = tuple(_record(b, extension, shift) for b in self.registrar.bindings(sip_user))
        return restored, left_out


    def adopt(self, sip_user: str, records: Iterable[RegistrationRecord]) -> None:
        """Another server of the pool saved the AOR's bindings: this registrar takes them as
        they are (a call arriving here then reaches a phone that registered there)."""
        if self.registrar is None:
            return
        records = tuple(records)
        now = self.clock()
        shift = self.wall_clock() - now
        bindings = [b for b in (_binding(record, shift) for record in records) if b is not None]
        self.registrar.adopt_bindings(sip_user, bindings, now)
        self._saved[sip_user] = records  # what the store holds now: no write back


def _record(binding: Binding, extension: str, shift: float) -> RegistrationRecord:
    return RegistrationRecord(
        sip_user=binding.sip_user, extension=extension, contact=str(binding.contact),
        contact_params=tuple(binding.contact_params), call_id=binding.call_id, cseq=binding.cseq,
        transport=binding.transport, source_host=binding.source[0], source_port=binding.source[1],
        user_agent=binding.user_agent, registered_at=binding.registered_at + shift,
        updated_at=binding.updated_at + shift, expires_at=binding.expires_at + shift)


def _binding(record: RegistrationRecord, shift: float) -> Binding | None:
    try:
        contact = parse_uri(record.contact)
    except SipParseError:
        return None
    if not isinstance(contact, SipUri):
        return None
    return Binding(
        sip_user=record.sip_user, contact=contact, contact_params=tuple(record.contact_params),
        call_id=record.call_id, cseq=record.cseq, transport=record.transport,
        source=(record.source_host, record.source_port), user_agent=record.user_agent,
        registered_at=record.registered_at - shift, updated_at=record.updated_at - shift,
        expires_at=record.expires_at - shift)

"""Forwarding and do-not-disturb of the switch's stations, durable before they count.

A change asked for by a client (rcc/services.py) is checked by the switch first
(`Switch.forwarding_setting`: a bad request is refused at once and nothing is
saved), then saved; only once the store confirmed the write is it applied to the
switch, and then `reply(None)` runs, which sends the CSTA response. The switch's
Forwarding / DoNotDisturb event therefore follows the response, as it did before
there was a store. A store failure replies with the StoreError and leaves the
switch as it was: the client is never told of a setting a restart would lose.

Changes that reach the switch by any other path are seen through `switch_changed`
(the embedded switch's change observer) and saved without anyone waiting.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from rccserver.state.records import DndRecord, ForwardingRecord, SavedState
from rccserver.state.store import StateStore
from rccserver.switch import SwitchError
from rccserver.switch.events import DoNotDisturb, Forwarding
from rccserver.switch.model import ForwardingSetting, ForwardingType

Reply = Callable[[Optional[Exception]], None]  # None: done; else the StoreError or SwitchError


def forwarding_record(station: str, setting: ForwardingSetting) -> ForwardingRecord:
    return ForwardingRecord(station, setting.type.value, setting.active, setting.destination, setting.ring_count)


class StationSettings:
    def __init__(self, switch, store: StateStore) -> None:
        self.switch = switch
        self.store = store
        # The last record sent to the store per key, ("forwarding", station, type) or
        # ("dnd", station): what the store holds once the writes under way are done.
        self._sent: dict[tuple[str, ...], object] = {}
        self._applying = False  # our own change is being applied: switch_changed ignores it

    # -- start ------------------------------------------------------------------------
    def restore(self, saved: SavedState) -> tuple[str, ...]:
        """At start, before any session: apply the saved settings to the switch's stations.

        Returns the stations with saved settings that the switch does not have (left in
        the file, and applied if the station appears: `restore_station`). Restoring is
        no change anyone is told of: the switch's events of it are dropped."""
        for record in saved.forwarding:
            self._sent[_forwarding_key(record)] = record
        for dnd in saved.dnd:
            self._sent[_dnd_key(dnd.station)] = dnd
        present = set(self.switch.stations())
        for station in sorted(saved.stations() & present):
            self._apply_saved(station)
        self.switch.take_events()
        return tuple(sorted(saved.stations() - present))

    def restore_station(self, station: str) -> None:
        """A station just joined the switch (a remote-number logon): what was saved for it applies."""
        self._apply_saved(station)

    def _apply_saved(self, station: str) -> None:
        self._applying = True
        try:
            for key, record in list(self._sent.items()):
                if key[0] == "forwarding" and key[1] == station and record.active:
                    try:
                        self.switch.set_forwarding(station, record.forwarding_type, True, record.destination,
                                                   ring_count=record.ring_count, dialled=False)
                    except SwitchError:
                        pass  # no longer a valid setting (e.g. forwarded to itself): it stays off
            dnd = self._sent.get(_dnd_key(station))
            if dnd is not None and dnd.on:
                self.switch.set_dnd(station, True)
        finally:
            self._applying = False

    # -- changes a client waits for ------------------------------------------------------------
    def set_forwarding(self, station: str, forwarding_type: ForwardingType | str, active: bool,
                       destination: str | None, ring_count: int | None, reply: Reply) -> None:
        """Raises SwitchError for a setting the switch refuses (nothing saved); otherwise
        saves it, applies it once saved and calls `reply` (now or later)."""
        setting = self.switch.forwarding_setting(station, forwarding_type, active, destination, ring_count)
        record = forwarding_record(station, setting)

        def apply() -> None:
            # As the switch answered it: the dial plan is not applied twice.
            self.switch.set_forwarding(station, setting.type, setting.active, setting.destination,
                                       ring_count=setting.ring_count, dialled=False)

        self._save_then_apply(_forwarding_key(record), record, self.store.save_forwarding, apply, reply)

    def set_dnd(self, station: str, on: bool, reply: Reply) -> None:
        """Raises SwitchError for an unknown station; otherwise as set_forwarding."""
        self.switch.get_dnd(station)  # the switch's own check that it has the station
        record = DndRecord(station, bool(on))
        self._save_then_apply(_dnd_key(station), record, self.store.save_dnd,
                              lambda: self.switch.set_dnd(station, record.on), reply)

    def _save_then_apply(self, key, record, save, apply: Callable[[], None], reply: Reply) -> None:
        before = self._sent.get(key)
        self._sent[key] = record

        def saved(error) -> None:
            if error is not None:
                if self._sent.get(key) is record:
                    self._restore_sent(key, before)  # nothing newer was sent: the store still holds `before`
                reply(error)
                return
            if self._sent.get(key) != record:
                # Another path changed the setting while we waited, and the store now holds
                # its value; ours is applied last, so it is what the store must hold too.
                self._sent[key] = record
                save(record)
            self._applying = True
            try:
                apply()
            except SwitchError as gone:  # the station left the switch while the write was under way
                reply(gone)
                return
            finally:
                self._applying = False
            reply(None)

        save(record, saved)

    def _restore_sent(self, key, before) -> None:
        if before is None:
            self._sent.pop(key, None)
        else:
            self._sent[key] = before

    # -- changes made through another server of the pool ----------------------------------------
    def pool_changed(self, record: ForwardingRecord | DndRecord) -> None:
        """Another server of the pool saved this setting (the store told us): apply it to our
        switch too, without saving it again; the monitors here get the switch's event."""
        key = _forwarding_key(record) if isinstance(record, ForwardingRecord) else _dnd_key(record.station)
        if self._sent.get(key) == record:
            return
        self._sent[key] = record
        if not self.switch.has_station(record.station):
            return  # kept, and applied if the station joins (restore_station)
        self._applying = True
        try:
            if isinstance(record, ForwardingRecord):
                self.switch.set_forwarding(record.station, record.forwarding_type, record.active, record.destination,
                                           ring_count=record.ring_count, dialled=False)
            else:
                self.switch.set_dnd(record.station, record.on)
        except SwitchError:
            pass  # not a valid setting on this server's switch: it stays as it is
        finally:
            self._applying = False

    # -- changes nobody waits for --------------------------------------------------------------
    def switch_changed(self, events: Iterable[object]) -> None:
        """The switch's change observer: save what changed without going through us."""
        if self._applying:
            return
        for event in events:
            if isinstance(event, Forwarding):
                record = ForwardingRecord(event.station, ForwardingType(event.forwarding_type).value,
                                          event.forward_status, event.forward_to, event.ring_count)
                if self._sent.get(_forwarding_key(record)) != record:
                    self._sent[_forwarding_key(record)] = record
                    self.store.save_forwarding(record)
            elif isinstance(event, DoNotDisturb):
                dnd = DndRecord(event.station, event.do_not_disturb_on)
                if self._sent.get(_dnd_key(dnd.station), DndRecord(dnd.station, False)) != dnd:
                    self._sent[_dnd_key(dnd.station)] = dnd
                    self.store.save_dnd(dnd)


def _forwarding_key(record: ForwardingRecord) -> tuple[str, ...]:
    return ("forwarding", record.station, record.forwarding_type)


def _dnd_key(station: str) -> tuple[str, ...]:
    return ("dnd", station)

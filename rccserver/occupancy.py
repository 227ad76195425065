"""Who holds which station, and how (an RCC dialog or a CIC client logon).

One user may hold a station through several holders (two Lync endpoints, a
desk client); another user may not. The station is free once its user's last
holder is released.
"""
from __future__ import annotations

import attrs


@attrs.frozen
class Holder:
    holder: str  # an RCC session id, or "client:<extension>"
    user: str | None
    kind: str  # "rcc" or "client"
    station: str


@attrs.frozen
class Claim:
    ok: bool
    other_user: str | None = None


class OccupancyRegistry:
    def __init__(self) -> None:
        self._holders: dict[str, Holder] = {}
        self._by_station: dict[str, dict[str, Holder]] = {}

    def acquire(self, station: str, user: str | None, holder: str, kind: str) -> Claim:
        current = self.occupant(station)
        holders = self._by_station.get(station)
        if holders and current != user:
            return Claim(False, current)
        if holder in self._holders:
            self.release(holder)
        entry = Holder(holder, user, kind, station)
        self._holders[holder] = entry
        self._by_station.setdefault(station, {})[holder] = entry
        return Claim(True)

    def release(self, holder: str) -> bool:
        entry = self._holders.pop(holder, None)
        if entry is None:
            return False
        holders = self._by_station[entry.station]
        del holders[holder]
        if not holders:
            del self._by_station[entry.station]
        return True

    def occupant(self, station: str) -> str | None:
        holders = self._by_station.get(station)
        if not holders:
            return None
        return next(iter(holders.values())).user

    def holders(self, station: str) -> list[Holder]:
        return list(self._by_station.get(station, {}).values())

    def stations_of(self, user: str) -> set[str]:
        return {h.station for h in self._holders.values() if h.user == user}

    def __len__(self) -> int:
        return len(self._holders)

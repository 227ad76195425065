"""Who holds which station, and how (an RCC dialog or a CIC client logon).

A station is held by one CIC user through one or more holders: two Lync
endpoints of that user (one RCC dialog each), a desk client logon. Another
user's claim is a Conflict. The station is free again once its user's last
holder is released. Invariants (tested with a stateful property test):
every holder holds exactly one station, and all holders of a station belong
to one user.
"""
from __future__ import annotations

from typing import Iterator

import attrs

RCC = "rcc"  # a Lync RCC dialog; holder = the session id
CLIENT = "client"  # a CIC client logon; holder = e.g. "client:<extension>"
KINDS = (RCC, CLIENT)


@attrs.frozen
class Occupancy:
    """One holder's hold on a station (what acquire grants)."""

    holder: str
    user: str
    kind: str
    station: str

    @property
    def ok(self) -> bool:
        return True


@attrs.frozen
class Conflict:
    """acquire refused: the station is held by another user."""

    station: str
    other_user: str

    @property
    def ok(self) -> bool:
        return False


Holder = Occupancy  # the name the status page code uses for a held row


class OccupancyRegistry:
    def __init__(self) -> None:
        self._by_holder: dict[str, Occupancy] = {}
        self._by_station: dict[str, dict[str, Occupancy]] = {}  # station -> holder -> hold, insertion ordered

    def acquire(self, station: str, user_id: str, holder: str, kind: str) -> Occupancy | Conflict:
        """Grant `holder` (acting for `user_id`) a hold on `station`.

        A holder holds one station at a time: acquiring another station moves
        it (its old hold is released only when the new one is granted). A
        station held by another user is a Conflict, even if this holder is
        the one holding it (a client logon does not silently change user).
        """
        if kind not in KINDS:
            raise ValueError(f"occupancy kind must be one of {KINDS} (got {kind!r})")
        if not user_id:
            raise ValueError("a station is occupied by a CIC user: user_id must not be empty")
        current = self.occupant(station)
        if current is not None and current != user_id:
            return Conflict(station, current)
        self.release(holder)
        granted = Occupancy(holder, user_id, kind, station)
        self._by_holder[holder] = granted
        self._by_station.setdefault(station, {})[holder] = granted
        return granted

    def release(self, holder: str) -> bool:
        """Drop a holder's hold; False if it held nothing."""
        granted = self._by_holder.pop(holder, None)
        if granted is None:
            return False
        holders = self._by_station[granted.station]
        del holders[holder]
        if not holders:
            del self._by_station[granted.station]
        return True

    def occupant(self, station: str) -> str | None:
        """The CIC user holding the station, or None when it is free."""
        holders = self._by_station.get(station)
        return next(iter(holders.values())).user if holders else None

    def holders(self, station: str) -> list[Occupancy]:
        return list(self._by_station.get(station, {}).values())

    def held_by(self, holder: str) -> Occupancy | None:
        return self._by_holder.get(holder)

    def stations_of(self, user_id: str) -> set[str]:
        return {h.station for h in self._by_holder.values() if h.user == user_id}

    def snapshot(self) -> list[dict]:
        """Per occupied station, for the status page: station, user, and its holders with their kind."""
        return [
            {
                "station": station,
                "user": next(iter(holders.values())).user,
                "holders": [{"holder": h.holder, "kind": h.kind} for h in holders.values()],
            }
            for station, holders in sorted(self._by_station.items())
        ]

    def __iter__(self) -> Iterator[Occupancy]:
        return iter(list(self._by_holder.values()))

    def __len__(self) -> int:
        return len(self._by_holder)

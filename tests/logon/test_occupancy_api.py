"""OccupancyRegistry's API beyond the invariants: result types, kinds, snapshot for the status page."""
from __future__ import annotations

import pytest

from rccserver.rcc.occupancy import Conflict, Occupancy, OccupancyRegistry


def test_acquire_returns_the_hold_or_a_conflict():
    registry = OccupancyRegistry()
    granted = registry.acquire("1001", "alice", "d1", "rcc")
    assert granted == Occupancy(holder="d1", user="alice", kind="rcc", station="1001") and granted.ok
    refused = registry.acquire("1001", "bob", "d2", "rcc")
    assert refused == Conflict(station="1001", other_user="alice") and not refused.ok
    assert registry.held_by("d1") == granted and registry.held_by("d2") is None


def test_a_holder_cannot_change_user_on_a_station_it_holds():
    registry = OccupancyRegistry()
    assert registry.acquire("1001", "alice", "client:1001", "client").ok
    assert registry.acquire("1001", "bob", "client:1001", "client") == Conflict("1001", "alice")
    assert registry.occupant("1001") == "alice"


@pytest.mark.parametrize("kind, user", [("desk", "alice"), ("rcc", ""), ("rcc", None)])
def test_bad_arguments(kind, user):
    with pytest.raises(ValueError):
        OccupancyRegistry().acquire("1001", user, "d1", kind)


def test_snapshot_lists_occupied_stations_with_their_holders():
    registry = OccupancyRegistry()
    registry.acquire("1002", "bob", "d9", "rcc")
    registry.acquire("1001", "alice", "client:1001", "client")
    registry.acquire("1001", "alice", "d1", "rcc")
    registry.acquire("1003", "carol", "d3", "rcc")
    registry.release("d3")
    assert registry.snapshot() == [
        {"station": "1001", "user": "alice",
         "holders": [{"holder": "client:1001", "kind": "client"}, {"holder": "d1", "kind": "rcc"}]},
        {"station": "1002", "user": "bob", "holders": [{"holder": "d9", "kind": "rcc"}]},
    ]
    assert sorted(h.holder for h in registry) == ["client:1001", "d1", "d9"]
    assert registry.stations_of("alice") == {"1001"} and registry.stations_of("carol") == set()

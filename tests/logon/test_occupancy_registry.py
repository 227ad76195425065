"""Station occupancy: one user per station, any number of that user's holders, free after the last release."""
from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rccserver.rcc.occupancy import OccupancyRegistry

STATIONS = ["1001", "1002", "1003"]
USERS = ["alice", "bob", "carol"]
HOLDERS = ["s1", "s2", "s3", "s4", "client:1001", "client:1002"]


def test_same_user_twice_then_free_after_both_release():
    registry = OccupancyRegistry()
    assert registry.acquire("1001", "alice", "dialog-1", "rcc").ok
    assert registry.acquire("1001", "alice", "dialog-2", "rcc").ok
    assert registry.occupant("1001") == "alice"
    refused = registry.acquire("1001", "bob", "dialog-3", "rcc")
    assert not refused.ok and refused.other_user == "alice"
    assert registry.release("dialog-1")
    assert registry.occupant("1001") == "alice"  # dialog-2 still holds it
    assert registry.release("dialog-2")
    assert registry.occupant("1001") is None
    assert registry.acquire("1001", "bob", "dialog-3", "rcc").ok


def test_release_of_an_unknown_holder():
    registry = OccupancyRegistry()
    assert registry.release("nobody") is False
    assert len(registry) == 0


def test_a_client_logon_and_an_rcc_dialog_of_the_same_user():
    registry = OccupancyRegistry()
    assert registry.acquire("1001", "alice", "client:1001", "client").ok
    assert registry.acquire("1001", "alice", "dialog-1", "rcc").ok
    assert sorted((h.holder, h.kind) for h in registry.holders("1001")) == [("client:1001", "client"),
                                                                            ("dialog-1", "rcc")]
    assert registry.stations_of("alice") == {"1001"}


def test_a_holder_moving_to_another_station_frees_the_first():
    registry = OccupancyRegistry()
    assert registry.acquire("1001", "alice", "h", "rcc").ok
    assert registry.acquire("1002", "alice", "h", "rcc").ok
    assert registry.occupant("1001") is None and registry.occupant("1002") == "alice"
    assert len(registry) == 1


def test_a_refused_move_keeps_the_old_hold():
    registry = OccupancyRegistry()
    assert registry.acquire("1001", "alice", "h", "rcc").ok
    assert registry.acquire("1002", "bob", "b", "rcc").ok
    assert not registry.acquire("1002", "alice", "h", "rcc").ok
    assert registry.occupant("1001") == "alice"


class OccupancyMachine(RuleBasedStateMachine):
    """The registry against a plain model: holder -> (station, user)."""

    def __init__(self) -> None:
        super().__init__()
        self.registry = OccupancyRegistry()
        self.model: dict[str, tuple[str, str]] = {}

    def model_occupant(self, station: str) -> str | None:
        users = {user for held, user in self.model.values() if held == station}
        assert len(users) <= 1
        return next(iter(users), None)

    @rule(station=st.sampled_from(STATIONS), user=st.sampled_from(USERS), holder=st.sampled_from(HOLDERS),
          kind=st.sampled_from(["rcc", "client"]))
    def acquire(self, station, user, holder, kind):
        occupant = self.model_occupant(station)
        result = self.registry.acquire(station, user, holder, kind)
        if occupant is not None and occupant != user:
            assert not result.ok and result.other_user == occupant
        else:
            assert result.ok
            self.model[holder] = (station, user)

    @rule(holder=st.sampled_from(HOLDERS))
    def release(self, holder):
        assert self.registry.release(holder) == (holder in self.model)
        self.model.pop(holder, None)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def release_every_holder_of_a_station(self, data):
        station = data.draw(st.sampled_from(sorted({held for held, _ in self.model.values()})))
        for holder in [h for h, (held, _) in self.model.items() if held == station]:
            assert self.registry.occupant(station) is not None
            assert self.registry.release(holder)
            del self.model[holder]
        assert self.registry.occupant(station) is None
        assert self.registry.holders(station) == []

    @invariant()
    def one_user_per_station(self):
        for station in STATIONS:
            users = {h.user for h in self.registry.holders(station)}
            assert len(users) <= 1, f"station {station} held by {users}"
            assert self.registry.occupant(station) == self.model_occupant(station)
            assert sorted(h.holder for h in self.registry.holders(station)) == sorted(
                holder for holder, (held, _) in self.model.items() if held == station)

    @invariant()
    def counts_and_users(self):
        assert len(self.registry) == len(self.model)
        for user in USERS:
            assert self.registry.stations_of(user) == {held for held, u in self.model.values() if u == user}


OccupancyMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
test_occupancy_state_machine = OccupancyMachine.TestCase

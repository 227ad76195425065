"""A reload's work after the rebuild, spread over reactor turns: the station comparison worked
out before the swap gives the switch the same stations as the whole comparison at the swap;
the data replaced is freed in turns without touching what anyone else still holds."""
from __future__ import annotations

import attrs
from hypothesis import given, settings, strategies as st

from rccserver.common.clock import Scheduler
from rccserver.server.runtime import Runtime
from rccserver.server.turns import RELEASE_SLICE, release_in_turns, run_in_turns
from rccserver.switch import EmbeddedSwitch


class Clock:
    """A reactor whose turns the test runs one at a time."""

    def __init__(self) -> None:
        self.calls = []

    def callLater(self, delay, function, *args):
        assert delay == 0
        self.calls.append((function, args))

    def advance(self, _delay) -> None:
        function, args = self.calls.pop(0)
        function(*args)


def run_all(clock: Clock, deferred) -> list:
    results = []
    deferred.addBoth(results.append)
    for _ in range(10_000):
        if results:
            break
        clock.advance(0)
    assert results, "the work never finished"
    return results


# -- run_in_turns ----------------------------------------------------------------------
def test_each_step_is_a_turn_of_its_own_and_the_return_value_fires():
    clock = Clock()
    seen = []

    def steps():
        for n in range(3):
            seen.append(n)
            yield
        return "done"

    deferred = run_in_turns(clock, steps())
    assert seen == [0]  # the first step runs at once, the next waits for a turn
    clock.advance(0)
    assert seen == [0, 1]
    assert run_all(clock, deferred) == ["done"] and seen == [0, 1, 2]


def test_a_step_that_raises_fails_the_deferred():
    clock = Clock()

    def steps():
        yield
        raise ValueError("bad step")

    [failure] = run_all(clock, run_in_turns(clock, steps()))
    assert failure.check(ValueError)


# -- release_in_turns --------------------------------------------------------------------
class Data:
    def __init__(self, size: int) -> None:
        self.by_key = {f"k{i}": [i] for i in range(size)}
        self.items = tuple(self.by_key.values())
        self.names = [f"n{i}" for i in range(size)]
        self.small = {"a": 1}


def test_the_big_containers_of_data_nobody_holds_are_emptied_over_several_turns():
    clock = Clock()
    data = Data(5 * RELEASE_SLICE)
    by_key, names = data.by_key, data.names  # kept only to watch them empty
    retired = [data]
    del data
    deferred = release_in_turns(clock, retired)
    assert retired == []
    turns = 0
    while not deferred.called:
        clock.advance(0)
        turns += 1
    assert turns > 5  # not in one turn
    # Both were shared with this test: left whole. Nothing else was.
    assert len(by_key) == len(names) == 5 * RELEASE_SLICE


def test_containers_are_emptied_when_only_the_retired_object_held_them(monkeypatch):
    from rccserver.server import turns as module

    clock = Clock()
    data = Data(3 * RELEASE_SLICE)
    taken = []
    original = module._containers

    def spy(value):
        found = original(value)
        taken.extend(len(container) for container in found)
        return found

    monkeypatch.setattr(module, "_containers", spy)
    retired = [data]
    del data
    run_all(clock, release_in_turns(clock, retired))
    assert sorted(taken) == [3 * RELEASE_SLICE] * 3  # by_key, items, names; not the small dict


def test_data_someone_else_still_holds_is_left_whole():
    clock = Clock()
    data = Data(3 * RELEASE_SLICE)
    retired = [data]
    run_all(clock, release_in_turns(clock, retired))
    assert len(data.by_key) == len(data.items) == len(data.names) == 3 * RELEASE_SLICE
    assert data.by_key["k7"] == [7] and data.items[7] == [7]


# -- the station comparison ---------------------------------------------------------------
@attrs.frozen
class Station:
    extension: str


@attrs.frozen
class Cic:
    stations: tuple


@attrs.frozen
class Session:
    device: str


class Settings:
    def __init__(self) -> None:
        self.restored: list[str] = []

    def restore_station(self, extension: str) -> None:
        self.restored.append(extension)


def runtime_with(present: list[str], sessions: list[str], busy: list[str]) -> Runtime:
    runtime = Runtime.__new__(Runtime)
    runtime.switch = EmbeddedSwitch(present, scheduler=Scheduler(clock=lambda: 0.0))
    for extension in busy:
        runtime.switch.make_call(extension, "555")
    runtime.settings = Settings()
    runtime.app = attrs.make_class("App", ["sessions"])([Session(device) for device in sessions])
    return runtime


def prepared(runtime: Runtime, cic: Cic):
    steps = runtime._station_changes(cic)
    turns = 0
    while True:
        try:
            next(steps)
            turns += 1
        except StopIteration as finished:
            return finished.value, turns


extensions = st.lists(st.sampled_from([str(n) for n in range(1000, 1030)]), max_size=20, unique=True)


@settings(max_examples=80, deadline=None)
@given(present=extensions, wanted=extensions, in_use=extensions, busy=extensions,
       added_meanwhile=st.lists(st.sampled_from(["1040", "1041"]), max_size=2, unique=True))
def test_changes_worked_out_before_the_swap_match_the_whole_comparison(present, wanted, in_use, busy,
                                                                     added_meanwhile):
    busy = [extension for extension in busy if extension in present]
    cic = Cic(tuple(Station(extension) for extension in wanted))
    sliced, whole = runtime_with(present, in_use, busy), runtime_with(present, in_use, busy)
    changes, _ = prepared(sliced, cic)
    for runtime in (sliced, whole):  # a remote-number logon between the comparison and the swap
        for extension in added_meanwhile:
            runtime.switch.add_station(extension)
    sliced._apply_station_changes(cic, changes)
    whole._sync_stations(cic)
    assert sorted(sliced.switch.stations()) == sorted(whole.switch.stations())
    assert sorted(sliced.settings.restored) == sorted(whole.settings.restored)


def test_the_comparison_of_many_stations_takes_many_turns():
    present = [str(n) for n in range(10_000, 30_000)]
    runtime = runtime_with(present, [], [])
    cic = Cic(tuple(Station(str(n)) for n in range(15_000, 35_000)))
    changes, turns = prepared(runtime, cic)
    assert turns >= 8
    assert changes.joining == tuple(str(n) for n in range(30_000, 35_000))
    assert changes.leaving == tuple(str(n) for n in range(10_000, 15_000))
    runtime._apply_station_changes(cic, changes)
    assert sorted(runtime.switch.stations()) == sorted(str(n) for n in range(15_000, 35_000))


def test_no_prepared_changes_means_the_whole_comparison():
    runtime = runtime_with(["1001", "1002"], [], [])
    runtime._apply_station_changes(Cic((Station("1002"), Station("1003"))), None)
    assert sorted(runtime.switch.stations()) == ["1002", "1003"]


"""collector.paused: the collector is off inside, and back exactly as it was after."""
from __future__ import annotations

import gc

import pytest

from rccserver.common import collector


@pytest.fixture
def collector_state():
    was = gc.isenabled()
    yield
    gc.enable() if was else gc.disable()


@pytest.mark.parametrize("enabled_before", [True, False])
def test_off_inside_and_restored_after(collector_state, enabled_before):
    gc.enable() if enabled_before else gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled_before


def test_nested_pauses_restore_only_at_the_outer_end(collector_state):
    gc.enable()
    with collector.paused():
        with collector.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_when_the_load_fails(collector_state):
    gc.enable()
    with pytest.raises(OSError):
        with collector.paused():
            raise OSError("no such file")
    assert gc.isenabled()


def test_no_automatic_pass_runs_inside(collector_state):
    gc.enable()
    passes = []

    def count(phase, info):
        if phase == "start":
            passes.append(info["generation"])

    gc.callbacks.append(count)
    try:
        with collector.paused():
            passes.clear()  # one may have run between registering and pausing
            kept = [[index] for index in range(50_000)]  # far past the first generation's threshold
            inside = list(passes)  # read here: the first allocation after the block may run one
        assert inside == []
    finally:
        gc.callbacks.remove(count)
    assert len(kept) == 50_000

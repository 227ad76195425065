import pytest

from rccserver.switch import EmbeddedSwitch, SwitchOptions
from switch_helpers import A, B, C, ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_switch(clock):
    def make(stations=(A, B, C), **options) -> EmbeddedSwitch:
        return EmbeddedSwitch(stations, options=SwitchOptions(**options), scheduler=clock.scheduler)

    return make


@pytest.fixture
def switch(make_switch) -> EmbeddedSwitch:
    return make_switch()

"""The switch builds call events only for monitored stations; Lync is told exactly as before.

EventMapper tells the switch its interest (stations with a monitoring session); each run
is compared against the same one with the interest forced off (every event built)."""
from __future__ import annotations

import pytest

from rccserver import csta
from tests.rcc.rcc_harness import ED3, Core, Lync, server_requests

OUTSIDE = "tel:+13175552020"


def _make_call(alice: Lync, destination: str) -> str:
    started = alice.csta(f'<MakeCall xmlns="{ED3}"><callingDevice>{alice.line}</callingDevice>'
                         f"<calledDirectoryNumber>{destination}</calledDirectoryNumber></MakeCall>")
    return started.calling_device.call_id


def _clear(alice: Lync, call_id: str) -> None:
    alice.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared><callID>{call_id}</callID>'
               f"<deviceID>{alice.line}</deviceID></connectionToBeCleared></ClearConnection>")


def _run(*, monitor: bool, forced: bool, built: list) -> tuple[list, int]:
    """The CSTA events Lync was told, and how many switch events were built meanwhile."""
    before = len(built)
    core = Core()
    if forced:
        core.switch.set_outbox_interest(None)  # the old way: every call event built
    alice = Lync(core)
    alice.sign_in()
    if monitor:
        alice.monitor()
    for _ in range(2):
        call_id = _make_call(alice, OUTSIDE)
        core.switch.external_answer(call_id)
        core.app.events.flush()
        _clear(alice, call_id)
    # a call from outside to the station, cleared from outside
    ring = core.switch.place_call("+13175553030", "1001").call_id
    core.app.events.flush()
    core.switch.external_hangup(ring)
    core.app.events.flush()
    events = [csta.decode(r.body) for r in server_requests(core.sent, "INFO") if r.body]
    events = [e for e in events if not isinstance(e, csta.RequestSystemStatus)]
    return events, len(built) - before


@pytest.mark.parametrize("monitor", [True, False])
def test_lync_is_told_the_same_with_and_without_the_interest(monitor, built_switch_events):
    told, built = _run(monitor=monitor, forced=False, built=built_switch_events)
    told_forced, built_forced = _run(monitor=monitor, forced=True, built=built_switch_events)
    assert told == told_forced
    assert built_forced > 0
    if monitor:
        assert len(told) > 8 and built == built_forced
    else:
        assert told == [] and built == 0  # nobody monitors: no call event was built


def test_monitored_follows_the_sessions_monitors():
    core = Core()
    alice = Lync(core)
    assert not core.app.events.monitored("1001")
    alice.sign_in()
    assert not core.app.events.monitored("1001")  # signed in, no MonitorStart yet
    xref = alice.monitor()
    assert core.app.events.monitored("1001") and not core.app.events.monitored("1002")
    alice.csta(f'<MonitorStop xmlns="{ED3}"><monitorCrossRefID>{xref}</monitorCrossRefID></MonitorStop>')
    assert not core.app.events.monitored("1001")

"""Shared helpers for the switch tests: station names, a hand-driven clock, event summaries."""
from __future__ import annotations

from rccserver.common.clock import Scheduler

A, B, C = "1001", "1002", "1003"
X = "+13175552020"  # external parties
Y = "+13175553030"


class ManualClock:
    """A hand-moved clock with the scheduler the switch keeps its timers in."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.scheduler = Scheduler(self)

    def __call__(self) -> float:
        return self.now

    def advance_to(self, when: float) -> None:
        """Fire every timer due by `when` (each at its own deadline), then stand at `when`."""
        self.scheduler.tick(when)
        self.now = max(self.now, when)


def summarize(event) -> tuple:
    """(station, kind, call id, connection device, localConnectionInfo, cause) of a call event."""
    return (
        event.station,
        event.kind.value,
        event.connection.call_id,
        event.connection.device,
        event.local_connection_info.value,
        event.cause.value,
    )


def for_station(events, station: str) -> list[tuple]:
    """The call events one station was told, without the station column."""
    return [summarize(e)[1:] for e in events if e.station == station]


def kinds(events, station: str) -> list[str]:
    return [e.kind.value for e in events if e.station == station]

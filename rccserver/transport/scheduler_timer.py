"""The one reactor timer of the server's one Scheduler.

The RCC line's endpoint, the RCC keep-alives, the switch and the stations line
all keep their timers in `Runtime.scheduler`; a single reactor timer stands for
its earliest deadline. Each endpoint driver re-arms it after carrying out its
endpoint's output, and after every tick every driver flushes, because a timer
of one component (the switch's ringing) may produce output on any endpoint
(a phone's INVITE, a CSTA event to Lync).
"""
from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from rccserver.common.clock import Scheduler


class SchedulerTimer:
    def __init__(self, reactor: IReactorTime, scheduler: Scheduler) -> None:
        self.reactor = reactor
        self.scheduler = scheduler
        self._flushes: list[Callable[[], None]] = []
        self._timer: IDelayedCall | None = None
        self._timer_at: float | None = None

    def add_flush(self, flush: Callable[[], None]) -> None:
        """Call `flush` after every tick (a driver carrying out its endpoint's output)."""
        self._flushes.append(flush)

    def arm(self) -> None:
        """Point the reactor timer at the scheduler's earliest deadline (cheap when unchanged)."""
        deadline = self.scheduler.next_deadline()
        if deadline == self._timer_at:
            return
        self.cancel()
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self.reactor.callLater(max(0.0, deadline - self.reactor.seconds()), self._fire)

    def cancel(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        self.scheduler.tick(self.reactor.seconds())
        for flush in list(self._flushes):
            flush()
        self.arm()

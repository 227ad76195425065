"""The one reactor timer of the server's one Scheduler, and the one flush of every line.

The RCC line's endpoint, the RCC keep-alives, the switch and the stations line
all keep their timers in `Runtime.scheduler`; a single reactor timer stands for
its earliest deadline.

One line's input or timer may give output on the other: a MakeCall INFO from
Lync makes an INVITE to a phone, a phone hanging up makes CSTA events for Lync.
So every flush, after any input on either line and after every tick, carries
out everything pending, in the order the flushes were added (the RCC
application's switch events first, then each driver's output), and re-arms.
"""
from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from rccserver.common.clock import Scheduler


class SchedulerTimer:
    def __init__(self, reactor: IReactorTime, scheduler: Scheduler) -> None:
        self.reactor = reactor
        self.scheduler = scheduler
        self._flushes: tuple[Callable[[], None], ...] = ()
        self._timer: IDelayedCall | None = None
        self._timer_at: float | None = None

    def add_flush(self, flush: Callable[[], None]) -> None:
        """Call `flush` (carry out what is pending: a driver's endpoint output, the RCC
        application's switch events) on every `flush()`, in the order added."""
        self._flushes = (*self._flushes, flush)

    def flush(self) -> None:
        """Carry out everything pending on every line, then re-arm the reactor timer."""
        for flush in self._flushes:  # a tuple: no copy per input
            flush()
        self.arm()

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
        self.flush()

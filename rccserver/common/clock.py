"""The one timer structure of the sans-IO core: the owner asks when it next needs
waking and tells it the time.

Nothing here reads a real clock.  `TimerQueue` files payloads under deadlines:
`schedule()`, `cancel()`, `next_deadline()` and `pop_next_due(now)`.
`Scheduler` is the callback form built on it, and the one instance a server
shares: the SIP endpoint's transaction and session timers, the RCC keep-alives
and the switch's ringing timers all live in it, and the Twisted driver keeps a
single reactor timer for its `next_deadline()` and calls `tick(now)`.

Cancelling is O(1) (the heap entry is dropped lazily); when dead entries
outnumber the live ones the heap is rebuilt, because Timer F is cancelled on
almost every answered INFO and would otherwise leave 32 s of garbage behind.

`TimerWheel` is for many long timers of one kind that may fire up to 1/8 s late
(the RCC keep-alive of every session): they are grouped into slots of 1/8 s, one
`Scheduler` timer per slot, so each costs two dict entries (about 100 bytes)
instead of a `Timer`, its closure and a heap entry (about 520).  It also keeps
the shared heap small: with 50,000 live keep-alives in it, up to 50,000 dead
Timer F entries waited for a rebuild; now a few hundred do.
"""
from __future__ import annotations

import heapq
import itertools
import math
from typing import Callable, Generic, Hashable, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

_COMPACT_ABOVE = 256  # dead entries tolerated before a rebuild is considered


class TimerQueue(Generic[T]):
    """Payloads under deadlines; ties come out in the order they were scheduled."""

    __slots__ = ("_heap", "_live", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._live: dict[int, T] = {}
        self._seq = itertools.count(1)

    def __len__(self) -> int:
        return len(self._live)

    def schedule(self, deadline: float, payload: T) -> int:
        """File `payload` to fire at `deadline`; returns a handle for cancel()."""
        handle = next(self._seq)
        self._live[handle] = payload
        heapq.heappush(self._heap, (deadline, handle))
        return handle

    def cancel(self, handle: int) -> None:
        """Withdraw a timer; cancelling one that fired or was cancelled is harmless."""
        if self._live.pop(handle, None) is not None:
            dead = len(self._heap) - len(self._live)
            if dead > _COMPACT_ABOVE and dead > len(self._live):
                self._heap = [entry for entry in self._heap if entry[1] in self._live]
                heapq.heapify(self._heap)

    def next_deadline(self) -> float | None:
        self._drop_cancelled_head()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[tuple[float, T]]:
        """Remove and return (deadline, payload) of every live timer due at `now`."""
        due = []
        while (entry := self.pop_next_due(now)) is not None:
            due.append(entry)
        return due

    def pop_next_due(self, now: float) -> tuple[float, T] | None:
        """Remove and return the earliest live timer due at `now`, or None."""
        self._drop_cancelled_head()
        if not self._heap or self._heap[0][0] > now:
            return None
        deadline, handle = heapq.heappop(self._heap)
        return deadline, self._live.pop(handle)

    def _drop_cancelled_head(self) -> None:
        heap, live = self._heap, self._live
        while heap and heap[0][1] not in live:
            heapq.heappop(heap)


class Timer:
    """A scheduled callback; `cancel()` is harmless after it fired or was cancelled."""

    __slots__ = ("_scheduler", "_handle", "when", "callback")

    def __init__(self, scheduler: Scheduler, when: float, callback: Callable[[], None]) -> None:
        self._scheduler = scheduler
        self.when = when
        self.callback = callback
        self._handle = 0

    def cancel(self) -> None:
        self._scheduler._queue.cancel(self._handle)


class Scheduler:
    """Callbacks under deadlines, fired by `tick(now)` in deadline order.

    `clock` says what time it is outside a tick (the driver passes the reactor's
    clock, a test a hand-moved one).  While a timer's callback runs, `now()` is
    that timer's deadline, so work done for a timer is stamped with the time it
    was due, however late the tick came.  A callback may schedule more timers;
    those already due fire in the same tick.
    """

    __slots__ = ("_clock", "_queue", "_firing_at")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._queue: TimerQueue[Timer] = TimerQueue()
        self._firing_at: float | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def now(self) -> float:
        return self._firing_at if self._firing_at is not None else self._clock()

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(self, when, callback)
        timer._handle = self._queue.schedule(when, timer)
        return timer

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self.call_at(self.now() + delay, callback)

    def next_deadline(self) -> float | None:
        return self._queue.next_deadline()

    def tick(self, now: float) -> int:
        """Fire every timer due at `now`, earliest first; returns how many fired."""
        fired = 0
        outer = self._firing_at
        try:
            while (due := self._queue.pop_next_due(now)) is not None:
                deadline, timer = due
                self._firing_at = deadline
                fired += 1
                timer.callback()
        finally:
            self._firing_at = outer
        return fired


class TimerWheel(Generic[K]):
    """Timers for hashable items, fired through `fire(item)` no earlier than asked and
    at most 1/8 s later (a deadline on a 1/8 s boundary fires exactly: eighths are
    exact in binary).  Items due in the same slot share one `Scheduler` timer and
    fire in the order they were scheduled.  An item has at most one pending timer:
    scheduling it again moves it.  While `fire` runs, `scheduler.now()` is the slot's
    time, so a timer re-armed from it keeps its period exactly."""

    __slots__ = ("_scheduler", "_fire", "_slots", "_slot_of")

    SLOTS_PER_SECOND = 8

    def __init__(self, scheduler: Scheduler, fire: Callable[[K], None]) -> None:
        self._scheduler = scheduler
        self._fire = fire
        self._slots: dict[int, dict[K, None]] = {}  # slot number -> its items, in order
        # item -> the items dict of its slot (not the slot number: no int object per item)
        self._slot_of: dict[K, dict[K, None]] = {}

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, item: K) -> bool:
        return item in self._slot_of

    def call_at(self, when: float, item: K) -> None:
        self.cancel(item)
        slot = math.ceil(when * self.SLOTS_PER_SECOND)
        items = self._slots.get(slot)
        if items is None:
            items = self._slots[slot] = {}
            self._scheduler.call_at(slot / self.SLOTS_PER_SECOND, lambda: self._fire_slot(slot))
        items[item] = None
        self._slot_of[item] = items

    def call_later(self, delay: float, item: K) -> None:
        self.call_at(self._scheduler.now() + delay, item)

    def cancel(self, item: K) -> None:
        """Harmless for an item with no pending timer.  An emptied slot stays until
        its scheduler timer finds it empty."""
        items = self._slot_of.pop(item, None)
        if items is not None:
            del items[item]  # (while its slot fires, a fired item is already out of _slot_of)

    def _fire_slot(self, slot: int) -> None:
        # Out of `_slots` first: a call_at for this slot from a fire opens a new one.
        items = self._slots.pop(slot, {})
        for item in list(items):
            if item in items:  # an earlier fire may have cancelled or moved it
                del self._slot_of[item]
                self._fire(item)

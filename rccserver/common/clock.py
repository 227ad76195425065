"""A sans-IO timer queue: the owner asks when it next needs waking and tells it the time.

Nothing here reads a clock. `schedule()` files a payload under a deadline,
`cancel()` withdraws it, `next_deadline()` says when the earliest live timer is
due and `pop_due(now)` hands back the due payloads, earliest first (ties in the
order they were scheduled).
"""
from __future__ import annotations

import heapq
import itertools
from typing import Generic, TypeVar

T = TypeVar("T")


class TimerQueue(Generic[T]):
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
        self._live.pop(handle, None)

    def next_deadline(self) -> float | None:
        self._drop_cancelled_head()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[tuple[float, T]]:
        """Remove and return (deadline, payload) of every live timer due at `now`."""
        due = []
        while True:
            self._drop_cancelled_head()
            if not self._heap or self._heap[0][0] > now:
                return due
            deadline, handle = heapq.heappop(self._heap)
            due.append((deadline, self._live.pop(handle)))

    def pop_next_due(self, now: float) -> tuple[float, T] | None:
        """Remove and return the earliest live timer due at `now`, or None."""
        self._drop_cancelled_head()
        if not self._heap or self._heap[0][0] > now:
            return None
        deadline, handle = heapq.heappop(self._heap)
        return deadline, self._live.pop(handle)

    def _drop_cancelled_head(self) -> None:
        while self._heap and self._heap[0][1] not in self._live:
            heapq.heappop(self._heap)

from hypothesis import given, strategies as st

from rccserver.common.clock import Scheduler, TimerQueue


def test_schedule_cancel_and_pop_in_deadline_order():
    queue: TimerQueue[str] = TimerQueue()
    assert queue.next_deadline() is None and queue.pop_due(1e9) == []
    late = queue.schedule(20.0, "late")
    queue.schedule(10.0, "early")
    queue.schedule(10.0, "early-second")
    assert queue.next_deadline() == 10.0 and len(queue) == 3
    queue.cancel(late)
    queue.cancel(late)  # harmless twice
    assert queue.pop_due(9.99) == []
    assert queue.pop_due(100.0) == [(10.0, "early"), (10.0, "early-second")]
    assert queue.next_deadline() is None and len(queue) == 0


def test_cancelled_head_does_not_show_as_next_deadline():
    queue: TimerQueue[int] = TimerQueue()
    first = queue.schedule(1.0, 1)
    queue.schedule(2.0, 2)
    queue.cancel(first)
    assert queue.next_deadline() == 2.0
    assert queue.pop_next_due(1.5) is None
    assert queue.pop_next_due(2.0) == (2.0, 2)


@given(st.lists(st.tuples(st.floats(0, 1000), st.booleans()), max_size=50), st.floats(0, 1000))
def test_pop_due_returns_exactly_the_live_due_timers_sorted(timers, now):
    queue: TimerQueue[int] = TimerQueue()
    expected = []
    for index, (deadline, keep) in enumerate(timers):
        handle = queue.schedule(deadline, index)
        if keep:
            if deadline <= now:
                expected.append((deadline, index))
        else:
            queue.cancel(handle)
    assert queue.pop_due(now) == sorted(expected)
    remaining = queue.next_deadline()
    assert remaining is None or remaining > now


def test_many_cancellations_compact_the_heap_without_losing_live_timers():
    queue: TimerQueue[int] = TimerQueue()
    keep = [queue.schedule(500.0 + i, i) for i in range(10)]
    for i in range(2000):  # Timer F: armed and cancelled for almost every INFO
        queue.cancel(queue.schedule(float(i), -1))
    assert len(queue._heap) < 600  # rebuilt, not 2,010 entries
    assert [payload for _, payload in queue.pop_due(1e9)] == list(range(10))
    assert len(keep) == 10


class HandClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_scheduler_fires_each_callback_at_its_own_deadline_in_order():
    clock = HandClock()
    scheduler = Scheduler(clock)
    seen = []
    scheduler.call_later(5, lambda: seen.append(("b", scheduler.now())))
    scheduler.call_at(102, lambda: seen.append(("a", scheduler.now())))
    cancelled = scheduler.call_later(3, lambda: seen.append(("never", scheduler.now())))
    cancelled.cancel()
    cancelled.cancel()
    assert scheduler.next_deadline() == 102
    clock.now = 200.0  # the tick comes late: work is still stamped with the due time
    assert scheduler.tick(200.0) == 2
    assert seen == [("a", 102), ("b", 105)]
    assert scheduler.now() == 200.0 and len(scheduler) == 0 and scheduler.next_deadline() is None


def test_a_timer_scheduled_by_a_callback_fires_in_the_same_tick_when_due():
    clock = HandClock(0.0)
    scheduler = Scheduler(clock)
    seen = []

    def first() -> None:
        seen.append(scheduler.now())
        scheduler.call_later(1, lambda: seen.append(scheduler.now()))  # due at 11
        scheduler.call_later(50, lambda: seen.append(scheduler.now()))  # due at 60

    scheduler.call_at(10, first)
    scheduler.tick(20)
    assert seen == [10, 11]
    assert scheduler.next_deadline() == 60


def test_cancelling_a_timer_that_fired_is_harmless():
    scheduler = Scheduler(HandClock(0.0))
    fired = []
    timer = scheduler.call_at(1, lambda: fired.append(1))
    other = scheduler.call_at(2, lambda: fired.append(2))
    scheduler.tick(1)
    timer.cancel()
    assert fired == [1] and scheduler.next_deadline() == 2
    scheduler.tick(5)
    other.cancel()
    assert fired == [1, 2] and len(scheduler) == 0


@given(st.lists(st.tuples(st.integers(0, 100), st.booleans()), max_size=40), st.lists(st.integers(0, 120), max_size=6))
def test_scheduler_fires_exactly_the_live_timers_once_in_deadline_order(timers, ticks):
    scheduler = Scheduler(HandClock(0.0))
    fired = []
    expected = []
    for index, (deadline, keep) in enumerate(timers):
        timer = scheduler.call_at(deadline, lambda index=index: fired.append(index))
        if keep:
            expected.append((deadline, index))
        else:
            timer.cancel()
    for now in sorted(ticks):
        scheduler.tick(now)
    last = max(ticks, default=-1)
    assert fired == [index for deadline, index in sorted(expected) if deadline <= last]

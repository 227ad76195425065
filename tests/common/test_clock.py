from hypothesis import given, settings, strategies as st

from rccserver.common.clock import Scheduler, TimerQueue, TimerWheel


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


def test_wheel_fires_each_item_at_its_slot_and_keeps_a_period_exact():
    clock = HandClock(100.0)
    scheduler = Scheduler(clock)
    seen = []

    def fire(item: str) -> None:
        seen.append((item, scheduler.now()))
        if item == "periodic":
            wheel.call_later(30, item)  # re-armed from the slot's time: stays on 130, 160...

    wheel: TimerWheel[str] = TimerWheel(scheduler, fire)
    wheel.call_at(130.0, "periodic")  # on a 1/8 s boundary: exact
    wheel.call_at(130.01, "late")  # rounded up to 130.125, never early
    wheel.call_at(130.0, "cancelled")
    wheel.cancel("cancelled")
    wheel.cancel("cancelled")  # harmless twice
    wheel.call_at(140.0, "moved")
    wheel.call_at(150.0, "moved")  # a second call_at moves it
    assert len(wheel) == 3 and "moved" in wheel and "cancelled" not in wheel
    scheduler.tick(129.99)
    assert seen == []
    scheduler.tick(200.0)
    assert seen == [("periodic", 130.0), ("late", 130.125), ("moved", 150.0), ("periodic", 160.0), ("periodic", 190.0)]
    assert len(wheel) == 1 and scheduler.next_deadline() == 220.0


def test_wheel_item_cancelled_or_moved_by_an_earlier_fire_of_its_slot():
    scheduler = Scheduler(HandClock(0.0))
    fired = []

    def fire(item: int) -> None:
        fired.append((item, scheduler.now()))
        if item == 1:
            wheel.cancel(2)
            wheel.call_at(5.0, 3)

    wheel: TimerWheel[int] = TimerWheel(scheduler, fire)
    for item in (1, 2, 3, 4):
        wheel.call_at(1.0, item)
    scheduler.tick(10.0)
    assert fired == [(1, 1.0), (4, 1.0), (3, 5.0)] and len(wheel) == 0


@settings(deadline=None)  # wall-clock limits fail on a loaded machine; this asserts behaviour only
@given(
    st.lists(st.tuples(st.integers(0, 5), st.floats(0, 50), st.sampled_from(["arm", "cancel"])), max_size=40),
    st.lists(st.floats(0, 60), max_size=6),
)
def test_wheel_fires_what_the_scheduler_would_no_earlier_and_at_most_an_eighth_later(operations, ticks):
    """The wheel against the general path: the same arm/cancel calls on one Timer per item."""
    scheduler = Scheduler(HandClock(0.0))
    wheel_fired: list[tuple[int, float]] = []
    wheel: TimerWheel[int] = TimerWheel(scheduler, lambda item: wheel_fired.append((item, scheduler.now())))
    reference = Scheduler(HandClock(0.0))
    reference_fired: list[tuple[int, float]] = []
    timers = {}
    for item, when, operation in operations:
        if item in timers:
            timers.pop(item).cancel()
        wheel.cancel(item)
        if operation == "arm":
            wheel.call_at(when, item)
            timers[item] = reference.call_at(when, lambda item=item: reference_fired.append((item, reference.now())))
    for now in sorted(ticks):
        scheduler.tick(now)
        reference.tick(now)
    last = max(ticks, default=-1.0)
    due_by_reference = dict(reference_fired)
    late_enough = {item for item, when in due_by_reference.items() if when + 0.125 <= last}
    fired = dict(wheel_fired)
    assert len(fired) == len(wheel_fired)  # once each
    assert late_enough <= set(fired) <= set(due_by_reference)
    for item, when in fired.items():
        assert due_by_reference[item] <= when <= due_by_reference[item] + 0.125
    assert [when for _, when in wheel_fired] == sorted(when for _, when in wheel_fired)

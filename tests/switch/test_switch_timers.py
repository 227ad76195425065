from hypothesis import given, strategies as st

from rccserver.common.clock import TimerQueue


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

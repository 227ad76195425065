"""The one reactor timer of the shared Scheduler, on a hand-moved Twisted clock: it stands
for the earliest deadline whoever scheduled it, and after a tick every driver flushes."""
from __future__ import annotations

from twisted.internet.task import Clock

from rccserver.common.clock import Scheduler
from rccserver.transport.scheduler_timer import SchedulerTimer


def make():
    clock = Clock()
    scheduler = Scheduler(clock.seconds)
    return clock, scheduler, SchedulerTimer(clock, scheduler)


def test_the_reactor_timer_follows_the_earliest_deadline():
    clock, scheduler, timer = make()
    timer.arm()
    assert clock.getDelayedCalls() == []  # nothing scheduled, no reactor timer
    scheduler.call_later(5, lambda: None)
    timer.arm()
    [call] = clock.getDelayedCalls()
    assert call.getTime() == 5
    scheduler.call_later(2, lambda: None)
    timer.arm()
    [call] = clock.getDelayedCalls()
    assert call.getTime() == 2


def test_after_a_tick_every_driver_flushes():
    clock, scheduler, timer = make()
    flushed = []
    timer.add_flush(lambda: flushed.append("rcc line"))
    timer.add_flush(lambda: flushed.append("stations line"))
    fired = []
    scheduler.call_later(1, lambda: fired.append(scheduler.now()))
    scheduler.call_later(3, lambda: fired.append(scheduler.now()))
    timer.arm()
    clock.advance(1)
    assert fired == [1] and flushed == ["rcc line", "stations line"]
    [call] = clock.getDelayedCalls()  # re-armed for the next deadline
    assert call.getTime() == 3
    clock.advance(2)
    assert fired == [1, 3] and flushed == ["rcc line", "stations line"] * 2
    assert clock.getDelayedCalls() == []


def test_a_timer_scheduled_during_a_flush_is_armed():
    clock, scheduler, timer = make()
    scheduler.call_later(1, lambda: None)

    def flush():  # a driver whose output handling schedules a retransmission
        if scheduler.now() < 2:
            scheduler.call_later(4, lambda: None)

    timer.add_flush(flush)
    timer.arm()
    clock.advance(1)
    [call] = clock.getDelayedCalls()
    assert call.getTime() == 5


def test_cancel_stops_the_reactor_timer():
    clock, scheduler, timer = make()
    scheduler.call_later(1, lambda: None)
    timer.arm()
    timer.cancel()
    assert clock.getDelayedCalls() == []


def test_a_flush_carries_out_every_line_in_order_and_rearms():
    # A MakeCall INFO on the RCC line queues an INVITE on the stations line: the RCC line's
    # flush must carry out both, the switch's events first.
    clock, scheduler, timer = make()
    done = []
    timer.add_flush(lambda: done.append("switch events"))
    timer.add_flush(lambda: done.append("rcc line"))
    timer.add_flush(lambda: done.append("stations line"))
    scheduler.call_later(7, lambda: None)
    timer.flush()
    assert done == ["switch events", "rcc line", "stations line"]
    [call] = clock.getDelayedCalls()
    assert call.getTime() == 7

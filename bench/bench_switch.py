"""Embedded switch figures: call cycles per second, a busy switch with many live calls, timer firing."""
from bench.common import rate, scale
from rccserver.common.clock import Scheduler
from rccserver.switch import EmbeddedSwitch, SwitchOptions

STATIONS = [str(10000 + i) for i in range(1000)]


def main() -> None:
    now = [0.0]
    scheduler = Scheduler(lambda: now[0])
    switch = EmbeddedSwitch(STATIONS, scheduler=scheduler)

    def inbound_cycle() -> None:
        call = switch.place_call("+13175552020", STATIONS[0]).call_id
        switch.answer_call(STATIONS[0], call)
        switch.external_hangup(call)
        switch.take_events()

    def station_to_station_consult_transfer() -> None:
        a, b, c = STATIONS[1:4]
        first = switch.make_call(a, b).call_id
        switch.answer_call(b, first)
        second = switch.consultation_call(a, first, c).call_id
        switch.answer_call(c, second)
        result = switch.transfer_call(a, first, second).call_id
        switch.clear_connection(b, result)
        switch.take_events()

    rate("inbound call: ring, answer, hang up", inbound_cycle, scale(20_000, 20))
    rate("consultation + transfer between 3 stations", station_to_station_consult_transfer, scale(5_000, 10))

    # many live calls: operations must not slow down with switch size
    busy = EmbeddedSwitch(STATIONS, options=SwitchOptions(auto_answer_after=1), scheduler=scheduler)
    live = scale(900, 20)
    for index in range(live):
        busy.make_call(STATIONS[index], f"+1555{index:06d}")
    busy.take_events()
    station = STATIONS[live]

    def cycle_among_many() -> None:
        call = busy.place_call("+13175552020", station).call_id
        busy.answer_call(station, call)
        busy.clear_connection(station, call)
        busy.take_events()

    rate(f"inbound call with {live} other calls live", cycle_among_many, scale(20_000, 20))

    def fire_auto_answers() -> None:
        now[0] += 2
        scheduler.tick(now[0])
        busy.take_events()

    rate(f"scheduler tick: {live} auto-answer timers at once", fire_auto_answers, 1)
    assert all(busy.snapshot(STATIONS[i])[0].state.value == "connected" for i in range(live))


if __name__ == "__main__":
    main()

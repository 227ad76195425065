"""A phone call through the phone line leaves no reference cycle and no leg behind.

The RCC side holds this in tests/rcc/test_request_garbage.py; this is the phone side:
calls from the phone and to it, answered and hung up by either end, over TCP and UDP.
The call layer's stand-in records every leg, so it is told to forget them after each
call: a leg kept only by a cycle would then show."""
from __future__ import annotations

import gc

import pytest

from rccserver.stations.leg import PhoneLeg
from rccserver.stations.legs import AutoAnswer

from tests.cycle_probe import cyclic_garbage
from tests.stations.phone_line_harness import Line, sdp


def forget(line: Line) -> None:
    listener = line.listener
    listener.calls.clear()
    listener.legs.clear()
    listener.ended.clear()
    line.events.clear()


def phone_dials_we_hang_up(line: Line, phone) -> None:
    call = phone.dial("1002", b"")
    leg = line.listener.legs[-1]
    line.call(leg.answer, sdp(6000))
    phone.confirm(call, phone.last_response("INVITE"))
    line.call(leg.hang_up)
    phone.respond(phone.last_request("BYE"), 200)
    line.advance(40)  # past every transaction's timers
    phone.take()
    assert line.listener.names() == ["phone_dialled", "leg_acknowledged", "leg_ended"]
    forget(line)


def we_call_phone_hangs_up(line: Line, phone, tag: str) -> None:
    line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    invite = phone.last_request("INVITE")
    phone.respond(invite, 200, tag=tag, body=sdp(7000))
    phone.take()
    phone.send(phone.request(phone.answered_call(invite, tag), "BYE"))
    line.advance(40)
    phone.take()
    assert line.listener.names()[-1] == "leg_ended"
    forget(line)


def live_legs() -> int:
    return sum(1 for thing in gc.get_objects() if isinstance(thing, PhoneLeg))


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_calls_both_ways_leave_no_cycle_and_no_leg(transport):
    line = Line()
    phone = line.phone("1001", transport=transport)
    assert phone.register().status == 200
    phone_dials_we_hang_up(line, phone)  # first-use state settled outside the probe
    assert line.endpoint.idle

    def calls() -> None:
        for index in range(3):
            phone_dials_we_hang_up(line, phone)
            we_call_phone_hangs_up(line, phone, f"p{index}")

    assert cyclic_garbage(calls) == []
    assert line.endpoint.idle and line.listener.violations == []
    assert live_legs() == 0


def test_a_leg_kept_only_by_a_cycle_is_found():
    """The check above can fail: a leg the listener forgot but a loop still holds is reported."""
    line = Line()
    phone = line.phone("1001", transport="tcp")
    assert phone.register().status == 200

    def call_with_a_loop() -> None:
        phone.dial("1002", b"")
        leg = line.listener.legs[-1]
        holder = [leg]
        holder.append(holder)  # the leg now hangs off a list that names itself
        line.call(leg.hang_up)
        line.advance(40)
        forget(line)

    assert "rccserver.stations.leg.PhoneLeg" in cyclic_garbage(call_with_a_loop)

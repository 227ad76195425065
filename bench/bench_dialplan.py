"""Dial plan figures: microseconds per number for what every call pays.

* dialled: a number as Lync sends it, through the North American rules of
  docs/dialplan.md and station matching against 1,000 stations (what the switch
  asks for every MakeCall, transfer target, forwarding destination, phone INVITE);
* inbound: a DID through the inbound rules to its station (what the trunk asks);
* E.164 (phonenumbers, uncached): what presenting a new outside number costs once;
* E.164 (cached): every later event naming that number;
* a MakeCall to an outside number and its hang-up on the embedded switch, with
  and without the dial plan: the plan's share of a whole call.
"""
import time

from bench.common import scale
from rccserver.common.clock import Scheduler
from rccserver.dialplan import DialPlan, DialPlanRouter, Rule
from rccserver.dialplan.e164 import e164
from rccserver.switch import EmbeddedSwitch

RULES = [
    Rule(r"^9(\d{10})$", "+1$1"),
    Rule(r"^9(1\d{10})$", "+$1"),
    Rule(r"^9011(\d{7,15})$", "+$1"),
    Rule(r"^(\d{4})$", "$1"),
]
INBOUND = [Rule(r"^\+1317555(1\d{3})$", "$1")]


class _Station:
    def __init__(self, index: int) -> None:
        self.extension = str(1000 + index)
        self.identification_address = f"tel:+1317555{1000 + index}"


STATIONS = tuple(_Station(i) for i in range(1000))
DIALLED = [
    "9 (317) 555-0188",  # first rule
    "tel:93175550188;phone-context=dialstring",
    "9 011 44 20 7946 0018",  # third rule
    "1001",  # last rule, a station
    "tel:+1 (317) 555-1002",  # no rule, a station's identification address
    "+1 (317) 555-0199",  # no rule, outside
]


def _per_number(label: str, func, numbers: list[str], rounds: int, repeats: int = 3) -> float:
    """The best of `repeats` runs (the machine is shared: the best is the least disturbed)."""
    elapsed = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(rounds):
            for number in numbers:
                func(number)
        elapsed = min(elapsed, time.perf_counter() - start)
    micros = elapsed / (rounds * len(numbers)) * 1e6
    print(f"{label:<48} {micros:>9.2f} µs/number  (best of {repeats} x {rounds * len(numbers)})")
    return micros


def main() -> None:
    plan = DialPlan(RULES, INBOUND, country_code="1")
    router = DialPlanRouter(plan, lambda: STATIONS)
    rounds = scale(20_000, 5)
    _per_number("dialled: rules + station match (1000 stations)", router.route_dialled, DIALLED, rounds)
    _per_number("dialled: what the switch asks (dialled())", router.dialled, DIALLED, rounds)
    _per_number("inbound: DID to station", router.station_for_did,
                ["+13175551001", "tel:+1-317-555-1999", "+13175552001"], rounds)
    outside = [f"+1317555{n:04d}" for n in range(2000, 2000 + scale(2_000, 20))]
    _per_number("E.164 presentation (phonenumbers, uncached)", lambda n: e164.__wrapped__(n, "1"), outside, 1)
    _per_number("E.164 presentation (cached)", plan.presentation, DIALLED[-1:] * 10, rounds)

    for label, dial_plan in (("without", None), ("with", router)):
        switch = EmbeddedSwitch([s.extension for s in STATIONS], scheduler=Scheduler(lambda: 0.0),
                                dial_plan=dial_plan)
        dialled = "+13175550188" if dial_plan is None else "9 (317) 555-0188"

        def call(station: str, switch=switch, dialled=dialled) -> None:
            call_id = switch.make_call(station, dialled).call_id
            switch.clear_connection(station, call_id)
            switch.take_events()

        _per_number(f"MakeCall outside + hang-up, {label} dial plan", call, ["1001"], scale(20_000, 5))


if __name__ == "__main__":
    main()

"""One command, one table: rccserver and Kamailio under the same SIPp scenarios, as ratios.

    python -m bench compare                    # full scale (100,000-user deployment)
    BENCH_ROUNDS=3 python -m bench compare     # best of 3 interleaved rounds
    BENCH_SCALE=smoke python -m bench compare  # tiny counts, the harness only

The machine is shared and noisy, so an absolute rate says little; a ratio to a
Kamailio stateless responder (bench/kamailio.py) measured in the same run, with the
very same SIPp command, says how a change moved rccserver. Scenarios:

 a. Lync calls, 1 connection: each SIPp call is one Lync user's RCC dialog, logon
    INVITE (RequestSystemStatus) -> 200 -> ACK, 5 x (MakeCall from the user's line to
    an external number, ClearConnection of the call MakeCallResponse names), BYE; all
    on one TCP connection, users from the deployment's own users so each logon takes
    its own station. Shown as calls/s and as CSTA requests/s.
 b. SnapshotDevice INFO loop, 1 connection (bench/sippload.py).
 c. The same, 100 connections (`-t tn`).

Each round runs every scenario against rccserver, then against Kamailio (interleaved,
so both see the same background load); with more than one round the best run of each
counts and failed calls of every run are added up. CPU is each server's own from
/proc/<pid>/stat (Kamailio: its process tree), per second of the run and per CSTA
request (a call's logon INVITE and INFOs). Failed SIPp calls are shown, never dropped.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import attrs

from bench.kamailio import Kamailio, kamailio_binary
from bench.sippload import SippResult, run_info_loop, run_lync_calls
from testkit.deployment import BenchUser, write_deployment


@attrs.frozen(slots=True)
class Scale:
    users: int  # deployment (directory and CIC) size
    lync_users: int  # SIPp calls in scenario a, one distinct user each
    lync_concurrency: int  # scenario a's calls open at once
    makecalls: int  # MakeCall + ClearConnection pairs per Lync call
    loop_calls_one: int  # scenario b: dialogs on one connection ...
    loop_infos_one: int  # ... and SnapshotDevice INFOs in each
    loop_calls_many: int  # scenario c: dialogs, one connection each
    loop_infos_many: int
    rounds: int
    timeout: float  # one SIPp run's limit, seconds

    @classmethod
    def current(cls) -> "Scale":
        rounds = int(os.environ.get("BENCH_ROUNDS", "0"))
        if os.environ.get("BENCH_SCALE") == "smoke":
            return cls(users=300, lync_users=12, lync_concurrency=4, makecalls=5, loop_calls_one=4,
                       loop_infos_one=5, loop_calls_many=5, loop_infos_many=3, rounds=rounds or 1, timeout=60)
        return cls(users=100_000, lync_users=10_000, lync_concurrency=50, makecalls=5, loop_calls_one=50,
                   loop_infos_one=600, loop_calls_many=100, loop_infos_many=300, rounds=rounds or 1, timeout=300)


@attrs.frozen(slots=True)
class Run:
    """One SIPp run against one server, with the server's CPU over it."""
    sipp: SippResult
    cpu_seconds: float

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu_seconds / self.sipp.seconds if self.sipp.seconds > 0 else 0.0

    @property
    def us_per_request(self) -> float:
        """Server CPU per CSTA request answered (every message of the call is in the CPU)."""
        requests = self.sipp.successful * (self.sipp.infos_per_call + 1)
        return 1e6 * self.cpu_seconds / requests if requests else 0.0


@attrs.frozen(slots=True)
class Scenario:
    name: str
    units: tuple[str, ...]  # "calls/s" and/or "CSTA/s": one table row each
    drive: Callable[[Path, int], SippResult]  # (workdir, port) -> the SIPp result


@attrs.define
class Measured:
    scenario: Scenario
    ours: list[Run] = attrs.field(factory=list)
    theirs: list[Run] = attrs.field(factory=list)


@attrs.frozen(slots=True)
class Row:
    scenario: str
    unit: str
    ours: float  # best rate against rccserver
    theirs: float | None  # against Kamailio; None when it is not installed
    ours_cpu_percent: float
    ours_us: float
    theirs_cpu_percent: float | None
    theirs_us: float | None
    ours_failed: int
    theirs_failed: int | None
    ours_calls: int  # calls started against rccserver, over every round

    @property
    def ratio(self) -> float | None:
        return self.ours / self.theirs if self.theirs else None


def scenarios(scale: Scale) -> list[Scenario]:
    """Every scenario on users of its own, so no logon finds its station taken."""
    lync = [BenchUser(i) for i in range(scale.lync_users)]
    first = scale.lync_users
    one = [BenchUser(i) for i in range(first, first + scale.loop_calls_one)]
    first += scale.loop_calls_one
    many = [BenchUser(i) for i in range(first, first + scale.loop_calls_many)]

    def lync_calls(work: Path, port: int) -> SippResult:
        return run_lync_calls(work, port, lync, calls=scale.makecalls, one_connection=True,
                              concurrency=scale.lync_concurrency, timeout=scale.timeout)

    def loop_one(work: Path, port: int) -> SippResult:
        return run_info_loop(work, port, one, infos=scale.loop_infos_one, one_connection=True,
                             timeout=scale.timeout)

    def loop_many(work: Path, port: int) -> SippResult:
        return run_info_loop(work, port, many, infos=scale.loop_infos_many, one_connection=False,
                             timeout=scale.timeout)

    return [
        Scenario(f"a. Lync calls (logon, {scale.makecalls} x MakeCall+ClearConnection, BYE), 1 connection",
                 ("calls/s", "CSTA/s"), lync_calls),
        Scenario(f"b. SnapshotDevice INFO loop, 1 connection ({scale.loop_calls_one} dialogs)",
                 ("CSTA/s",), loop_one),
        Scenario(f"c. SnapshotDevice INFO loop, {scale.loop_calls_many} connections", ("CSTA/s",), loop_many),
    ]


def _measure(work: Path, port: int, cpu: Callable[[], float], scenario: Scenario) -> Run:
    before = cpu()
    result = scenario.drive(work, port)
    run = Run(result, cpu() - before)
    if not result.ok:
        print(f"-- {scenario.name}: SIPp exit {result.returncode}, {result.failed} failed calls --\n"
              f"{result.output}")
    return run


def _rate(run: Run, unit: str) -> float:
    return run.sipp.call_rate if unit == "calls/s" else run.sipp.csta_rate


def rows_of(measured: list[Measured]) -> list[Row]:
    rows = []
    for m in measured:
        for unit in m.scenario.units:
            ours = max(m.ours, key=lambda r: _rate(r, unit))
            theirs = max(m.theirs, key=lambda r: _rate(r, unit)) if m.theirs else None
            rows.append(Row(
                m.scenario.name, unit, _rate(ours, unit), _rate(theirs, unit) if theirs else None,
                ours.cpu_percent, ours.us_per_request,
                theirs.cpu_percent if theirs else None, theirs.us_per_request if theirs else None,
                sum(r.sipp.calls - r.sipp.successful for r in m.ours),
                sum(r.sipp.calls - r.sipp.successful for r in m.theirs) if theirs else None,
                sum(r.sipp.calls for r in m.ours)))
    return rows


def run(work: Path) -> list[Row]:
    """Start one rccserver on a generated deployment and one Kamailio responder, then run
    every scenario against each, round after round."""
    scale = Scale.current()
    plan = [Measured(s) for s in scenarios(scale)]
    server = write_deployment(work / "rccserver", users=scale.users, session_timeout=0)
    with contextlib.ExitStack() as running:
        server.start()
        running.callback(server.stop)
        kamailio = (running.enter_context(Kamailio(work / "kamailio")) if kamailio_binary() is not None
                    else None)
        for round_ in range(scale.rounds):
            for index, m in enumerate(plan):
                m.ours.append(_measure(work / f"sipp-{round_}-{index}-rcc", server.sip_port, server.cpu,
                                       m.scenario))
                if kamailio is not None:
                    m.theirs.append(_measure(work / f"sipp-{round_}-{index}-kamailio", kamailio.port,
                                             kamailio.cpu, m.scenario))
    return rows_of(plan)


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def print_table(rows: list[Row]) -> None:
    header = ("scenario", "unit", "rccserver", "Kamailio", "ratio", "rcc CPU %", "rcc us/CSTA",
              "Kam CPU %", "Kam us/CSTA", "failed calls rcc/Kam")
    table = [header] + [
        (r.scenario, r.unit, _number(r.ours, ",.0f"), _number(r.theirs, ",.0f"), _number(r.ratio, ".3f"),
         _number(r.ours_cpu_percent, ".0f"), _number(r.ours_us, ",.0f"),
         _number(r.theirs_cpu_percent, ".0f"), _number(r.theirs_us, ",.0f"),
         f"{r.ours_failed}/{'n/a' if r.theirs_failed is None else r.theirs_failed}")
        for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(line, widths))).rstrip())
    print("ratio = rccserver / Kamailio (stateless sl_send_reply 200, no CSTA); CPU % = the server's "
          "user+system CPU over the run's wall time (100 = one core); us/CSTA = that CPU per CSTA "
          "request (logon INVITE + INFOs). Rates count successful calls only; best of "
          f"{Scale.current().rounds} round(s).")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="rcc-compare-") as tmp:
        print_table(run(Path(tmp)))

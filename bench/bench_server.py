"""Whole-server benchmark (issue 7): rccserver as a subprocess on loopback, driven by
SIPp and testkit/loadclient.py, side by side with a Kamailio stateless responder.

    python -m bench server                  # full run (about 5 minutes on 2 cores)
    python -m bench.bench_server --phase reload   # only the reload under load (about 2 minutes)
    BENCH_SCALE=smoke python -m bench server   # tiny counts, the harness only
    BENCH_PROFILE=DIR python -m bench server   # also run the server under cProfile
                                               # (throughput server only) and print its top functions

Phases:
 1. server A: 100,000-user directory, no keep-alives.
    - SIPp INFO loop (SnapshotDevice) on 1 connection (50 dialogs) and on 100
      connections (one dialog each); the same against Kamailio; the ratio;
    - load client, 1 connection, 50 dialogs: closed-loop maximum for SnapshotDevice
      and for MakeCall/ClearConnection pairs, then open-loop latency at half of it;
    - logon storm (INVITE -> 200 -> ACK -> INFO MonitorStart -> 200);
    - SIGHUP reload of the 100,000-user cache (every entry changed) under open-loop
      SnapshotDevice load at a fixed 500/s (latency from each request's due time).
 2. server B: 100,000-user directory, session_timeout 30 s (1 s at smoke scale):
    RSS with 1,000 / 10,000 / 50,000 monitored sessions, each level held for more
    than one keep-alive period while the client answers every keep-alive INFO;
    observed keep-alive intervals against the configured one.
Figures are printed, never asserted: the load generator shares the machine's
cores with the server (see docs/performance.md).
"""
from __future__ import annotations

import argparse
import os
import pstats
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import attrs

from bench.common import percentiles
from bench.kamailio import Kamailio, kamailio_binary
from bench.sippload import run_info_loop
from testkit.deployment import BenchUser, ldif_text, write_deployment
from testkit.loadclient import LoadClient
from testkit.serverproc import ServerProcess

MB = 1024 * 1024


@attrs.frozen(slots=True)
class Scale:
    users: int  # directory and CIC size
    sipp_infos_one: int  # INFOs per SIPp call, one connection (50 calls)
    sipp_calls_one: int
    sipp_infos_many: int  # INFOs per SIPp call, 100 connections
    sipp_calls_many: int
    closed_count: int  # answered INFOs per closed-loop run
    open_seconds: float  # open-loop run length
    storm_users: int
    reload_seconds: float  # open-loop run length around the reload
    reload_rate: float
    session_levels: tuple[int, ...]
    session_timeout: int
    connections: int  # load-client connections for logons and sessions

    @classmethod
    def current(cls) -> "Scale":
        if os.environ.get("BENCH_SCALE") == "smoke":
            return cls(users=300, sipp_infos_one=5, sipp_calls_one=4, sipp_infos_many=3, sipp_calls_many=5,
                       closed_count=200, open_seconds=0.5, storm_users=50, reload_seconds=2.0, reload_rate=100,
                       session_levels=(10, 20, 40), session_timeout=1, connections=2)
        return cls(users=100_000, sipp_infos_one=600, sipp_calls_one=50, sipp_infos_many=300, sipp_calls_many=100,
                   closed_count=40_000, open_seconds=8.0, storm_users=20_000, reload_seconds=30.0, reload_rate=500,
                   session_levels=(1_000, 10_000, 50_000), session_timeout=30, connections=50)


@attrs.define
class Row:
    measure: str
    value: str
    target: str = ""
    note: str = ""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _latency_text(samples: list[float], with_max: bool = False) -> str:
    p = percentiles(samples)
    text = f"p50 {_ms(p['p50'])} / p95 {_ms(p['p95'])} / p99 {_ms(p['p99'])}"
    return text + (f" / max {_ms(max(samples))} ms" if with_max and samples else " ms")


def _cpu_note(server: ServerProcess, cpu_before: float, seconds: float, transactions: int) -> str:
    """How busy the server was: a server below 100 % of a core was waiting for the load generator."""
    used = server.cpu() - cpu_before
    if seconds <= 0 or transactions <= 0:
        return ""
    return (f"server CPU {100 * used / seconds:.0f} % of a core, {1e6 * used / transactions:.0f} us/tx "
            f"(= {transactions / used:,.0f} tx/s per server core)" if used > 0 else "")


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- phase 1: throughput, latency, logon storm, reload -------------------------------
def _sipp_rows(scale: Scale, work: Path, server: ServerProcess) -> list[Row]:
    rows = []
    kamailio_available = kamailio_binary() is not None
    users_one = [BenchUser(i) for i in range(scale.sipp_calls_one)]
    users_many = [BenchUser(i) for i in range(scale.sipp_calls_one, scale.sipp_calls_one + scale.sipp_calls_many)]
    plans = [("1 connection", users_one, scale.sipp_infos_one, True),
             ("100 connections" if scale.sipp_calls_many == 100 else f"{scale.sipp_calls_many} connections",
              users_many, scale.sipp_infos_many, False)]
    for label, users, infos, one in plans:
        cpu_before = server.cpu()
        ours = run_info_loop(work / f"sipp-rcc-{one}", server.sip_port, users, infos=infos,
                             one_connection=one, timeout=120)
        ours_text = f"{ours.info_rate:,.0f} tx/s" if ours.ok else f"FAILED (sipp exit {ours.returncode})"
        rows.append(Row(f"SIPp SnapshotDevice INFO, {label}, rccserver", ours_text,
                        ">= 10,000 tx/s" if one else "",
                        f"{len(users)} dialogs x {infos} INFOs, closed loop; "
                        + _cpu_note(server, cpu_before, ours.seconds, len(users) * (infos + 3))))
        if not ours.ok:
            print(ours.output)
        if not kamailio_available:
            rows.append(Row(f"SIPp INFO, {label}, Kamailio", "n/a", "", "kamailio is not installed"))
            continue
        with Kamailio(work / f"kamailio-{one}") as kamailio:
            theirs = run_info_loop(work / f"sipp-kam-{one}", kamailio.port, users, infos=infos,
                                   one_connection=one, timeout=120)
        if not theirs.ok:
            print(theirs.output)
        rows.append(Row(f"SIPp INFO, {label}, Kamailio (sl_send_reply)",
                        f"{theirs.info_rate:,.0f} tx/s" if theirs.ok else "FAILED", "",
                        "stateless 200, no CSTA"))
        if ours.ok and theirs.ok:
            rows.append(Row(f"ratio rccserver / Kamailio, {label}", f"{ours.info_rate / theirs.info_rate:.2f}",
                            ">= 0.3" if one else ""))
    return rows


def _client_rows(scale: Scale, server: ServerProcess, first_user: int) -> tuple[list[Row], int]:
    """Closed-loop maxima and latency at half of them, load client, one connection."""
    rows = []
    client = LoadClient("127.0.0.1", server.sip_port, 1)
    try:
        dialogs_users = [BenchUser(i) for i in range(first_user, first_user + 50)]
        ok, _ = client.logon(dialogs_users, window=50, deadline=time.monotonic() + 60)
        dialogs = client.live_dialogs()
        for workload, label in (("snapshot", "SnapshotDevice"), ("makecall", "MakeCall/ClearConnection")):
            requests_before = client.server_requests
            cpu_before = server.cpu()
            answered, seconds = client.closed_loop(dialogs, workload=workload, per_dialog=4,
                                                   count=scale.closed_count, deadline=time.monotonic() + 120)
            events = client.server_requests - requests_before
            maximum = answered / seconds if seconds > 0 else 0.0
            rows.append(Row(f"load client {label} INFO, 1 connection, max", f"{maximum:,.0f} tx/s",
                            ">= 10,000 tx/s",
                            f"{len(dialogs)} monitored dialogs; "
                            + (f"{events:,} event INFOs answered; " if events else "")
                            + _cpu_note(server, cpu_before, seconds, answered)))
            rate = max(1.0, maximum / 2)
            samples = client.open_loop(dialogs, workload=workload, rate=rate,
                                       count=max(10, int(rate * scale.open_seconds)),
                                       deadline=time.monotonic() + scale.open_seconds + 30)
            rows.append(Row(f"latency {label} at half max ({rate:,.0f}/s)", _latency_text(samples),
                            "p99 < 10 ms", f"{len(samples):,} samples, open loop"))
        failures = dict(client.failures)
        if failures:
            rows.append(Row("load client failures (throughput)", str(failures)))
    finally:
        client.close()
    return rows, first_user + 50


def _storm_rows(scale: Scale, server: ServerProcess, first_user: int) -> tuple[list[Row], int]:
    client = LoadClient("127.0.0.1", server.sip_port, min(scale.connections, 10))
    try:
        users = [BenchUser(i) for i in range(first_user, first_user + scale.storm_users)]
        cpu_before = server.cpu()
        ok, seconds = client.logon(users, window=200, deadline=time.monotonic() + 300)
        cpu_note = _cpu_note(server, cpu_before, seconds, ok).replace("tx", "logon")
        rows = [Row(f"logon storm ({server.users:,}-user directory)", f"{ok / seconds:,.0f} logons/s",
                    ">= 2,000 logons/s",
                    f"{ok:,}/{len(users):,} ok in {seconds:.1f} s; INVITE-200-ACK-MonitorStart, "
                    f"{len(client.connections)} connections, 200 in flight; {cpu_note}")]
        if client.failures:
            rows.append(Row("logon storm failures", str(dict(client.failures))))
    finally:
        client.close()  # the server keeps the dialogs; they do not matter to later phases
    return rows, first_user + scale.storm_users


def _reload_rows(scale: Scale, server: ServerProcess, first_user: int) -> list[Row]:
    client = LoadClient("127.0.0.1", server.sip_port, 1)
    try:
        client.logon([BenchUser(i) for i in range(first_user, first_user + 50)], window=50,
                     deadline=time.monotonic() + 60)
        dialogs = client.live_dialogs()
        # change every entry, so the reload builds a whole new cache and a full diff
        (server.workdir / "directory.ldif").write_text(ldif_text(server.users, renamed=True))
        log_before = len(server.log_text)
        started = time.monotonic()
        fired = []

        def tick() -> None:
            if not fired and time.monotonic() - started >= 1.0:
                server.reload()
                fired.append(time.monotonic())

        def reload_lines() -> list[str]:
            return [line for line in server.log_text[log_before:].splitlines() if " reload " in line]

        def load(seconds: float) -> list[float]:
            return client.open_loop(dialogs, workload="snapshot", rate=scale.reload_rate,
                                    count=int(scale.reload_rate * seconds), deadline=time.monotonic() + seconds + 30,
                                    tick=tick)

        samples = load(scale.reload_seconds)
        # On a busy machine the reload may outlast the window: the load goes on (bounded)
        # until it is logged, then 2 s more for the work that follows the swap.
        limit, extended = time.monotonic() + 3 * scale.reload_seconds, False
        while not reload_lines() and time.monotonic() < limit:
            samples += load(2.0)
            extended = True
        if extended and reload_lines():
            samples += load(2.0)
        reload_line = reload_lines()
        elapsed = re.search(r"(?:elapsed|seconds)=([0-9.]+)", " ".join(reload_line))
        slow = sum(1 for sample in samples if sample > 0.050)
        return [Row(f"SnapshotDevice latency during reload ({scale.reload_rate:,.0f}/s)",
                    _latency_text(samples, with_max=True), "p99 <= 50 ms",
                    f"{len(samples):,} samples, {slow:,} over 50 ms; SIGHUP at +1 s; reload "
                    + (f"took {elapsed.group(1)} s" if elapsed else
                       ("logged: " + reload_line[-1][:120] if reload_line else "not finished in the window")))]
    finally:
        client.close()


def _profile_rows(profile: Path, top: int = 25) -> None:
    stats = pstats.Stats(str(profile))
    print(f"-- server profile ({profile}), top {top} by own time --")
    stats.sort_stats("tottime").print_stats(top)
    print(f"-- top {top} by cumulative time --")
    stats.sort_stats("cumulative").print_stats(top)


def phase_throughput(scale: Scale, work: Path) -> list[Row]:
    server = write_deployment(work / "server-a", users=scale.users, session_timeout=0)
    profile_dir = os.environ.get("BENCH_PROFILE")
    profile = Path(profile_dir).resolve() / "server-a.pstats" if profile_dir else None
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
    server.start(profile_to=profile)
    _wait_for_start_up(server)
    rows = [Row("server start with the directory loaded", f"{server.started_in:.1f} s", "",
                f"RSS {server.rss() / MB:,.0f} MB with {scale.users:,} users, no sessions")]
    try:
        rows += _sipp_rows(scale, work, server)
        first = scale.sipp_calls_one + scale.sipp_calls_many
        client_rows, first = _client_rows(scale, server, first)
        rows += client_rows
        storm_rows, first = _storm_rows(scale, server, first)
        rows += storm_rows
        rows += _reload_rows(scale, server, first)
    finally:
        server.stop()
    if profile is not None and profile.exists():
        _profile_rows(profile)
    return rows


def _wait_for_start_up(server: ServerProcess) -> None:
    """The port opens before the start-up work that follows it (gc.freeze, returning the
    free heap to the system); "server-start" is logged once that is done, so an idle RSS
    is read after it."""
    deadline = time.monotonic() + 60
    while " server-start " not in server.log_text and time.monotonic() < deadline:
        time.sleep(0.05)


# -- phase 2: memory with live sessions and keep-alives --------------------------------
def phase_sessions(scale: Scale, work: Path) -> list[Row]:
    server = write_deployment(work / "server-b", users=scale.users, session_timeout=scale.session_timeout)
    server.start()
    rows = []
    client = LoadClient("127.0.0.1", server.sip_port, scale.connections)
    try:
        _wait_for_start_up(server)
        baseline = server.rss()
        logged_on = 0
        hold = scale.session_timeout * 1.2 + 1
        for level in scale.session_levels:
            users = [BenchUser(i) for i in range(logged_on, level)]
            ok, seconds = client.logon(users, window=200, deadline=time.monotonic() + 300)
            logged_on = level
            keepalives_before = client.keepalives
            # hold for more than one keep-alive period, answering every keep-alive INFO
            client.run_until(lambda: False, time.monotonic() + hold)
            live = len(client.live_dialogs())
            rows.append(Row(f"RSS with {live:,} monitored sessions", f"{server.rss() / MB:,.0f} MB",
                            "<= 1 GB at 50,000" if level == scale.session_levels[-1] else "",
                            f"+{(server.rss() - baseline) / MB:,.0f} MB over idle; "
                            f"{client.keepalives - keepalives_before:,} keep-alives answered in {hold:.0f} s; "
                            f"this step's logons {ok / seconds:,.0f}/s"))
        intervals = [b - a for d in client.live_dialogs() for a, b in zip(d.keepalives, d.keepalives[1:])]
        if intervals:
            intervals.sort()
            p = percentiles(intervals)
            rows.append(Row("keep-alive interval observed", f"median {p['p50']:.3f} s",
                            f"configured {scale.session_timeout} s",
                            f"min {intervals[0]:.3f} / p99 {p['p99']:.3f} / max {intervals[-1]:.3f} s over "
                            f"{len(intervals):,} intervals"))
        else:
            rows.append(Row("keep-alive interval observed", "none", f"configured {scale.session_timeout} s",
                            "no dialog saw two keep-alives"))
        if client.failures:
            rows.append(Row("session phase failures", str(dict(client.failures))))
    finally:
        client.close()
        server.stop()
    return rows


def print_table(rows: list[Row]) -> None:
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("measure", "value", "target")]
    header = ("measure", "value", "target", "note")
    print(f"{header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]:<{widths[2]}}  {header[3]}")
    for r in rows:
        print(f"{r.measure:<{widths[0]}}  {r.value:<{widths[1]}}  {r.target:<{widths[2]}}  {r.note}")


def run(work: Path) -> list[Row]:
    _raise_file_limit()
    scale = Scale.current()
    rows = phase_throughput(scale, work)
    rows += phase_sessions(scale, work)
    return rows


def phase_reload(scale: Scale, work: Path) -> list[Row]:
    """The reload phase alone, on a server of its own (phase 1 runs it last)."""
    server = write_deployment(work / "server-reload", users=scale.users, session_timeout=0)
    server.start()
    try:
        rows = [Row("server start with the directory loaded", f"{server.started_in:.1f} s", "",
                    f"{scale.users:,} users")]
        rows += _reload_rows(scale, server, 0)
    finally:
        server.stop()
    return rows


PHASES = {"all": run, "reload": lambda work: phase_reload(Scale.current(), work)}


def main(argv: list[str] | None = None) -> None:
    """`python -m bench server` runs every phase; `python -m bench.bench_server --phase reload`
    only the reload under load."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_server")
    parser.add_argument("--phase", choices=sorted(PHASES), default="all")
    options = parser.parse_args(argv or [])
    _raise_file_limit()
    with tempfile.TemporaryDirectory(prefix="rcc-bench-") as tmp:
        print_table(PHASES[options.phase](Path(tmp)))


if __name__ == "__main__":
    main(sys.argv[1:])

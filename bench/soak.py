"""Soak: the real server at half its measured maximum for a long time.

    python -m bench.soak                       # 1 hour, RSS every 60 s, -reload at 30 min
    python -m bench.soak --duration 300 --sample-every 30

Starts the server on the bench deployment (`--users` directory entries,
keep-alives every 30 s), then:

1. measures the closed-loop SnapshotDevice maximum on one connection, as
   `python -m bench server` does (skipped when `--load-rate` is given);
2. starts a load process: the bench load client, its own connection, 50
   monitored dialogs, SnapshotDevice INFOs open-loop at half that maximum,
   answering its keep-alives; every 10 s it reports what it sent, what was
   answered, what failed and that chunk's latency percentiles;
3. drives functional cycles at `--rate` per second from this process: an
   inbound call to each of two long-lived monitored Lync sessions (refreshed
   with UPDATE every 900 s, as Lync does; admin POST
   /api/calls, DeliveredEvent, CSTA AnswerCall, EstablishedEvent, admin
   hangup, ConnectionClearedEvent), a logon cycle (sign in, GetCSTAFeatures,
   MonitorStart, BYE) and OPTIONS on a fresh connection.

Every `--sample-every` seconds it prints a row: server RSS, open fds,
sessions, and the load's transactions, failures and p99 in that interval.
Half-way (or at `--reload-at`) it changes every directory entry and runs
`rccserver -reload` under the load. A transaction fails when it gets anything
but a 200 with a CSTA response, or no answer within 30 s. At the end the
server is stopped with SIGTERM (exit 0 expected). Exit 0 when nothing failed.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import percentiles
from rccserver import csta
from testkit.deployment import BenchUser, ldif_text, write_deployment
from testkit.loadclient import LoadClient
from testkit.lyncclient import SESSION_EXPIRES, LyncClient
from testkit.messages import answer_call, get_csta_features, monitor_start
from testkit.serverproc import ServerProcess, cpu_seconds, repo_env

ALICE, BOB, HANK = BenchUser(0), BenchUser(1), BenchUser(2)
LOAD_USERS = range(10, 60)  # the load process's 50 dialogs
LOAD_CHUNK = 10.0  # seconds per load report, at most
UNANSWERED_AFTER = 30.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds to run (default 3600)")
    parser.add_argument("--rate", type=float, default=5.0, help="functional cycles per second (default 5)")
    parser.add_argument("--load-rate", type=float, default=None,
                        help="SnapshotDevice INFOs per second (default: half the measured maximum)")
    parser.add_argument("--users", type=int, default=10_000, help="directory entries (default 10000)")
    parser.add_argument("--sample-every", type=float, default=60.0, help="seconds between rows (default 60)")
    parser.add_argument("--reload-at", type=float, default=None, help="seconds into the run (default: half-way)")
    parser.add_argument("--refresh-every", type=float, default=SESSION_EXPIRES / 2,
                        help="seconds between the monitored sessions' UPDATE refreshes (default 900)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    given = [args.duration, args.rate, args.sample_every, args.refresh_every]
    if min(given + ([args.load_rate] if args.load_rate is not None else [])) <= 0:
        parser.error("--duration, --rate, --load-rate, --sample-every and --refresh-every must be positive")
    if args.users < max(LOAD_USERS) + 1:
        parser.error(f"--users must be at least {max(LOAD_USERS) + 1}")
    return args


# -- the server's files ------------------------------------------------------------------
def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def reload_server(server: ServerProcess) -> subprocess.CompletedProcess:
    """Change every directory entry (the heaviest reload: a whole new cache and a full diff),
    then `rccserver -reload`, as an administrator would."""
    (server.workdir / "directory.ldif").write_text(ldif_text(server.users, renamed=True))
    return subprocess.run([sys.executable, "-m", "rccserver", "-reload", "--config", str(server.config_path)],
                          capture_output=True, text=True, timeout=120, env=repo_env())


# -- the load process -------------------------------------------------------------------
def measure_maximum(port: int, count: int) -> float:
    """Closed-loop SnapshotDevice transactions/s on one connection with 50 dialogs, 4 in flight each."""
    client = LoadClient("127.0.0.1", port, 1)
    try:
        client.logon([BenchUser(i) for i in LOAD_USERS], window=50, deadline=time.monotonic() + 60)
        dialogs = client.live_dialogs()
        client.closed_loop(dialogs, workload="snapshot", per_dialog=4, count=count // 5,
                           deadline=time.monotonic() + 60)  # warm-up
        answered, seconds = client.closed_loop(dialogs, workload="snapshot", per_dialog=4, count=count,
                                               deadline=time.monotonic() + 120)
        for dialog in dialogs:
            dialog.conn.send(dialog.next_request("BYE"))
        client.run_until(lambda: not client.waiting, time.monotonic() + 10)
        return answered / seconds if seconds > 0 else 0.0
    finally:
        client.close()


def load_process(port: int, rate: float, chunk: float, stop, reports) -> None:
    """Open-loop SnapshotDevice at `rate` until `stop` is set; a report per chunk on `reports`."""
    client = LoadClient("127.0.0.1", port, 1)
    try:
        ok, _ = client.logon([BenchUser(i) for i in LOAD_USERS], window=50, deadline=time.monotonic() + 60)
        dialogs = client.live_dialogs()
        reports.put({"logged_on": ok, "failures": dict(client.failures)})
        while not stop.is_set():
            count = max(1, int(rate * chunk))
            client.failures.clear()
            latencies = client.open_loop(dialogs, workload="snapshot", rate=rate, count=count,
                                         deadline=time.monotonic() + chunk + UNANSWERED_AFTER)
            unanswered = len(client.waiting)
            client.waiting.clear()  # late answers to these are dropped, and counted here
            failures = dict(client.failures)
            if unanswered:
                failures["unanswered"] = unanswered
            # percentiles, not the samples: a small report never waits in the pipe, so rows stay on time
            reports.put({"sent": count, "answered": len(latencies), "failures": failures,
                         "p99": percentiles(latencies)["p99"], "max": max(latencies, default=0.0),
                         "keepalives": client.keepalives})
    except (ConnectionError, OSError) as error:
        reports.put({"fatal": f"{type(error).__name__}: {error}"})
    finally:
        client.close()


class LoadTotals:
    """What the load process reported, in total and since the last row."""

    def __init__(self) -> None:
        self.sent = self.answered = self.failed = self.keepalives = 0
        self.failures: dict[str, int] = {}
        self.window: list[float] = []  # each chunk's p99 since the last row
        self.chunk_p99: list[float] = []
        self.worst = 0.0
        self.fatal: str | None = None

    def take(self, reports) -> None:
        while True:
            try:
                report = reports.get_nowait()
            except queue.Empty:
                return
            if "fatal" in report:
                self.fatal = report["fatal"]
                continue
            self.sent += report.get("sent", 0)
            self.answered += report.get("answered", 0)
            self.keepalives = report.get("keepalives", self.keepalives)
            for why, n in report["failures"].items():
                self.failures[why] = self.failures.get(why, 0) + n
                self.failed += n
            if "p99" in report:
                self.window.append(report["p99"])
                self.chunk_p99.append(report["p99"])
                self.worst = max(self.worst, report["max"])

    def window_p99_ms(self) -> float | None:
        """The worst 10-second p99 since the last row."""
        if not self.window:
            return None
        p99, self.window = max(self.window) * 1000, []
        return p99


# -- the functional cycles --------------------------------------------------------------
def monitored(port: int, user: BenchUser) -> LyncClient:
    client = LyncClient("127.0.0.1", port, user=user.uri, line=user.line)
    response = client.sign_in()
    if response.status != 200:
        raise RuntimeError(f"{user.uri} sign-in answered {response.status} {response.headers.get('Warning')}")
    client.csta(monitor_start(user.line))
    return client


def call_cycle(server: ServerProcess, client: LyncClient, user: BenchUser) -> None:
    status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550142", "to": user.extension})
    if status != 200:
        raise RuntimeError(f"POST /api/calls answered {status} {body}")
    call_id = body["call_id"]
    while client.wait_event("DeliveredEvent").connection.call_id != call_id:
        pass
    answer = client.csta(answer_call(user.line, call_id))
    if not isinstance(answer, csta.AnswerCallResponse):
        raise RuntimeError(f"AnswerCall answered {answer!r}")
    client.wait_event("EstablishedEvent")
    status, body = server.admin("POST", f"/api/calls/{call_id}/hangup")
    if status != 200:
        raise RuntimeError(f"hangup answered {status} {body}")
    client.wait_event("ConnectionClearedEvent")


def refresh(client: LyncClient) -> None:
    """The RFC 4028 refresh Lync sends (UPDATE): without it the server rightly ends a
    long-lived session when its 1800 s session timer expires."""
    answer = client.refresh(SESSION_EXPIRES)
    if answer.status != 200:
        raise RuntimeError(f"UPDATE refresh answered {answer.status} {answer.reason}")


def logon_cycle(server: ServerProcess) -> None:
    client = monitored(server.sip_port, HANK)
    try:
        client.csta(get_csta_features())
        if client.sign_out().status != 200:
            raise RuntimeError("the logon cycle's BYE was not answered 200")
    finally:
        client.close()


def options_cycle(server: ServerProcess) -> None:
    client = LyncClient("127.0.0.1", server.sip_port, user=ALICE.uri, line=ALICE.line)
    try:
        if client.options().status != 200:
            raise RuntimeError("OPTIONS not answered 200")
    finally:
        client.close()


# -- the run ----------------------------------------------------------------------------
COLUMNS = ("elapsed s", "cycles", "cycle errors", "load tx", "load failed", "worst 10-s p99 ms", "server CPU",
           "RSS KiB", "open fds", "sessions", "note")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="soak-"))
    reload_at = args.duration / 2 if args.reload_at is None else args.reload_at
    server = write_deployment(workdir, users=args.users, session_timeout=30).start()
    pid = server.pid
    errors: list[str] = []
    load_rate = args.load_rate
    if load_rate is None:
        maximum = measure_maximum(server.sip_port, count=30_000)
        load_rate = maximum / 2
        print(f"soak: closed-loop SnapshotDevice maximum {maximum:,.0f} tx/s; load at half: {load_rate:,.0f}/s",
              flush=True)
    chunk = min(LOAD_CHUNK, args.sample_every)
    context = multiprocessing.get_context("fork")
    stop, reports = context.Event(), context.Queue()
    loader = context.Process(target=load_process, args=(server.sip_port, load_rate, chunk, stop, reports), daemon=True)
    loader.start()
    first = reports.get(timeout=90)
    if first.get("logged_on") != len(LOAD_USERS):
        errors.append(f"load process logged on {first.get('logged_on')} of {len(LOAD_USERS)}: {first}")
    load = LoadTotals()
    alice, bob = monitored(server.sip_port, ALICE), monitored(server.sip_port, BOB)
    cycle = [
        lambda: call_cycle(server, alice, ALICE),
        lambda: call_cycle(server, bob, BOB),
        lambda: logon_cycle(server),
        lambda: options_cycle(server),
    ]
    print(f"soak: {args.duration:g} s, {args.rate:g} cycles/s, load {load_rate:,.0f} SnapshotDevice/s, "
          f"{args.users:,} users, server pid {pid}, workdir {workdir}", flush=True)
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + " --- |" * len(COLUMNS), flush=True)
    rows = []
    began = time.monotonic()
    last_cpu = (cpu_seconds(pid), began)
    next_sample = 0.0
    reloaded = False
    next_refresh = began + args.refresh_every
    ops = 0
    interval = 1.0 / args.rate
    next_op = began
    while (elapsed := time.monotonic() - began) < args.duration:
        note = ""
        if not reloaded and elapsed >= reload_at:
            reloaded = True
            result = reload_server(server)
            note = f"-reload exit {result.returncode}: {(result.stdout.strip().splitlines() or [''])[0]}"
            if result.returncode != 0:
                errors.append(f"-reload failed: {result.stdout} {result.stderr}")
        if time.monotonic() >= next_refresh:
            next_refresh += args.refresh_every
            try:
                for client in (alice, bob):
                    refresh(client)
                note = (note + "; " if note else "") + "UPDATE refreshes 200"
            except (RuntimeError, TimeoutError, ConnectionError, OSError) as error:
                errors.append(f"refresh: {type(error).__name__}: {error}")
        if elapsed >= next_sample or note:
            if server.process.poll() is not None:
                errors.append(f"server exited with {server.process.returncode}")
                break
            load.take(reports)
            status, sessions = server.admin("GET", "/api/sessions")
            p99 = load.window_p99_ms()
            cpu, cpu_at = cpu_seconds(pid), time.monotonic()
            busy = f"{(cpu - last_cpu[0]) / (cpu_at - last_cpu[1]):.0%}" if cpu_at - last_cpu[1] >= 1 else ""
            last_cpu = (cpu, cpu_at)
            row = (round(elapsed), ops, len(errors), load.answered, load.failed,
                   "" if p99 is None else f"{p99:.1f}", busy, server.rss() // 1024, open_fds(pid),
                   len(sessions) if status == 200 else f"HTTP {status}", note)
            rows.append(row)
            print("| " + " | ".join(str(v) for v in row) + " |", flush=True)
            if elapsed >= next_sample:
                next_sample += args.sample_every
        try:
            cycle[ops % len(cycle)]()
        except (RuntimeError, TimeoutError, ConnectionError, OSError, AssertionError) as error:
            errors.append(f"cycle {ops}: {type(error).__name__}: {error}")
            print(f"  error in cycle {ops}: {type(error).__name__}: {error}", flush=True)
        ops += 1
        alice.drain(0)  # answer keep-alives
        bob.drain(0)
        next_op += interval
        delay = next_op - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_op = time.monotonic()  # behind: do not try to catch up in a burst
    stop.set()
    # keep reading: a process cannot exit while its queue still holds reports nobody read
    finish_by = time.monotonic() + chunk + UNANSWERED_AFTER + 30
    while loader.is_alive() and time.monotonic() < finish_by:
        load.take(reports)
        loader.join(0.2)
    load.take(reports)
    if loader.is_alive() or loader.exitcode != 0:
        errors.append(f"load process did not finish cleanly (exit {loader.exitcode})")
        loader.kill()
    if load.fatal:
        errors.append(f"load process: {load.fatal}")
    if load.failed:
        errors.append(f"load: {load.failed} failed transactions {load.failures}")
    if load.answered == 0:
        errors.append("load: no transaction was answered")
    final_rss = server.rss() // 1024 if server.process.poll() is None else None
    for client in (alice, bob):
        try:
            client.sign_out()
        except (TimeoutError, ConnectionError, OSError) as error:
            errors.append(f"sign-out: {error}")
        client.close()
    status = server.stop()
    if status != 0:
        errors.append(f"server exit status {status}")
    rss = [row[COLUMNS.index("RSS KiB")] for row in rows]
    print()
    print(f"summary: {time.monotonic() - began:.0f} s; {ops} cycles; load {load.sent:,} sent, "
          f"{load.answered:,} answered, {load.failed} failed, {load.keepalives} keep-alives answered; "
          f"10-s p99 median {statistics.median(load.chunk_p99 or [0]) * 1000:.1f} ms, "
          f"worst {max(load.chunk_p99, default=0) * 1000:.1f} ms, max latency {load.worst * 1000:.0f} ms; "
          f"RSS first {rss[0] if rss else None} KiB, last {final_rss} KiB, max {max(rss, default=None)} KiB; "
          f"reload {'done' if reloaded else 'not reached'}; {len(errors)} errors; exit {status}")
    for error in errors[:20]:
        print(f"error: {error}")
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())

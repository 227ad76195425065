"""Soak: the real server under a steady, realistic load for a long time.

    python -m bench.soak                       # 1 hour, 5 operations/s, RSS every 60 s, -reload at 30 min
    python -m bench.soak --duration 300 --sample-every 30

Starts the server (the e2e testbed, keep-alives every 30 s) and two monitored
Lync sessions (alice on 1001, bob on 1002) that live for the whole run. At
`--rate` operations per second it cycles through:

* an inbound call: admin POST /api/calls to a station, DeliveredEvent, the
  Lync user answers (CSTA AnswerCall), EstablishedEvent, admin hangup,
  ConnectionClearedEvent;
* a logon cycle: hank signs in on 1004, GetCSTAFeatures, MonitorStart, BYE;
* OPTIONS on a fresh connection.

Every `--sample-every` seconds it prints a row: elapsed, operations, errors,
server RSS, open file descriptors, sessions. Half-way (or at --reload-at) it
runs `rccserver -reload` against the running server and checks that the live
sessions survive. At the end it stops the server with SIGTERM (exit 0
expected) and prints a summary. Exit 0 when there were no errors.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rccserver import csta
from tests.e2e.lyncclient import ED3, LyncClient
from tests.e2e.serverproc import REPO
from tests.e2e.testbed import write_testbed
from tests.fuzz.fuzz_wire_harness import rss_kib


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds to run (default 3600)")
    parser.add_argument("--rate", type=float, default=5.0, help="operations per second (default 5)")
    parser.add_argument("--sample-every", type=float, default=60.0, help="seconds between rows (default 60)")
    parser.add_argument("--reload-at", type=float, default=None, help="seconds into the run (default: half-way)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.rate <= 0 or args.sample_every <= 0:
        parser.error("--duration, --rate and --sample-every must be positive")
    return args


def monitored(port: int, user: str, line: str) -> LyncClient:
    client = LyncClient("127.0.0.1", port, user=user, line=line)
    response = client.sign_in()
    if response.status != 200:
        raise RuntimeError(f"{user} sign-in answered {response.status} {response.headers.get('Warning')}")
    client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{line}</deviceObject>'
                f"</monitorObject></MonitorStart>")
    return client


def call_cycle(server, client: LyncClient, station: str, line: str) -> None:
    status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550142", "to": station})
    if status != 200:
        raise RuntimeError(f"POST /api/calls answered {status} {body}")
    call_id = body["call_id"]
    while client.wait_event("DeliveredEvent").connection.call_id != call_id:
        pass
    answer = client.csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered><callID>{call_id}</callID>'
                         f"<deviceID>{line}</deviceID></callToBeAnswered></AnswerCall>")
    if not isinstance(answer, csta.AnswerCallResponse):
        raise RuntimeError(f"AnswerCall answered {answer!r}")
    client.wait_event("EstablishedEvent")
    status, body = server.admin("POST", f"/api/calls/{call_id}/hangup")
    if status != 200:
        raise RuntimeError(f"hangup answered {status} {body}")
    client.wait_event("ConnectionClearedEvent")


def logon_cycle(server) -> None:
    client = monitored(server.sip_port, "sip:hank@example.com", "tel:+1004")
    try:
        client.csta(f'<GetCSTAFeatures xmlns="{ED3}"/>')
        if client.sign_out().status != 200:
            raise RuntimeError("hank's BYE was not answered 200")
    finally:
        client.close()


def options_cycle(server) -> None:
    client = LyncClient("127.0.0.1", server.sip_port, user="sip:alice@example.com", line="tel:+1001")
    try:
        cseq = client.request("OPTIONS", content_type=None)
        if client.wait_response(cseq, "OPTIONS").status != 200:
            raise RuntimeError("OPTIONS not answered 200")
    finally:
        client.close()


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def reload_server(config: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "rccserver", "-reload", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, env=env)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="soak-"))
    reload_at = args.duration / 2 if args.reload_at is None else args.reload_at
    server = write_testbed(workdir, session_timeout=30).start()
    pid = server.process.pid
    errors: list[str] = []
    ops = 0
    rows = []
    alice = monitored(server.sip_port, "sip:alice@example.com", "tel:+1001")
    bob = monitored(server.sip_port, "sip:bob@example.com", "tel:+1002")
    cycle = [
        lambda: call_cycle(server, alice, "1001", "tel:+1001"),
        lambda: call_cycle(server, bob, "1002", "tel:+1002"),
        lambda: logon_cycle(server),
        lambda: options_cycle(server),
    ]
    print(f"soak: {args.duration:g} s at {args.rate:g} op/s, server pid {pid}, workdir {workdir}", flush=True)
    print("| elapsed s | operations | errors | RSS KiB | open fds | sessions | note |")
    print("| --- | --- | --- | --- | --- | --- | --- |", flush=True)
    began = time.monotonic()
    next_sample = 0.0
    reloaded = False
    interval = 1.0 / args.rate
    next_op = began
    while (elapsed := time.monotonic() - began) < args.duration:
        note = ""
        if not reloaded and elapsed >= reload_at:
            reloaded = True
            result = reload_server(server.config_path)
            note = f"-reload exit {result.returncode}"
            if result.returncode != 0:
                errors.append(f"-reload failed: {result.stdout} {result.stderr}")
        if elapsed >= next_sample or note:
            if server.process.poll() is not None:
                errors.append(f"server exited with {server.process.returncode}")
                break
            sessions = len(server.admin("GET", "/api/sessions")[1])
            row = (round(elapsed), ops, len(errors), rss_kib(pid), open_fds(pid), sessions, note)
            rows.append(row)
            print("| " + " | ".join(str(v) for v in row) + " |", flush=True)
            if elapsed >= next_sample:
                next_sample += args.sample_every
        try:
            cycle[ops % len(cycle)]()
        except (RuntimeError, TimeoutError, ConnectionError, OSError, AssertionError) as error:
            errors.append(f"op {ops}: {type(error).__name__}: {error}")
            print(f"  error in operation {ops}: {type(error).__name__}: {error}", flush=True)
        ops += 1
        alice.drain(0)  # answer keep-alives
        bob.drain(0)
        next_op += interval
        delay = next_op - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_op = time.monotonic()  # behind: do not try to catch up in a burst
    final_rss = rss_kib(pid) if server.process.poll() is None else None
    for client in (alice, bob):
        try:
            client.sign_out()
        except (TimeoutError, ConnectionError, OSError) as error:
            errors.append(f"sign-out: {error}")
        client.close()
    status = server.stop()
    if status != 0:
        errors.append(f"server exit status {status}")
    first = rows[0][3] if rows else None
    print()
    print(f"summary: {time.monotonic() - began:.0f} s, {ops} operations, {len(errors)} errors, "
          f"RSS first sample {first} KiB, last {final_rss} KiB, max {max(r[3] for r in rows) if rows else None} KiB, "
          f"reload {'done' if reloaded else 'not reached'}, exit {status}")
    for error in errors[:20]:
        print(f"error: {error}")
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())

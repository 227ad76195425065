"""CPU time per operation of the in-process benchmarks, for comparing interpreters
(CPython against PyPy, docs/pypy.md). Not part of `python -m bench`.

Each operation is warmed up first (long enough for PyPy's JIT to compile the loop),
then timed in rounds with time.process_time(); the best round is reported, since the
machine is shared and only the best round is free of other people's load.

    python -m bench.interp_compare [--warmup SECONDS] [--rounds N] [--round-cpu SECONDS] [names...]
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time

from rccserver import csta
from rccserver.common.clock import Scheduler
from rccserver.sip.endpoint import Endpoint
from rccserver.sip.framer import StreamFramer
from rccserver.sip.parser import parse_message
from rccserver.state import MemoryStore
from testkit.messages import lync_info, snapshot_device

from bench import bench_endpoint
from bench.bench_state import CONN, LINE, Core


def _sip_ops() -> dict:
    message = lync_info()
    burst = b"".join(lync_info(cseq=n) for n in range(1, 101))

    def parse_and_read() -> None:
        m = parse_message(message)
        m.from_, m.to, m.top_via, m.cseq
        m.to_bytes()

    return {
        "sip: frame 100 INFOs in one read": lambda: StreamFramer().feed(burst),
        "sip: parse_message (Lync INFO)": lambda: parse_message(message),
        "sip: parse + to_bytes": lambda: parse_message(message).to_bytes(),
        "sip: parse + From/To/Via/CSeq + to_bytes": parse_and_read,
    }


def _csta_ops() -> dict:
    # bench_csta's two documents (not imported: it needs tracemalloc, which PyPy lacks)
    ed3, line = csta.ED3, "tel:+13175551010"
    call = csta.MakeCall(calling_device=line, called_directory_number="tel:+13175552020",
                         auto_originate="doNotPrompt")
    event = csta.DeliveredEvent(
        monitor_cross_ref_id="99fda87c", connection=csta.ConnectionID(call_id="c7", device_id=line),
        alerting_device=line, calling_device="tel:+13175552020", called_device=line,
        last_redirection_device=csta.NOT_KNOWN, local_connection_info="alerting", cause="newCall")
    make_call, delivered = csta.encode(call, ed3), csta.encode(event, ed3)
    return {
        "csta: decode MakeCall": lambda: csta.decode(make_call),
        "csta: encode MakeCall": lambda: csta.encode(call, ed3),
        "csta: decode DeliveredEvent": lambda: csta.decode(delivered),
        "csta: encode DeliveredEvent": lambda: csta.encode(event, ed3),
    }


def _endpoint_ops() -> dict:
    now = [0.0]
    scheduler = Scheduler(lambda: now[0])
    endpoint = Endpoint(bench_endpoint._AnsweringApp(), domain_name="rcc.example.com", scheduler=scheduler)
    endpoint.connection_made(1, ("10.1.1.1", 40000), "tls", ("10.9.9.9", 11001))
    endpoint.receive(1, bench_endpoint._request("INVITE", 1, None, "z9hG4bKinvite", bench_endpoint.BODY))
    endpoint.take_output()
    dialog = next(iter(endpoint.dialogs))
    to_tag = dialog.local_tag
    endpoint.receive(1, bench_endpoint._request("ACK", 1, to_tag, "z9hG4bKack"))
    endpoint.take_output()
    cseq = itertools.count(2)

    def incoming_info() -> None:
        n = next(cseq)
        endpoint.receive(1, bench_endpoint._request("INFO", n, to_tag, f"z9hG4bKinfo{n}", bench_endpoint.BODY))
        endpoint.take_output()

    def outgoing_info() -> None:
        endpoint.send_request(dialog, "INFO", headers=[("Content-Type", bench_endpoint.CSTA)],
                              body=bench_endpoint.ANSWER, on_outcome=bench_endpoint._ignore)
        (out,) = endpoint.take_output()
        endpoint.receive(1, bench_endpoint.ok_to_info(parse_message(out.data)))

    def between_rounds() -> None:  # let finished transactions go, as the reactor's timers would
        now[0] += 64.0
        scheduler.tick(now[0])

    return {
        "endpoint: incoming INFO transaction (incl. building the bytes)": (incoming_info, between_rounds),
        "endpoint: outgoing INFO + 200 (incl. test-side parse)": (outgoing_info, between_rounds),
    }


def _rcc_ops() -> dict:
    """Endpoint, RCC application and embedded switch on the demo data (as bench_state builds
    them), alice signed in; one SnapshotDevice INFO in as bytes, its 200 out as bytes."""
    core = Core(MemoryStore())
    body = snapshot_device(LINE)
    (reply,) = core.feed(core.dialog.request("INFO", body)[1])
    assert reply.status == 200 and b"SnapshotDeviceResponse" in reply.body, reply

    def snapshot() -> None:
        core.endpoint.receive(CONN, core.dialog.request("INFO", body)[1])
        core.endpoint.take_output()

    now = [0.0]

    def between_rounds() -> None:  # let finished transactions go, as the reactor's timers would
        now[0] += 64.0
        core.scheduler.tick(now[0])

    return {"rcc: SnapshotDevice INFO -> 200 through the core (bytes in/out)": (snapshot, between_rounds)}


def _run(func, rounds: int, round_cpu: float, warmup: float, between) -> tuple[float, int]:
    """Best CPU seconds per call over `rounds`, after `warmup` CPU seconds of calls."""
    start = time.process_time()
    calls = 0
    while time.process_time() - start < warmup or calls < 1000:
        func()
        calls += 1
    between()
    # calls per round: enough to take ~round_cpu seconds at the warmed-up speed
    t0 = time.process_time()
    for _ in range(200):
        func()
    per_call = max((time.process_time() - t0) / 200, 1e-7)
    n = max(50, int(round_cpu / per_call))
    best = float("inf")
    for _ in range(rounds):
        between()
        t0 = time.process_time()
        for _ in range(n):
            func()
        best = min(best, (time.process_time() - t0) / n)
    return best, n


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=float, default=5.0, help="CPU seconds of warm-up per operation")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--round-cpu", type=float, default=0.5, help="CPU seconds per timed round")
    parser.add_argument("names", nargs="*", help="sip, csta, endpoint, rcc (default: all)")
    args = parser.parse_args(argv)
    groups = {"sip": _sip_ops, "csta": _csta_ops, "endpoint": _endpoint_ops, "rcc": _rcc_ops}
    impl = f"{sys.implementation.name} {sys.version.split()[0]}"
    for name in args.names or list(groups):
        for label, op in groups[name]().items():
            func, between = op if isinstance(op, tuple) else (op, lambda: None)
            best, n = _run(func, args.rounds, args.round_cpu, args.warmup, between)
            print(f"{impl}\t{label}\t{best * 1e6:.2f} us\t(best of {args.rounds} x {n})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

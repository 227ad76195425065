"""The long wire-fuzzing profile: `python -m bench.fuzz_wire --count 1000000`.

Starts the real server (the e2e testbed, as tests/fuzz/test_fuzz_wire.py
does), signs in a reference session, then sends mutated Lync-shaped messages in
batches; after every batch the invariants of
testkit.wirefuzz.run_batch are checked (server alive, reference
session answered and evented, OPTIONS answered on a fresh connection, no
session or station leaked, RSS sampled). Stops at --count inputs or at
--max-seconds. A broken invariant is reported (the batch, seed and the last
inputs, so it can be replayed with --seed/--start), the server is restarted
and the run goes on with the next batch, up to --max-failures.

Prints one line per batch and a summary table (inputs, crashes, hangs, leaks,
RSS before/after) for docs/reliability.md. Exit 0 when every invariant held.
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

from testkit.wirefuzz import InvariantBroken, ReferenceSession, rss_kib, run_batch, start_fuzz_server


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_wire", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs to send (default 1000000)")
    parser.add_argument("--batch", type=int, default=5000, help="inputs between invariant checks (default 5000)")
    parser.add_argument("--transport", choices=("tcp", "tls"), default="tcp")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--start", type=int, default=0, help="first input index (to replay a failing batch)")
    parser.add_argument("--per-connection", type=int, default=10, help="inputs per connection (default 10)")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop after this long (at a batch end)")
    parser.add_argument("--max-failures", type=int, default=10,
                        help="broken invariants tolerated (each restarts the server) before giving up (default 10)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the server's files go (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.batch < 1 or args.per_connection < 1:
        parser.error("--count, --batch and --per-connection must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fuzz-wire-"))
    began = time.monotonic()
    recent: collections.deque = collections.deque(maxlen=20)
    responses: collections.Counter = collections.Counter()
    outcome = {"crashes": 0, "hangs": 0, "leaks": 0}
    failures: list[str] = []
    rss_rows: list[tuple[int, int | None, int | None]] = []  # per server run: start, after 1st batch, end
    index, run = args.start, 0
    sent = 0

    def on_input(item) -> None:
        nonlocal sent
        sent += 1
        recent.append(item)

    while sent < args.count and len(failures) <= args.max_failures:
        if args.max_seconds is not None and time.monotonic() - began > args.max_seconds:
            print(f"stopping: --max-seconds {args.max_seconds:g} reached", flush=True)
            break
        run += 1
        batch_start = index
        fs = start_fuzz_server(workdir / f"run{run}", args.transport)
        rss = [rss_kib(fs.pid), None, None]
        print(f"server run {run}: pid {fs.pid} ({args.transport}, {workdir / f'run{run}'}); RSS {rss[0]} KiB",
              flush=True)
        try:
            reference = ReferenceSession(fs)
            reference.check()
            while sent < args.count:
                if args.max_seconds is not None and time.monotonic() - began > args.max_seconds:
                    break
                count = min(args.batch, args.count - sent)
                batch_start = index
                index += count  # a failing batch is not retried: the next run goes on from here
                result = run_batch(fs, reference, seed=args.seed, start=batch_start, count=count,
                                   per_connection=args.per_connection, on_input=on_input)
                responses.update(result.stats.responses)
                if rss[1] is None:
                    rss[1] = result.rss_after_kib
                print(f"{sent:>9} inputs  {time.monotonic() - began:8.1f} s  RSS {result.rss_after_kib} KiB  "
                      f"conns {result.stats.connections} closed-by-server {result.stats.closed_by_server}  "
                      f"converged in {result.converge_seconds:.1f} s", flush=True)
            reference.close()
        except (InvariantBroken, TimeoutError, ConnectionError, OSError) as error:
            text = f"{type(error).__name__}: {error}"
            kind = "crashes" if not fs.alive() else "leaks" if "leak:" in text else "hangs"
            outcome[kind] += 1
            failures.append(f"run {run}, batch from input {batch_start} (seed {args.seed}): {kind}: {text}")
            print(f"INVARIANT BROKEN in run {run}, batch from input {batch_start}: {text}", flush=True)
            for item in recent:
                print(f"  recent input #{item.index} {item.seed_name} {'+'.join(item.mutations)}: "
                      f"{item.data[:160]!r}")
            print("  restarting the server and going on with the next batch", flush=True)
        finally:
            rss[2] = rss_kib(fs.pid) if fs.alive() else None
            exit_status = fs.server.stop()
            rss_rows.append(tuple(rss))
            if exit_status != 0:
                failures.append(f"run {run}: server exit status {exit_status}")
    elapsed = time.monotonic() - began
    print()
    print("| inputs tried | crashes | hangs | leaks | server runs | RSS start / after 1st batch / end (KiB) per run | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rss_text = "; ".join(f"{a} / {b} / {c}" for a, b, c in rss_rows)
    print(f"| {sent} | {outcome['crashes']} | {outcome['hangs']} | {outcome['leaks']} | {run} | {rss_text} | "
          f"{elapsed:.0f} |")
    print(f"responses by status: {dict(sorted(responses.items()))}")
    for failure in failures:
        print(f"failure: {failure}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())

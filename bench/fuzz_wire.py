"""The long wire-fuzzing profile: `python -m bench.fuzz_wire --count 1000000`.

Starts the real server (the e2e testbed, as tests/fuzz/test_fuzz_wire.py
does), signs in a reference session, then sends mutated Lync-shaped messages in
batches; after every batch the invariants of
tests/fuzz/fuzz_wire_harness.run_batch are checked (server alive, reference
session answered and evented, OPTIONS answered on a fresh connection, no
session or station leaked, RSS sampled). Stops at --count inputs, at
--max-seconds, or at the first broken invariant (the batch, seed and the last
inputs are printed so the failure can be replayed with --seed/--start).

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

from tests.fuzz.fuzz_wire_harness import InvariantBroken, ReferenceSession, rss_kib, run_batch, start_fuzz_server


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_wire", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs to send (default 1000000)")
    parser.add_argument("--batch", type=int, default=5000, help="inputs between invariant checks (default 5000)")
    parser.add_argument("--transport", choices=("tcp", "tls"), default="tcp")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--start", type=int, default=0, help="first input index (to replay a failing batch)")
    parser.add_argument("--per-connection", type=int, default=10, help="inputs per connection (default 10)")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop after this long (at a batch end)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the server's files go (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.batch < 1 or args.per_connection < 1:
        parser.error("--count, --batch and --per-connection must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fuzz-wire-"))
    fs = start_fuzz_server(workdir, args.transport)
    began = time.monotonic()
    recent: collections.deque = collections.deque(maxlen=20)
    sent = 0
    responses: collections.Counter = collections.Counter()
    outcome = {"crashes": 0, "hangs": 0, "leaks": 0}
    failure = ""
    rss_first = rss_kib(fs.pid)
    rss_after_warmup = None
    print(f"server pid {fs.pid} ({args.transport}, workdir {workdir}); RSS at start {rss_first} KiB", flush=True)
    try:
        reference = ReferenceSession(fs)
        reference.check()
        index = args.start
        while sent < args.count:
            if args.max_seconds is not None and time.monotonic() - began > args.max_seconds:
                print(f"stopping: --max-seconds {args.max_seconds:g} reached", flush=True)
                break
            count = min(args.batch, args.count - sent)
            result = run_batch(fs, reference, seed=args.seed, start=index, count=count,
                               per_connection=args.per_connection, on_input=recent.append)
            sent += count
            index += count
            responses.update(result.stats.responses)
            if rss_after_warmup is None:
                rss_after_warmup = result.rss_after_kib
            print(f"{sent:>9} inputs  {time.monotonic() - began:8.1f} s  RSS {result.rss_after_kib} KiB  "
                  f"conns {result.stats.connections} closed-by-server {result.stats.closed_by_server}  "
                  f"converged in {result.converge_seconds:.1f} s", flush=True)
        reference.close()
    except InvariantBroken as error:
        text = str(error)
        kind = "crashes" if not fs.alive() else "leaks" if text.startswith("leak") else "hangs"
        outcome[kind] += 1
        failure = f"{kind}: {text}"
        print(f"INVARIANT BROKEN after about {sent} inputs (seed {args.seed}): {text}", flush=True)
        for item in recent:
            print(f"  recent input #{item.index} {item.seed_name} {'+'.join(item.mutations)}: {item.data[:160]!r}")
    except (TimeoutError, ConnectionError, OSError) as error:
        outcome["hangs" if fs.alive() else "crashes"] += 1
        failure = f"{type(error).__name__}: {error}"
        print(f"FAILED after about {sent} inputs: {failure}", flush=True)
    finally:
        rss_end = rss_kib(fs.pid) if fs.alive() else None
        exit_status = fs.server.stop()
    elapsed = time.monotonic() - began
    print()
    print("| inputs tried | crashes | hangs | leaks | RSS start | RSS after 1st batch | RSS end | seconds | exit |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {sent} | {outcome['crashes']} | {outcome['hangs']} | {outcome['leaks']} | {rss_first} KiB | "
          f"{rss_after_warmup} KiB | {rss_end} KiB | {elapsed:.0f} | {exit_status} |")
    print(f"responses by status: {dict(sorted(responses.items()))}")
    if failure:
        print(f"failure: {failure}")
    return 0 if not failure and exit_status == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Profile the server under one workload: cProfile in the server process, the load
client outside it.

    python -m bench.profile_server snapshot|makecall|logon|reload|lync [--users N] [--count N] [--top N]
    python -m bench.profile_server snapshot --py-spy   # sample instead (py-spy from PyPI)

The server runs `python -m cProfile -o FILE -m rccserver run ...`; the stats are
written when it stops on SIGTERM and printed sorted by own time and by
cumulative time. cProfile slows the server down several times, so use the
shares, not the rates, from these runs (docs/performance.md). With --py-spy the
server runs unmodified and py-spy samples it (100 Hz) for the whole workload;
the output is the share of samples per function, own and inclusive.
"""
from __future__ import annotations

import argparse
import collections
import pstats
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench.sippload import run_lync_calls
from testkit.deployment import BenchUser, ldif_text, write_deployment
from testkit.loadclient import LoadClient

WORKLOADS = ("snapshot", "makecall", "logon", "reload", "lync")


def drive(workload: str, port: int, server, count: int) -> str:
    if workload == "lync":  # bench compare's scenario a: SIPp, one connection, 50 calls open
        result = run_lync_calls(server.workdir / "sipp-lync", port, [BenchUser(i) for i in range(count)],
                                calls=5, one_connection=True, concurrency=50, timeout=600)
        return f"{result.successful} of {result.calls} SIPp calls in {result.seconds:.1f} s, {result.failed} failed"
    client = LoadClient("127.0.0.1", port, 4)
    try:
        if workload == "logon":
            ok, seconds = client.logon([BenchUser(i) for i in range(count)], window=200,
                                       deadline=time.monotonic() + 600)
            return f"{ok} logons in {seconds:.1f} s"
        client.logon([BenchUser(i) for i in range(50)], window=50, deadline=time.monotonic() + 60)
        dialogs = client.live_dialogs()
        if workload == "reload":
            (server.workdir / "directory.ldif").write_text(ldif_text(server.users, renamed=True))
            before = len(server.log_text)
            server.reload()
            deadline = time.monotonic() + 600
            while " reload " not in server.log_text[before:] and time.monotonic() < deadline:
                client.closed_loop(dialogs, workload="snapshot", per_dialog=1, count=200,
                                   deadline=time.monotonic() + 30)
            return [line for line in server.log_text[before:].splitlines() if " reload " in line][-1]
        answered, seconds = client.closed_loop(dialogs, workload=workload, per_dialog=4, count=count,
                                               deadline=time.monotonic() + 600)
        return f"{answered} INFOs in {seconds:.1f} s ({dict(client.failures) or 'no failures'})"
    finally:
        client.close()


def spy_shares(raw: str, top: int) -> str:
    """Own and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
                  for f in stack.split(";")]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples"]
    for title, counter in (("own", own), ("inclusive", inclusive)):
        lines.append(f"-- top {top} by {title} samples --")
        lines += [f"{100 * n / total:6.1f} %  {name}" for name, n in counter.most_common(top)]
    return "\n".join(lines)


def run_py_spy(args) -> int:
    binary = shutil.which("py-spy")
    if binary is None:
        raise SystemExit("py-spy not found: pip install py-spy")
    with tempfile.TemporaryDirectory(prefix="rcc-profile-") as tmp:
        server = write_deployment(Path(tmp) / "server", users=args.users)
        server.start(timeout=300)
        raw = Path(tmp) / "stacks.txt"
        spy = subprocess.Popen([binary, "record", "--pid", str(server.pid), "--rate", "100", "--format", "raw",
                                "--output", str(raw), "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)  # let py-spy attach
            print(drive(args.workload, server.sip_port, server, args.count))
        finally:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
            server.stop(timeout=120)
        print(spy_shares(raw.read_text() if raw.exists() else "", args.top))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None, help="keep the .pstats file here")
    parser.add_argument("--py-spy", action="store_true", help="sample with py-spy instead of cProfile")
    args = parser.parse_args(argv)
    if args.py_spy:
        return run_py_spy(args)
    with tempfile.TemporaryDirectory(prefix="rcc-profile-") as tmp:
        server = write_deployment(Path(tmp) / "server", users=args.users)
        profile = (args.out or Path(tmp) / "server.pstats").resolve()
        server.start(profile_to=profile, timeout=300)
        try:
            # measure the workload, not the start-up load of the data files
            print(drive(args.workload, server.sip_port, server, args.count))
        finally:
            server.stop(timeout=120)
        stats = pstats.Stats(str(profile))
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

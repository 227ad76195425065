"""Profile the server under one workload: cProfile in the server process, the load
client outside it.

    python -m bench.profile_server snapshot|makecall|logon|reload [--users N] [--count N] [--top N]

The server runs `python -m cProfile -o FILE -m rccserver run ...`; the stats are
written when it stops on SIGTERM and printed sorted by own time and by
cumulative time. cProfile slows the server down several times, so use the
shares, not the rates, from these runs (docs/performance.md).
"""
from __future__ import annotations

import argparse
import pstats
import tempfile
import time
from pathlib import Path

from bench.deployment import BenchUser, ldif_text, write_deployment
from bench.loadclient import LoadClient

WORKLOADS = ("snapshot", "makecall", "logon", "reload")


def drive(workload: str, port: int, server, count: int) -> str:
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
            before = len(server.log_text())
            server.reload()
            deadline = time.monotonic() + 600
            while " reload " not in server.log_text()[before:] and time.monotonic() < deadline:
                client.closed_loop(dialogs, workload="snapshot", per_dialog=1, count=200,
                                   deadline=time.monotonic() + 30)
            return [line for line in server.log_text()[before:].splitlines() if " reload " in line][-1]
        answered, seconds = client.closed_loop(dialogs, workload=workload, per_dialog=4, count=count,
                                               deadline=time.monotonic() + 600)
        return f"{answered} INFOs in {seconds:.1f} s ({dict(client.failures) or 'no failures'})"
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None, help="keep the .pstats file here")
    args = parser.parse_args(argv)
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

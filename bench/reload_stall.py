"""The reactor's longest stall while 100,000 users (LDIF) and their CIC data reload.

    python -m bench.reload_stall [users]

Each mode runs in a process of its own: the data in force is loaded and frozen as
the server does at start, the files are rewritten (every display name changes, so
the diff reports every user), then a timer that asks for a turn every millisecond
records how late each turn came while the reload runs:

- thread: the former way (DirectoryReloader running load_data in the reactor's
  thread pool, GIL switch interval 0.2 ms while it runs);
- child: the server's way now (ChildReloader: load and diff in a child process,
  the reactor rebuilds the answer a slice per turn).
"""
from __future__ import annotations

import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import attrs


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def run_mode(mode: str, users: int, workdir: Path) -> None:
    from twisted.internet import reactor

    from rccserver.server.config import DirectoryConfig
    from rccserver.server.reloader import ChildReloader, DirectoryReloader
    from rccserver.server.runtime import DataSnapshot, load_data
    from rccserver.cic.data import CicDataError
    from rccserver.directory.cache import DirectoryError
    from testkit.deployment import cic_text, ldif_text

    ldif, cic = workdir / "directory.ldif", workdir / "cic.toml"
    ldif.write_text(ldif_text(users))
    cic.write_text(cic_text(users))
    directory = DirectoryConfig(source="ldif", ldif_file=str(ldif), netbios_domain="EXAMPLE", url=None,
                                bind_dn=None, password_file=None, search_dn=None, search_filter="",
                                page_size=1000, start_tls=False, ca_file=None, timeout=5.0)
    cic_config = attrs.make_class("Cic", ["data_file"])(str(cic))
    config = attrs.make_class("Config", ["directory", "cic"])(directory, cic_config)
    initial = load_data(config)
    if mode == "thread":
        reloader = DirectoryReloader(config, reactor=reactor, initial=initial, load=load_data,
                                     expected=(DirectoryError, CicDataError, OSError))
    else:
        reloader = ChildReloader(config, reactor=reactor, initial=initial, snapshot=DataSnapshot)
    gc.collect()
    gc.freeze()
    ldif.write_text(ldif_text(users, renamed=True))
    stalls: list[float] = []
    last = [0.0]
    running = [True]

    def tick() -> None:
        now = time.perf_counter()
        stalls.append(now - last[0] - 0.001)
        last[0] = now
        if running[0]:
            reactor.callLater(0.001, tick)

    def done(outcome) -> None:
        elapsed = time.perf_counter() - started
        running[0] = False
        if mode == "thread":
            sys.setswitchinterval(switch)
        worst = max(stalls) * 1000
        swap = ""
        if mode == "child":
            swap = (f"; rebuild on the reactor {reloader.last_swap * 1000:.0f} ms in all, "
                    f"longest turn {reloader.longest_slice * 1000:.1f} ms")
        print(f"{mode:6} ok={outcome.ok} changed={len(outcome.diff.changed) if outcome.diff else '-'} "
              f"reload {elapsed:.2f} s; reactor turns {len(stalls)}, "
              f"lateness p50 {_percentile(stalls, 0.5) * 1000:.1f} ms, p99 {_percentile(stalls, 0.99) * 1000:.1f} ms, "
              f"longest stall {worst:.0f} ms{swap}", flush=True)
        reactor.stop()

    def start() -> None:
        nonlocal started, switch
        switch = sys.getswitchinterval()
        if mode == "thread":
            sys.setswitchinterval(0.0002)  # as Runtime.reload did
        last[0] = started = time.perf_counter()
        reactor.callLater(0.001, tick)
        reloader.reload().addCallback(done)

    started = switch = 0.0
    reactor.callWhenRunning(start)
    reactor.run()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--mode"]:
        run_mode(argv[1], int(argv[2]), Path(argv[3]))
        return 0
    users = int(argv[0]) if argv else 100_000
    print(f"reload of {users:,} users (LDIF) and {users:,} CIC users and stations; every display name changed")
    for mode in ("thread", "child"):
        with tempfile.TemporaryDirectory() as workdir:
            subprocess.run([sys.executable, "-m", "bench.reload_stall", "--mode", mode, str(users), workdir],
                           check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The reactor's longest stall while 100,000 users (LDIF) and their CIC data reload.

    python -m bench.reload_stall [users]

Each mode runs in a process of its own: the data in force is loaded and frozen as
the server does at start, the files are rewritten (every display name changes, so
the diff reports every user), then a timer that asks for a turn every millisecond
records how late each turn came while the reload runs:

- thread: the former way (DirectoryReloader running load_data in the reactor's
  thread pool, GIL switch interval 0.2 ms while it runs);
- child: the server's way now (ChildReloader: load and diff in a child process,
  the reactor rebuilds the answer a slice per turn);
- runtime: the whole of `Runtime.reload` (rccserver/server/runtime.py) on a Runtime
  built from testkit/deployment.py's configuration, listeners not opened: the child,
  the rebuild, and the work after the swap (station comparison, the refused-sessions
  check, the outcome, freeing the data replaced), watched for 1 s after the outcome.
  It also reports each probe interval's reactor-thread CPU time (a long one is the
  server's own work; a long stall with little CPU is the machine's other load) and
  the full (generation 2) collections while it runs.

    python -m bench.reload_stall [users] [modes...]     # modes: thread child runtime
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

    if mode == "runtime":
        run_runtime(users, workdir)
        return
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


def run_runtime(users: int, workdir: Path) -> None:
    import os

    from twisted.internet import reactor

    from rccserver.server.config import load_config
    from rccserver.server.runtime import Runtime
    from testkit.deployment import ldif_text, write_deployment

    server = write_deployment(workdir, users=users)
    os.chdir(workdir)  # the configuration's paths are relative to it, as for the server
    runtime = Runtime(load_config(server.config_path), reactor)
    runtime.start()
    gc.collect()
    gc.freeze()  # as Runtime.after_start
    (workdir / "directory.ldif").write_text(ldif_text(users, renamed=True))
    late: list[float] = []
    cpu: list[float] = []
    full: list[float] = []
    last = [0.0, 0.0]
    collecting = [0.0]
    watching = [True]
    ended = [0]

    def on_gc(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            collecting[0] = time.perf_counter()
        else:
            full.append(time.perf_counter() - collecting[0])

    def tick() -> None:
        now, used = time.perf_counter(), time.thread_time()
        late.append(now - last[0] - 0.001)
        cpu.append(used - last[1])
        last[:] = [now, used]
        if watching[0]:
            reactor.callLater(0.001, tick)

    def done(result) -> None:
        elapsed = time.perf_counter() - started
        ended[0] = len(late)

        def report() -> None:
            watching[0] = False
            gc.callbacks.remove(on_gc)
            after = late[ended[0]:]
            print(f"runtime ok={result.get('ok')} changed={len(result.get('changed', ()))} reload {elapsed:.2f} s; "
                  f"reactor turns {len(late)}, lateness p50 {_percentile(late, 0.5) * 1000:.1f} ms, "
                  f"p99 {_percentile(late, 0.99) * 1000:.1f} ms, longest stall {max(late) * 1000:.0f} ms "
                  f"(in the 1 s after the outcome {max(after, default=0) * 1000:.0f} ms); most reactor CPU "
                  f"between two probes {max(cpu) * 1000:.1f} ms; rebuild longest turn "
                  f"{(runtime.reloader.longest_slice or 0) * 1000:.1f} ms; full collections {len(full)}"
                  + (f", longest {max(full) * 1000:.1f} ms" if full else ""), flush=True)
            reactor.stop()

        reactor.callLater(1.0, report)

    def start() -> None:
        nonlocal started
        gc.callbacks.append(on_gc)
        last[:] = [time.perf_counter(), time.thread_time()]
        started = last[0]
        reactor.callLater(0.001, tick)
        runtime.reload().addCallback(done)

    started = 0.0
    reactor.callWhenRunning(start)
    reactor.run()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--mode"]:
        run_mode(argv[1], int(argv[2]), Path(argv[3]))
        return 0
    users = int(argv[0]) if argv else 100_000
    modes = argv[1:] or ["thread", "child", "runtime"]
    print(f"reload of {users:,} users (LDIF) and {users:,} CIC users and stations; every display name changed")
    for mode in modes:
        with tempfile.TemporaryDirectory() as workdir:
            subprocess.run([sys.executable, "-m", "bench.reload_stall", "--mode", mode, str(users), workdir],
                           check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

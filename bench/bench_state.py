"""SetForwarding / SetDoNotDisturb transactions per second: the whole sans-IO core (SIP INFO
in, CSTA decoded, setting saved, 200 out) with the state in memory, in an SQLite file and
in a real redis-server on loopback (AOF, appendfsync always; skipped without redis-server).

With SQLite a response waits for the commit (WAL, synchronous FULL: an fsync per commit),
so one request at a time is bound by the disk's sync latency; with many in flight the
writer thread commits what has queued up in one transaction. The figures are what this
machine's disk gives (docs/performance.md); nothing is asserted.
"""
from __future__ import annotations

import queue
import tempfile
import time
from pathlib import Path

from bench.common import scale
from rccserver.cic import load_cic_data
from rccserver.common.clock import Scheduler
from rccserver.directory.ldif import load_ldif
from rccserver.rcc.application import CurrentData, RccApplication
from rccserver.rcc.occupancy import OccupancyRegistry
from rccserver.server.config import DEFAULT_CONFIG_PATH, load_config
from rccserver.server.state_sqlite import SqliteStateStore
from rccserver.sip import Response, parse_message
from rccserver.sip.endpoint import Endpoint, Send
from rccserver.state import MemoryStore
from rccserver.state.settings import StationSettings
from rccserver.switch import EmbeddedSwitch
from testkit.dialog import ClientDialog
from testkit.messages import ED3, request_system_status

CONN = 1
LINE = "tel:+1001"
DND = (f'<SetDoNotDisturb xmlns="{ED3}"><device>{LINE}</device><doNotDisturbOn>%s</doNotDisturbOn>'
       f"</SetDoNotDisturb>")
FORWARDING = (f'<SetForwarding xmlns="{ED3}"><device>{LINE}</device><forwardingType>forwardImmediate'
              f"</forwardingType><activateForward>true</activateForward><forwardDN>tel:+1317555%04d</forwardDN>"
              f"</SetForwarding>")


class Core:
    """Endpoint, RCC application and switch on the demo data, alice signed in over one connection."""

    def __init__(self, store) -> None:
        config = load_config(DEFAULT_CONFIG_PATH)
        cic = load_cic_data(config.cic.data_file)
        data = CurrentData(directory=load_ldif(config.directory.ldif_file, "EXAMPLE"), cic=cic)
        self.scheduler = scheduler = Scheduler(lambda: 0.0)
        switch = EmbeddedSwitch([s.extension for s in cic.stations], scheduler=scheduler)
        app = RccApplication(data=data, occupancy=OccupancyRegistry(), switch=switch, session_timeout=0,
                             domain_name="rcc.example.com", scheduler=scheduler, wall_clock=lambda: 0.0,
                             settings=StationSettings(switch, store))
        self.endpoint = Endpoint(app, domain_name="rcc.example.com", scheduler=scheduler)
        app.attach(self.endpoint)
        self.endpoint.connection_made(CONN, ("127.0.0.1", 5060), "tcp", ("127.0.0.1", 11001))
        self.dialog = ClientDialog("sip:alice@example.com", ("127.0.0.1", 5060))
        cseq, invite = self.dialog.request("INVITE", request_system_status(LINE), extra=[("Supported", "timer")])
        [response] = self.feed(invite)
        self.dialog.established(response.to.tag, [], None)
        self.feed(self.dialog.ack(cseq))

    def feed(self, data: bytes) -> list[Response]:
        self.endpoint.receive(CONN, data)
        return self.answers()

    def answers(self) -> list[Response]:
        out = [parse_message(o.data) for o in self.endpoint.take_output() if isinstance(o, Send)]
        return [m for m in out if isinstance(m, Response)]

    def info(self, index: int) -> bytes:
        body = (DND % ("true" if index % 2 else "false")) if index % 4 < 2 else FORWARDING % (index % 10_000)
        return self.dialog.request("INFO", body.encode())[1]


def _report(label: str, count: int, elapsed: float) -> None:
    print(f"{label:<56} {count / elapsed:>10,.0f} /s  ({count} in {elapsed:.3f} s)")


def memory(count: int) -> None:
    core = Core(MemoryStore())
    began = time.perf_counter()
    for index in range(count):
        assert len(core.feed(core.info(index))) == 1
    _report("in memory (answered at once)", count, time.perf_counter() - began)


def sqlite(count: int, in_flight: int, directory: Path) -> None:
    completions: queue.Queue = queue.Queue()
    store = SqliteStateStore(str(directory / f"bench-{in_flight}.db"), deliver=completions.put)
    store.load(0.0)
    store.start()
    core = Core(store)
    answered = sent = 0
    began = time.perf_counter()
    while answered < count:
        while sent < count and sent - answered < in_flight:
            core.feed(core.info(sent))
            sent += 1
        completions.get()()  # on the "reactor": the store confirmed a batch
        answered += len(core.answers())
    elapsed = time.perf_counter() - began
    store.close()
    _report(f"SQLite, {in_flight} in flight (answered after the commit)", count, elapsed)


def redis(count: int, in_flight: int, directory: Path) -> None:
    from rccserver.server.state_redis import RedisStateStore
    from testkit.redisproc import RedisProcess

    completions: queue.Queue = queue.Queue()
    with RedisProcess(directory / f"redis-{in_flight}", appendonly=True) as server:
        store = RedisStateStore(server.url, lease_seconds=30, deliver=completions.put)
        store.load(0.0)
        store.start()
        core = Core(store)
        answered = sent = 0
        began = time.perf_counter()
        while answered < count:
            while sent < count and sent - answered < in_flight:
                core.feed(core.info(sent))
                sent += 1
            thunk = completions.get()
            thunk()
            answered += len(core.answers())
        elapsed = time.perf_counter() - began
        store.close()
    _report(f"Redis, {in_flight} in flight (answered after EXEC, AOF always)", count, elapsed)


def main() -> None:
    from testkit.redisproc import redis_server_path

    memory(scale(20_000, 20))
    with tempfile.TemporaryDirectory(prefix="rccserver-bench-state-") as directory:
        sqlite(scale(500, 10), 1, Path(directory))
        sqlite(scale(5_000, 20), 64, Path(directory))
        if redis_server_path() is None:
            print("Redis: skipped (redis-server not installed)")
        else:
            redis(scale(500, 10), 1, Path(directory))
            redis(scale(5_000, 20), 64, Path(directory))


if __name__ == "__main__":
    main()

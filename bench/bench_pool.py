"""Logons per second in a pair: real rccserver processes, a real redis-server (AOF
always) on loopback, one Lync client signing in (INVITE, 200, ACK) and out (BYE) one
after the other, alternating the two servers; beside it the same against one server
with SQLite, where no lease is taken. Each pooled logon waits for its lease (a Lua
script in Redis) before its 200, and each sign-out gives it back. Skipped without
redis-server. Figures are printed, never asserted.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import scale
from testkit.lyncclient import LyncClient
from testkit.redisproc import RedisProcess, redis_server_path
from testkit.testbed import write_testbed

ALICE = ("sip:alice@example.com", "tel:+1001")


def _logons(servers, count: int) -> float:
    began = time.perf_counter()
    for index in range(count):
        server = servers[index % len(servers)]
        client = LyncClient("127.0.0.1", server.sip_port, user=ALICE[0], line=ALICE[1])
        response = client.sign_in()
        assert response.status == 200, response.status
        client.sign_out()
        client.close()
    return time.perf_counter() - began


def _report(label: str, count: int, elapsed: float) -> None:
    print(f"{label:<56} {count / elapsed:>10,.0f} /s  ({count} in {elapsed:.3f} s)")


def main() -> None:
    count = scale(500, 6)
    with tempfile.TemporaryDirectory(prefix="rccserver-bench-pool-") as directory:
        root = Path(directory)
        alone = write_testbed(root / "alone").start()
        try:
            _logons([alone], 2)  # warm up
            _report("one server, SQLite (no lease)", count, _logons([alone], count))
        finally:
            alone.stop()
        if redis_server_path() is None:
            print("pair: skipped (redis-server not installed)")
            return
        with RedisProcess(root / "redis", appendonly=True) as redis_server:
            pair = []
            try:
                for name in ("a", "b"):
                    server = write_testbed(root / name)
                    with open(server.config_path, "a") as config:
                        config.write(f'\n[state]\nbackend = "redis"\nredis_url = "{redis_server.url}"\n')
                    pair.append(server.start())
                _logons(pair, 2)
                _report("pair on Redis, alternating A and B (lease each logon)", count, _logons(pair, count))
            finally:
                for server in pair:
                    server.stop()


if __name__ == "__main__":
    main()

"""Reloads while SIP traffic flows: no transaction fails, no session drops.

Two threads sign in, send CSTA requests in INFOs and sign out in a loop
(bounded in count and time) while the main thread reloads a directory of
20,000 users several times, alternating two versions of it.
"""
from __future__ import annotations

import threading
import time

from testkit.lyncclient import LyncClient
from testkit.messages import request_system_status
from testkit.testbed import write_testbed
from tests.reload.reload_support import ldif_with, lync_entry

FILLERS = 20_000
MAX_ROUNDS = 400
MAX_SECONDS = 60.0
RELOADS = 4


def filler_ldif(version: int) -> str:
    # Every reload changes all filler users' display names, so each swap has work to diff.
    fillers = tuple(lync_entry(f"filler{i:05d}", f"tel:+77{i:05d}", display=f"Filler {i} v{version}")
                    for i in range(FILLERS))
    return ldif_with(add=fillers)


class Traffic(threading.Thread):
    def __init__(self, port: int, user: str, line: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.user, self.line, self.stop = port, user, line, stop
        self.rounds = 0
        self.failures: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        while not self.stop.is_set() and self.rounds < MAX_ROUNDS and time.monotonic() < deadline:
            client = LyncClient("127.0.0.1", self.port, user=self.user, line=self.line, timeout=10)
            try:
                response = client.sign_in()
                if response.status != 200:
                    self.failures.append(f"INVITE {response.status} {response.headers.get('Warning')}")
                    continue
                for _ in range(3):
                    answer = client.info(request_system_status(self.line))
                    if answer.status != 200:
                        self.failures.append(f"INFO {answer.status}")
                bye = client.sign_out()
                if bye.status != 200:
                    self.failures.append(f"BYE {bye.status}")
            except (OSError, TimeoutError, ConnectionError) as error:
                self.failures.append(f"{type(error).__name__}: {error}")
            finally:
                client.close()
                self.rounds += 1


def test_reloads_during_traffic_fail_no_transaction(tmp_path):
    server = write_testbed(tmp_path)
    (tmp_path / "directory.ldif").write_text(filler_ldif(0))
    server.start()
    stop = threading.Event()
    threads = [Traffic(server.sip_port, "sip:alice@example.com", "tel:+1001", stop),
               Traffic(server.sip_port, "sip:bob@example.com", "tel:+1002", stop)]
    try:
        for thread in threads:
            thread.start()
        outcomes = []
        for version in range(1, RELOADS + 1):
            (tmp_path / "directory.ldif").write_text(filler_ldif(version))
            rounds_before = sum(thread.rounds for thread in threads)
            status, body = server.admin("POST", "/api/reload")
            assert status == 200, body
            outcomes.append(body)
            # keep going until the traffic has moved on since this reload started
            deadline = time.monotonic() + 20
            while sum(t.rounds for t in threads) <= rounds_before and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        code = server.stop()
    assert code == 0
    assert all(not thread.is_alive() for thread in threads)
    for body in outcomes:
        assert body["ok"] is True, body
        assert body["users"] == 9 + FILLERS
        assert len(body["changed"]) == FILLERS and not body["added"] and not body["removed"]
        assert body["would_refuse"] == []
    failures = [f"{thread.user}: {failure}" for thread in threads for failure in thread.failures]
    assert failures == []
    assert all(thread.rounds > RELOADS for thread in threads)

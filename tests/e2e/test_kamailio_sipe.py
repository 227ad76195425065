"""pidgin-sipe 1.25 (a real RCC client) -> Kamailio -> rccserver, all on loopback.

The libpurple driver and the libxml2 SAX1 shim (tests/e2e/kamailio/sipe/) are
built with gcc at test time; Kamailio also plays the OCS 2005 registrar that
provisions the line and the gateway (see docs/interop.md, pidgin-sipe).
Needs the Debian packages pidgin-sipe, libpurple-dev, libxml2-dev, gcc, kamailio.
"""
from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.kamailio.proxy import KamailioProxy
from testkit.testbed import write_testbed

SOURCES = Path(__file__).parent / "kamailio" / "sipe"
ALICE = "sip:alice@example.com"
LINE = "tel:+1001"
GATEWAY = "sip:rcc@rcc.example.com"


def pkg_config(*args: str) -> list[str]:
    result = subprocess.run(["pkg-config", *args], capture_output=True, text=True)
    assert result.returncode == 0, (f"pkg-config {' '.join(args)} failed ({result.stderr.strip()}): install "
                                    f"libpurple-dev and libxml2-dev (scripts/install-system-deps)")
    return result.stdout.split()


def gcc(*args: str) -> None:
    assert shutil.which("gcc"), "gcc is required to build the sipe test driver"
    result = subprocess.run(["gcc", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def sipe_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sipe-build")
    assert any(Path(d, "libsipe.so").exists() for d in ("/usr/lib/purple-2", "/usr/lib/x86_64-linux-gnu/purple-2")), \
        "pidgin-sipe (Debian package pidgin-sipe) is required"
    gcc("-shared", "-fPIC", "-O2", "-o", str(out / "sax1shim.so"), str(SOURCES / "sax1shim.c"),
        *pkg_config("--cflags", "libxml-2.0"), "-ldl")
    gcc("-O2", "-Wall", "-o", str(out / "rccdrv"), str(SOURCES / "rccdrv.c"),
        *pkg_config("--cflags", "--libs", "purple", "glib-2.0"), "-ldl")
    return out


class SipeClient:
    """rccdrv in a subprocess: lines from its stdout are queued for the test."""

    def __init__(self, build: Path, workdir: Path, account: str, proxy_port: int) -> None:
        env = dict(os.environ, LD_PRELOAD=str(build / "sax1shim.so"), RCCDRV_HOME=str(workdir / "purple"),
                   RCCDRV_DEBUG="1")
        self.process = subprocess.Popen(
            [str(build / "rccdrv"), account, f"127.0.0.1:{proxy_port}"], cwd=workdir, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.transcript: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.transcript.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, predicate, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("sipe did not get there; its log ends:\n" + "\n".join(self.transcript[-60:]))
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(line):
                return line

    def command(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.command("quit")
                self.process.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def sessions(server) -> list[dict]:
    status, body = server.admin("GET", "/api/sessions")
    assert status == 200
    return [s for s in body if s["lync_uri"] == ALICE]


def test_pidgin_sipe_signs_in_monitors_calls_and_signs_out(sipe_build, tmp_path):
    server = write_testbed(tmp_path / "rcc").start()
    try:
        with KamailioProxy(tmp_path, server.sip_port, sipe_provisioning=(LINE, GATEWAY)) as proxy:
            client = SipeClient(sipe_build, tmp_path, "alice@example.com", proxy.port)
            try:
                client.wait_line(lambda line: line == "signed-on" or line.startswith("connection-error"))
                # sipe opens the RCC dialog once provisioned: INVITE, then GetCSTAFeatures + MonitorStart
                client.wait_line(lambda line: "process_invite_csta_gateway_response: gateway_status=normal" in line)
                started = client.wait_line(lambda line: "monitor_cross_ref_id=" in line)
                xref = started.rsplit("=", 1)[1]
                (session,) = sessions(server)
                assert session["monitors"] == [xref] and session["line"] == LINE
                proxy.wait_for_log("KAM-PROVISION sip:alice@example.com")

                client.command("call +1 (317) 555-2020")  # sipe strips the punctuation
                client.wait_line(lambda line: "process_csta_make_call_response: SUCCESS" in line)
                made = client.wait_line(lambda line: "process_csta_make_call_response: call_id=" in line)
                call_id = made.rsplit("=", 1)[1]
                status, calls = server.admin("GET", "/api/calls")
                assert [(c["call_id"], c["called"]) for c in calls] == [(call_id, "+13175552020")]
                # the events travel back through Kamailio to sipe's Contact (sipe never answers them)
                # (sent to the maddr of sipe's Contact); sipe matches them by monitorCrossRefID, callID and Line
                proxy.wait_for_log("KAM-RELAY INFO to sip:alice@")
                updated = f"sipe_csta_update_id_and_status: device_id=({LINE})"
                for _event in ("OriginatedEvent", "DeliveredEvent"):
                    client.wait_line(lambda line: updated in line)
                assert server.admin("POST", f"/api/calls/{call_id}/hangup")[0] == 200  # sipe has no ClearConnection

                client.command("quit")  # sipe: MonitorStop, BYE, un-REGISTER
                client.wait_line(lambda line: line == "bye")
                proxy.wait_for_log("KAM-REPLY 200 OK for BYE")
                assert sessions(server) == []
            finally:
                client.stop()
    finally:
        assert server.stop() == 0

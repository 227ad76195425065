"""The README walkthrough: SIPp signs alice in with docs/demo/alice.xml, the admin API
places an inbound call, SIPp answers it from "Lync", the admin API hangs up, SIPp
signs out. Keep-alives fire every second meanwhile, so the scenario's wait loops
are exercised too."""
from __future__ import annotations

import subprocess
import time

from testkit.serverproc import REPO, free_port
from tests.e2e.sipp import sipp_binary
from testkit.testbed import write_testbed


def wait_until(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_demo_walkthrough_with_sipp_and_the_admin_api(tmp_path):
    server = write_testbed(tmp_path / "demo", session_timeout=1).start()
    sipp = subprocess.Popen(
        [sipp_binary(), f"127.0.0.1:{server.sip_port}", "-sf", str(REPO / "docs" / "demo" / "alice.xml"),
         "-t", "t1", "-i", "127.0.0.1", "-p", str(free_port()), "-m", "1", "-nostdin",
         "-timeout", "60s", "-timeout_error", "-trace_err", "-trace_msg"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until(lambda: any(s["monitors"] for s in server.admin("GET", "/api/sessions")[1]),
                   what="alice signed in and monitoring")
        status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550100", "to": "1001"})
        assert status == 200
        call_id = body["call_id"]

        def answered():
            calls = {c["call_id"]: c for c in server.admin("GET", "/api/calls")[1]}
            call = calls.get(call_id)
            return call and all(p["state"] == "connected" for p in call["parties"])

        wait_until(answered, what="the call answered from Lync")
        assert server.admin("POST", f"/api/calls/{call_id}/hangup")[0] == 200
        out, err = sipp.communicate(timeout=60)
        messages = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*_messages.log"))
        assert sipp.returncode == 0, f"{out[-2000:]}\n{err[-2000:]}\n{messages[-4000:]}"
        assert "SystemStatus" in messages  # keep-alives came and were answered
        wait_until(lambda: server.admin("GET", "/api/sessions")[1] == [], what="alice signed out")
    finally:
        if sipp.poll() is None:
            sipp.kill()
            sipp.communicate()
        assert server.stop() == 0

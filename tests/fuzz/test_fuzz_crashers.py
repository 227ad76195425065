"""Inputs the wire fuzzer found that broke an invariant, kept as regression tests (replayed on a real server).

1. (bench/fuzz_wire seed 2026, batch 70000-79999) An INVITE whose Contact says
   `transport=thcp` (one flipped byte) signs in. Once its connection is gone,
   every request towards that dialog (keep-alive INFO, shutdown BYE) makes
   `ConnectionPool.send` raise ValueError out of `EndpointDriver.flush`: the
   keep-alive never fails, so the session and its station leak forever, the
   outputs queued behind it in that flush are dropped, and at shutdown the
   traceback "Unhandled error in Deferred" is logged.
"""
from __future__ import annotations

import signal
import time

import pytest

from testkit.lyncclient import LyncClient
from testkit.testbed import write_testbed

ALICE, ALICE_LINE = "sip:alice@example.com", "tel:+1001"
BOB, BOB_LINE = "sip:bob@example.com", "tel:+1002"


def sign_in_with_contact_transport(server, transport_param: str) -> LyncClient:
    client = LyncClient("127.0.0.1", server.sip_port, user=ALICE, line=ALICE_LINE)
    host, port = client.local[:2]
    client.dialog.contact = f"sip:lync@{host}:{port};transport={transport_param}"
    response = client.sign_in()
    assert response.status == 200, response.headers.get("Warning")
    return client


@pytest.mark.timeout(60)
def test_dialog_with_an_unknown_contact_transport_ends_when_its_keepalive_cannot_be_sent(tmp_path):
    server = write_testbed(tmp_path, session_timeout=1).start()
    try:
        client = sign_in_with_contact_transport(server, "thcp")
        client.close()  # the front end's connection is gone: the keep-alive must find another way, or fail
        deadline = time.monotonic() + 15
        while server.admin("GET", "/api/sessions")[1] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.admin("GET", "/api/sessions")[1] == [], \
            "session leaked: its keep-alive neither reached the peer nor failed"
        assert all(s["user"] is None for s in server.admin("GET", "/api/stations")[1])
    finally:
        server.stop()
    assert "Unhandled error" not in server.log_text
    assert "Traceback" not in server.stderr_path.read_text(errors="replace")


@pytest.mark.timeout(60)
def test_shutdown_byes_every_other_dialog_despite_one_with_an_unknown_transport(tmp_path):
    server = write_testbed(tmp_path).start()
    bob = LyncClient("127.0.0.1", server.sip_port, user=BOB, line=BOB_LINE)
    try:
        assert bob.sign_in().status == 200
        sign_in_with_contact_transport(server, "thcp").close()
        time.sleep(0.3)  # the server has seen that connection go
        server.process.send_signal(signal.SIGTERM)
        bye = bob.wait_request(lambda r: r.method == "BYE", timeout=10)
        assert bye.call_id == bob.call_id
        assert server.process.wait(15) == 0
    finally:
        server.stop()
        bob.close()
    assert "Unhandled error" not in server.log_text

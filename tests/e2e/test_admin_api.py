"""The admin API, status page and metrics (SPEC section 8) against the real server."""
from __future__ import annotations

import json
import signal
import urllib.request

import pytest

from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from testkit.testbed import write_testbed


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = write_testbed(tmp_path_factory.mktemp("admin")).start()
    yield process
    assert process.stop() == 0


@pytest.fixture
def alice(server):
    client = LyncClient("127.0.0.1", server.sip_port, user="sip:alice@example.com", line="tel:+1001")
    assert client.sign_in().status == 200
    client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>tel:+1001</deviceObject></monitorObject></MonitorStart>')
    yield client
    client.sign_out()
    client.close()


def test_health(server):
    assert server.admin("GET", "/api/health") == (200, {"status": "ok"})


def test_sessions_list_the_live_session(server, alice):
    status, sessions = server.admin("GET", "/api/sessions")
    assert status == 200
    (session,) = sessions
    assert session["lync_uri"] == "sip:alice@example.com"
    assert session["cic_user"] == "Alice"
    assert session["station"] == "1001"
    assert session["line"] == "tel:+1001"
    assert len(session["monitors"]) == 1
    assert session["remote"].startswith("127.0.0.1:")
    assert session["started"].endswith("+00:00")


def test_status_page_renders_sessions_stations_and_calls(server, alice):
    status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550000", "to": "1001"})
    call_id = body["call_id"]
    status, page = server.admin("GET", "/")
    assert status == 200
    assert "<h2>RCC sessions (1)</h2>" in page
    assert "sip:alice@example.com" in page and "Alice" in page
    assert "<h2>Stations (4)</h2>" in page
    assert call_id in page
    server.admin("POST", f"/api/calls/{call_id}/hangup")


def test_stations_show_occupant_and_how(server, alice):
    stations = {s["extension"]: s for s in server.admin("GET", "/api/stations")[1]}
    assert stations["1001"]["user"] == "Alice" and stations["1001"]["how"] == ["rcc"]
    assert stations["1002"]["user"] is None


def test_call_lifecycle_errors(server, alice):
    status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550001", "to": "tel:+1001"})
    assert status == 200
    call_id = body["call_id"]
    # Nothing external is ringing in an inbound call: answering it is a conflict.
    assert server.admin("POST", f"/api/calls/{call_id}/answer")[0] == 409
    assert server.admin("POST", f"/api/calls/{call_id}/hangup")[0] == 200
    assert server.admin("POST", "/api/calls/nosuchcall/hangup")[0] == 404


@pytest.mark.parametrize("path,body,status", [
    ("/api/calls", b"{not json", 400),
    ("/api/calls", b'{"from": "tel:+1"}', 400),
    ("/api/calls", b"[1, 2]", 400),
    ("/api/stations/9999/login", b'{"user": "Alice"}', 404),
    ("/api/stations/1002/login", b'{"user": "Nobody"}', 404),
    ("/api/stations/1002/logout", b"", 409),
    ("/api/nothing", b"", 404),
])
def test_bad_requests_get_json_errors(server, path, body, status):
    request = urllib.request.Request(f"http://127.0.0.1:{server.admin_port}{path}", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            got, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        got, payload = error.code, error.read()
    assert got == status
    assert "error" in json.loads(payload)


def test_wrong_method_is_405(server):
    assert server.admin("DELETE", "/api/health")[0] == 405


def test_metrics_count_logons_and_requests(server, alice):
    status, text = server.admin("GET", "/metrics")
    assert status == 200
    assert 'rcc_logons_total{code="Cs_Success"}' in text
    assert 'rcc_csta_requests_total{result="ok",service="MonitorStart"}' in text
    assert "rcc_sessions 1.0" in text


def test_sigterm_byes_every_dialog_and_exits_0(tmp_path):
    server = write_testbed(tmp_path / "term").start()
    client = LyncClient("127.0.0.1", server.sip_port, user="sip:bob@example.com", line="tel:+1002")
    assert client.sign_in().status == 200
    server.process.send_signal(signal.SIGTERM)
    bye = client.wait_request(lambda r: r.method == "BYE", timeout=10)
    assert bye.call_id == client.call_id
    assert server.process.wait(15) == 0
    server.stop()
    client.close()

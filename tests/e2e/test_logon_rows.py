"""SPEC section 6, row by row, over a real TCP connection to the real server process.

Each row checks the SIP status, the Cs_ code in the Warning header and the
RCCServer log line with its facts.
"""
from __future__ import annotations

import re
import time

import pytest

from rccserver import csta
from testkit.lyncclient import LyncClient
from testkit.testbed import write_testbed


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = write_testbed(tmp_path_factory.mktemp("logon")).start()
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def unlicensed_server(tmp_path_factory):
    process = write_testbed(tmp_path_factory.mktemp("nolicence"), features=()).start()
    yield process
    assert process.stop() == 0


def warning_code(response) -> str | None:
    warning = response.headers.get("Warning")
    if warning is None:
        return None
    match = re.match(r'399 rcc\.example\.com "(Cs_\w+): .+"$', warning)
    assert match, f"malformed Warning header {warning!r}"
    return match.group(1)


def log_line(server, code: str, uri: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log_text.splitlines():
            if code in line and uri in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no log line with {code} and {uri}:\n{server.log_text[-3000:]}")


def sign_in(server, user: str, line: str, **kwargs):
    client = LyncClient("127.0.0.1", server.sip_port, user=user, line=line)
    try:
        return client.sign_in(**kwargs), client
    except Exception:
        client.close()
        raise


ROWS = [
    # user, line, status, code, log facts
    ("sip:erin@example.com", "tel:+1007", 404, "Cs_UserNotInDirectory", []),
    ("sip:nobody@example.com", "tel:+1001", 404, "Cs_UserNotInDirectory", []),
    ("sip:alice@example.com", "tel:+1002", 403, "Cs_LineNotAssigned", ["EXAMPLE\\alice", "tel:+1002"]),
    ("sip:frank@example.com", "tel:+1005", 404, "Cs_UserNotFound", ["EXAMPLE\\frank"]),
    ("sip:gina@example.com", "tel:+1006", 409, "Cs_AmbiguousUser", ["EXAMPLE\\gina"]),
    ("sip:carol@example.com", "tel:+1003", 403, "Cs_NoClientLicense", ["EXAMPLE\\carol", "Carol"]),
    ("sip:dave@example.com", "tel:+1099", 404, "Cs_StationNotFound", ["EXAMPLE\\dave", "Dave", "tel:+1099"]),
]


@pytest.mark.parametrize("user,line,status,code,facts", ROWS, ids=[r[3] + ":" + r[0] for r in ROWS])
def test_refusal_rows(server, user, line, status, code, facts):
    response, client = sign_in(server, user, line)
    client.close()
    assert response.status == status
    assert warning_code(response) == code
    logged = log_line(server, code, user)
    for fact in facts:
        assert fact in logged


def test_wrong_content_type_is_415_bad_request(server):
    response, client = sign_in(server, "sip:alice@example.com", "tel:+1001",
                               body=b"v=0\r\n", content_type="application/sdp")
    client.close()
    assert response.status == 415
    assert warning_code(response) == "Cs_BadRequest"
    log_line(server, "Cs_BadRequest", "sip:alice@example.com")


@pytest.mark.parametrize("body", [b"<not xml", b"", b'<MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><monitorObject><deviceObject>tel:+1001</deviceObject></monitorObject></MonitorStart>'],
                         ids=["malformed", "empty", "not-RequestSystemStatus"])
def test_invalid_csta_body_is_400_bad_request(server, body):
    response, client = sign_in(server, "sip:alice@example.com", "tel:+1001", body=body)
    client.close()
    assert response.status == 400
    assert warning_code(response) == "Cs_BadRequest"


def test_missing_feature_licence_is_403(unlicensed_server):
    response, client = sign_in(unlicensed_server, "sip:alice@example.com", "tel:+1001")
    client.close()
    assert response.status == 403
    assert warning_code(response) == "Cs_NoFeatureLicense"
    log_line(unlicensed_server, "Cs_NoFeatureLicense", "sip:alice@example.com")


def test_success_answers_system_status_normal_and_logs_every_fact(server):
    response, client = sign_in(server, "sip:alice@example.com", "tel:+1001")
    try:
        assert response.status == 200
        assert response.headers.get("Warning") is None
        assert response.content_type == "application/csta+xml"
        answer = csta.decode(response.body)
        assert isinstance(answer, csta.RequestSystemStatusResponse)
        assert answer.system_status == "normal"
        logged = log_line(server, "Cs_Success", "sip:alice@example.com")
        for fact in ("EXAMPLE\\alice", "Alice", "tel:+1001", "1001"):
            assert fact in logged
    finally:
        assert client.sign_out().status == 200
        client.close()


def test_station_in_use_by_another_user_is_486(server):
    status, _ = server.admin("POST", "/api/stations/1004/login", {"user": "Bob"})
    assert status == 200
    try:
        response, client = sign_in(server, "sip:hank@example.com", "tel:+1004")
        client.close()
        assert response.status == 486
        assert warning_code(response) == "Cs_StationInUseByAnotherUser"
        assert "Bob" in log_line(server, "Cs_StationInUseByAnotherUser", "sip:hank@example.com")
    finally:
        assert server.admin("POST", "/api/stations/1004/logout")[0] == 200
    # Released: hank may now take his station.
    response, client = sign_in(server, "sip:hank@example.com", "tel:+1004")
    assert response.status == 200
    client.sign_out()
    client.close()


def test_same_user_twice_is_allowed_and_station_released_after_last(server):
    first, client1 = sign_in(server, "sip:bob@example.com", "tel:+1002")
    second, client2 = sign_in(server, "sip:bob@example.com", "tel:+1002")
    assert (first.status, second.status) == (200, 200)
    stations = {s["extension"]: s for s in server.admin("GET", "/api/stations")[1]}
    assert stations["1002"]["user"] == "Bob"
    client1.sign_out()
    client1.close()
    stations = {s["extension"]: s for s in server.admin("GET", "/api/stations")[1]}
    assert stations["1002"]["user"] == "Bob", "still held by the second dialog"
    client2.sign_out()
    client2.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stations = {s["extension"]: s for s in server.admin("GET", "/api/stations")[1]}
        if stations["1002"]["user"] is None:
            break
        time.sleep(0.05)
    assert stations["1002"]["user"] is None


def test_remote_number_logon(server):
    response, client = sign_in(server, "sip:ivan@example.com", "tel:+15550100")
    assert response.status == 200
    client.sign_out()
    client.close()
    assert "tel:+15550100" in log_line(server, "Cs_Success", "sip:ivan@example.com")

"""The admin HTTP layer in process: real HTTP/1.1 bytes into the twisted.web Site that
`make_site` builds, over a StringTransport, with a recording backend and a
MemoryReactorClock instead of the global reactor. What a subprocess adds (the
Runtime behind it) stays in tests/e2e/test_admin_api.py; here are the routes,
the JSON errors, 405 with Allow, and answers that wait for a Deferred (reload).
"""
from __future__ import annotations

import json

import pytest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport

from rccserver.admin.api import AdminError, make_site


class RecordingBackend:
    """Answers as configured and records every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.reloading: defer.Deferred | None = None
        self.refuse: AdminError | None = None

    def _record(self, *call):
        self.calls.append(call)
        if self.refuse is not None:
            raise self.refuse

    def sessions_snapshot(self):
        return [{"lync_uri": "sip:alice@example.com", "station": "1001", "monitors": ["m1"], "line": "tel:+1001",
                 "cic_user": "Alice", "remote": "127.0.0.1:5061", "started": "2026-01-01T00:00:00+00:00"}]

    def stations_snapshot(self):
        return [{"extension": "1001", "user": "Alice", "how": ["rcc"]}]

    def calls_snapshot(self):
        return [{"call_id": "c7", "parties": []}]

    def place_call(self, from_, to):
        self._record("place_call", from_, to)
        return "c8"

    def external_answer(self, call_id):
        self._record("external_answer", call_id)

    def external_hangup(self, call_id):
        self._record("external_hangup", call_id)

    def client_login(self, extension, user_id):
        self._record("client_login", extension, user_id)

    def client_logout(self, extension):
        self._record("client_logout", extension)

    def reload(self):
        self.calls.append(("reload",))
        self.reloading = defer.Deferred()
        return self.reloading

    def metrics_exposition(self):
        return b"# HELP rcc_sessions Live RCC sessions\nrcc_sessions 1.0\n"


class Response:
    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}

    def json(self):
        assert self.headers["content-type"] == "application/json"
        return json.loads(self.body)


class Admin:
    """One HTTP connection to the admin site; the body of a chunked answer is joined."""

    def __init__(self, backend: RecordingBackend) -> None:
        self.reactor = MemoryReactorClock()
        site = make_site(backend)
        site.reactor = self.reactor  # the channel's timeouts go to our clock, not the global reactor
        self.channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
        self.channel.makeConnection(self.transport)

    def send(self, method: str, path: str, body: bytes = b"") -> None:
        self.transport.clear()
        self.channel.dataReceived(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)

    def response(self) -> Response | None:
        raw = self.transport.value()
        if not raw:
            return None
        response = Response(raw)
        if response.headers.get("transfer-encoding") == "chunked":
            response.body = _unchunk(response.body)
        return response

    def request(self, method: str, path: str, body: bytes = b"") -> Response:
        self.send(method, path, body)
        response = self.response()
        assert response is not None, f"no answer to {method} {path}"
        return response


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out, data = out + rest[:size], rest[size + 2:]
    return out


@pytest.fixture
def backend() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture
def admin(backend) -> Admin:
    return Admin(backend)


def test_health_needs_no_backend(admin, backend):
    response = admin.request("GET", "/api/health")
    assert (response.status, response.json()) == (200, {"status": "ok"})
    assert backend.calls == []


def test_snapshots_are_served_as_json(admin, backend):
    assert admin.request("GET", "/api/sessions").json() == backend.sessions_snapshot()
    assert admin.request("GET", "/api/stations/").json() == backend.stations_snapshot()  # a trailing / is the same
    assert admin.request("GET", "/api/calls").json() == backend.calls_snapshot()


def test_placing_a_call_passes_the_trimmed_parties(admin, backend):
    response = admin.request("POST", "/api/calls", b'{"from": " tel:+13175550100 ", "to": "1001"}')
    assert (response.status, response.json()) == (200, {"call_id": "c8"})
    assert backend.calls == [("place_call", "tel:+13175550100", "1001")]


@pytest.mark.parametrize("method, path, target", [
    ("POST", "/api/calls/c7/answer", ("external_answer", "c7")),
    ("POST", "/api/calls/c7/hangup", ("external_hangup", "c7")),
    ("POST", "/api/stations/1002/logout", ("client_logout", "1002")),
])
def test_actions_reach_the_backend_with_the_path_argument(admin, backend, method, path, target):
    response = admin.request(method, path)
    assert (response.status, response.json()) == (200, {"ok": True})
    assert backend.calls == [target]


def test_station_login_names_the_user(admin, backend):
    assert admin.request("POST", "/api/stations/1002/login", b'{"user": "Bob"}').json() == {"ok": True}
    assert backend.calls == [("client_login", "1002", "Bob")]


@pytest.mark.parametrize("body, message", [
    (b"{not json", "bad JSON: "),
    (b"[1, 2]", "bad JSON: expected an object"),
    (b'{"from": "tel:+1"}', "missing or empty string field 'to'"),
    (b'{"from": "tel:+1", "to": "   "}', "missing or empty string field 'to'"),
    (b'{"from": 7, "to": "1001"}', "missing or empty string field 'from'"),
])
def test_a_bad_body_is_400_and_never_reaches_the_backend(admin, backend, body, message):
    response = admin.request("POST", "/api/calls", body)
    assert response.status == 400
    error = response.json()
    assert error["status"] == 400 and error["error"].startswith(message)
    assert backend.calls == []


def test_a_backend_refusal_keeps_its_status_and_message(admin, backend):
    backend.refuse = AdminError(409, "station 1002 is in use by Carol")
    response = admin.request("POST", "/api/stations/1002/login", b'{"user": "Bob"}')
    assert (response.status, response.json()) == (409, {"error": "station 1002 is in use by Carol", "status": 409})


def test_an_unknown_path_is_404(admin):
    response = admin.request("GET", "/api/nothing")
    assert (response.status, response.json()) == (404, {"error": "no such resource /api/nothing", "status": 404})


def test_a_wrong_method_is_405_naming_the_allowed_ones(admin):
    response = admin.request("DELETE", "/api/calls")
    assert response.status == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["error"] == "DELETE not allowed on /api/calls"


def test_reload_answers_when_its_deferred_fires(admin, backend):
    admin.send("POST", "/api/reload")
    assert backend.calls == [("reload",)]
    assert admin.response() is None  # the reload is still running
    backend.reloading.callback({"ok": True, "users": 9})
    response = admin.response()
    assert (response.status, response.json()) == (200, {"ok": True, "users": 9})


def test_a_failed_reload_is_a_json_error(admin, backend):
    admin.send("POST", "/api/reload")
    backend.reloading.errback(AdminError(503, "a reload is already running"))
    response = admin.response()
    assert (response.status, response.json()) == (503, {"error": "a reload is already running", "status": 503})


def test_an_unexpected_reload_failure_is_500(admin, backend):
    admin.send("POST", "/api/reload")
    backend.reloading.errback(RuntimeError("directory.ldif vanished"))
    response = admin.response()
    assert (response.status, response.json()) == (500, {"error": "directory.ldif vanished", "status": 500})


def test_status_page_and_metrics_have_their_content_types(admin):
    page = admin.request("GET", "/")
    assert page.status == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert b"sip:alice@example.com" in page.body
    metrics = admin.request("GET", "/metrics")
    assert metrics.status == 200 and metrics.headers["content-type"] == CONTENT_TYPE_LATEST  # Prometheus' text format
    assert metrics.body == b"# HELP rcc_sessions Live RCC sessions\nrcc_sessions 1.0\n"

"""The admin HTTP API, status page and metrics (SPEC section 8), on twisted.web.

Routing is a table of (method, path pattern) -> handler; handlers talk to an
`AdminBackend` (the Runtime) and return JSON-able data or raise `AdminError`.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Protocol

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from rccserver.admin.statuspage import render_status_page
from rccserver.admin.metrics import CONTENT_TYPE_LATEST

log = Logger(namespace="rccserver.admin")


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class AdminBackend(Protocol):
    def sessions_snapshot(self) -> list[dict]: ...
    def stations_snapshot(self) -> list[dict]: ...
    def calls_snapshot(self) -> list[dict]: ...
    def place_call(self, from_: str, to: str) -> str: ...
    def external_answer(self, call_id: str) -> None: ...
    def external_hangup(self, call_id: str) -> None: ...
    def client_login(self, extension: str, user_id: str) -> defer.Deferred | None: ...
    def client_logout(self, extension: str) -> None: ...
    def reload(self) -> defer.Deferred: ...
    def metrics_exposition(self) -> bytes: ...


def _json_body(request) -> dict:
    raw = request.content.read() if request.content is not None else b""
    try:
        body = json.loads(raw or b"{}")
    except ValueError as error:
        raise AdminError(400, f"bad JSON: {error}") from None
    if not isinstance(body, dict):
        raise AdminError(400, "bad JSON: expected an object")
    return body


def _text_field(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise AdminError(400, f"missing or empty string field {name!r}")
    return value.strip()


class AdminResource(resource.Resource):
    isLeaf = True

    def __init__(self, backend: AdminBackend) -> None:
        super().__init__()
        self.backend = backend
        b = backend
        # (method, pattern, handler(request, match) -> data | Deferred)
        self.routes: list[tuple[str, re.Pattern, Callable[..., Any]]] = [
            ("GET", re.compile(r"/api/health"), lambda r, m: self._health()),
            ("GET", re.compile(r"/api/sessions"), lambda r, m: b.sessions_snapshot()),
            ("GET", re.compile(r"/api/stations"), lambda r, m: b.stations_snapshot()),
            ("GET", re.compile(r"/api/calls"), lambda r, m: b.calls_snapshot()),
            ("POST", re.compile(r"/api/calls"), self._place_call),
            ("POST", re.compile(r"/api/calls/(?P<id>[^/]+)/answer"),
             lambda r, m: self._done(b.external_answer(m["id"]))),
            ("POST", re.compile(r"/api/calls/(?P<id>[^/]+)/hangup"),
             lambda r, m: self._done(b.external_hangup(m["id"]))),
            ("POST", re.compile(r"/api/stations/(?P<ext>[^/]+)/login"), self._login),
            ("POST", re.compile(r"/api/stations/(?P<ext>[^/]+)/logout"),
             lambda r, m: self._done(b.client_logout(m["ext"]))),
            ("POST", re.compile(r"/api/reload"), lambda r, m: b.reload()),
        ]

    def _health(self) -> dict:
        """{"status": "ok"}, or "degraded" with its cause (the pool's Redis unreachable)."""
        health = getattr(self.backend, "health", None)
        return health() if health is not None else {"status": "ok"}

    @staticmethod
    def _done(_: object) -> dict:
        return {"ok": True}

    def _place_call(self, request, match) -> dict:
        body = _json_body(request)
        return {"call_id": self.backend.place_call(_text_field(body, "from"), _text_field(body, "to"))}

    def _login(self, request, match) -> dict:
        body = _json_body(request)
        result = self.backend.client_login(match["ext"], _text_field(body, "user"))
        return result if isinstance(result, defer.Deferred) else {"ok": True}

    def render(self, request):
        path = request.path.decode("utf-8", "replace").rstrip("/") or "/"
        method = request.method.decode("ascii", "replace")
        if path == "/" and method == "GET":
            request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
            trunk = getattr(self.backend, "trunk_snapshot", None)
            return render_status_page(
                self.backend.sessions_snapshot(), self.backend.stations_snapshot(),
                self.backend.calls_snapshot(), trunk() if trunk is not None else None,
            ).encode("utf-8")
        if path == "/metrics" and method == "GET":
            request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode("ascii"))
            return self.backend.metrics_exposition()
        allowed = []
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            return self._run(request, handler, match)
        if allowed:
            request.setHeader(b"Allow", ", ".join(sorted(set(allowed))).encode("ascii"))
            return self._error(request, AdminError(405, f"{method} not allowed on {path}"))
        return self._error(request, AdminError(404, f"no such resource {path}"))

    def _run(self, request, handler, match):
        try:
            result = handler(request, match)
        except AdminError as error:
            return self._error(request, error)
        if not isinstance(result, defer.Deferred):
            return self._json(request, result)

        def done(data) -> None:
            if not request.finished and not request._disconnected:
                request.write(self._json(request, data))
                request.finish()

        def failed(failure) -> None:
            error = failure.value if failure.check(AdminError) else AdminError(500, failure.getErrorMessage())
            if not request.finished and not request._disconnected:
                request.write(self._error(request, error))
                request.finish()

        result.addCallbacks(done, failed)
        return server.NOT_DONE_YET

    @staticmethod
    def _json(request, data) -> bytes:
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")

    def _error(self, request, error: AdminError) -> bytes:
        request.setResponseCode(error.status)
        return self._json(request, {"error": error.message, "status": error.status})


def make_site(backend: AdminBackend) -> server.Site:
    site = server.Site(AdminResource(backend))
    site.displayTracebacks = False
    return site

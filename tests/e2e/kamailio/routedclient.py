"""The Lync-like test client, made to follow the dialog's route set as a UAC must
(RFC 3261 12.2.1.1): in-dialog requests go to the server's Contact as Request-URI
with the 2xx's Record-Route, reversed, as Route headers.  Needed behind a proxy."""
from __future__ import annotations

from rccserver.sip import Headers, Request, Response
from tests.e2e.lyncclient import CSTA_CT, LyncClient


def contact_uri(response: Response) -> str:
    value = response.headers.get("Contact")
    assert value, "2xx to INVITE without Contact"
    return value[value.index("<") + 1:value.index(">")] if "<" in value else value.split(";")[0]


class RoutedLyncClient(LyncClient):
    route_set: list[str] = []
    remote_target: str | None = None

    def wait_response(self, cseq: int, method: str, timeout: float | None = None) -> Response:
        response = super().wait_response(cseq, method, timeout)
        if method == "INVITE" and 200 <= response.status < 300:
            self.route_set = list(reversed(response.headers.get_all("Record-Route")))
            self.remote_target = contact_uri(response)
        return response

    def _in_dialog(self, method: str, cseq: int, extra, body: bytes) -> Request:
        headers = [h for h in self._headers(method, cseq, extra) if h[0] != "Record-Route"]
        routes = [("Route", route) for route in self.route_set]
        headers[2:2] = routes  # after Via and Max-Forwards
        return Request(method, self.remote_target or self.server_uri, Headers(headers), body)

    def request(self, method: str, body: bytes = b"", extra=(), content_type: str | None = CSTA_CT,
                typed_when_empty: bool = False) -> int:
        if not self.to_tag:
            return super().request(method, body, extra, content_type, typed_when_empty)
        self.cseq += 1
        extra = list(extra)
        if content_type and (body or typed_when_empty):
            extra += [("Content-Type", content_type), ("Content-Disposition", "signal;handling=required")]
        self.send(self._in_dialog(method, self.cseq, extra, body).to_bytes())
        return self.cseq

    def ack(self, cseq: int) -> None:
        self.send(self._in_dialog("ACK", cseq, [], b"").to_bytes())

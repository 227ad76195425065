"""One SIP dialog between rccserver and a phone (RFC 3261 section 12), and the requests sent in it.

Both directions use it: for an outgoing leg we are the UAC (our From, the
phone's To tag from its 2xx, the route set reversed from the 2xx's
Record-Route), for an incoming leg the UAS (the phone's To with our tag, the
route set in the INVITE's order).  Requests built here carry no Via and no
User-Agent: the endpoint adds both when it sends them, because they name the
transport and branch of the send.

Remote CSeq is not enforced, as on the RCC line: phones differ in how they
count, and refusing a call for it helps nobody.
"""
from __future__ import annotations

from typing import Iterable

import attrs

from rccserver.sip.dialog import strip_tag
from rccserver.sip.grammar import uri_text
from rccserver.sip.headers import Headers
from rccserver.sip.message import Request, Response
from rccserver.stations.flows import Flow

MAX_FORWARDS = "70"

DialogKey = tuple[str, str, str]  # Call-ID, our tag, the phone's tag


@attrs.define(eq=False)
class PhoneDialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # name-addr text without tag: our From (UAC), the INVITE's To (UAS)
    remote_uri: str
    remote_target: str  # the URI in the phone's Contact
    route_set: tuple[str, ...]
    flow: Flow
    local_cseq: int = 0

    @property
    def key(self) -> DialogKey:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uac(cls, invite: Request, response: Response, flow: Flow) -> PhoneDialog:
        """The dialog our `invite` and the phone's 1xx/2xx `response` (with a To tag) make."""
        contacts = response.headers.get_all("Contact")
        return cls(
            call_id=invite.call_id,
            local_tag=invite.from_.tag or "",
            remote_tag=response.to.tag or "",
            local_uri=strip_tag(invite.headers.get("From") or ""),
            remote_uri=strip_tag(response.headers.get("To") or ""),
            remote_target=uri_text(contacts[0]) if contacts else invite.uri,
            route_set=tuple(reversed(response.headers.get_all("Record-Route"))),
            flow=flow,
            local_cseq=invite.cseq[0],
        )

    @classmethod
    def as_uas(cls, invite: Request, local_tag: str, flow: Flow) -> PhoneDialog:
        """The dialog the phone's `invite` makes once we answer it with `local_tag`."""
        contacts = invite.headers.get_all("Contact")
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=invite.from_.tag or "",
            local_uri=strip_tag(invite.headers.get("To") or ""),
            remote_uri=strip_tag(invite.headers.get("From") or ""),
            remote_target=uri_text(contacts[0]) if contacts else uri_text(invite.headers.get("From") or ""),
            route_set=tuple(invite.headers.get_all("Record-Route")),
            flow=flow,
        )

    def refresh_target(self, message: Request | Response) -> None:
        """A re-INVITE or its 2xx may move the phone (RFC 3261 12.2: target refresh)."""
        contacts = message.headers.get_all("Contact")
        if contacts:
            self.remote_target = uri_text(contacts[0])

    def next_cseq(self) -> int:
        self.local_cseq += 1
        return self.local_cseq

    def request(self, method: str, *, cseq: int | None = None, headers: Iterable[tuple[str, str]] = (),
                body: bytes = b"") -> Request:
        """A request in the dialog (the next CSeq unless `cseq` is given, as for an ACK)."""
        number = self.next_cseq() if cseq is None else cseq
        request_uri, routes = self._request_uri_and_routes()
        h = Headers()
        h.add("Max-Forwards", MAX_FORWARDS)
        for route in routes:
            h.add("Route", route)
        h.add("From", f"{self.local_uri};tag={self.local_tag}")
        h.add("To", f"{self.remote_uri};tag={self.remote_tag}")
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{number} {method}")
        for name, value in headers:
            h.add(name, value)
        return Request(method, request_uri, h, body)

    def _request_uri_and_routes(self) -> tuple[str, list[str]]:
        """RFC 3261 12.2.1.1: a strict router first in the route set takes the Request-URI."""
        routes = list(self.route_set)
        if routes and ";lr" not in uri_text(routes[0]).lower():
            return uri_text(routes[0]), [*routes[1:], f"<{self.remote_target}>"]
        return self.remote_target, routes

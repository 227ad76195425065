"""The whole sans-IO core in one process with a hand-driven clock: endpoint, RCC
application, embedded switch, the bundled demo data. Tests play the Lync front
end by feeding SIP bytes and reading what the core sends back."""
from __future__ import annotations

import itertools

from rccserver import csta
from rccserver.cic import load_cic_data
from rccserver.common.clock import Scheduler
from rccserver.server.config import DEFAULT_CONFIG_PATH, load_config
from rccserver.dialplan import DialPlanRouter
from rccserver.directory.ldif import load_ldif
from rccserver.rcc.occupancy import OccupancyRegistry
from rccserver.rcc.application import CurrentData, RccApplication
from rccserver.sip import Headers, Request, Response, make_response, parse_message
from rccserver.sip.endpoint import Endpoint, Send, SendTo
from rccserver.switch import EmbeddedSwitch

ED3 = csta.ED3
CONN = 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Core:
    def __init__(self, *, session_timeout: int = 60, keepalive_misses: int = 3, dial_plan=None) -> None:
        """`dial_plan`: a rccserver.dialplan.DialPlan for the switch and the event presentation."""
        config = load_config(DEFAULT_CONFIG_PATH)
        self.clock = Clock()
        cic = load_cic_data(config.cic.data_file)
        self.data = CurrentData(directory=load_ldif(config.directory.ldif_file, "EXAMPLE"), cic=cic)
        self.occupancy = OccupancyRegistry()
        self.scheduler = Scheduler(self.clock)
        router = None if dial_plan is None else DialPlanRouter(dial_plan, lambda: self.data.cic.stations)
        self.switch = EmbeddedSwitch([s.extension for s in cic.stations], scheduler=self.scheduler, dial_plan=router)
        self.app = RccApplication(data=self.data, occupancy=self.occupancy, switch=self.switch,
                                  session_timeout=session_timeout, domain_name="rcc.example.com",
                                  keepalive_misses=keepalive_misses, scheduler=self.scheduler,
                                  wall_clock=lambda: 1_700_000_000.0,
                                  number_presentation=None if dial_plan is None else dial_plan.presentation)
        self.endpoint = Endpoint(self.app, domain_name="rcc.example.com", scheduler=self.scheduler)
        self.app.attach(self.endpoint)
        self.endpoint.connection_made(CONN, ("127.0.0.1", 5060), "tcp", ("127.0.0.1", 11001))
        self.sent: list[Request | Response] = []
        self.sent_to: list[SendTo] = []

    def drain(self) -> list[Request | Response]:
        new = []
        for output in self.endpoint.take_output():
            if isinstance(output, Send):
                new.append(parse_message(output.data))
            elif isinstance(output, SendTo):
                self.sent_to.append(output)
                new.append(parse_message(output.data))
        self.sent.extend(new)
        return new

    def feed(self, message: Request | Response) -> list[Request | Response]:
        self.endpoint.receive(CONN, message.to_bytes())
        return self.drain()

    def advance(self, seconds: float) -> list[Request | Response]:
        """Move the clock, firing every timer due on the way in order."""
        target = self.clock.now + seconds
        out = []
        while (due := self.scheduler.next_deadline()) is not None and due <= target:
            self.clock.now = max(self.clock.now, due)
            self.scheduler.tick(self.clock.now)
            out += self.drain()
        self.clock.now = target
        return out


class Lync:
    """One Lync endpoint's dialog, built on our own SIP message classes."""

    _branches = itertools.count(1)

    def __init__(self, core: Core, user: str = "sip:alice@example.com", line: str = "tel:+1001") -> None:
        self.core = core
        self.user = user
        self.line = line
        self.call_id = f"call-{next(self._branches)}@lync"
        self.from_tag = "lynctag"
        self.to_tag: str | None = None
        self.cseq = 0

    def request(self, method: str, body: bytes = b"", extra=()) -> Request:
        self.cseq += 1
        headers = Headers([
            ("Via", f"SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK{next(self._branches)}"),
            ("Max-Forwards", "70"),
            ("From", f"<{self.user}>;tag={self.from_tag}"),
            ("To", "<sip:rcc@rcc.example.com>" + (f";tag={self.to_tag}" if self.to_tag else "")),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} {method}"),
            ("Contact", "<sip:lync@127.0.0.1:5060;transport=tcp>"),
            *extra,
        ])
        if body:
            headers.add("Content-Type", "application/csta+xml")
        return Request(method, "sip:rcc@rcc.example.com", headers, body)

    def final(self, messages, method: str) -> Response:
        finals = [m for m in messages if isinstance(m, Response) and m.status >= 200 and m.cseq[1] == method]
        assert finals, f"no final response to {method} in {messages}"
        return finals[-1]

    def sign_in(self, extra=(("Supported", "timer"),)) -> Response:
        body = (f'<RequestSystemStatus xmlns="{ED3}"><extensions><privateData><private>'
                f'<lcs:line xmlns:lcs="{csta.RCC_EXTENSION}">{self.line}</lcs:line></private></privateData>'
                f"</extensions></RequestSystemStatus>").encode()
        invite = self.request("INVITE", body, extra)
        response = self.final(self.core.feed(invite), "INVITE")
        if response.status == 200:
            self.to_tag = response.to.tag
            self.core.feed(self.request("ACK"))
        return response

    def csta(self, xml: str):
        response = self.final(self.core.feed(self.request("INFO", xml.encode())), "INFO")
        assert response.status == 200
        return csta.decode(response.body)

    def monitor(self) -> str:
        started = self.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{self.line}'
                            f"</deviceObject></monitorObject></MonitorStart>")
        return started.monitor_cross_ref_id

    def answer(self, request: Request, status: int = 200) -> list:
        return self.core.feed(make_response(request, status))


def server_requests(messages, method: str | None = None) -> list[Request]:
    return [m for m in messages if isinstance(m, Request) and (method is None or m.method == method)]

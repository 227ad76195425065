"""A deterministic harness for the phone line (`rccserver.stations.endpoint`).

`Line` owns the endpoint, a registrar, a hand-moved clock and a `RecordingListener`
(the call layer's stand-in); `FakePhone`s speak SIP to it as bytes over UDP or
TCP, the way a desk phone does: they register with digest, dial (answering the
407), answer or refuse what we send them, and send BYE, re-INVITE, REFER.
What the endpoint sends is parsed and put in the phone's inbox; a test may drop
any message on the way (`Line.drop`) to play a lossy network.
"""
from __future__ import annotations

import hashlib
import itertools
from typing import Callable

from rccserver.cic.data import CicData, Station
from rccserver.common.clock import Scheduler
from rccserver.sip.digest import DigestClient
from rccserver.sip.message import Request, Response, make_response
from rccserver.sip.parser import parse_message
from rccserver.stations.endpoint import StationsEndpoint
from rccserver.stations.legs import Leg, Replaces
from rccserver.stations.outputs import Send, SendDatagram, SendTo
from rccserver.stations.registrar import Registrar, RegistrarSettings

REALM = "example.com"
DOMAIN = "pbx.example.com"
SECRET = b"phone line test secret, 32 bytes"
SERVER = ("198.51.100.1", 5060)

AMY = Station("AmyDesk", "1001", None, type="sip", sip_user="1001", password="amy-pw", auto_answer="call-info")
BEN = Station("BenDesk", "1002", None, type="sip", sip_user="ben",
              ha1=hashlib.md5(f"ben:{REALM}:ben-pw".encode()).hexdigest())
LOBBY = Station("Lobby", "1000", None)
PASSWORDS = {"1001": "amy-pw", "ben": "ben-pw"}


def counting_random(seed: str = "") -> Callable[[int], bytes]:
    counter = itertools.count()

    def random_bytes(n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += hashlib.sha256(f"{seed}{next(counter)}".encode()).digest()
        return out[:n]

    return random_bytes


def sdp(port: int, direction: str = "sendrecv") -> bytes:
    return (f"v=0\r\no=- {port} 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na={direction}\r\n").encode()


class RecordingListener:
    """The call layer's stand-in: records every callback, checks the contract's rules,
    and lets a test script reactions (`on`)."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self.calls: list[tuple] = []
        self.legs: list[Leg] = []  # every leg it heard of
        self.ended: dict[str, str] = {}  # leg_id -> "ended: reason" / "failed: status"
        self.violations: list[str] = []
        self.reactions: dict[str, Callable] = {}
        self.refer_answer = True

    def on(self, name: str, reaction: Callable) -> None:
        self.reactions[name] = reaction

    def _record(self, name: str, leg: Leg, *args) -> None:
        if self.line.in_leg_call:
            self.violations.append(f"{name} for {leg.leg_id} from inside a Leg method")
        if leg.leg_id in self.ended:
            self.violations.append(f"{name} for {leg.leg_id} after its end ({self.ended[leg.leg_id]})")
        self.calls.append((name, leg, *args))
        reaction = self.reactions.get(name)
        if reaction is not None:
            reaction(leg, *args)

    def names(self, leg: Leg | None = None) -> list[str]:
        return [call[0] for call in self.calls if leg is None or call[1] is leg]

    def args(self, name: str, leg: Leg | None = None) -> list[tuple]:
        return [call[2:] for call in self.calls if call[0] == name and (leg is None or call[1] is leg)]

    def phone_dialled(self, leg: Leg) -> None:
        self.legs.append(leg)
        self._record("phone_dialled", leg)

    def leg_ringing(self, leg: Leg) -> None:
        self._record("leg_ringing", leg)

    def leg_answered(self, leg: Leg, sdp: bytes | None) -> None:
        self._record("leg_answered", leg, sdp)

    def leg_acknowledged(self, leg: Leg, sdp: bytes | None) -> None:
        self._record("leg_acknowledged", leg, sdp)

    def leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        self._record("leg_failed", leg, status, reason)
        self.ended[leg.leg_id] = f"failed: {status}"

    def leg_ended(self, leg: Leg, reason: str) -> None:
        self._record("leg_ended", leg, reason)
        self.ended[leg.leg_id] = f"ended: {reason}"

    def leg_reinvited(self, leg: Leg, sdp: bytes | None) -> None:
        self._record("leg_reinvited", leg, sdp)

    def leg_reinvite_answered(self, leg: Leg, sdp: bytes | None) -> None:
        self._record("leg_reinvite_answered", leg, sdp)

    def leg_reinvite_failed(self, leg: Leg, status: int) -> None:
        self._record("leg_reinvite_failed", leg, status)

    def leg_referred(self, leg: Leg, target: str, replaces: Replaces | None) -> bool:
        self._record("leg_referred", leg, target, replaces)
        return self.refer_answer


class Line:
    def __init__(self, stations=(AMY, BEN, LOBBY), **endpoint_options) -> None:
        self.now = 1000.0
        self.scheduler = Scheduler(lambda: self.now)
        self.registrar = Registrar(stations, RegistrarSettings(realm=REALM), secret=SECRET,
                                   random_bytes=counting_random("registrar"))
        self.listener = RecordingListener(self)
        self.events: list = []
        self.endpoint = StationsEndpoint(
            scheduler=self.scheduler, registrar=self.registrar, stations=CicData([], stations, []),
            domain_name=DOMAIN, listener=self.listener, secret=SECRET, random_bytes=counting_random("line"),
            observer=self.events.append, local_ports={"udp": 5060, "tcp": 5060, "tls": 5061}, **endpoint_options)
        self.phones_by_addr: dict[tuple[str, int], FakePhone] = {}
        self.phones_by_conn: dict[int, FakePhone] = {}
        self.in_leg_call = False
        self.drop: Callable[[FakePhone, bytes], bool] | None = None  # True: lose this message
        self.dropped: list[bytes] = []
        self.send_to: list[SendTo] = []  # connections we were asked to open (nobody answers them)
        self._conn_ids = itertools.count(1)

    # -- phones
    def phone(self, user: str, *, transport: str = "udp", host: str = "192.0.2.10", port: int = 5060,
              password: str | None = None) -> FakePhone:
        phone = FakePhone(self, user, PASSWORDS.get(user, "x") if password is None else password,
                          transport=transport, host=host, port=port)
        if transport == "udp":
            assert (host, port) not in self.phones_by_addr, "two phones cannot share an address"
            self.phones_by_addr[(host, port)] = phone
        else:
            phone.conn_id = next(self._conn_ids)
            self.phones_by_conn[phone.conn_id] = phone
            self.endpoint.connection_made(phone.conn_id, (host, port), transport, ("198.51.100.1", 5060))
        return phone

    # -- driving
    def call(self, fn: Callable, *args, **kwargs):
        """Call a Leg / PhoneLine method as the call layer would, from outside an input of the line."""
        self.in_leg_call = True
        try:
            result = fn(*args, **kwargs)
        finally:
            self.in_leg_call = False
        self.run()
        return result

    def run(self) -> None:
        """Fire what is due now and carry every output to the phones."""
        self.scheduler.tick(self.now)
        self.deliver()

    def deliver(self) -> None:
        for output in self.endpoint.take_output():
            if isinstance(output, SendDatagram):
                phone = self.phones_by_addr.get(output.addr)
                if phone is not None:
                    self._hand(phone, output.data)
            elif isinstance(output, Send):
                phone = self.phones_by_conn.get(output.conn_id)
                if phone is not None and phone.connected:
                    self._hand(phone, output.data)
            elif isinstance(output, SendTo):
                self.send_to.append(output)

    def _hand(self, phone: FakePhone, data: bytes) -> None:
        if self.drop is not None and self.drop(phone, data):
            self.dropped.append(data)
            return
        phone.inbox.append(parse_message(data))

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, firing every timer at its own time."""
        end = self.now + seconds
        while True:
            deadline = self.scheduler.next_deadline()
            if deadline is None or deadline > end:
                break
            self.now = max(self.now, deadline)
            self.run()
        self.now = end
        self.run()

    def fail_send_to(self) -> None:
        """Every connection we were asked to open fails."""
        pending, self.send_to = self.send_to, []
        for output in pending:
            self.endpoint.send_failed(output.key, "connection refused")
            self.deliver()


class PhoneCall:
    """A dialog as the phone sees it."""

    def __init__(self, call_id: str, local: str, remote: str, target: str, cseq: int = 1) -> None:
        self.call_id = call_id
        self.local = local  # the phone's own From/To value, with its tag
        self.remote = remote  # ours, with our tag once known
        self.target = target  # our Contact URI
        self.cseq = cseq


class FakePhone:
    def __init__(self, line: Line, user: str, password: str, *, transport: str, host: str, port: int) -> None:
        self.line = line
        self.user = user
        self.transport = transport
        self.host = host
        self.port = port
        self.conn_id: int | None = None
        self.connected = True
        self.inbox: list[Request | Response] = []
        self.client = DigestClient(user, password, counting_random(f"phone-{user}"))
        self._ids = itertools.count(1)
        self.register_cseq = 0

    contact_host: str | None = None  # what the phone believes its address is (behind NAT: a private one)

    @property
    def contact(self) -> str:
        host = self.contact_host or self.host
        return f"<sip:{self.user}@{host}:{self.port};transport={self.transport}>"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{self.user}-{self.port}-{next(self._ids)}"

    def via(self) -> str:
        return f"SIP/2.0/{self.transport.upper()} {self.host}:{self.port};branch=z9hG4bK{self.new_id('b')};rport"

    # -- the wire
    def send(self, message: Request | Response | bytes) -> None:
        data = message if isinstance(message, bytes) else message.to_bytes()
        if self.transport == "udp":
            self.line.endpoint.datagram_received(data, (self.host, self.port), SERVER)
        else:
            self.line.endpoint.receive(self.conn_id, data)
        self.line.run()

    def disconnect(self) -> None:
        self.connected = False
        self.line.endpoint.connection_lost(self.conn_id)
        self.line.run()

    def take(self) -> list[Request | Response]:
        inbox, self.inbox = self.inbox, []
        return inbox

    def requests(self, method: str | None = None) -> list[Request]:
        return [m for m in self.inbox if isinstance(m, Request) and (method is None or m.method == method)]

    def responses(self, status: int | None = None) -> list[Response]:
        return [m for m in self.inbox if isinstance(m, Response) and (status is None or m.status == status)]

    def last_request(self, method: str) -> Request:
        found = self.requests(method)
        assert found, f"{self.user} received no {method}; inbox: {[_describe(m) for m in self.inbox]}"
        return found[-1]

    def last_response(self, cseq_method: str | None = None) -> Response:
        found = [r for r in self.responses() if cseq_method is None or r.cseq[1] == cseq_method]
        assert found, f"{self.user} received no response; inbox: {[_describe(m) for m in self.inbox]}"
        return found[-1]

    # -- REGISTER
    def register(self, expires: int = 3600) -> Response:
        call_id = f"reg-{self.user}-{self.port}"
        authorization = None
        for _ in range(3):
            self.register_cseq += 1
            headers = [("Via", self.via()), ("Max-Forwards", "70"), ("From", f"<sip:{self.user}@{REALM}>;tag=r1"),
                       ("To", f"<sip:{self.user}@{REALM}>"), ("Call-ID", call_id),
                       ("CSeq", f"{self.register_cseq} REGISTER"), ("Contact", self.contact),
                       ("Expires", str(expires))]
            if authorization is not None:
                headers.append(authorization)
            self.send(Request("REGISTER", f"sip:{REALM}", headers))
            response = self.last_response("REGISTER")
            self.inbox.remove(response)
            if response.status != 401:
                return response
            authorization = self.client.answer(response, method="REGISTER", uri=f"sip:{REALM}")
        return response

    # -- dialling (the phone's INVITE)
    def invite_request(self, number: str, body: bytes | None, call: PhoneCall | None = None,
                       authorization: tuple[str, str] | None = None, extra=()) -> tuple[Request, PhoneCall]:
        if call is None:
            call = PhoneCall(self.new_id("call"), f"<sip:{self.user}@{REALM}>;tag={self.new_id('t')}",
                             f"<sip:{number}@{REALM}>", f"sip:{number}@{REALM}")
        else:
            call.cseq += 1
        headers = [("Via", self.via()), ("Max-Forwards", "70"), ("From", call.local), ("To", call.remote),
                   ("Call-ID", call.call_id), ("CSeq", f"{call.cseq} INVITE"), ("Contact", self.contact),
                   ("Allow-Events", "talk, hold")]
        if authorization is not None:
            headers.append(authorization)
        headers.extend(extra)
        if body is not None:
            headers.append(("Content-Type", "application/sdp"))
        return Request("INVITE", f"sip:{number}@{REALM}", headers, body or b""), call

    def dial(self, number: str, body: bytes | None = b"") -> PhoneCall:
        """INVITE `number`, answer the 407 (ACKing it), INVITE again with credentials."""
        body = sdp(4000 + self.port % 1000) if body == b"" else body
        invite, call = self.invite_request(number, body)
        self.send(invite)
        challenge = self.last_response("INVITE")
        assert challenge.status == 407, _describe(challenge)
        self.ack_response(invite, challenge)
        authorization = self.client.answer(challenge, method="INVITE", uri=invite.uri)
        invite, call = self.invite_request(number, body, call, authorization)
        call.invite = invite
        self.send(invite)
        return call

    def ack_response(self, invite: Request, response: Response) -> None:
        """The ACK for a non-2xx to our INVITE (same branch: RFC 3261 17.1.1.3)."""
        headers = [("Via", invite.headers.get("Via")), ("Max-Forwards", "70"), ("From", invite.headers.get("From")),
                   ("To", response.headers.get("To")), ("Call-ID", invite.call_id),
                   ("CSeq", f"{invite.cseq[0]} ACK")]
        self.send(Request("ACK", invite.uri, headers))

    def confirm(self, call: PhoneCall, response: Response, body: bytes | None = None, send: bool = True) -> Request:
        """The ACK for our 2xx to the phone's INVITE (new branch)."""
        call.remote = response.headers.get("To")
        call.target = _contact_uri(response)
        headers = [("Via", self.via()), ("Max-Forwards", "70"), ("From", call.local), ("To", call.remote),
                   ("Call-ID", call.call_id), ("CSeq", f"{response.cseq[0]} ACK")]
        if body:
            headers.append(("Content-Type", "application/sdp"))
        ack = Request("ACK", call.target, headers, body or b"")
        if send:
            self.send(ack)
        return ack

    # -- in a dialog
    def request(self, call: PhoneCall, method: str, headers=(), body: bytes = b"") -> Request:
        call.cseq += 1
        h = [("Via", self.via()), ("Max-Forwards", "70"), ("From", call.local), ("To", call.remote),
             ("Call-ID", call.call_id), ("CSeq", f"{call.cseq} {method}"), ("Contact", self.contact), *headers]
        if body:
            h.append(("Content-Type", "application/sdp"))
        return Request(method, call.target, h, body)

    # -- answering what we received
    def answered_call(self, invite: Request, tag: str) -> PhoneCall:
        """The dialog of our INVITE as this phone sees it, once it answered with `tag`."""
        return PhoneCall(invite.call_id, f"{invite.headers.get('To')};tag={tag}", invite.headers.get("From"),
                         _contact_uri(invite), cseq=100)

    def respond(self, request: Request, status: int, *, tag: str | None = None, body: bytes = b"",
                headers=(), send: bool = True) -> Response:
        extra = [("Contact", self.contact), *headers]
        if body:
            extra.append(("Content-Type", "application/sdp"))
        response = make_response(request, status, to_tag=tag if tag is not None else f"p{self.user}",
                                 headers=extra, body=body)
        if send:
            self.send(response)
        return response


def _contact_uri(message: Request | Response) -> str:
    value = message.headers.get("Contact") or ""
    return value[value.index("<") + 1:value.index(">")] if "<" in value else value


def _describe(message: Request | Response) -> str:
    if isinstance(message, Request):
        return f"{message.method} {message.cseq}"
    return f"{message.status} {message.reason} ({message.cseq[1]})"

"""A registrar driven by hand, and phones that register with it the way real phones do.

A `Phone` keeps one Call-ID, counts its CSeq up, caches the last challenge and
reuses its nonce (nc counting up), and answers a 401 by computing credentials
and sending again, as baresip or a desk phone would.
"""
from __future__ import annotations

import hashlib
import itertools

from rccserver.cic.data import Station
from rccserver.sip.digest import DigestChallenge, DigestClient, DigestError, parse_challenge
from rccserver.sip.message import Request, Response
from rccserver.sip.parser import parse_message
from rccserver.stations.registrar import Registrar, RegistrarSettings

REALM = "example.com"
SECRET = b"registrar test secret, 32 bytes!"
AMY_PASSWORD = "amy-pw"
BEN_PASSWORD = "ben-pw"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


AMY = Station("AmyDesk", "1001", None, type="sip", sip_user="1001", password=AMY_PASSWORD)
BEN = Station("BenDesk", "1002", None, type="sip", sip_user="ben", ha1=md5(f"ben:{REALM}:{BEN_PASSWORD}"))
CARL = Station("CarlDesk", "1003", None, type="sip", sip_user="1003", password="carl-pw")
LOBBY = Station("Lobby", "1000", None)


def counting_random():
    counter = itertools.count()

    def random_bytes(n: int) -> bytes:
        return hashlib.sha256(str(next(counter)).encode()).digest()[:n]

    return random_bytes


def new_registrar(stations=(AMY, BEN, LOBBY), server_header: str | None = None, **settings) -> Registrar:
    settings.setdefault("realm", REALM)
    return Registrar(stations, RegistrarSettings(**settings), secret=SECRET, random_bytes=counting_random(),
                     server_header=server_header)


def register_request(
    user: str,
    *,
    call_id: str = "call-1",
    cseq: int = 1,
    contacts: tuple[str, ...] = (),
    expires: int | str | None = None,
    authorization: str | None = None,
    to: str | None = None,
    extra: tuple[str, ...] = (),
    host: str = "192.0.2.10",
) -> Request:
    """A REGISTER as bytes on the wire, parsed by the real parser."""
    lines = [
        f"REGISTER sip:{REALM} SIP/2.0",
        f"Via: SIP/2.0/UDP {host}:5060;branch=z9hG4bK-{call_id}-{cseq};rport",
        f"From: <sip:{user}@{REALM}>;tag=from-{call_id}",
        f"To: {to or f'<sip:{user}@{REALM}>'}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        "Max-Forwards: 70",
        "User-Agent: TestPhone/1.0",
    ]
    lines += [f"Contact: {contact}" for contact in contacts]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    lines += list(extra)
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


class Phone:
    """One account on one phone. `send()` returns the final response and every event on the way."""

    def __init__(self, registrar: Registrar, user: str, password: str, *, host: str = "192.0.2.10",
                 port: int = 5060, transport: str = "udp", call_id: str | None = None,
                 auth_user: str | None = None) -> None:
        self.registrar = registrar
        self.user = user
        self.source = (host, port)
        self.transport = transport
        self.call_id = call_id or f"{user}-{host}-{port}"
        self.cseq = 0
        self.client = DigestClient(auth_user or user, password, counting_random())
        self.challenge: DigestChallenge | None = None
        self.responses: list[Response] = []

    def send(self, contacts: tuple[str, ...] = (), *, now: float, expires: int | str | None = None,
             to: str | None = None, extra: tuple[str, ...] = (), retries: int = 2):
        events = []
        for _ in range(retries + 1):
            self.cseq += 1
            authorization = None
            if self.challenge is not None:
                uri = f"sip:{REALM}"
                authorization = self.client.authorize(self.challenge, method="REGISTER", uri=uri).header_value()
            request = register_request(self.user, call_id=self.call_id, cseq=self.cseq, contacts=contacts,
                                       expires=expires, authorization=authorization, to=to, extra=extra,
                                       host=self.source[0])
            result = self.registrar.handle_register(request, source=self.source, transport=self.transport, now=now)
            events.extend(result.events)
            response = result.response
            self.responses.append(response)
            if response.status != 401:
                return response, events
            self.challenge = first_usable_challenge(response)
        return response, events


def first_usable_challenge(response: Response) -> DigestChallenge | None:
    for value in response.headers.get_all("WWW-Authenticate"):
        try:
            challenge = parse_challenge(value)
        except DigestError:
            continue
        if challenge.algorithm_kind is not None:
            return challenge
    return None


def contact_expiries(response: Response) -> dict[str, int]:
    """{contact URI: expires} from the Contact fields of a 200."""
    from rccserver.sip.uri import parse_name_addr

    out = {}
    for value in response.headers.get_all("Contact"):
        contact = parse_name_addr(value)
        out[str(contact.uri)] = int(contact.param("expires"))
    return out

"""Lync (the RCC dialog) at a desk whose phone is a real SIP phone: helpers for the
end-to-end tests where Lync's CSTA requests drive baresip phones through rccserver.

The deployment is `desk_phones_server` (conftest.py): the testbed's stations 1001-1004
are SIP stations, alice (tel:+1001) and bob (tel:+1002) sign in from Lync. What a test
can observe on a phone is what baresip 1.0 lets it see (docs/sip-stations.md, "Testing
with baresip"): its events, its RTP counters and addresses (`audio_debug`), and the tone
it hears while its recording of the call's audio lasts.
"""
from __future__ import annotations

import re
import time

from rccserver import csta
from rccserver.sip import Request, Response, parse_message
from testkit.baresip import BaresipPhone
from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from tests.stations_e2e.conftest import DESK_PHONES

WAIT = 15.0  # upper bound for anything we wait for; nothing asserts on elapsed time
ALICE, BOB, CAROL, HANK = "tel:+1001", "tel:+1002", "tel:+1003", "tel:+1004"
TONES = {"1001": 440, "1002": 1000, "1003": 1500}  # whose voice a phone hears tells who reached it
HZ = 25  # a PCMU tone is measured within a few Hz


def desk_phone(phones, server, extension: str, transport: str, **options) -> BaresipPhone:
    """The station's baresip phone, registered with the stations line over `transport`."""
    phone = phones(user=extension, password=DESK_PHONES[extension],
                   registrar=("127.0.0.1", server.stations_port), transport=transport,
                   tone_hz=TONES.get(extension, 2000), **options)
    phone.wait_registered(timeout=WAIT)
    return phone


def sign_in(server, user: str, line: str) -> LyncClient:
    """Lync signed in on its line with a monitor on it (`client.xref`)."""
    client = LyncClient("127.0.0.1", server.sip_port, user=user, line=line, timeout=WAIT)
    response = client.sign_in()
    assert response.status == 200, response.headers.get("Warning")
    started = client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{line}</deviceObject>'
                          f"</monitorObject></MonitorStart>")
    assert isinstance(started, csta.MonitorStartResponse), started
    client.xref = started.monitor_cross_ref_id
    return client


# -- CSTA requests as Lync writes them ------------------------------------------------------

def _conn(call_id: str, line: str) -> str:
    return f"<callID>{call_id}</callID><deviceID>{line}</deviceID>"


def make_call(client: LyncClient, called: str):
    return client.csta(f'<MakeCall xmlns="{ED3}"><callingDevice>{client.line}</callingDevice>'
                       f"<calledDirectoryNumber>{called}</calledDirectoryNumber></MakeCall>")


def hold_call(client: LyncClient, call_id: str):
    return client.csta(f'<HoldCall xmlns="{ED3}"><callToBeHeld>{_conn(call_id, client.line)}</callToBeHeld></HoldCall>')


def retrieve_call(client: LyncClient, call_id: str):
    return client.csta(f'<RetrieveCall xmlns="{ED3}"><callToBeRetrieved>{_conn(call_id, client.line)}'
                       f"</callToBeRetrieved></RetrieveCall>")


def clear_connection(client: LyncClient, call_id: str):
    return client.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared>{_conn(call_id, client.line)}'
                       f"</connectionToBeCleared></ClearConnection>")


def answer_call(client: LyncClient, call_id: str):
    return client.csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered>{_conn(call_id, client.line)}'
                       f"</callToBeAnswered></AnswerCall>")


def deflect_call(client: LyncClient, call_id: str, destination: str):
    return client.csta(f'<DeflectCall xmlns="{ED3}"><callToBeDiverted>{_conn(call_id, client.line)}'
                       f"</callToBeDiverted><newDestination>{destination}</newDestination></DeflectCall>")


def set_forwarding(client: LyncClient, destination: str, on: bool = True):
    target = f"<forwardDN>{destination}</forwardDN>" if on else ""
    return client.csta(f'<SetForwarding xmlns="{ED3}"><device>{client.line}</device>'
                       f"<forwardingType>forwardImmediate</forwardingType>"
                       f"<activateForward>{str(on).lower()}</activateForward>{target}</SetForwarding>")


def set_dnd(client: LyncClient, on: bool = True):
    return client.csta(f'<SetDoNotDisturb xmlns="{ED3}"><device>{client.line}</device>'
                       f"<doNotDisturbOn>{str(on).lower()}</doNotDisturbOn></SetDoNotDisturb>")


# -- CSTA events Lync gets ------------------------------------------------------------------

def _is_event(request) -> bool:
    if request.method != "INFO" or not request.body:
        return False
    try:
        return isinstance(csta.decode(request.body), csta.EVENTS)
    except csta.CstaDecodeError:
        return False


def events_until(client: LyncClient, name: str, timeout: float = WAIT) -> list:
    """Every CSTA event the client gets, in order, up to and including the first `name`
    (e.g. "EstablishedEvent"); each event is taken once."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        remaining = deadline - time.monotonic()
        try:
            request = client.wait_request(_is_event, max(remaining, 0.01))
        except TimeoutError:
            raise AssertionError(f"no {name} for {client.line} within {timeout} s; got {names(seen)}") from None
        event = csta.decode(request.body)
        seen.append(event)
        if type(event).__name__ == name:
            return seen


def names(events) -> list[str]:
    return [type(event).__name__.removesuffix("Event") for event in events]


def quiet(client: LyncClient, seconds: float = 0.5) -> list:
    """The CSTA events that arrive within `seconds` (read and answered): for checking that
    nothing happened in Lync. An upper bound on waiting, not a timing assertion."""
    client.drain(seconds)
    events = [request for request in client.server_requests if _is_event(request)]
    return [csta.decode(request.body) for request in events]


# -- what a phone shows --------------------------------------------------------------------

def rtp_ports(phone: BaresipPhone) -> tuple[int, int]:
    """(local RTP port, the RTP port it sends to) of the phone's current call, from audio_debug."""
    media = phone.media()
    assert media is not None, f"{phone.user} has no call:\n{phone.list_calls()}"
    found = re.search(r"local: [\d.]+:(\d+), remote: [\d.]+:(\d+)", media.debug)
    assert found, media.debug
    return int(found.group(1)), int(found.group(2))


def assert_paired(first: BaresipPhone, second: BaresipPhone) -> None:
    """Each phone sends its RTP to the other's RTP port and RTP flows both ways: the B2BUA
    gave each phone the other's session description (no RTP passes through rccserver)."""
    deadline = time.monotonic() + WAIT
    while True:
        (first_local, first_remote), (second_local, second_remote) = rtp_ports(first), rtp_ports(second)
        if first_remote == second_local and second_remote == first_local:
            break
        assert time.monotonic() < deadline, (
            f"{first.user} sends to {first_remote} and listens on {first_local}; "
            f"{second.user} sends to {second_remote} and listens on {second_local}")
        time.sleep(0.05)
    first.wait_media_flowing(timeout=WAIT)
    second.wait_media_flowing(timeout=WAIT)


def assert_hears(phone: BaresipPhone, extension: str) -> None:
    """The phone hears the tone of `extension`'s phone (and so not its own, nor silence)."""
    heard = phone.heard_frequency(timeout=WAIT)
    assert abs(heard - TONES[extension]) < HZ, f"{phone.user} hears {heard:.0f} Hz, not {extension}'s " \
                                               f"{TONES[extension]} Hz"


def call_events(phone: BaresipPhone) -> list[str]:
    """The phone's call events so far (ringing, answered, closed), in order."""
    return [event["type"] for event in phone.events
            if event.get("type") in ("CALL_INCOMING", "CALL_RINGING", "CALL_ESTABLISHED", "CALL_CLOSED")]


def wait_no_calls(server, timeout: float = WAIT) -> None:
    """Until the switch holds no call (GET /api/calls)."""
    deadline = time.monotonic() + timeout
    while True:
        status, calls = server.admin("GET", "/api/calls")
        assert status == 200
        if not calls:
            return
        assert time.monotonic() < deadline, f"calls left in the switch: {calls}"
        time.sleep(0.05)


_TRACE_START, _TRACE_END = b"\x1b[36;1m#\n", b"\x1b[;m"


def sip_received(phone: BaresipPhone) -> list[Request | Response]:
    """Every SIP message the phone received so far, in order, from its SIP trace (a phone
    started with sip_trace=True logs each message as `TRANSPORT from -> to`, the message,
    and a colour reset; over TCP the phone's side is a connection's port, not its own)."""
    assert phone.sip_trace and phone.registrar is not None
    sent = f"-> {phone.registrar[0]}:{phone.registrar[1]}".encode()  # all its traffic is with rccserver
    received = []
    for chunk in phone.log_path.read_bytes().split(_TRACE_START)[1:]:
        route, _, rest = chunk.partition(b"\n")
        if route.endswith(sent):
            continue
        message, ended, _ = rest.partition(_TRACE_END)
        if ended:
            received.append(parse_message(message))
    return received


def received_requests(phone: BaresipPhone, method: str) -> list[Request]:
    return [m for m in sip_received(phone) if isinstance(m, Request) and m.method == method]


def sdp_port(body: bytes) -> int:
    """The audio port of a session description."""
    found = re.search(rb"^m=audio (\d+) ", body, re.MULTILINE)
    assert found, body
    return int(found.group(1))


def sdp_direction(body: bytes) -> str:
    found = re.search(rb"^a=(sendrecv|sendonly|recvonly|inactive)\r?$", body, re.MULTILINE)
    return found.group(1).decode() if found else "sendrecv"

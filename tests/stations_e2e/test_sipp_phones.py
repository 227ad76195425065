"""SIPp as a SIP station's phone against the real server (SPEC section 9): what baresip
cannot show. Each test registers SIPp as a station's phone over UDP and then plays the
phone with a scenario under `sipp/`, while the test plays Lync (testkit.lyncclient) and
the outside world (admin API; outside parties have no trunk, so a phone talking to one
is parked, a=inactive):

* MakeCall's offerless INVITE with each `auto_answer` hint (Call-Info, Alert-Info, none),
  the phone's offer in its 200 and the answer in the ACK;
* AnswerCall by NOTIFY `Event: talk` in the ringing dialog when the phone's 180 listed
  `talk`; a precise CSTA error and no NOTIFY when it did not, or remote_answer = "none";
* transfers done on the phone: REFER with Replaces (RFC 3891) over two calls it dialled,
  or over a MakeCall and a ConsultationCall from Lync, and refused when the Replaces
  names no dialog of the phone's; blind REFER, with and without the implicit
  subscription (RFC 4488); and Lync's TransferCall over the phone's two calls;
* UDP retransmissions: our 2xx until the phone's ACK and not after, our INVITE until the
  phone answers, and a phone's retransmitted INVITE, BYE or REGISTER answered from its
  transaction, not acted on twice.

What the phone saw is read from SIPp's message log (`-trace_msg`, flushed per message).

Digest: SIPp 3.6 knows MD5 only and gives up when the first challenge is SHA-256, which
is what a station with a `password` gets first; the stations here store an `ha1` (MD5
alone). SIPp's [authentication] always names sip:REMOTE_IP:PORT as the digest uri: right
for REGISTER, wrong for an INVITE that dials a number (the server rightly wants the
Request-URI), so the phone's INVITEs carry credentials the test computed
(`SippPhone.credentials`) for a nonce the server gave the phone (phone_challenged.xml).
"""
from __future__ import annotations

import hashlib
import re
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rccserver import csta
from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from tests.e2e.sipp import sipp_binary
from tests.stations_e2e.conftest import REALM, free_udp_and_tcp_port, ha1, started_stations_testbed

WAIT = 15.0  # upper bound for anything we wait for; nothing asserts on elapsed time
SCENARIOS = Path(__file__).parent / "sipp"
DOMAIN = "rcc.example.com"  # the testbed's [line] domain_name

# The testbed's stations 1001-1004 as SIP stations: extension -> password, settings.
# alice (1001), bob (1002) and hank (1004) sign in (testkit/testbed.py); carol's 1003 has
# no client licence.
PASSWORDS = {"1001": "pw-1001", "1002": "pw-1002", "1003": "pw-1003", "1004": "pw-1004"}
STATION_SETTINGS = {
    "1001": {"auto_answer": "call-info", "remote_answer": "talk-event"},
    "1002": {"auto_answer": "alert-info", "remote_answer": "none"},
    "1003": {"auto_answer": "none", "remote_answer": "talk-event"},
    "1004": {"auto_answer": "none", "remote_answer": "none"},
}
LYNC_USERS = {"1001": "sip:alice@example.com", "1002": "sip:bob@example.com", "1004": "sip:hank@example.com"}
OUTSIDE = "tel:+13175550188"  # an external party (no trunk: the phone is parked while talking to it)


# ---------------------------------------------------------------------------------------------
# The server


def sip_desk_cic(text: str) -> str:
    """The testbed's stations 1001-1004 as SIP stations with an MD5 `ha1` and the settings above."""
    for extension, password in PASSWORDS.items():
        line = f'identification_address = "tel:+{extension}"\n'
        assert text.count(line) == 1, f"the testbed's CIC data no longer has station {extension} as expected"
        settings = "".join(f'{key} = "{value}"\n' for key, value in STATION_SETTINGS[extension].items())
        text = text.replace(line, line + f'type = "sip"\nha1 = "{ha1(extension, password)}"\n{settings}')
    return text


@pytest.fixture
def server(tmp_path):
    with started_stations_testbed(tmp_path / "server", sip_desk_cic) as server:
        yield server


# ---------------------------------------------------------------------------------------------
# SIPp as a phone


@pytest.fixture
def sipp_runs():
    """Every SIPp process a test started; killed at the end if still running."""
    runs: list[SippRun] = []
    yield runs
    for run in runs:
        run.kill()


class SippRun:
    """One SIPp process playing one scenario; its message log read while it runs."""

    def __init__(self, command: list[str], workdir: Path, name: str) -> None:
        self.workdir = workdir
        self.name = name
        self.message_log = workdir / f"{name}_messages.log"
        self.error_log = workdir / f"{name}_errors.log"
        self.screen = workdir / f"{name}_screen.log"  # SIPp's statistics screens (a file: a pipe could fill)
        self.command = command + ["-trace_msg", "-message_file", str(self.message_log),
                                  "-trace_err", "-error_file", str(self.error_log)]
        with open(self.screen, "wb") as screen:
            self.process = subprocess.Popen(self.command, cwd=workdir, stdin=subprocess.DEVNULL,
                                            stdout=screen, stderr=subprocess.STDOUT)

    def wait(self, timeout: float = WAIT * 2) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"SIPp ({self.name}) still running after {timeout} s\n{self.report()}") from None

    def passed(self, timeout: float = WAIT * 2) -> None:
        """Wait for the scenario's end; it must have passed (exit 0)."""
        status = self.wait(timeout)
        assert status == 0, f"SIPp ({self.name}) exit {status}\n{self.report()}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def report(self) -> str:
        text = self.screen.read_text(errors="replace")[-2500:] if self.screen.exists() else ""
        for path in (self.error_log, self.message_log):
            if path.exists():
                text += f"\n--- {path.name}\n{path.read_text(errors='replace')[-6000:]}"
        return text

    def messages(self) -> list[Logged]:
        return parse_message_log(self.message_log.read_text(errors="replace")) if self.message_log.exists() else []

    def wait_message(self, what: str, predicate, count: int = 1, timeout: float = WAIT) -> list[Logged]:
        """Until the message log holds `count` messages that satisfy `predicate`; those messages."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages() if predicate(m)]
            if len(found) >= count:
                return found
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"SIPp ({self.name}): {what}: saw {len(found)} of {count} "
                                     f"within {timeout} s\n{self.report()}")
            time.sleep(0.05)


class Logged:
    """One message in SIPp's message log: sent or received, its first line, headers and body."""

    def __init__(self, direction: str, text: str) -> None:
        self.direction = direction  # "sent" or "received"
        head, _, body = text.replace("\r\n", "\n").partition("\n\n")
        lines = head.split("\n")
        self.text = text
        self.first_line = lines[0].strip()
        self.headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:  # folded
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
            elif ":" in line:
                name, value = line.split(":", 1)
                self.headers.append((name.strip().lower(), value.strip()))
        length = int(self.header("content-length") or 0)
        self.body = body[:length] if length else ""

    def __repr__(self) -> str:
        return f"<{self.direction} {self.first_line!r} {self.header('cseq')!r}>"

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]

    @property
    def method(self) -> str | None:
        """The request's method; None for a response."""
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split(" ", 1)[0]

    @property
    def status(self) -> int | None:
        return int(self.first_line.split()[1]) if self.first_line.startswith("SIP/2.0") else None

    @property
    def cseq_method(self) -> str:
        return (self.header("cseq") or " ").split()[-1]

    def is_request(self, method: str, direction: str = "received") -> bool:
        return self.direction == direction and self.method == method

    def is_response(self, status: int, cseq_method: str, direction: str = "received") -> bool:
        return self.direction == direction and self.status == status and self.cseq_method == cseq_method


_ENTRY = re.compile(r"^-{47} [^\n]*\n(?:UDP|TCP) message (sent|received) [^\n]*:\n\n", re.M)


def parse_message_log(text: str) -> list[Logged]:
    entries = list(_ENTRY.finditer(text))
    messages = []
    for index, entry in enumerate(entries):
        end = entries[index + 1].start() if index + 1 < len(entries) else len(text)
        messages.append(Logged(entry.group(1), text[entry.end():end]))
    return messages


class SippPhone:
    """A station's phone played by SIPp over UDP on one loopback port: it registers (digest),
    then runs scenarios on that port, as the phone (server mode) or dialling (client mode)."""

    def __init__(self, server, workdir: Path, runs: list[SippRun], extension: str) -> None:
        self.server = server
        self.extension = extension
        self.workdir = workdir / f"phone{extension}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.runs = runs
        self.port = free_udp_and_tcp_port()
        self.contact = f"sip:{extension}@127.0.0.1:{self.port};transport=UDP"
        self._nonce: str | None = None

    def _command(self, scenario: str, *, dial: bool, keys: dict[str, str], options: list[str]) -> list[str]:
        command = [sipp_binary()]
        if dial:
            command.append(f"127.0.0.1:{self.server.stations_port}")
        command += ["-sf", str(SCENARIOS / scenario), "-t", "u1", "-i", "127.0.0.1", "-p", str(self.port),
                    "-m", "1", "-s", self.extension, "-au", self.extension, "-ap", PASSWORDS[self.extension],
                    "-nostdin", "-timeout", f"{int(WAIT * 2)}s", "-timeout_error", *options]
        for name, value in keys.items():
            command += ["-key", name, value]
        return command

    def start(self, scenario: str, *, dial: bool = False, keys: dict[str, str] | None = None,
              options: list[str] = ()) -> SippRun:
        """SIPp plays `scenario` on the phone's port: `dial` = client mode towards the stations
        line, else server mode (the server's INVITEs to the registered contact arrive here)."""
        name = f"{Path(scenario).stem}_{len(self.runs)}"
        run = SippRun(self._command(scenario, dial=dial, keys=keys or {}, options=list(options)), self.workdir, name)
        self.runs.append(run)
        if not dial:
            wait_until(f"SIPp listening on UDP {self.port}", lambda: udp_bound(self.port) or run.process.poll() is not None)
            if run.process.poll() is not None:
                run.wait(1)
                raise AssertionError(f"SIPp ({name}) exited at start\n{run.report()}")
        return run

    def nonce(self) -> str:
        """A nonce of the server's, from the 407 to an INVITE without credentials (one per phone)."""
        if self._nonce is None:
            run = self.start("phone_challenged.xml", dial=True, keys={"dialled": "1009"})
            run.passed()
            [challenge] = [m for m in run.messages() if m.is_response(407, "INVITE")]
            self._nonce = re.search(r'nonce="([^"]+)"', challenge.header("proxy-authenticate")).group(1)
        return self._nonce

    def credentials(self, dialled: str, nc: int, method: str = "INVITE") -> str:
        """Proxy-Authorization (MD5, qop=auth) for an INVITE to sip:DIALLED@<stations line>, with
        the phone's nonce and nonce count `nc` (it must grow from one INVITE to the next)."""
        uri = f"sip:{dialled}@127.0.0.1:{self.server.stations_port}"
        nonce, cnonce, count = self.nonce(), f"c{self.port}n{nc}", f"{nc:08x}"
        secret = ha1(self.extension, PASSWORDS[self.extension])
        digest = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
        response = hashlib.md5(f"{secret}:{nonce}:{count}:{cnonce}:auth:{digest}".encode()).hexdigest()
        return (f'Proxy-Authorization: Digest username="{self.extension}", realm="{REALM}", nonce="{nonce}", '
                f'uri="{uri}", response="{response}", algorithm=MD5, cnonce="{cnonce}", qop=auth, nc={count}')

    def register(self, expires: int = 300) -> None:
        self.start("register.xml", dial=True, keys={"expires": str(expires)}).passed()
        registration = station_row(self.server, self.extension)["registration"]
        assert registration is not None and registration["contact"] == self.contact, registration


@pytest.fixture
def phone_of(server, tmp_path, sipp_runs):
    """phone_of("1001") -> that station's SIPp phone, registered."""

    def make(extension: str) -> SippPhone:
        phone = SippPhone(server, tmp_path / "sipp", sipp_runs, extension)
        phone.register()
        return phone

    return make


def udp_bound(port: int) -> bool:
    """Something has UDP 127.0.0.1:port (or *:port) open (Linux /proc/net/udp)."""
    suffix = f":{port:04X}"
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        local = line.split()[1]
        if local.endswith(suffix):
            return True
    return False


def wait_until(what: str, check, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# Lync and the admin API


def station_row(server, extension: str) -> dict:
    status, rows = server.admin("GET", "/api/stations")
    assert status == 200
    [row] = [row for row in rows if row["extension"] == extension]
    return row


def calls(server) -> list[dict]:
    status, rows = server.admin("GET", "/api/calls")
    assert status == 200
    return rows


@pytest.fixture
def lync(server):
    """lync("1001") -> that station's Lync user signed in and monitoring its line."""
    clients: list[LyncClient] = []

    def sign_in(extension: str) -> LyncClient:
        line = f"tel:+{extension}"
        client = LyncClient("127.0.0.1", server.sip_port, user=LYNC_USERS[extension], line=line)
        clients.append(client)
        assert client.sign_in().status == 200
        started = client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{line}'
                              f'</deviceObject></monitorObject></MonitorStart>')
        assert isinstance(started, csta.MonitorStartResponse), started
        client.xref = started.monitor_cross_ref_id
        return client

    yield sign_in
    for client in clients:
        client.close()


def make_call(client: LyncClient, called: str):
    return client.csta(f'<MakeCall xmlns="{ED3}"><callingDevice>{client.line}</callingDevice>'
                       f'<calledDirectoryNumber>{called}</calledDirectoryNumber></MakeCall>')


def connection(call_id: str, line: str) -> str:
    return f"<callID>{call_id}</callID><deviceID>{line}</deviceID>"


def clear_connection(client: LyncClient, call_id: str):
    return client.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared>{connection(call_id, client.line)}'
                       f'</connectionToBeCleared></ClearConnection>')


def answer_call(client: LyncClient, call_id: str):
    return client.csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered>{connection(call_id, client.line)}'
                       f'</callToBeAnswered></AnswerCall>')


# ---------------------------------------------------------------------------------------------
# 1. MakeCall's first call and the auto-answer hints


AUTO_ANSWER = {  # station -> (Call-Info, Alert-Info) the phone must get
    "1001": ([f"<sip:{DOMAIN}>;answer-after=0"], []),
    "1002": ([], ["<http://127.0.0.1>;info=alert-autoanswer"]),
    "1004": ([], []),
}


@pytest.mark.parametrize("extension", ["1001", "1002", "1004"], ids=["call-info", "alert-info", "none"])
def test_make_call_invites_the_phone_with_its_auto_answer_hint_and_no_offer(server, phone_of, lync, extension):
    phone = phone_of(extension)
    user = lync(extension)
    run = phone.start("phone_answers_offerless.xml")

    made = make_call(user, OUTSIDE)
    assert isinstance(made, csta.MakeCallResponse), made
    call_id = made.calling_device.call_id
    user.wait_event("ServiceInitiatedEvent")
    [invite] = run.wait_message("the INVITE", lambda m: m.is_request("INVITE"))
    call_info, alert_info = AUTO_ANSWER[extension]
    assert invite.all("call-info") == call_info
    assert invite.all("alert-info") == alert_info
    assert invite.body == "" and invite.header("content-type") is None  # 3PCC: the phone offers in its 200
    assert invite.first_line == f"INVITE {phone.contact} SIP/2.0"  # the registered contact
    assert invite.header("to") == f"<sip:{extension}@{DOMAIN}>"  # the station's address of record
    assert invite.header("from").startswith(f'"{OUTSIDE[4:]}" <sip:{OUTSIDE[4:]}@{DOMAIN}>;tag=')  # who it calls

    # The phone's 200 carried the offer: the ACK has the answer (parked: the far end is outside,
    # without a trunk there is no media to connect), then the call proceeds to its destination.
    originated = user.wait_event("OriginatedEvent")
    assert originated.originated_connection.call_id == call_id
    delivered = user.wait_event("DeliveredEvent")
    assert delivered.alerting_device == OUTSIDE
    [ack] = run.wait_message("the ACK", lambda m: m.is_request("ACK"))
    assert ack.header("content-type") == "application/sdp"
    assert "m=audio 49170 RTP/AVP 0" in ack.body and "a=inactive" in ack.body
    assert ack.header("call-id") == invite.header("call-id")

    assert isinstance(clear_connection(user, call_id), csta.ClearConnectionResponse)
    user.wait_event("ConnectionClearedEvent")
    run.passed()  # the phone got the BYE and answered it


# ---------------------------------------------------------------------------------------------
# 2. AnswerCall: NOTIFY Event: talk, or a precise refusal


def outside_call_rings(server, user: LyncClient, extension: str) -> str:
    """An outside caller (admin API) rings the station: the call's id once Lync sees Delivered."""
    status, placed = server.admin("POST", "/api/calls", {"from": OUTSIDE, "to": extension})
    assert status == 200, placed
    delivered = user.wait_event("DeliveredEvent")
    assert delivered.connection.call_id == placed["call_id"]
    assert delivered.alerting_device == user.line
    return placed["call_id"]


def options_barrier_passed(run: SippRun) -> None:
    """The phone's OPTIONS after its 180 was answered: the server has read the 180."""
    run.wait_message("the 200 to the phone's OPTIONS", lambda m: m.is_response(200, "OPTIONS"))


def test_answer_call_sends_notify_talk_in_the_ringing_dialog(server, phone_of, lync):
    phone = phone_of("1001")  # remote_answer = "talk-event"
    alice = lync("1001")
    run = phone.start("phone_answered_by_talk.xml")
    call_id = outside_call_rings(server, alice, "1001")
    options_barrier_passed(run)
    [invite] = [m for m in run.messages() if m.is_request("INVITE")]
    assert invite.body == ""  # an outside party without a trunk has no media to offer

    answered = answer_call(alice, call_id)
    assert isinstance(answered, csta.AnswerCallResponse), answered
    [notify] = run.wait_message("the NOTIFY", lambda m: m.is_request("NOTIFY"))
    [ringing] = [m for m in run.messages() if m.direction == "sent" and m.status == 180]
    # inside the INVITE's early dialog: its Call-ID, our tag as To, the server's as From
    assert notify.header("call-id") == invite.header("call-id")
    assert notify.header("to") == ringing.header("to") and ";tag=" in notify.header("to")
    assert notify.header("from") == invite.header("from")
    assert notify.first_line == f"NOTIFY {phone.contact} SIP/2.0"  # the 180's Contact: the early dialog's target
    assert notify.header("event") == "talk"
    assert notify.header("subscription-state", ).startswith("terminated")
    assert int(notify.header("cseq").split()[0]) > int(invite.header("cseq").split()[0])

    established = alice.wait_event("EstablishedEvent")  # after the phone's 200
    assert established.established_connection.call_id == call_id
    assert established.answering_device == alice.line
    [ack] = run.wait_message("the ACK", lambda m: m.is_request("ACK"))
    assert "m=audio 49172 RTP/AVP 0" in ack.body and "a=inactive" in ack.body
    [row] = calls(server)
    assert {p["device"]: p["state"] for p in row["parties"]}["1001"] == "connected"

    assert server.admin("POST", f"/api/calls/{call_id}/hangup")[0] == 200
    alice.wait_event("ConnectionClearedEvent")
    run.passed()


@pytest.mark.parametrize("extension, allow_events", [("1001", "hold"), ("1002", "talk, hold")],
                         ids=["no-talk-in-180", "remote-answer-none"])
def test_answer_call_is_refused_when_the_phone_cannot_be_answered_remotely(server, phone_of, lync, extension,
                                                                           allow_events):
    phone = phone_of(extension)
    user = lync(extension)
    run = phone.start("phone_rings_unanswered.xml", keys={"allow_events": allow_events})
    call_id = outside_call_rings(server, user, extension)
    options_barrier_passed(run)

    refused = answer_call(user, call_id)
    assert isinstance(refused, csta.ErrorCode), refused
    assert (refused.category, refused.value) == ("operation", "requestIncompatibleWithObject")
    [row] = calls(server)  # nothing changed: still ringing
    assert {p["device"]: p["state"] for p in row["parties"]}[extension] == "alerting"

    assert server.admin("POST", f"/api/calls/{call_id}/hangup")[0] == 200
    user.wait_event("ConnectionClearedEvent")
    run.passed()  # the next request after the 180 was the CANCEL
    assert not [m for m in run.messages() if m.is_request("NOTIFY")]


# ---------------------------------------------------------------------------------------------
# 3. Transfers done on the phone: REFER with Replaces (attended) and without (blind)

B_NUMBER, C_NUMBER = "+13175550101", "+13175550102"


def answer_when_alerting(server, device: str) -> str:
    """The outside party `device` answers once it rings (admin API); the call's id."""

    def ringing():
        for row in calls(server):
            if any(p["device"] == device and p["state"] == "alerting" for p in row["parties"]):
                return row["call_id"]
        return None

    call_id = wait_until(f"{device} ringing", ringing)
    status, body = server.admin("POST", f"/api/calls/{call_id}/answer")
    assert status == 200, body
    return call_id


def test_attended_transfer_from_the_phone_joins_the_held_and_the_consulted_party(server, phone_of, lync):
    phone = phone_of("1001")
    alice = lync("1001")
    keys = {"b": B_NUMBER, "c": C_NUMBER,
            "auth_b": phone.credentials(B_NUMBER, 1), "auth_c": phone.credentials(C_NUMBER, 2)}
    run = phone.start("phone_attended_transfer.xml", dial=True, keys=keys,
                      options=["-m", "2", "-l", "2", "-cid_str", "phone%u-%p"])
    first = answer_when_alerting(server, B_NUMBER)
    alice.wait_event("HeldEvent")  # the phone's re-INVITE (sendonly) held the first call
    second = answer_when_alerting(server, C_NUMBER)

    transfered = alice.wait_event("TransferedEvent")
    assert transfered.primary_old_call.call_id == first and transfered.secondary_old_call.call_id == second
    run.passed()  # 202, NOTIFY sipfrag 200 and BYE on the held call; BYE on the consultation

    [refer] = [m for m in run.messages() if m.is_request("REFER", "sent")]
    [accepted] = [m for m in run.messages() if m.is_response(202, "REFER")]
    notifies = [m for m in run.messages() if m.is_request("NOTIFY")]
    assert [n.header("call-id") for n in notifies] == [refer.header("call-id")] * len(notifies)
    [notify] = notifies  # the transfer is done at once: no "100 Trying" before it
    assert notify.header("content-type").startswith("message/sipfrag")
    assert notify.body.startswith("SIP/2.0 200")
    assert notify.header("event") == "refer;id=3" and notify.header("subscription-state").startswith("terminated")
    byes = [m for m in run.messages() if m.is_request("BYE")]
    assert sorted(b.header("call-id") for b in byes) == sorted({m.header("call-id") for m in run.messages()})

    # B and C are one call now; the phone is in none
    [row] = wait_until("one call left", lambda: [rows for rows in [calls(server)] if len(rows) == 1])[0]
    assert {p["device"]: p["state"] for p in row["parties"]} == {B_NUMBER: "connected", C_NUMBER: "connected"}
    assert station_row(server, "1001")["calls"] == []


def test_a_refer_whose_replaces_names_no_dialog_of_the_phone_is_refused(server, phone_of, lync):
    """RFC 3891 section 3: Replaces matches a dialog by Call-ID, to-tag and from-tag, all three."""
    phone = phone_of("1001")
    alice = lync("1001")
    keys = {"b": B_NUMBER, "c": C_NUMBER,
            "auth_b": phone.credentials(B_NUMBER, 1), "auth_c": phone.credentials(C_NUMBER, 2)}
    run = phone.start("phone_refers_with_a_wrong_replaces.xml", dial=True, keys=keys,
                      options=["-m", "2", "-l", "2", "-cid_str", "phone%u-%p"])
    first = answer_when_alerting(server, B_NUMBER)
    second = answer_when_alerting(server, C_NUMBER)
    [answer] = run.wait_message("the answer to the REFER",
                                lambda m: m.direction == "received" and m.cseq_method == "REFER")
    assert answer.status == 403, f"a REFER naming a dialog the phone does not have was answered {answer.first_line}"
    cleared = alice.wait_event("ConnectionClearedEvent")  # the phone hung up the held call itself
    assert cleared.dropped_connection.call_id == first
    assert [row["call_id"] for row in calls(server)] == [second]  # the consultation is untouched
    assert isinstance(clear_connection(alice, second), csta.ClearConnectionResponse)
    run.passed()
    assert not [m for m in run.messages() if m.is_request("NOTIFY")]


def consultation_call(client: LyncClient, call_id: str, consulted: str):
    return client.csta(f'<ConsultationCall xmlns="{ED3}"><existingCall>{connection(call_id, client.line)}'
                       f'</existingCall><consultedDevice>{consulted}</consultedDevice></ConsultationCall>')


def test_a_consultation_from_lync_calls_the_phone_which_then_transfers_with_replaces(server, phone_of, lync):
    phone = phone_of("1001")  # auto_answer = "call-info"
    alice = lync("1001")
    run = phone.start("phone_consults_then_transfers.xml", keys={"c": C_NUMBER}, options=["-m", "2"])
    made = make_call(alice, f"tel:{B_NUMBER}")
    first = made.calling_device.call_id
    answer_when_alerting(server, B_NUMBER)
    alice.wait_event("EstablishedEvent")

    consulting = consultation_call(alice, first, f"tel:{C_NUMBER}")
    assert isinstance(consulting, csta.ConsultationCallResponse), consulting
    second = consulting.initiated_call.call_id
    # The consultation has the station connected at once: its phone is called for it, as for MakeCall.
    invites = run.wait_message("the consultation's INVITE", lambda m: m.is_request("INVITE"), count=2)
    assert invites[1].header("call-id") != invites[0].header("call-id")
    assert invites[1].all("call-info") == [f"<sip:{DOMAIN}>;answer-after=0"] and invites[1].body == ""
    assert invites[1].header("from").startswith(f'"{C_NUMBER}" <sip:{C_NUMBER}@')

    # The phone joins it, then transfers the held call to it (REFER with Replaces, while C rings).
    transfered = alice.wait_event("TransferedEvent")
    assert transfered.primary_old_call.call_id == first and transfered.secondary_old_call.call_id == second
    run.passed()  # both calls answered and ACKed (parked); 202, NOTIFY sipfrag 200 and both BYEs
    [refer] = [m for m in run.messages() if m.is_request("REFER", "sent")]
    assert refer.header("call-id") == invites[0].header("call-id")
    [notify] = [m for m in run.messages() if m.is_request("NOTIFY")]
    assert notify.header("content-type").startswith("message/sipfrag") and notify.body.startswith("SIP/2.0 200")
    assert sorted(m.header("call-id") for m in run.messages() if m.is_request("BYE")) \
        == sorted(i.header("call-id") for i in invites)

    answer_when_alerting(server, C_NUMBER)
    [row] = calls(server)
    assert {p["device"]: p["state"] for p in row["parties"]} == {B_NUMBER: "connected", C_NUMBER: "connected"}
    assert station_row(server, "1001")["calls"] == []


@pytest.mark.parametrize("refer_sub", ["true", "false"], ids=["subscription", "norefersub"])
def test_blind_transfer_from_the_phone_sends_the_call_on(server, phone_of, lync, refer_sub):
    phone = phone_of("1001")
    alice = lync("1001")
    keys = {"b": B_NUMBER, "c": C_NUMBER, "auth_b": phone.credentials(B_NUMBER, 1), "refer_sub": refer_sub}
    run = phone.start("phone_blind_transfer.xml", dial=True, keys=keys)
    first = answer_when_alerting(server, B_NUMBER)

    transfered = alice.wait_event("TransferedEvent")
    assert transfered.primary_old_call.call_id == first
    assert transfered.transferred_to_device == f"tel:{C_NUMBER}"
    run.passed()  # 202, NOTIFY sipfrag 200 (unless refused with Refer-Sub: false), BYE
    [accepted] = [m for m in run.messages() if m.is_response(202, "REFER")]
    notifies = [m for m in run.messages() if m.is_request("NOTIFY")]
    if refer_sub == "true":
        [notify] = notifies
        assert notify.header("content-type").startswith("message/sipfrag") and notify.body.startswith("SIP/2.0 200")
        assert notify.header("event") == "refer;id=2" and notify.header("subscription-state").startswith("terminated")
    else:
        assert accepted.header("refer-sub") == "false" and notifies == []
    [bye] = [m for m in run.messages() if m.is_request("BYE")]

    # B now calls C, which rings; the phone is out of it
    second = answer_when_alerting(server, C_NUMBER)
    [row] = calls(server)
    assert row["call_id"] == second
    assert {p["device"]: p["state"] for p in row["parties"]} == {B_NUMBER: "connected", C_NUMBER: "connected"}
    assert station_row(server, "1001")["calls"] == []


def transfer_call(client: LyncClient, held: str, active: str):
    return client.csta(f'<TransferCall xmlns="{ED3}"><heldCall>{connection(held, client.line)}</heldCall>'
                       f'<activeCall>{connection(active, client.line)}</activeCall></TransferCall>')


def test_transfer_call_from_lync_ends_both_of_the_phones_calls(server, phone_of, lync):
    phone = phone_of("1002")  # auto_answer = "alert-info"
    bob = lync("1002")
    run = phone.start("phone_answers_offerless.xml", options=["-m", "2"])  # two calls: answer, ACK, BYE
    first = make_call(bob, f"tel:{B_NUMBER}").calling_device.call_id
    answer_when_alerting(server, B_NUMBER)
    bob.wait_event("EstablishedEvent")
    second = consultation_call(bob, first, f"tel:{C_NUMBER}").initiated_call.call_id
    invites = run.wait_message("the consultation's INVITE", lambda m: m.is_request("INVITE"), count=2)
    assert invites[1].all("alert-info") == ["<http://127.0.0.1>;info=alert-autoanswer"]
    answer_when_alerting(server, C_NUMBER)
    run.wait_message("the consultation's ACK", lambda m: m.is_request("ACK"), count=2)

    transferred = transfer_call(bob, first, second)
    assert isinstance(transferred, csta.TransferCallResponse), transferred
    bob.wait_event("TransferedEvent")
    run.passed()  # both of the phone's calls ended with BYE
    [row] = calls(server)
    assert {p["device"]: p["state"] for p in row["parties"]} == {B_NUMBER: "connected", C_NUMBER: "connected"}
    assert station_row(server, "1002")["calls"] == []


# ---------------------------------------------------------------------------------------------
# 4. UDP retransmissions


def test_our_200_is_sent_again_until_the_phone_acks_it_and_not_after(server, phone_of, lync):
    phone = phone_of("1001")
    alice = lync("1001")
    keys = {"b": B_NUMBER, "auth_b": phone.credentials(B_NUMBER, 1)}
    run = phone.start("phone_ack_late.xml", dial=True, keys=keys, options=["-nr"])
    call_id = answer_when_alerting(server, B_NUMBER)
    alice.wait_event("EstablishedEvent")
    run.passed()

    messages = run.messages()
    [ack] = [i for i, m in enumerate(messages) if m.is_request("ACK", "sent")]
    copies = [m for m in messages[:ack] if m.is_response(200, "INVITE")]
    assert len(copies) == 3
    assert copies[1].text == copies[0].text and copies[2].text == copies[0].text  # the same 200, sent again
    assert "a=inactive" in copies[0].body  # the phone's offer answered, parked (the far end is outside)
    late = [m for m in messages[ack:] if m.is_response(200, "INVITE")]
    assert late == [], "the 200 was sent again after the ACK"
    [bye_ok] = [m for m in messages[ack:] if m.is_response(200, "BYE")]
    cleared = alice.wait_event("ConnectionClearedEvent")
    assert cleared.dropped_connection.call_id == call_id
    assert calls(server) == []


def test_our_invite_is_sent_again_until_the_phone_answers(server, phone_of, lync):
    phone = phone_of("1001")
    alice = lync("1001")
    run = phone.start("phone_misses_the_invite.xml", options=["-nr"])
    call_id = make_call(alice, OUTSIDE).calling_device.call_id
    invites = run.wait_message("the INVITE again", lambda m: m.is_request("INVITE"), count=2)
    assert invites[1].text == invites[0].text  # the same request: same branch, same CSeq
    alice.wait_event("DeliveredEvent")  # answered (the copy), the call goes on
    assert isinstance(clear_connection(alice, call_id), csta.ClearConnectionResponse)
    run.passed()
    assert len([m for m in run.messages() if m.is_request("INVITE")]) == 2  # none after the phone's 200


def lync_events_until(client: LyncClient, last: str) -> list[str]:
    """The names of the CSTA events the client got, up to and including the first `last`
    (events come in order over one TCP connection: nothing before it is still on its way)."""
    client.wait_request(lambda r: r.method == "INFO" and f"<{last}" in r.body.decode())
    names = [re.search(rb"<(\w+Event)\b", r.body).group(1).decode() for r in client.server_requests
             if r.method == "INFO" and re.search(rb"<\w+Event\b", r.body)]
    return names + [last]


def test_a_retransmitted_invite_or_bye_is_answered_from_its_transaction_and_acted_on_once(server, phone_of, lync):
    phone = phone_of("1001")
    alice = lync("1001")
    keys = {"b": B_NUMBER, "auth_b": phone.credentials(B_NUMBER, 1)}
    run = phone.start("phone_invite_retransmitted.xml", dial=True, keys=keys, options=["-nr"])
    ringing = run.wait_message("the 180 again", lambda m: m.is_response(180, "INVITE"), count=2)
    assert ringing[1].text == ringing[0].text  # the transaction's latest provisional answer, sent again
    [row] = calls(server)
    assert (row["calling"], row["called"]) == ("1001", B_NUMBER)

    answer_when_alerting(server, B_NUMBER)
    run.passed()
    sent = [m for m in run.messages() if m.is_request("INVITE", "sent")]
    assert len(sent) == 2 and sent[0].text == sent[1].text
    assert [m.status for m in run.messages() if m.direction == "received" and m.cseq_method == "INVITE"] \
        == [100, 180, 180, 200]
    byes = [m for m in run.messages() if m.is_request("BYE", "sent")]
    assert len(byes) == 2 and byes[0].text == byes[1].text
    bye_answers = [m for m in run.messages() if m.direction == "received" and m.cseq_method == "BYE"]
    assert [m.status for m in bye_answers] == [200, 200] and bye_answers[1].text == bye_answers[0].text
    events = lync_events_until(alice, "ConnectionClearedEvent")
    assert events == ["ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent", "EstablishedEvent",
                      "ConnectionClearedEvent"]
    assert calls(server) == []


def metric(server, name: str, **labels) -> float:
    status, text = server.admin("GET", "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_a_retransmitted_register_is_answered_from_its_transaction(server, tmp_path, sipp_runs):
    phone = SippPhone(server, tmp_path / "sipp", sipp_runs, "1002")
    run = phone.start("register_retransmitted.xml", dial=True, options=["-nr"])
    run.passed()
    challenges = [m for m in run.messages() if m.is_response(401, "REGISTER")]
    assert len(challenges) == 2 and challenges[1].text == challenges[0].text  # same nonce: not challenged anew
    assert station_row(server, "1002")["registration"]["contact"] == phone.contact
    assert metric(server, "rcc_station_registers_total") == 2  # the copy never reached the registrar
    assert metric(server, "rcc_station_register_outcomes_total", outcome="challenged") == 1
    assert metric(server, "rcc_station_register_outcomes_total", outcome="ok") == 1

"""The SIP trunk peer (SPEC sections 9 and 10) end to end: the real server with SIP stations
(baresip desk phones, Lync on alice's line) and SIPp as the carrier's SBC on 127.0.0.2.

The peer sits on its own loopback address so that its INVITEs are trunk calls (accept_from
defaults to the peer's address) while the phones' INVITEs from 127.0.0.1 are not.
"""
from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from rccserver import csta
from testkit.serverproc import free_port
from testkit.testbed import write_testbed
from tests.e2e.sipp import failure_report, sipp_binary
from tests.stations_e2e.conftest import desk_phones_cic, free_udp_and_tcp_port, stations_line_text
from tests.stations_e2e.desk import ALICE, WAIT, desk_phone, events_until, make_call, names, set_forwarding, sign_in

SCENARIOS = Path(__file__).parent / "sipp"
PEER_HOST = "127.0.0.2"
ALICE_E164 = "+13175551001"  # station 1001's identification_address: its number outside
DIALPLAN = """
[dialplan]
country_code = "1"
[[dialplan.dial]]
pattern = '^9(\\d{10})$'
translation = '+1$1'
[[dialplan.inbound]]
pattern = '^\\+1317555(1\\d{3})$'
translation = '$1'
"""


def start_trunk_server(directory: Path, options_interval: float = 0, transport: str = "udp"):
    """The desk-phone testbed (stations 1001-1004 SIP) with a dial plan and a [trunk] whose
    peer is `server.peer_port` on 127.0.0.2 (UDP, digest credentials acme/pw-acme)."""
    server = write_testbed(directory)
    port = free_udp_and_tcp_port()
    cic = server.workdir / "cic.toml"
    text = desk_phones_cic(cic.read_text())
    text = text.replace('identification_address = "tel:+1001"', f'identification_address = "tel:{ALICE_E164}"')
    cic.write_text(text)
    server.peer_port = free_port()
    with open(server.config_path, "a") as config:
        config.write(stations_line_text(port) + DIALPLAN +
                     f'\n[trunk]\npeer = "sip:{PEER_HOST}:{server.peer_port};transport={transport}"\nusername = "acme"\n'
                     f'password = "pw-acme"\noptions_interval = {options_interval}\n')
    server.stations_port = port
    return server


@pytest.fixture
def trunk_server(tmp_path):
    """A started trunk server that sends no OPTIONS (the peer's scenario sees calls only)."""
    server = start_trunk_server(tmp_path / "server").start()
    try:
        yield server
    finally:
        server.stop()


class Peer:
    """SIPp as the trunk peer, running one scenario in the background."""

    def __init__(self, workdir: Path, scenario: str, local_port: int, remote: tuple[str, int] | None = None,
                 calls: int = 1, local_host: str = PEER_HOST, transport: str = "u1", **keys: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        command = [sipp_binary()]
        if remote is not None:
            command.append(f"{remote[0]}:{remote[1]}")
        command += ["-sf", str(SCENARIOS / scenario), "-t", transport, "-i", local_host, "-p", str(local_port),
                    "-m", str(calls), "-nostdin", "-timeout", "40s", "-timeout_error", "-trace_err", "-trace_msg",
                    "-mp", str(free_port())]
        for name, value in keys.items():
            command += ["-key", name, value]
        self.process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)

    def result(self, timeout: float = 60) -> subprocess.CompletedProcess:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)

    def assert_passed(self) -> None:
        result = self.result()
        assert result.returncode == 0, failure_report(result, self.workdir)

    def received(self, method: str) -> list["Traced"]:
        """The requests `method` the peer received, in order, from SIPp's message trace."""
        found = []
        for log in self.workdir.glob("*_messages.log"):
            for block in re.split(r"\n-{20,}[^\n]*\n", log.read_text(errors="replace")):
                head, _, text = block.partition("bytes :\n\n")
                lines = text.strip("\n").splitlines()
                if "message received" not in head or not lines or not lines[0].startswith(f"{method} "):
                    continue
                headers = {}
                for line in lines[1:]:
                    if not line.strip():
                        break
                    name, _, value = line.partition(":")
                    headers.setdefault(name.strip().lower(), value.strip())
                found.append(Traced(lines[0].split()[1], headers))
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


class Traced:
    """A request in SIPp's trace: its Request-URI and its first value of each header."""

    def __init__(self, uri: str, headers: dict[str, str]) -> None:
        self.uri = uri
        self._headers = headers

    def header(self, name: str) -> str:
        return self._headers.get(name.lower(), "")


@pytest.fixture
def peer(tmp_path):
    started = []

    def make(scenario: str, **kwargs) -> Peer:
        p = Peer(tmp_path / f"sipp-{len(started)}", scenario, **kwargs)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


@pytest.fixture
def phones(tmp_path):
    from testkit.baresip import baresip_phones

    with baresip_phones(tmp_path / "phones") as factory:
        yield factory


def test_click_to_dial_an_outside_number_reaches_the_peer_with_the_stations_e164_number(trunk_server, peer, phones):
    server = trunk_server
    carrier = peer("trunk_answers.xml", local_port=server.peer_port, called="13175550188", calling=ALICE_E164[1:])
    a = desk_phone(phones, server, "1001", "udp")
    alice = sign_in(server, "sip:alice@example.com", ALICE)
    try:
        response = make_call(alice, "9 (317) 555-0188")
        assert isinstance(response, csta.MakeCallResponse), response
        a.wait_event("CALL_INCOMING", timeout=WAIT)
        a.accept()
        events = events_until(alice, "EstablishedEvent")
        assert names(events) == ["ServiceInitiated", "Originated", "Delivered", "Established"]
        assert events[-1].answering_device == "tel:+13175550188"
        a.hangup()
        carrier.assert_passed()  # challenged, answered with credentials, BYE received
        first, second = carrier.received("INVITE")
        for invite in (first, second):
            assert invite.uri.startswith("sip:+13175550188@127.0.0.2:"), invite.uri
            assert invite.header("From").startswith(f"<sip:{ALICE_E164}@")
            assert invite.header("P-Asserted-Identity").startswith(f"<sip:{ALICE_E164}@")
        assert second.header("Proxy-Authorization").startswith('Digest username="acme"')
        assert "ConnectionCleared" in names(events_until(alice, "ConnectionClearedEvent"))
    finally:
        alice.close()


def test_a_peer_that_answers_503_gives_failed_in_lync(trunk_server, peer, phones):
    server = trunk_server
    carrier = peer("trunk_refuses.xml", local_port=server.peer_port, called="13175550188")
    a = desk_phone(phones, server, "1001", "udp")
    alice = sign_in(server, "sip:alice@example.com", ALICE)
    try:
        response = make_call(alice, "9 (317) 555-0188")
        assert isinstance(response, csta.MakeCallResponse), response
        a.wait_event("CALL_INCOMING", timeout=WAIT)
        a.accept()
        events = events_until(alice, "ConnectionClearedEvent")
        assert "Failed" in names(events), names(events)
        a.wait_event("CALL_CLOSED", timeout=WAIT)  # the phone is hung up: its call failed
        carrier.assert_passed()
        log = server.log_text
        assert "leg-failed" in log and "503" in log
    finally:
        alice.close()


def test_an_inbound_call_for_a_did_rings_the_phone_and_lync_sees_the_e164_caller(trunk_server, peer, phones):
    server = trunk_server
    a = desk_phone(phones, server, "1001", "udp")
    alice = sign_in(server, "sip:alice@example.com", ALICE)
    try:
        carrier = peer("trunk_calls_answered.xml", local_port=server.peer_port,
                       remote=("127.0.0.1", server.stations_port), did="+13175551001", caller="+13175550199",
                       )
        incoming = a.wait_event("CALL_INCOMING", timeout=WAIT)
        assert "13175550199" in incoming["peeruri"], incoming
        delivered = events_until(alice, "DeliveredEvent")[-1]
        assert delivered.calling_device == "tel:+13175550199", delivered
        a.accept()
        events_until(alice, "EstablishedEvent")
        carrier.assert_passed()  # answered, then the carrier hung up
        a.wait_event("CALL_CLOSED", timeout=WAIT)
    finally:
        alice.close()


def test_an_inbound_call_for_a_number_that_is_no_station_gets_404(trunk_server, peer):
    server = trunk_server
    carrier = peer("trunk_calls_refused.xml", local_port=server.peer_port,
                   remote=("127.0.0.1", server.stations_port), did="+13175559999", caller="+13175550199")
    carrier.assert_passed()
    assert "trunk-no-station" in server.log_text


def test_a_did_call_forwarded_to_a_mobile_leaves_through_the_trunk(trunk_server, peer, phones):
    server = trunk_server
    alice = sign_in(server, "sip:alice@example.com", ALICE)
    try:
        assert isinstance(set_forwarding(alice, "9 317 555 0177"), csta.SetForwardingResponse)
        # The carrier's SBC: it is called for the mobile (from the original caller) and calls the DID.
        mobile = peer("trunk_answers.xml", local_port=server.peer_port, called="13175550177",
                      calling="13175550199")
        caller = peer("trunk_calls_answered.xml", local_port=free_port(),
                      remote=("127.0.0.1", server.stations_port), did="+13175551001", caller="+13175550199",
                      )
        caller.assert_passed()
        mobile.assert_passed()
        [invite, _] = mobile.received("INVITE")
        assert invite.uri.startswith("sip:+13175550177@"), invite.uri
        assert invite.header("From").startswith("<sip:+13175550199@")  # the original caller
        assert invite.header("Diversion").startswith(f"<sip:{ALICE_E164}@")  # whose forwarding sent it
    finally:
        alice.close()


def wait_for_trunk(server, state: str) -> dict:
    """GET /api/health until the trunk is `state` (bounded); returns the health."""
    deadline = time.monotonic() + WAIT
    while True:
        status, health = server.admin("GET", "/api/health")
        assert status == 200
        if health.get("trunk", {}).get("state") == state or time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def test_options_pings_show_the_trunk_up_in_health_metrics_and_the_status_page(tmp_path, peer):
    server = start_trunk_server(tmp_path / "server", options_interval=1)
    peer("trunk_options_up.xml", local_port=server.peer_port, calls=1000)
    server.start()
    try:
        health = wait_for_trunk(server, "up")
        assert health["status"] == "ok"
        assert health["trunk"]["state"] == "up" and health["trunk"]["last_status"] == 200
        assert health["trunk"]["peer"] == f"sip:{PEER_HOST}:{server.peer_port};transport=udp"
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/metrics", timeout=WAIT).read()
        assert b"rcc_trunk_up 1.0" in metrics
        page = urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/", timeout=WAIT).read().decode()
        assert "Trunk (1)" in page and f"sip:{PEER_HOST}:{server.peer_port}" in page
    finally:
        server.stop()


def test_a_trunk_that_is_down_fails_a_make_call_to_an_outside_number_and_says_why(tmp_path, peer, phones):
    server = start_trunk_server(tmp_path / "server", options_interval=1)
    peer("trunk_options_down.xml", local_port=server.peer_port, calls=1000)
    server.start()
    try:
        health = wait_for_trunk(server, "down")
        assert health["status"] == "degraded" and health["trunk"]["last_status"] == 503
        a = desk_phone(phones, server, "1001", "udp")
        alice = sign_in(server, "sip:alice@example.com", ALICE)
        try:
            assert isinstance(make_call(alice, "9 (317) 555-0188"), csta.MakeCallResponse)
            a.wait_event("CALL_INCOMING", timeout=WAIT)
            a.accept()
            events = events_until(alice, "ConnectionClearedEvent")
            assert "Failed" in names(events), names(events)
            [failed] = [e for e in events if type(e).__name__ == "FailedEvent"]
            assert failed.cause is not None
            assert "trunk-down" in server.log_text and "Maintenance" in server.log_text
        finally:
            alice.close()
    finally:
        server.stop()


def test_a_phone_dialling_an_outside_number_reaches_the_peer_and_talks(trunk_server, peer, phones):
    server = trunk_server
    carrier = peer("trunk_answers.xml", local_port=server.peer_port)
    a = desk_phone(phones, server, "1001", "udp")
    a.dial("93175550188")
    a.wait_event("CALL_ESTABLISHED", timeout=WAIT)
    a.hangup()
    carrier.assert_passed()
    invite = carrier.received("INVITE")[-1]
    assert invite.uri.startswith("sip:+13175550188@") and invite.header("From").startswith(f"<sip:{ALICE_E164}@")


def test_a_peer_that_never_answers_gives_failed_in_lync(trunk_server, peer, phones):
    server = trunk_server
    peer("trunk_silent.xml", local_port=server.peer_port)
    a = desk_phone(phones, server, "1001", "udp")
    alice = sign_in(server, "sip:alice@example.com", ALICE)
    try:
        assert isinstance(make_call(alice, "9 (317) 555-0188"), csta.MakeCallResponse)
        a.wait_event("CALL_INCOMING", timeout=WAIT)
        a.accept()
        # Timer B (64*T1) ends our INVITE: a bound on waiting, not a timing assertion.
        events = events_until(alice, "ConnectionClearedEvent", timeout=60)
        assert "Failed" in names(events), names(events)
        assert "leg-failed" in server.log_text and "408" in server.log_text
    finally:
        alice.close()


def test_an_invite_for_an_outside_number_from_outside_accept_from_is_challenged_and_goes_nowhere(trunk_server, peer):
    server = trunk_server
    stranger = peer("trunk_stranger.xml", local_port=free_port(), local_host="127.0.0.1",
                    remote=("127.0.0.1", server.stations_port), did="+13175550188", caller="+13175550199")
    stranger.assert_passed()  # 407, and nothing else
    status, calls = server.admin("GET", "/api/calls")
    assert status == 200 and calls == []
    assert "station-call" not in server.log_text  # no leg was started for it, nothing failed


def test_click_to_dial_over_a_tcp_trunk(tmp_path, peer, phones):
    server = start_trunk_server(tmp_path / "server", transport="tcp")
    carrier = peer("trunk_answers.xml", local_port=server.peer_port, transport="t1")
    server.start()
    try:
        a = desk_phone(phones, server, "1001", "udp")
        alice = sign_in(server, "sip:alice@example.com", ALICE)
        try:
            assert isinstance(make_call(alice, "9 (317) 555-0188"), csta.MakeCallResponse)
            a.wait_event("CALL_INCOMING", timeout=WAIT)
            a.accept()
            assert names(events_until(alice, "EstablishedEvent"))[-1] == "Established"
            a.hangup()
            carrier.assert_passed()
            first = carrier.received("INVITE")[0]
            assert first.uri.startswith("sip:+13175550188@127.0.0.2:") and first.uri.endswith(";transport=tcp")
            assert first.header("Via").startswith("SIP/2.0/TCP ")
        finally:
            alice.close()
    finally:
        server.stop()

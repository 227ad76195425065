"""The README's second walkthrough, "SIP desk phones, click-to-dial from Lync", as the
README tells it: the demo server (its own data files: directory, CIC data with the SIP
stations 1101 and 1102 and their `ha1`, dial plan; only the ports are free ones and the
keep-alives come every second), two baresip phones registered as 1101 / demo-1101 and
1102 / demo-1102, SIPp signing judy in with docs/demo/judy.xml and clicking to dial
kyle. The people at the phones act through the driver: phone 1101 rings first and is
picked up, then 1102 rings and is picked up, they talk, 1101 hangs up; SIPp must have
seen the call's events and exit 0.

What each phone hears: 1102's recording of what it hears must be 1101's tone. 1101's
recording cannot be used: MakeCall parks the calling phone (`a=inactive` in the ACK)
until the destination answers, and baresip 1.0 drops its recording filter for good at
an answer that is not `sendrecv` (docs/sip-stations.md, "Quirks"; its loudspeaker goes
on playing). So 1101's ear is proven by its RTP: it sends to 1102's RTP port, receives
from it, and packets flow both ways, while 1102's microphone sends 1102's tone.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from rccserver import csta
from testkit.baresip import baresip_phones
from testkit.serverproc import REPO, ServerProcess, free_port
from tests.e2e.sipp import sipp_binary
from tests.stations_e2e.conftest import free_udp_and_tcp_port

DEMO = REPO / "rccserver" / "data"
WAIT = 15.0  # upper bound for anything we wait for; nothing asserts on elapsed time
KEEPALIVE = 1.0  # session_timeout below: the server sends judy a keep-alive every second
TONES = {"1101": 440, "1102": 1000}  # as in the README's baresip config files
HZ = 25
JUDY, KYLE = "tel:+1101", "tel:+1102"


def demo_server(directory: Path) -> ServerProcess:
    """The bundled demo (rccserver/data) on free loopback ports, keep-alives every second."""
    directory.mkdir(parents=True)
    for name in ("cic.toml", "directory.ldif"):
        shutil.copy(DEMO / name, directory / name)
    sip_port, admin_port, stations_port = free_port(), free_port(), free_udp_and_tcp_port()
    text = (DEMO / "demo.toml").read_text()
    for old, new in (('address = "0.0.0.0"', 'address = "127.0.0.1"'),
                     ("receive_port = 11001", f"receive_port = {sip_port}"),
                     ("session_timeout = 60", f"session_timeout = {KEEPALIVE:.0f}"),
                     ('listen = "127.0.0.1:8011"', f'listen = "127.0.0.1:{admin_port}"'),
                     ("port = 5060", f"port = {stations_port}")):
        assert text.count(old) == 1, f"demo.toml no longer has {old!r} once"
        text = text.replace(old, new)
    (directory / "rccserver.toml").write_text(text)
    server = ServerProcess(directory / "rccserver.toml", sip_port, admin_port)
    server.stations_port = stations_port
    return server


def wait_until(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def call_states(server) -> list[dict[str, str]]:
    """Each call of the switch as {device: state} (GET /api/calls)."""
    status, calls = server.admin("GET", "/api/calls")
    assert status == 200
    return [{party["device"]: party["state"] for party in call["parties"]} for call in calls]


def rtp_ports(phone) -> tuple[int, int]:
    """(the RTP port the phone listens on, the RTP port it sends to), from audio_debug."""
    media = phone.media()
    assert media is not None, f"{phone.user} has no call"
    found = re.search(r"local: [\d.]+:(\d+), remote: [\d.]+:(\d+)", media.debug)
    assert found, media.debug
    return int(found.group(1)), int(found.group(2))


def assert_talking(first, second) -> None:
    """Each phone sends its RTP to the other's RTP port, and packets flow both ways: each
    phone got the other's session description (no RTP passes through rccserver)."""
    def paired():
        (first_local, first_remote), (second_local, second_remote) = rtp_ports(first), rtp_ports(second)
        return first_remote == second_local and second_remote == first_local

    wait_until(paired, f"{first.user} and {second.user} sending to each other's RTP port")
    first.wait_media_flowing(timeout=WAIT)
    second.wait_media_flowing(timeout=WAIT)


def received_events(messages: str) -> list:
    """The CSTA events in SIPp's message log, decoded, in the order SIPp received them."""
    bodies = re.findall(r"(<\?xml[^>]*\?>\s*<(\w+Event) xmlns=.*?</\2>)", messages, re.S)
    return [csta.decode(body.encode()) for body, _ in bodies]


def test_demo_click_to_dial_from_lync_rings_both_desk_phones_and_they_talk(tmp_path):
    server = demo_server(tmp_path / "demo").start()
    sipp = None
    try:
        with baresip_phones(tmp_path / "phones") as phone:
            registrar = ("127.0.0.1", server.stations_port)
            desk_1101 = phone(user="1101", password="demo-1101", registrar=registrar, tone_hz=TONES["1101"])
            desk_1102 = phone(user="1102", password="demo-1102", registrar=registrar, tone_hz=TONES["1102"])
            desk_1101.wait_registered(timeout=WAIT)
            desk_1102.wait_registered(timeout=WAIT)
            stations = {s["extension"]: s for s in server.admin("GET", "/api/stations")[1]}
            for extension in ("1101", "1102"):
                registration = stations[extension]["registration"]
                assert registration and registration["user_agent"].startswith("baresip"), stations[extension]

            sipp = subprocess.Popen(
                [sipp_binary(), f"127.0.0.1:{server.sip_port}", "-sf", str(REPO / "docs" / "demo" / "judy.xml"),
                 "-t", "t1", "-i", "127.0.0.1", "-p", str(free_port()), "-m", "1", "-nostdin",
                 "-timeout", "120s", "-timeout_error", "-trace_err", "-trace_msg"],
                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )

            # Judy's own phone rings first, showing whom the call is for; kyle's is quiet.
            ringing = desk_1101.wait_event("CALL_INCOMING", timeout=WAIT)
            assert ringing["peeruri"].startswith("sip:1102@"), ringing
            assert call_states(server) == [{"1101": "initiated"}]
            assert desk_1102.active_calls() == 0

            # She picks it up: now kyle's phone rings, showing judy's number.
            desk_1101.accept()
            desk_1101.wait_event("CALL_ESTABLISHED", timeout=WAIT)
            ringing = desk_1102.wait_event("CALL_INCOMING", timeout=WAIT)
            assert ringing["peeruri"].startswith("sip:1101@"), ringing
            wait_until(lambda: call_states(server) == [{"1101": "connected", "1102": "alerting"}],
                       "1102 alerting in the switch")

            # He picks up: they talk.
            desk_1102.accept()
            desk_1102.wait_event("CALL_ESTABLISHED", timeout=WAIT)
            wait_until(lambda: call_states(server) == [{"1101": "connected", "1102": "connected"}],
                       "both connected in the switch")
            assert_talking(desk_1101, desk_1102)  # each sends to the other's RTP port, RTP flows both ways
            heard = desk_1102.heard_frequency(timeout=WAIT)
            assert abs(heard - TONES["1101"]) < HZ, f"1102 hears {heard:.0f} Hz, not 1101's {TONES['1101']} Hz"
            sent = desk_1102.sent_frequency(timeout=WAIT)
            assert abs(sent - TONES["1102"]) < HZ, f"1102 sends {sent:.0f} Hz"
            assert desk_1101.media().direction == desk_1102.media().direction == "sendrecv"

            # They talk for longer than a keep-alive interval, so judy's Lync session gets
            # one during the call (on a fast machine the call above can take under a second).
            time.sleep(1.5 * KEEPALIVE)

            # Judy hangs up.
            desk_1101.hangup()
            closed = desk_1102.wait_event("CALL_CLOSED", timeout=WAIT)
            assert closed["param"] == "Connection reset by peer", closed
            out, err = sipp.communicate(timeout=60)
            messages = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("judy_*_messages.log"))
            assert sipp.returncode == 0, f"{out[-2000:]}\n{err[-2000:]}\n{messages[-6000:]}"
            wait_until(lambda: call_states(server) == [], "no call left")
            assert desk_1101.active_calls() == desk_1102.active_calls() == 0

        # What Lync got: the call's events in order, all about the MakeCall's call.
        events = received_events(messages)
        assert [type(e).__name__ for e in events] == [
            "ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent", "EstablishedEvent",
            "ConnectionClearedEvent"], messages[-6000:]
        initiated, originated, delivered, established, cleared = events
        call_id = initiated.initiated_connection.call_id
        assert initiated.initiated_connection.device_id == JUDY
        assert originated.originated_connection == csta.ConnectionID(call_id=call_id, device_id=JUDY)
        assert originated.called_device == KYLE
        assert delivered.connection.call_id == call_id and delivered.alerting_device == KYLE
        assert established.established_connection.call_id == call_id and established.answering_device == KYLE
        assert cleared.dropped_connection == csta.ConnectionID(call_id=call_id, device_id=JUDY)
        assert re.search(r"<MakeCallResponse .*<callID>" + re.escape(call_id) + "</callID>", messages)
        assert "<SystemStatus xmlns" in messages  # keep-alives came meanwhile, and were answered
        wait_until(lambda: server.admin("GET", "/api/sessions")[1] == [], "judy signed out")
    finally:
        if sipp is not None and sipp.poll() is None:
            sipp.kill()
            sipp.communicate()
        assert server.stop() == 0

"""SIP stations register with the real server (SPEC section 9), over real sockets, with real
phones: baresip over UDP and TCP, and SIPp for exact REGISTER and Expires: 0 requests.

What a registration must show: `/api/stations` gives the station's phone (contact,
transport, expires_in, user_agent), `/metrics` counts it, the RCCServer log has a line
for it; a wrong password registers nothing, is logged with user and address, and moves
the authentication-failure counter; `Expires: 0` removes the binding.
"""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from testkit.baresip import RegistrationFailed
from tests.e2e.sipp import sipp_binary
from tests.stations_e2e.conftest import PHONES, free_udp_and_tcp_port

WAIT = 15.0  # upper bound for what we poll for; nothing asserts on elapsed time
SCENARIOS = Path(__file__).parent / "sipp"


def wait_for(what: str, check, timeout: float = WAIT):
    """Poll `check()` until it returns something truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def station(server, extension: str) -> dict:
    status, rows = server.admin("GET", "/api/stations")
    assert status == 200
    [row] = [row for row in rows if row["extension"] == extension]
    return row


def metric(server, name: str, **labels) -> float:
    status, text = server.admin("GET", "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def log_lines(server, kind: str) -> list[str]:
    return [line for line in server.log_text.splitlines() if f" {kind} " in line]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_phone_registers_with_the_right_password(stations_server, phones, transport):
    server = stations_server
    phone = phones(user="1101", password=PHONES["1101"], registrar=("127.0.0.1", server.stations_port),
                   transport=transport, regint=600)
    phone.wait_registered(timeout=WAIT)

    row = station(server, "1101")
    assert row["type"] == "sip"
    registration = row["registration"]
    assert registration["transport"] == transport
    # baresip's Contact user is the account, '-' and a pointer: sip:1101-0x5607d40c8db0@127.0.0.1:PORT
    assert re.match(rf"sip:1101-0x[0-9a-f]+@127\.0\.0\.1:{phone.sip_port}\b", registration["contact"]), registration
    assert 0 < registration["expires_in"] <= 600
    assert "baresip" in registration["user_agent"].lower()
    # the other SIP station has no phone; a simulated station has no registration at all
    assert station(server, "1102")["registration"] is None
    simulated = station(server, "1001")
    assert simulated["type"] == "simulated" and "registration" not in simulated

    assert metric(server, "rcc_station_bindings") == 1
    assert metric(server, "rcc_station_register_outcomes_total", outcome="ok") >= 1
    assert metric(server, "rcc_station_binding_changes_total", change="added") == 1
    assert metric(server, "rcc_station_auth_failures_total", method="REGISTER") == 0

    [line] = wait_for("the registration's log line", lambda: log_lines(server, "station-registered"))
    assert " INFO  station-registered station=1101 sip_user=1101 " in line
    assert f"transport={transport} peer=127.0.0.1:" in line

    status, page = server.admin("GET", "/")
    assert status == 200 and f"({transport}), expires in " in page


def test_a_wrong_password_registers_nothing_and_is_logged(stations_server, phones):
    server = stations_server
    phone = phones(user="1101", password="not-the-password", registrar=("127.0.0.1", server.stations_port),
                   transport="udp", regint=600)
    with pytest.raises(RegistrationFailed):
        phone.wait_registered(timeout=WAIT)

    assert station(server, "1101")["registration"] is None
    assert metric(server, "rcc_station_bindings") == 0
    failures = wait_for("the refusal's log line", lambda: log_lines(server, "station-auth-failed"))
    assert " WARN  station-auth-failed method=REGISTER user=1101 aor_user=1101 " \
           f"peer=127.0.0.1:{phone.sip_port} " in failures[0]
    assert "not-the-password" not in server.log_text
    assert log_lines(server, "station-registered") == []
    # baresip 1.0 answers each 401 again (up to 16 REGISTERs): the host's cool-down starts,
    # is logged once, and every failure up to it was logged and counted.
    [blocked] = wait_for("the cool-down's log line", lambda: log_lines(server, "station-source-blocked"))
    failures_until_blocked = int(re.search(r"failures=(\d+)", blocked).group(1))
    assert "host=127.0.0.1" in blocked
    assert len(log_lines(server, "station-auth-failed")) == failures_until_blocked
    assert metric(server, "rcc_station_auth_failures_total", method="REGISTER") == failures_until_blocked


def test_an_unknown_user_is_refused_like_a_wrong_password(stations_server, phones):
    server = stations_server
    phone = phones(user="1999", password="whatever", registrar=("127.0.0.1", server.stations_port),
                   transport="tcp", regint=600)
    with pytest.raises(RegistrationFailed):
        phone.wait_registered(timeout=WAIT)
    failures = wait_for("the refusal's log line", lambda: log_lines(server, "station-auth-failed"))
    assert "user=1999 aor_user=1999" in failures[0]
    assert metric(server, "rcc_station_bindings") == 0


def test_a_phone_that_shuts_down_unregisters(stations_server, phones):
    server = stations_server
    phone = phones(user="1102", password=PHONES["1102"], registrar=("127.0.0.1", server.stations_port),
                   transport="tcp", regint=600)
    phone.wait_registered(timeout=WAIT)
    assert station(server, "1102")["registration"]["transport"] == "tcp"
    phone.stop()  # baresip sends REGISTER with Expires: 0 and waits for its answer before exiting
    assert station(server, "1102")["registration"] is None
    assert metric(server, "rcc_station_bindings") == 0
    [line] = log_lines(server, "station-unregistered")
    assert "station=1102" in line and "reason=unregistered" in line


def sipp_register(server, workdir: Path, transport: str, local_port: int, expires: int) -> None:
    """SIPp as phone 1102: REGISTER, 401, REGISTER with credentials, 200 (SPEC section 9)."""
    command = [sipp_binary(), f"127.0.0.1:{server.stations_port}", "-sf", str(SCENARIOS / "register.xml"),
               "-t", "u1" if transport == "udp" else "t1", "-i", "127.0.0.1", "-p", str(local_port), "-m", "1",
               "-s", "1102", "-au", "1102", "-ap", PHONES["1102"], "-key", "expires", str(expires),
               "-nostdin", "-timeout", "20s", "-timeout_error", "-trace_err"]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=40)
    errors = "".join(path.read_text(errors="replace") for path in workdir.glob("*_errors.log"))
    assert done.returncode == 0, f"sipp exit {done.returncode}\n{done.stdout[-2000:]}\n{errors[-3000:]}"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_expires_zero_removes_the_registration(stations_server, tmp_path, transport):
    server = stations_server
    port = free_udp_and_tcp_port()  # the same contact both times: Expires: 0 names the binding to remove
    sipp_register(server, tmp_path, transport, port, expires=300)
    registration = station(server, "1102")["registration"]
    assert registration == {"contact": f"sip:1102@127.0.0.1:{port};transport={transport.upper()}",
                            "transport": transport, "expires_in": registration["expires_in"],
                            "user_agent": "SIPp-phone"}
    assert 0 < registration["expires_in"] <= 300
    assert metric(server, "rcc_station_bindings") == 1

    sipp_register(server, tmp_path, transport, port, expires=0)
    assert station(server, "1102")["registration"] is None
    assert metric(server, "rcc_station_bindings") == 0
    assert metric(server, "rcc_station_binding_changes_total", change="removed") == 1
    [line] = log_lines(server, "station-unregistered")
    assert "station=1102" in line and "reason=unregistered" in line

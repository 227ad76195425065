"""SIP registrations survive a restart (SPEC section 11), with the real server and SIPp as the
phone: after a stop, or a SIGKILL once the binding is in the state file, the station is
registered again at start until the binding's own expiry, without the phone registering;
a removed binding stays removed."""
from __future__ import annotations

import signal
import sqlite3

import pytest

from testkit.testbed import write_testbed
from tests.stations_e2e.conftest import free_udp_and_tcp_port, sip_stations_text, stations_line_text
from tests.stations_e2e.test_stations_registration import metric, sipp_register, station, wait_for


def saved_contacts(server) -> list[str]:
    with sqlite3.connect(server.workdir / "rccserver.db") as connection:
        rows = connection.execute("SELECT contact FROM registrations WHERE sip_user = '1102'").fetchall()
    connection.close()
    return [row[0] for row in rows]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stop", "kill"])
def test_a_registration_is_bound_again_at_start(stations_server, tmp_path, stop):
    server = stations_server
    port = free_udp_and_tcp_port()
    sipp_register(server, tmp_path, "udp", port, expires=300)
    before = station(server, "1102")["registration"]
    contact = f"sip:1102@127.0.0.1:{port};transport=UDP"
    assert before["contact"] == contact
    # The 200 does not wait for the write (docs/admin-guide.md): wait for it before a kill.
    wait_for("the binding in the state file", lambda: saved_contacts(server) == [contact])
    server.stop(stop)

    server.start()
    after = station(server, "1102")["registration"]
    assert after["contact"] == contact and after["transport"] == "udp" and after["user_agent"] == "SIPp-phone"
    assert 0 < after["expires_in"] <= 300  # until its own expiry (tests/state: to the second)
    assert metric(server, "rcc_station_bindings") == 1
    assert "registrations=1 " in server.log_text


def test_a_removed_registration_stays_removed(stations_server, tmp_path):
    server = stations_server
    port = free_udp_and_tcp_port()
    sipp_register(server, tmp_path, "udp", port, expires=300)
    sipp_register(server, tmp_path, "udp", port, expires=0)
    assert server.stop(signal.SIGTERM) == 0
    assert saved_contacts(server) == []
    server.start()
    assert station(server, "1102")["registration"] is None


def test_a_restored_registration_still_lapses_at_its_own_expiry(tmp_path):
    """The restored binding's expiry is armed in the new process: without a refresh it goes."""
    server = write_testbed(tmp_path / "server")
    server.stations_port = free_udp_and_tcp_port()
    with open(server.workdir / "cic.toml", "a") as cic:
        cic.write(sip_stations_text())
    with open(server.config_path, "a") as config:
        config.write(stations_line_text(server.stations_port, min_expires=5))
    server.start()
    try:
        sipp_register(server, tmp_path, "udp", free_udp_and_tcp_port(), expires=15)
        wait_for("the binding in the state file", lambda: len(saved_contacts(server)) == 1)
        server.stop(signal.SIGKILL)
        server.start()
        assert station(server, "1102")["registration"] is not None
        wait_for("the restored binding to lapse", lambda: station(server, "1102")["registration"] is None, 30)
        assert "station-expired" in server.log_text and "station=1102" in server.log_text
    finally:
        server.stop()

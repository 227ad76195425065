"""The real server process with a stations line, and real phones (baresip) that register with it.

The deployment is the e2e testbed (testkit/testbed.py) plus two SIP stations in its
CIC data and a [stations_line] on 127.0.0.1, UDP and TCP on one free port.
"""
from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Callable

import pytest

from testkit.baresip import baresip_phones
from testkit.serverproc import free_udp_and_tcp_port
from testkit.testbed import write_testbed

REALM = "rcc.example.com"
# extension = sip_user, password
PHONES = {"1101": "pw-1101", "1102": "pw-1102"}


def ha1(user: str, password: str) -> str:
    return hashlib.md5(f"{user}:{REALM}:{password}".encode()).hexdigest()


def sip_stations_text() -> str:
    # ha1, not password: a station with a password is offered SHA-256 first, and baresip 1.0
    # gives up on any SHA-256 challenge (docs/sip-stations.md, "Quirks"); an ha1 is MD5 only.
    return "".join(
        f'\n[[stations]]\nname = "Phone{extension}"\nextension = "{extension}"\n'
        f'identification_address = "tel:+{extension}"\ntype = "sip"\nha1 = "{ha1(extension, password)}"\n'
        for extension, password in PHONES.items())


def stations_line_text(port: int, *, min_expires: int = 60) -> str:
    return (f'\n[stations_line]\naddress = "127.0.0.1"\nport = {port}\ntransports = ["udp", "tcp"]\n'
            f'realm = "{REALM}"\nmin_expires = {min_expires}\n')


@contextlib.contextmanager
def started_stations_testbed(directory: Path, cic: Callable[[str], str], config_extra: str = ""):
    """The e2e testbed with its CIC data rewritten by `cic`, a stations line on
    `server.stations_port` (UDP and TCP) and `config_extra`; started, and stopped at the end."""
    server = write_testbed(directory)
    port = free_udp_and_tcp_port()
    data = server.workdir / "cic.toml"
    data.write_text(cic(data.read_text()))
    with open(server.config_path, "a") as config:
        config.write(stations_line_text(port) + config_extra)
    server.stations_port = port
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stations_server(tmp_path):
    """A started server whose stations line listens on `server.stations_port` (UDP and TCP)."""
    with started_stations_testbed(tmp_path / "server", lambda text: text + sip_stations_text()) as server:
        yield server


@pytest.fixture
def phones(tmp_path):
    """phones(user=..., password=..., registrar=(host, port), transport=...) -> a started baresip phone."""
    with baresip_phones(tmp_path / "phones") as factory:
        yield factory


# The testbed's Lync users whose desk phones are SIP stations here (testkit/testbed.py):
# alice (tel:+1001) and bob (tel:+1002) sign in; 1003 (carol's, no client licence) is a
# third phone to deflect and forward to; 1004 is a SIP station whose phone never registers.
DESK_PHONES = {"1001": "pw-1001", "1002": "pw-1002", "1003": "pw-1003", "1004": "pw-1004"}


def desk_phones_cic(text: str) -> str:
    """The testbed's CIC data with stations 1001-1004 turned into SIP stations (MD5 `ha1`
    for baresip 1.0; `remote_answer` stays "none", `auto_answer` "call-info")."""
    for extension, password in DESK_PHONES.items():
        line = f'identification_address = "tel:+{extension}"\n'
        assert text.count(line) == 1, f"the testbed's CIC data no longer has station {extension} as expected"
        text = text.replace(line, line + f'type = "sip"\nha1 = "{ha1(extension, password)}"\n')
    return text


@pytest.fixture
def desk_phones_server(tmp_path):
    """A started testbed whose stations 1001-1004 are SIP stations, with a stations line on
    `server.stations_port` (UDP and TCP)."""
    with started_stations_testbed(tmp_path / "server", desk_phones_cic) as server:
        yield server


@pytest.fixture
def lync(desk_phones_server):
    """lync(user, line) -> a LyncClient signed in on the line with a monitor started
    (tests/stations_e2e/desk.py); signed out and closed at the end."""
    from tests.stations_e2e.desk import sign_in

    clients = []

    def make(user: str, line: str):
        client = sign_in(desk_phones_server, user, line)
        clients.append(client)
        return client

    yield make
    for client in clients:
        try:
            client.sign_out()
        except (OSError, TimeoutError, ConnectionError):
            pass  # the server may already be gone; closing is what matters
        client.close()

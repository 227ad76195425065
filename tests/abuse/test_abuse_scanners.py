"""SIP scanners (Debian `sipvicious`: svmap, svwar) against the server on loopback.

SIPVicious OSS speaks UDP only (it refuses tcp:// targets) and our RCC line is
TCP/TLS only, so the scanners reach the server through UdpToTcpRelay, which
opens the TCP connections from a chosen loopback address. The server runs with
`access = "denied"`; 127.0.0.2 (the reference session) and 127.0.0.3 (an
allowed scanner) are exceptions, 127.0.0.1 is denied.

* A denied peer gets nothing at all (connection closed at once, zero bytes),
  whatever it sends: no response difference can reveal which users exist.
* An allowed peer is told what a trusted front end is told: svmap finds an
  "rccserver" device; svwar finds nothing (REGISTER is 501, an INVITE without a
  CSTA body is 415 for every user); a real RequestSystemStatus INVITE answers
  200 for an existing user and 404 Cs_UserNotInDirectory otherwise (by design).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest

from tests.abuse.abuse_support import connect_from, lync_client_from, monitored_session, session_still_served
from tests.abuse.abuse_udprelay import UdpToTcpRelay
from testkit.testbed import write_testbed
from testkit.mutator import DialogIds, seeds

DENIED, REFERENCE, ALLOWED = "127.0.0.1", "127.0.0.2", "127.0.0.3"
USERS = ["alice", "bob", "nobody", "erin", "administrator", "1001", "1002"]


def scanner(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} not found: install the Debian package sipvicious (scripts/install-system-deps)"
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = write_testbed(
        tmp_path_factory.mktemp("abuse-scan"),
        line_extra=f'access = "denied"\naccess_exceptions = ["{REFERENCE}/32", "{ALLOWED}/32"]\n',
    ).start()
    reference = monitored_session(REFERENCE, process.sip_port, "sip:bob@example.com", "tel:+1002")
    process.reference = reference
    yield process
    reference.sign_out()
    reference.close()
    assert process.stop() == 0


def run_tool(args: list[str], workdir) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(workdir))  # sipvicious keeps session files under ~/.sipvicious
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=workdir, env=env)


def lync_invite(user: str, local: tuple[str, int], line: str = "tel:+1001") -> bytes:
    ids = DialogIds(user=f"sip:{user}@example.com", line=line, call_id=f"scan-{user}-{local[1]}",
                    from_tag="scan", to_tag="", host=local[0], port=local[1])
    return seeds(ids)["INVITE"]  # Lync's INVITE with a RequestSystemStatus body


def read_all(sock: socket.socket, timeout: float = 3.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        data += b"<still open>"
    return data


def status_of(data: bytes) -> int:
    return int(data.split(b" ", 2)[1])


@pytest.mark.timeout(120)
def test_scanners_from_a_denied_address_find_nothing_and_get_zero_bytes(server, tmp_path):
    with UdpToTcpRelay(server.sip_port, DENIED) as relay:
        svmap = run_tool([scanner("svmap"), "127.0.0.1", "-p", str(relay.port), "-t", "0.05"], tmp_path)
        svwar = run_tool([scanner("svwar"), "127.0.0.1", "-p", str(relay.port), "-e", "1000-1010",
                          "-m", "INVITE", "-t", "0.05"], tmp_path)
    assert "rccserver" not in svmap.stdout + svmap.stderr
    assert "found nothing" in svwar.stderr or "Extension" not in svwar.stdout
    assert relay.datagrams_in > 0 and relay.messages_out == []
    assert relay.closed_by_server == relay.connections >= 1
    assert "access denied" in server.log_text
    session_still_served(server, server.reference, "1002")


def test_denied_peer_cannot_tell_existing_users_from_others(server):
    answers = {}
    for user in ("alice", "nobody", "erin"):
        sock = connect_from(DENIED, server.sip_port)
        try:
            try:
                sock.sendall(lync_invite(user, sock.getsockname()))
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed before we finished sending: also nothing learnt
            answers[user] = read_all(sock)
        finally:
            sock.close()
    assert answers == {"alice": b"", "nobody": b"", "erin": b""}


@pytest.mark.timeout(120)
def test_scanners_from_an_allowed_address_see_the_server_but_enumerate_no_users(server, tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("\n".join(USERS) + "\n")
    with UdpToTcpRelay(server.sip_port, ALLOWED) as relay:
        svmap = run_tool([scanner("svmap"), "127.0.0.1", "-p", str(relay.port), "-t", "0.05"], tmp_path)
        assert "rccserver" in svmap.stdout  # OPTIONS is answered, with our Server header
        for method in ("REGISTER", "INVITE"):
            before = len(relay.messages_out)
            svwar = run_tool([scanner("svwar"), "127.0.0.1", "-p", str(relay.port), "-d", str(users),
                              "-m", method, "-t", "0.05"], tmp_path)
            assert "found nothing" in svwar.stderr, svwar.stdout + svwar.stderr
            finals = {status_of(m) for m in relay.messages_out[before:] if status_of(m) >= 200}
            assert finals == ({501} if method == "REGISTER" else {415}), finals
    session_still_served(server, server.reference, "1002")


def test_allowed_peer_gets_the_logon_verdict_by_design(server):
    """A trusted front end must learn why a logon failed; that includes 'no such user'."""
    verdicts = {}
    for user in ("alice", "nobody", "erin"):
        client = lync_client_from(ALLOWED, server.sip_port, f"sip:{user}@example.com", "tel:+1001")
        try:
            response = client.sign_in()
            verdicts[user] = (response.status, "Cs_UserNotInDirectory" in (response.headers.get("Warning") or ""))
            if response.status == 200:
                assert client.sign_out().status == 200
        finally:
            client.close()
    assert verdicts == {"alice": (200, False), "nobody": (404, True), "erin": (404, True)}
    sessions = server.admin("GET", "/api/sessions")[1]
    assert [s["lync_uri"] for s in sessions] == ["sip:bob@example.com"]

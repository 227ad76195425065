"""Crash and restart: kill -9 during active calls, restart with the same config; SIGTERM ends every dialog.

After a crash nothing of the old run survives in the new process: no station
stays occupied, the front end's old dialog is unknown (481) and Lync's
re-sign-in (a new INVITE) logs on again. A SIGTERM sends BYE in every dialog
(each client receives it) and the process exits 0.
"""
from __future__ import annotations

import signal
import time


from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from testkit.serverproc import ServerProcess
from testkit.testbed import write_testbed

USERS = {"alice": ("sip:alice@example.com", "tel:+1001"), "bob": ("sip:bob@example.com", "tel:+1002")}


def signed_in(server: ServerProcess, name: str) -> LyncClient:
    user, line = USERS[name]
    client = LyncClient("127.0.0.1", server.sip_port, user=user, line=line)
    response = client.sign_in()
    assert response.status == 200, response.headers.get("Warning")
    client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{line}</deviceObject>'
                f"</monitorObject></MonitorStart>")
    return client


def occupied(server: ServerProcess) -> dict[str, str]:
    status, stations = server.admin("GET", "/api/stations")
    assert status == 200
    return {s["extension"]: s["user"] for s in stations if s["user"] is not None}


def test_kill_9_during_calls_then_restart_frees_stations_and_lync_signs_in_again(tmp_path):
    server = write_testbed(tmp_path).start()
    clients = [signed_in(server, "alice"), signed_in(server, "bob")]
    try:
        _, placed = server.admin("POST", "/api/calls", {"from": "tel:+13175550100", "to": "1001"})
        clients[0].wait_event("DeliveredEvent")
        clients[0].csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered><callID>{placed["call_id"]}</callID>'
                        f"<deviceID>tel:+1001</deviceID></callToBeAnswered></AnswerCall>")
        server.admin("POST", "/api/calls", {"from": "1002", "to": "tel:+13175550111"})
        status, calls = server.admin("GET", "/api/calls")
        assert status == 200 and len(calls) == 2
        assert occupied(server) == {"1001": "Alice", "1002": "Bob"}

        server.stop(signal.SIGKILL)
        assert server.process.returncode == -signal.SIGKILL
        restarted = ServerProcess(server.config_path, server.sip_port, server.admin_port).start()
        try:
            assert occupied(restarted) == {}
            assert restarted.admin("GET", "/api/sessions")[1] == []
            assert restarted.admin("GET", "/api/calls")[1] == []
            # The front end reconnects and goes on in its old dialog: unknown to the new process.
            before = clients[0]
            old = LyncClient("127.0.0.1", restarted.sip_port, user=USERS["alice"][0], line=USERS["alice"][1])
            clients.append(old)
            old.dialog.call_id, old.dialog.from_tag, old.dialog.to_tag, old.dialog.cseq = (
                before.call_id, before.from_tag, before.to_tag, before.cseq)
            assert old.to_tag
            assert old.info(f'<GetCSTAFeatures xmlns="{ED3}"/>'.encode()).status == 481
            # ... so Lync signs in again with a new INVITE.
            again = signed_in(restarted, "alice")
            assert occupied(restarted) == {"1001": "Alice"}
            assert again.sign_out().status == 200
            again.close()
            assert occupied(restarted) == {}
        finally:
            assert restarted.stop() == 0
    finally:
        for client in clients:
            client.close()


def test_restart_after_kill_9_ignores_the_stale_pid_file(tmp_path):
    server = write_testbed(tmp_path).start()
    pid_file = tmp_path / "rccserver.pid"
    deadline = time.monotonic() + 5
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.exists()
    server.stop(signal.SIGKILL)
    assert pid_file.exists()  # nobody removed it
    restarted = ServerProcess(server.config_path, server.sip_port, server.admin_port).start()
    try:
        assert restarted.admin("GET", "/api/health") == (200, {"status": "ok"})
        assert pid_file.read_text().strip() == str(restarted.process.pid)
    finally:
        assert restarted.stop() == 0


def test_sigterm_sends_bye_in_every_dialog_and_exits_0(tmp_path):
    server = write_testbed(tmp_path).start()
    alice, bob = signed_in(server, "alice"), signed_in(server, "bob")
    alice_twice = signed_in(server, "alice")  # the same user in two dialogs
    try:
        server.process.send_signal(signal.SIGTERM)
        for client in (alice, bob, alice_twice):
            bye = client.wait_request(lambda r: r.method == "BYE", timeout=10)
            assert bye.call_id == client.call_id
        assert server.process.wait(15) == 0
        assert "Traceback" not in server.stderr_path.read_text(errors="replace")
    finally:
        server.stop()
        for client in (alice, bob, alice_twice):
            client.close()

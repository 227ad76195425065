"""sipe never answers the server's INFOs (reference 2.2): the session must live on.

The server's INFO transactions time out after Timer F (64*T1 = 32 s, fixed),
so this test waits that long once; it is the slowest quirk test (~35 s).
"""
from __future__ import annotations

from rccserver import csta
from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from testkit.testbed import write_testbed

ALICE = "sip:alice@example.com"
LINE = "tel:+1001"
TIMER_F = 32.0


def forwarding(on: bool) -> str:
    target = "<forwardDN>tel:+13175553030</forwardDN>" if on else ""
    return (f'<SetForwarding xmlns="{ED3}"><device>{LINE}</device><forwardingType>forwardImmediate</forwardingType>'
            f"<activateForward>{'true' if on else 'false'}</activateForward>{target}</SetForwarding>")


def test_events_and_keepalives_never_answered_do_not_end_the_session(tmp_path):
    server = write_testbed(tmp_path, session_timeout=3).start()
    try:
        client = LyncClient("127.0.0.1", server.sip_port, user=ALICE, line=LINE, answer_server_requests=False)
        assert client.sign_in().status == 200
        started = client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{LINE}'
                              f"</deviceObject></monitorObject></MonitorStart>")
        assert isinstance(client.csta(forwarding(True)), csta.SetForwardingResponse)
        assert client.wait_event("ForwardingEvent").forward_status is True  # seen, never answered
        client.drain(TIMER_F + 3)  # every INFO sent in the first seconds has now timed out on the server's side
        # The first keep-alive went out about session_timeout after the last request, so its
        # Timer F ends at about the same moment as the drain: wait (bounded) for its log line.
        for _ in range(20):
            if "keepalive-failure" in server.log_text:
                break
            client.drain(0.5)
        keepalives = [r for r in client.server_requests if b"<SystemStatus" in r.body]
        assert len(keepalives) >= 5, "keep-alives stopped coming while the client stayed silent"

        status, sessions = server.admin("GET", "/api/sessions")
        assert status == 200 and [s["monitors"] for s in sessions if s["lync_uri"] == ALICE] == [
            [started.monitor_cross_ref_id]]
        assert isinstance(client.csta(forwarding(False)), csta.SetForwardingResponse)
        event = client.wait_event("ForwardingEvent")  # events still flow into the dialog
        assert event.forward_status is False and event.monitor_cross_ref_id == started.monitor_cross_ref_id

        log = server.log_text
        assert "keepalive-failure" in log and 'outcome="no answer"' in log, log
        assert "action=tolerated" in log and "session-end" not in log, log
        client.answer_server_requests = True
        assert client.sign_out().status == 200
        client.close()
    finally:
        assert server.stop() == 0

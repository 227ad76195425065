"""rccserver behind Kamailio, a record-routing stateful proxy standing in for the Lync Front End.

The client talks only to Kamailio; Kamailio record-routes the INVITE to
rccserver; everything rccserver originates in the dialog (event INFOs,
keep-alives) must follow the route set back through Kamailio.
"""
from __future__ import annotations

import pytest

from rccserver import csta
from tests.e2e.kamailio.proxy import KamailioProxy
from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from testkit.testbed import write_testbed
from test_sipp_flows import far_end_answers, monitored_sessions, place_call_when_monitored, run_flow  # noqa: E402

ALICE = "sip:alice@example.com"
LINE = "tel:+1001"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # No keep-alives here: SIPp scenarios do not expect unsolicited INFOs.
    process = write_testbed(tmp_path_factory.mktemp("kam-rcc")).start()
    yield process
    assert process.stop() == 0


@pytest.fixture
def keepalive_server(tmp_path):
    process = write_testbed(tmp_path / "rcc", session_timeout=2).start()
    yield process
    assert process.stop() == 0


@pytest.fixture
def keepalive_proxy(keepalive_server, tmp_path):
    with KamailioProxy(tmp_path, keepalive_server.sip_port) as running:
        yield running


@pytest.fixture(scope="module")
def proxy(server, tmp_path_factory):
    with KamailioProxy(tmp_path_factory.mktemp("kamailio"), server.sip_port) as running:
        yield running


def test_config_passes_kamailios_own_check(proxy):
    result = proxy.check_config()
    assert result.returncode == 0, result.stderr


def test_dialog_through_kamailio_both_ways(keepalive_server, keepalive_proxy):
    server, proxy = keepalive_server, keepalive_proxy
    kamailio_rr = f"<sip:127.0.0.1:{proxy.port};transport=tcp;lr=on>"
    kamailio_via = f"SIP/2.0/TCP 127.0.0.1:{proxy.port};"
    client = LyncClient("127.0.0.1", proxy.port, user=ALICE, line=LINE, follow_route=True)
    signed_in = client.sign_in()
    assert signed_in.status == 200, signed_in.headers.get("Warning")
    # The client sent no Record-Route: this one was added by Kamailio, seen by rccserver, copied into its 2xx.
    assert signed_in.headers.get_all("Record-Route") == [kamailio_rr]
    assert client.route_set == [kamailio_rr]
    started = client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{LINE}</deviceObject>'
                          f"</monitorObject></MonitorStart>")
    assert isinstance(started, csta.MonitorStartResponse)

    status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550199", "to": "1001"})
    assert status == 200
    delivered = client.wait_request(lambda r: r.method == "INFO" and b"<DeliveredEvent" in r.body)
    vias = delivered.headers.get_all("Via")
    assert vias[0].startswith(kamailio_via), vias  # relayed by Kamailio
    assert len(vias) == 2 and "rcc.example.com" in vias[1], vias  # rccserver below it
    assert delivered.headers.get_all("Route") == []  # Kamailio consumed its own entry (loose routing)
    assert csta.decode(delivered.body).connection.call_id == body["call_id"]
    # rccserver addressed it to the client's Contact with Kamailio's Record-Route as Route
    log = proxy.wait_for_log(f"KAM-IN INFO sip:lync@127.0.0.1:{client.local[1]};transport=tcp "
                             f"from 127.0.0.1:{server.sip_port} route=[{kamailio_rr}]")
    assert "KAM-REPLY 200 OK for INFO from 127.0.0.1:" in log

    keepalive = client.wait_request(lambda r: r.method == "INFO" and b"<SystemStatus" in r.body, timeout=10)
    assert keepalive.headers.get_all("Via")[0].startswith(kamailio_via)

    answered = client.csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered><callID>{body["call_id"]}</callID>'
                           f"<deviceID>{LINE}</deviceID></callToBeAnswered></AnswerCall>")
    assert isinstance(answered, csta.AnswerCallResponse)
    established = client.wait_request(lambda r: r.method == "INFO" and b"<EstablishedEvent" in r.body)
    assert established.headers.get_all("Via")[0].startswith(kamailio_via)
    assert server.admin("POST", f"/api/calls/{body['call_id']}/hangup")[0] == 200
    client.wait_request(lambda r: r.method == "INFO" and b"<ConnectionClearedEvent" in r.body)
    assert client.sign_out().status == 200
    client.close()
    assert not monitored_sessions(server, ALICE)
    proxy.wait_for_log("KAM-REPLY 200 OK for BYE")


@pytest.mark.parametrize("scenario", ["sign_in_out.xml", "refresh.xml", "make_call_hold.xml"])
def test_sipp_flows_through_kamailio(server, proxy, tmp_path, scenario):
    steps = [far_end_answers] if scenario == "make_call_hold.xml" else []
    run_flow(server, proxy.port, scenario, tmp_path, steps)


def test_sipp_inbound_call_through_kamailio(server, proxy, tmp_path):
    known = monitored_sessions(server, ALICE)
    run_flow(server, proxy.port, "inbound_answer.xml", tmp_path,
             [place_call_when_monitored("tel:+13175550123", known)])


def test_silent_client_behind_the_proxy_keeps_its_session(tmp_path):
    """sipe never answers event INFOs; behind a stateful proxy that becomes a 408 from the proxy
    (sipe notes; reference 2.2: treat a timed-out event INFO as delivered and keep going)."""
    server = write_testbed(tmp_path / "rcc").start()
    try:
        with KamailioProxy(tmp_path, server.sip_port, fr_timer_ms=1000) as proxy:
            client = LyncClient("127.0.0.1", proxy.port, user=ALICE, line=LINE, follow_route=True,
                                answer_server_requests=False)
            assert client.sign_in().status == 200
            started = client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{LINE}'
                                  f"</deviceObject></monitorObject></MonitorStart>")
            status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550199", "to": "1001"})
            client.wait_request(lambda r: r.method == "INFO" and b"<DeliveredEvent" in r.body)
            proxy.wait_for_log("KAM-IN INFO sip:lync@")
            client.drain(2.5)  # past fr_timer: Kamailio has answered 408 to rccserver for the silent client
            proxy.wait_for_log("KAM-FAILED INFO 408")
            status, sessions = server.admin("GET", "/api/sessions")
            mine = [s for s in sessions if s["lync_uri"] == ALICE]
            assert mine and mine[0]["monitors"] == [started.monitor_cross_ref_id], server.log_text
            assert server.admin("POST", f"/api/calls/{body['call_id']}/hangup")[0] == 200
            client.wait_request(lambda r: r.method == "INFO" and b"<ConnectionClearedEvent" in r.body)
            client.answer_server_requests = True
            assert client.sign_out().status == 200
            client.close()
    finally:
        assert server.stop() == 0

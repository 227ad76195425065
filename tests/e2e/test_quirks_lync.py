"""What real RCC clients do that a strict RFC 3261 peer would not (reference 2.1-2.4, sipe notes).

Each test speaks raw SIP through testkit/lyncclient.py to the real server
over TCP and asserts what the client sees on the wire.
"""
from __future__ import annotations

import secrets

import pytest

from rccserver import csta
from testkit.lyncclient import LyncClient
from testkit.messages import CSTA_CT, ED3, request_system_status
from testkit.testbed import write_testbed

ALICE = "sip:alice@example.com"
ALICE_LINE = "tel:+1001"
BOB = "sip:bob@example.com"
BOB_LINE = "tel:+1002"
FEATURES = f'<GetCSTAFeatures xmlns="{ED3}"/>'


def monitor_start(line: str) -> str:
    return f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{line}</deviceObject></monitorObject></MonitorStart>'


def forwarding(line: str, on: bool) -> str:
    target = "<forwardDN>tel:+13175553030</forwardDN>" if on else ""
    return (f'<SetForwarding xmlns="{ED3}"><device>{line}</device><forwardingType>forwardImmediate</forwardingType>'
            f"<activateForward>{'true' if on else 'false'}</activateForward>{target}</SetForwarding>")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = write_testbed(tmp_path_factory.mktemp("quirks")).start()
    yield process
    assert process.stop() == 0


def signed_in(server, user=ALICE, line=ALICE_LINE, **options) -> LyncClient:
    client = LyncClient("127.0.0.1", server.sip_port, user=user, line=line, **options)
    response = client.sign_in()
    assert response.status == 200, response.headers.get("Warning")
    return client


def monitored(server, user=ALICE, line=ALICE_LINE, **options) -> LyncClient:
    client = signed_in(server, user, line, **options)
    started = client.csta(monitor_start(line))
    assert isinstance(started, csta.MonitorStartResponse)
    client.xref = started.monitor_cross_ref_id
    return client


def sessions_of(server, lync_uri: str) -> list[dict]:
    status, sessions = server.admin("GET", "/api/sessions")
    assert status == 200
    return [s for s in sessions if s["lync_uri"] == lync_uri]


def finish(client: LyncClient) -> None:
    assert client.sign_out().status == 200
    client.close()


def raw_info(client: LyncClient, cseq: int, body: bytes, *, via: str | None = None,
             content_type: str | None = CSTA_CT) -> bytes:
    """An in-dialog INFO written by hand, for header shapes the client class would not produce."""
    host, port = client.local
    lines = [
        f"INFO {client.server_uri} SIP/2.0",
        f"Via: {via or f'SIP/2.0/TCP {host}:{port};branch=z9hG4bK{secrets.token_hex(6)}'}",
        "Max-Forwards: 70",
        f"From: <{client.user}>;tag={client.from_tag};epid=e{client.from_tag}",
        f"To: <{client.server_uri}>;tag={client.to_tag}",
        f"Call-ID: {client.call_id}",
        f"CSeq: {cseq} INFO",
    ]
    if content_type:
        lines += [f"Content-Type: {content_type}", "Content-Disposition: signal;handling=required"]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- sipe resets its CSeq after each 2xx to an (re-)INVITE ------------------------------------------
def test_cseq_restarting_at_1_after_a_reinvite_is_answered(server):
    client = monitored(server)  # INVITE 1, INFO 2
    cseq = client.request("INVITE", request_system_status(ALICE_LINE), extra=[("Supported", "timer")])
    refreshed = client.wait_response(cseq, "INVITE")
    assert refreshed.status == 200
    assert isinstance(csta.decode(refreshed.body), csta.RequestSystemStatusResponse)
    client.cseq = 0  # what sipe does after the 2xx: the ACK gets 1, the next INFOs 2, 3
    client.cseq += 1
    client.ack(client.cseq)
    features = client.info(FEATURES.encode())
    assert client.cseq == 2
    assert features.status == 200, f"INFO with CSeq 2 after the re-INVITE: {features.status} {features.reason}"
    assert isinstance(csta.decode(features.body), csta.GetCSTAFeaturesResponse)
    on = client.info(forwarding(ALICE_LINE, True).encode())
    assert client.cseq == 3 and on.status == 200
    assert isinstance(csta.decode(on.body), csta.SetForwardingResponse)
    event = client.wait_event("ForwardingEvent")  # the monitor lived through the refresh
    assert event.monitor_cross_ref_id == client.xref and event.forward_status is True
    assert client.info(forwarding(ALICE_LINE, False).encode()).status == 200
    client.wait_event("ForwardingEvent")
    finish(client)


def test_repeated_cseq_on_a_new_info_is_not_taken_for_a_retransmission(server):
    """sipe's low numbers repeat numbers already used in the dialog; a new branch is a new request."""
    client = monitored(server)
    used = client.cseq
    client.cseq = used - 1
    again = client.info(FEATURES.encode())
    assert client.cseq == used and again.status == 200
    assert isinstance(csta.decode(again.body), csta.GetCSTAFeaturesResponse)
    finish(client)


# -- two INFO transactions in flight ------------------------------------------------------------------
def test_features_and_monitor_start_in_flight_together(server):
    client = signed_in(server)
    client.cseq += 1
    features_cseq = client.cseq
    first = client.message("INFO", FEATURES.encode(), cseq=features_cseq)
    client.cseq += 1
    monitor_cseq = client.cseq
    second = client.message("INFO", monitor_start(ALICE_LINE).encode(), cseq=monitor_cseq)
    client.send(first + second)  # one TCP segment, nothing answered yet
    # (wait_response drops other responses; the server answers in arrival order)
    features = client.wait_response(features_cseq, "INFO")
    monitor = client.wait_response(monitor_cseq, "INFO")
    assert features.status == monitor.status == 200
    assert isinstance(csta.decode(features.body), csta.GetCSTAFeaturesResponse)
    started = csta.decode(monitor.body)
    assert isinstance(started, csta.MonitorStartResponse) and started.monitor_cross_ref_id
    finish(client)


# -- sign-out: BYE overtakes MonitorStop ----------------------------------------------------------------
@pytest.mark.parametrize("bye_first", [False, True], ids=["stop-then-bye", "bye-overtakes-stop"])
def test_bye_racing_monitor_stop_releases_everything_and_late_info_gets_481(server, bye_first):
    """sipe sends MonitorStop and BYE without waiting; through a front end the BYE may even arrive first."""
    client = monitored(server, BOB, BOB_LINE)
    stop_cseq, bye_cseq = client.cseq + 1, client.cseq + 2
    client.cseq += 2
    stop = client.message(
        "INFO", f'<MonitorStop xmlns="{ED3}"><monitorCrossRefID>{client.xref}</monitorCrossRefID></MonitorStop>'.encode(),
        cseq=stop_cseq)
    bye = client.message("BYE", cseq=bye_cseq)
    first, second = (bye, stop) if bye_first else (stop, bye)
    client.send(first + second)  # one segment: nothing answered in between
    if bye_first:
        assert client.wait_response(bye_cseq, "BYE").status == 200
        assert client.wait_response(stop_cseq, "INFO").status == 481
    else:
        stopped = client.wait_response(stop_cseq, "INFO")
        assert stopped.status == 200 and isinstance(csta.decode(stopped.body), csta.MonitorStopResponse)
        assert client.wait_response(bye_cseq, "BYE").status == 200
    late = client.request("INFO", FEATURES.encode())
    assert client.wait_response(late, "INFO").status == 481
    assert sessions_of(server, BOB) == []
    status, stations = server.admin("GET", "/api/stations")
    assert next(s for s in stations if s["extension"] == "1002")["user"] is None
    client.close()


# -- header shapes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("via", [
    "SIP/2.0/tcp {host}:{port}",                      # lowercase transport, no branch at all
    "SIP/2.0/tcp {host}:{port};branch=1234abc",        # RFC 2543 style branch, no magic cookie
    "SIP/2.0/TCP {host}:{port};rport;branch=z9hG4bKlowercase",
])
def test_in_dialog_via_shapes_are_answered_and_echoed(server, via):
    client = monitored(server)
    host, port = client.local
    via = via.format(host=host, port=port)
    client.cseq += 1
    client.send(raw_info(client, client.cseq, FEATURES.encode(), via=via))
    response = client.wait_response(client.cseq, "INFO")
    assert response.status == 200
    assert isinstance(csta.decode(response.body), csta.GetCSTAFeaturesResponse)
    assert response.headers.get_all("Via")[0].startswith(via)  # echoed, not rewritten
    finish(client)


def test_csta_info_with_content_length_zero_gets_error_code_in_200(server):
    client = monitored(server)
    client.cseq += 1
    client.send(raw_info(client, client.cseq, b""))
    response = client.wait_response(client.cseq, "INFO")
    assert response.status == 200
    assert response.headers.get("Content-Type") == CSTA_CT
    assert isinstance(csta.decode(response.body), csta.ErrorCode)
    assert client.csta(FEATURES)  # and the dialog carries on
    finish(client)


def test_line_uri_with_extra_parameters_is_echoed_verbatim(server):
    line = "tel:+1001;phone-context=dialstring;ext=1001;x-ms-line=Primary"
    client = monitored(server, ALICE, line)
    made = client.csta(
        f'<MakeCall xmlns="{ED3}"><callingDevice>{line}</callingDevice>'
        f"<calledDirectoryNumber>tel:+13175552020</calledDirectoryNumber></MakeCall>"
    )
    assert isinstance(made, csta.MakeCallResponse)
    assert made.calling_device.device_id == line
    call_id = made.calling_device.call_id
    for name in ("ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent"):
        request = client.wait_request(lambda r, n=name: r.method == "INFO" and f"<{n}".encode() in r.body)
        assert f"<deviceID>{line}</deviceID>".encode() in request.body, request.body
        assert f"<callID>{call_id}</callID>".encode() in request.body
    client.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared><callID>{call_id}</callID>'
                f"<deviceID>{line}</deviceID></connectionToBeCleared></ClearConnection>")
    cleared = client.wait_event("ConnectionClearedEvent")
    assert cleared.dropped_connection.device_id == line
    finish(client)


def test_from_with_epid_is_kept_in_responses_and_server_requests(server):
    client = monitored(server)
    epid = f"epid=e{client.from_tag}"
    response = client.info(FEATURES.encode())
    assert response.headers.get("From") == f"<{ALICE}>;tag={client.from_tag};{epid}"
    assert client.info(forwarding(ALICE_LINE, True).encode()).status == 200
    event = client.wait_request(lambda r: r.method == "INFO" and b"<ForwardingEvent" in r.body)
    to = event.headers.get("To")
    assert to.startswith(f"<{ALICE}>") and epid in to and f"tag={client.from_tag}" in to
    assert client.info(forwarding(ALICE_LINE, False).encode()).status == 200
    client.wait_event("ForwardingEvent")
    finish(client)


def test_record_route_with_unknown_parameters_comes_back_as_route_unchanged(server):
    routes = (
        "<sip:fe1.example.com:5061;transport=tls;ms-role-rs-from;lr;ms-route-sig=aa8Bq-Zx_3VzZWQ9MQ"
        ";ms-ent-dest-fqdn=rcc.example.com>",
        "<sip:fe2.example.com:5061;transport=tls;lr;ms-role-rs-to;ms-opaque=5f8e1c2a;X-Unknown=MiXeD>",
    )
    client = LyncClient("127.0.0.1", server.sip_port, user=ALICE, line=ALICE_LINE, record_route=routes)
    response = client.sign_in()
    assert response.status == 200
    assert response.headers.get_all("Record-Route") == list(routes)  # copied into the 2xx as they came
    assert isinstance(client.csta(monitor_start(ALICE_LINE)), csta.MonitorStartResponse)
    assert client.info(forwarding(ALICE_LINE, True).encode()).status == 200
    event = client.wait_request(lambda r: r.method == "INFO" and b"<ForwardingEvent" in r.body)
    # the callee's route set is the INVITE's Record-Route in order, parameters kept (RFC 3261 12.1.1)
    assert event.headers.get_all("Route") == list(routes)
    assert client.info(forwarding(ALICE_LINE, False).encode()).status == 200
    client.wait_event("ForwardingEvent")
    finish(client)


def test_a_sipe_shaped_dialog_works_end_to_end(server):
    """Headers as pidgin-sipe 1.25 writes them (sipe notes, "Messages sipe sends"): a Contact with
    maddr and a proxy=replace parameter on the INVITE; in-dialog requests with a branchless,
    lowercase-transport Via and no Contact."""
    client = LyncClient("127.0.0.1", server.sip_port, user=ALICE, line=ALICE_LINE, dialect="sipe")
    assert client.sign_in().status == 200  # ACK goes out with CSeq 1 and a branchless Via
    started = client.csta(monitor_start(ALICE_LINE))
    assert isinstance(started, csta.MonitorStartResponse)
    made = client.csta(f'<MakeCall xmlns="{ED3}"><callingDevice>{ALICE_LINE}</callingDevice>'
                       f"<calledDirectoryNumber>tel:+13175552020</calledDirectoryNumber>"
                       f"<autoOriginate>doNotPrompt</autoOriginate></MakeCall>")
    assert made.calling_device.device_id == ALICE_LINE
    originated = client.wait_request(lambda r: r.method == "INFO" and b"<OriginatedEvent" in r.body)
    host, port = client.local
    assert originated.uri == f"{ALICE}:{port};maddr={host};transport=tcp"  # the Contact URI as sent
    assert csta.decode(originated.body).monitor_cross_ref_id == started.monitor_cross_ref_id
    # sipe never hangs up through CSTA: the far end does
    assert server.admin("POST", f"/api/calls/{made.calling_device.call_id}/hangup")[0] == 200
    client.wait_event("ConnectionClearedEvent")
    finish(client)

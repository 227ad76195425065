"""`rccserver probe`: the logon checklist an administrator runs against an RCC line.

Three layers of tests:
* the pure pieces: Warning parsing and Cs_ hints, error diagnosis, the dialog's
  messages, the checklist and its verdict, argument checking;
* the probe against scripted loopback peers (a SIP peer that answers as told, TLS
  listeners that refuse in the ways administrators meet), to pin the client's
  protocol handling and its TLS diagnoses;
* the probe, as a subprocess, against the real server (testkit/serverproc.py).
"""
from __future__ import annotations

import argparse
import json
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from rccserver import csta
from rccserver.commands.probe import command as probe
from rccserver.commands.certs import generate
from rccserver.commands.probe.command import ProbeOptions, ProbeUsageError, options_from_args, parse_target, run_probe
from rccserver.commands.probe.dialog import ProbeDialog
from rccserver.commands.probe.hints import (
    CLIENT_CERT_REFUSED_HINT, CLIENT_CERT_REQUIRED_HINT, CLOSED_HINT, HOSTNAME_HINT, LOGON_HINTS, NO_LINE_HINT,
    NO_WARNING_HINT, NOT_IN_DIRECTORY_HINT, NOT_RUNNING_HINT, NOT_TLS_HINT, STALE_LINE_HINT, TLS_ALERT_ON_TCP_HINT,
    UNKNOWN_CA_HINT, UNKNOWN_CODE_HINT, connect_failure, logon_refusal, parse_warnings, split_rcc_code,
)
from rccserver.commands.probe.line_lookup import find_line, load_configured_directory
from rccserver.commands.probe.report import Report, Status, render_json, render_text
from rccserver.sip import FramedMessage, Request, Response, StreamFramer, make_response, parse_message
from rccserver.sip.uri import quote_string
from testkit.serverproc import REPO, ServerProcess, free_port

ALICE = "sip:alice@example.com"
ALICE_LINE = "tel:+1001"
WAIT = 5.0  # bound on every wait in the scripted peers


def parse_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    probe.add_arguments(parser)
    return parser.parse_args(list(argv))


# -- Warning header and Cs_ hints --------------------------------------------

@pytest.mark.parametrize("code", sorted(LOGON_HINTS))
def test_every_seed_code_maps_to_its_hint(code):
    finding = logon_refusal(404, "Not Found", [f'399 rcc.example.com "{code}: the detail"'])
    assert finding.code == code
    assert finding.detail == "the detail"
    assert finding.hint == LOGON_HINTS[code]
    assert f"404 Not Found: {code}: the detail" in finding.summary


def test_seed_hints_say_what_to_fix():
    assert "rccserver -reload" in LOGON_HINTS["Cs_UserNotInDirectory"]
    assert "msRTCSIP-UserEnabled" in LOGON_HINTS["Cs_UserNotInDirectory"]
    assert "Set-CsUser -LineUri" in LOGON_HINTS["Cs_LineNotAssigned"]
    assert "nt_domain_user" in LOGON_HINTS["Cs_UserNotFound"]
    assert LOGON_HINTS["Cs_AmbiguousUser"] == LOGON_HINTS["Cs_UserNotFound"]
    assert "I3_FEATURE_LYNC" in LOGON_HINTS["Cs_NoFeatureLicense"]
    assert "allow_remote_number" in LOGON_HINTS["Cs_StationNotFound"]
    assert "log them off" in LOGON_HINTS["Cs_StationInUseByAnotherUser"]
    assert "licence" in LOGON_HINTS["Cs_NoClientLicense"]


def test_unknown_code_and_missing_warning_still_explain():
    unknown = logon_refusal(403, "Forbidden", ['399 rcc "Cs_SomethingNew: x"'])
    assert unknown.code == "Cs_SomethingNew" and unknown.hint == UNKNOWN_CODE_HINT
    bare = logon_refusal(500, "Server Internal Error", [])
    assert bare.code is None and bare.hint == NO_WARNING_HINT and "500 Server Internal Error" in bare.summary
    other = logon_refusal(488, "Not Acceptable Here", ['399 proxy "no route"'])
    assert other.code is None and "no route" in other.summary


def test_warning_lists_escapes_and_junk():
    values = parse_warnings('301 a "one", 399 rcc.example.com "Cs_BadRequest: a \\"quoted\\" bit", junk')
    assert [(w.code, w.agent) for w in values] == [(301, "a"), (399, "rcc.example.com")]
    assert values[1].text == 'Cs_BadRequest: a "quoted" bit'
    assert split_rcc_code("Cs_StationNotFound") == ("Cs_StationNotFound", "")
    assert split_rcc_code("no code here") is None


@settings(deadline=None, max_examples=200)
@given(code=st.sampled_from(sorted(LOGON_HINTS)),
       detail=st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x7f"),
                      max_size=80))
def test_warning_round_trip(code, detail):
    header = f"399 rcc.example.com {quote_string(f'{code}: {detail}')}"
    finding = logon_refusal(486, "Busy Here", [header])
    assert (finding.code, finding.detail, finding.hint) == (code, detail.strip(), LOGON_HINTS[code])


def test_socket_errors_map_to_the_not_running_hint():
    assert connect_failure(ConnectionRefusedError(111, "Connection refused"), tls=False, client_cert=False).hint \
        == NOT_RUNNING_HINT
    assert connect_failure(socket.timeout("timed out"), tls=False, client_cert=False).hint == NOT_RUNNING_HINT
    reset = connect_failure(ConnectionResetError(104, "Connection reset by peer"), tls=False, client_cert=False)
    assert reset.hint == CLOSED_HINT
    assert "--target" in connect_failure(socket.gaierror(-2, "Name or service not known"),
                                         tls=False, client_cert=False).hint


# -- the dialog's messages ----------------------------------------------------

def counter_tokens() -> Callable[[int], str]:
    count = iter(range(10_000))
    return lambda n: f"{next(count):0{2 * n}x}"


def test_invite_is_shaped_like_lync():
    dialog = ProbeDialog(user=ALICE, server_uri="sip:rcc@rcc.example.com", transport="TCP",
                         local=("127.0.0.1", 5070), token=counter_tokens())
    invite = parse_message(dialog.invite(csta.encode(csta.RequestSystemStatus(line=ALICE_LINE))).to_bytes())
    assert invite.method == "INVITE" and invite.uri == "sip:rcc@rcc.example.com"
    assert invite.headers.get("Supported") == "timer"
    assert invite.headers.get("Content-Type") == "application/csta+xml"
    assert invite.headers.get("Content-Disposition") == "signal;handling=required"
    assert invite.top_via.branch.startswith("z9hG4bK")
    assert str(invite.from_.uri) == ALICE and invite.from_.tag == dialog.from_tag and invite.to.tag is None
    decoded = csta.decode(invite.body)
    assert isinstance(decoded, csta.RequestSystemStatus) and decoded.line == ALICE_LINE
    assert b"RCCExtension" in invite.body


def test_dialog_learns_route_and_target_from_the_2xx():
    dialog = ProbeDialog(user=ALICE, server_uri="sip:rcc@rcc.example.com", transport="TLS",
                         local=("::1", 5071), token=counter_tokens())
    invite = dialog.invite(b"<x/>")
    ok = make_response(invite, 200, to_tag="srv1", headers=[
        ("Record-Route", "<sip:p1.example.com;lr>"), ("Record-Route", "<sip:p2.example.com;lr>"),
        ("Contact", "<sip:rcc.example.com:11001;transport=tls>")])
    dialog.on_invite_response(ok)
    ack = dialog.ack(invite.cseq[0])
    info = dialog.info(b"<y/>")
    assert ack.cseq == (invite.cseq[0], "ACK") and info.cseq == (invite.cseq[0] + 1, "INFO")
    assert info.uri == "sip:rcc.example.com:11001;transport=tls"
    assert info.headers.get_all("Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert info.to.tag == "srv1"
    assert info.headers.get("Via").startswith("SIP/2.0/TLS [::1]:5071;")


@settings(deadline=None, max_examples=100)
@given(routes=st.lists(st.from_regex(r"p[0-9]{1,3}\.example\.com", fullmatch=True), max_size=3),
       methods=st.lists(st.sampled_from(["INFO", "BYE"]), max_size=6),
       local=st.sampled_from([("127.0.0.1", 5060), ("::1", 40000), ("10.1.2.3", 65535)]),
       transport=st.sampled_from(["TCP", "TLS"]))
def test_dialog_requests_parse_back_with_rising_cseq(routes, methods, local, transport):
    dialog = ProbeDialog(user=ALICE, server_uri="sip:rcc@rcc.example.com", transport=transport, local=local)
    invite = dialog.invite(csta.encode(csta.RequestSystemStatus(line=ALICE_LINE)))
    dialog.on_invite_response(make_response(invite, 200, to_tag="t", headers=[
        *(("Record-Route", f"<sip:{route};lr>") for route in routes),
        ("Contact", "<sip:rcc.example.com:11001>")]))
    sent = [invite, dialog.ack(invite.cseq[0])] + [dialog.info(b"<x/>") if m == "INFO" else dialog.bye()
                                                   for m in methods]
    parsed = [parse_message(request.to_bytes()) for request in sent]
    assert parsed == sent
    assert {request.call_id for request in parsed} == {dialog.call_id}
    numbers = [request.cseq[0] for request in parsed[2:]]
    assert numbers == list(range(invite.cseq[0] + 1, invite.cseq[0] + 1 + len(methods)))
    for request in parsed[1:]:
        assert request.to.tag == "t" and request.uri == "sip:rcc.example.com:11001"
        assert request.headers.get_all("Route") == [f"<sip:{route};lr>" for route in reversed(routes)]
        assert request.top_via.transport.upper() == transport


def test_dialog_answers_server_requests_in_and_out_of_dialog():
    dialog = ProbeDialog(user=ALICE, server_uri="sip:rcc@x", transport="TCP", local=("127.0.0.1", 5072))
    event = Request("INFO", "sip:probe@127.0.0.1:5072", [
        ("Via", "SIP/2.0/TCP rcc.example.com;branch=z9hG4bKsrv"), ("From", "<sip:rcc@x>;tag=srv"),
        ("To", f"<{ALICE}>;tag={dialog.from_tag}"), ("Call-ID", dialog.call_id), ("CSeq", "7 INFO")])
    answered = dialog.answer(event, 200, b"<z/>")
    assert answered.status == 200 and answered.cseq == (7, "INFO")
    assert answered.headers.get("Content-Type") == "application/csta+xml"
    stranger = Request("INFO", "sip:probe@127.0.0.1:5072", [
        ("Via", "SIP/2.0/TCP rcc.example.com;branch=z9hG4bKsrv2"), ("From", "<sip:rcc@x>;tag=srv"),
        ("To", f"<{ALICE}>;tag=other"), ("Call-ID", "else"), ("CSeq", "8 INFO")])
    assert dialog.answer(stranger).status == 481
    ack = Request("ACK", "sip:probe@x", event.headers)
    assert dialog.answer(ack) is None


# -- the checklist ------------------------------------------------------------

def test_report_verdict_and_exit_code():
    report = Report(user=ALICE, line=ALICE_LINE, target="127.0.0.1:11001", transport="TCP", call_asked=True)
    report.add("connect", Status.OK, "connected")
    report.add("logon", Status.OK, "200")
    report.add("features", Status.OK, "3 services")
    report.add("monitor", Status.OK, "monitorCrossRefID 1")
    assert not report.ok  # the call was asked and has not worked
    report.add("call", Status.OK, "call delivered")
    report.add("signout", Status.WARN, "BYE answered 481")
    assert report.ok and report.exit_code == 0
    assert report.verdict.startswith("OK:") and "warnings: signout" in report.verdict
    with pytest.raises(ValueError):
        report.add("call", Status.OK, "again")


def test_report_of_a_refusal_names_the_code_and_skips_the_rest():
    report = Report(user=ALICE, line=ALICE_LINE, target="t", transport="TLS")
    report.add("connect", Status.OK, "connected")
    report.add("logon", Status.FAIL, "INVITE answered 404", LOGON_HINTS["Cs_StationNotFound"],
               code="Cs_StationNotFound")
    report.skip_rest("not run")
    assert [s.name for s in report.steps] == ["connect", "logon", "features", "monitor", "signout"]
    assert report.exit_code == 1 and report.verdict.endswith("logon (INVITE): Cs_StationNotFound")
    text = render_text(report)
    assert "[FAIL] logon (INVITE)" in text and "hint: the TEL URI is not a CIC station" in text
    assert text.rstrip().splitlines()[-1] == f"verdict: {report.verdict}"
    document = json.loads(render_json(report))
    assert document["exit_code"] == 1 and document["steps"][1]["data"]["code"] == "Cs_StationNotFound"
    assert [s["status"] for s in document["steps"]] == ["ok", "fail", "skip", "skip", "skip"]


# -- arguments ----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1", ("127.0.0.1", 11001)), ("rcc.example.com:5061", ("rcc.example.com", 5061)),
    ("[::1]:11002", ("::1", 11002)), ("[::1]", ("::1", 11001)), ("::1", ("::1", 11001)),
])
def test_targets(text, expected):
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["", ":11001", "host:0", "host:70000", "host:x", "[::1", "[::1]x"])
def test_bad_targets(text):
    with pytest.raises(ProbeUsageError, match="--target"):
        parse_target(text)


def test_line_may_be_left_to_the_directory():
    options = options_from_args(parse_args("--as", ALICE))
    assert (options.line, options.config) == (None, None)
    options = options_from_args(parse_args("--as", ALICE, "--config", "/etc/rccserver/rccserver.toml"))
    assert (options.line, options.config) == (None, "/etc/rccserver/rccserver.toml")
    with pytest.raises(SystemExit):
        parse_args("--line", ALICE_LINE)  # --as stays required


@pytest.mark.parametrize("argv, message", [
    (("--as", "alice", "--line", ALICE_LINE), "--as"),
    (("--as", ALICE, "--line", "1001"), "--line"),
    (("--as", ALICE, "--line", ALICE_LINE, "--ca", "ca.pem"), "only apply with --tls"),
    (("--as", ALICE, "--line", ALICE_LINE, "--tls", "--cert", "c.pem"), "--cert and --key"),
    (("--as", ALICE, "--line", ALICE_LINE, "--timeout", "0"), "positive"),
    (("--as", ALICE, "--line", ALICE_LINE, "--call", "mailto:x@y"), "--call"),
])
def test_bad_arguments_are_named(argv, message):
    with pytest.raises(ProbeUsageError, match=message):
        options_from_args(parse_args(*argv))


def test_unreadable_tls_files_are_a_usage_error(tmp_path, capsys):
    args = parse_args("--as", ALICE, "--line", ALICE_LINE, "--tls", "--ca", str(tmp_path / "missing.pem"))
    assert probe.run(args) == probe.EXIT_USAGE
    assert "missing.pem" in capsys.readouterr().err


def test_defaults():
    options = options_from_args(parse_args("--as", ALICE, "--line", ALICE_LINE))
    assert (options.host, options.port, options.tls) == ("127.0.0.1", 11001, False)
    assert options.request_uri == "sip:rcc@127.0.0.1"
    named = options_from_args(parse_args("--as", ALICE, "--line", ALICE_LINE, "--target", "[::1]:5",
                                         "--tls", "--tls-name", "rcc.example.com"))
    assert named.request_uri == "sip:rcc@rcc.example.com"


# -- the line from the directory (no --line) ---------------------------------------

LOOKUP_LDIF = """\
dn: CN=Alice,DC=example,DC=com
sAMAccountName: alice
msRTCSIP-PrimaryUserAddress: sip:alice@example.com
msRTCSIP-Line: tel:+1001
msRTCSIP-UserEnabled: TRUE

dn: CN=Erin,DC=example,DC=com
sAMAccountName: erin
msRTCSIP-PrimaryUserAddress: sip:erin@example.com
msRTCSIP-Line: tel:+1007
msRTCSIP-UserEnabled: FALSE

dn: CN=Fred,DC=example,DC=com
sAMAccountName: fred
msRTCSIP-PrimaryUserAddress: sip:fred@example.com
msRTCSIP-UserEnabled: TRUE
"""


@pytest.fixture
def lookup_directory(tmp_path) -> Path:
    """A configuration whose LDIF directory holds alice (tel:+1001), erin (disabled) and fred (no line)."""
    (tmp_path / "directory.ldif").write_text(LOOKUP_LDIF)
    path = tmp_path / "rccserver.toml"
    path.write_text('[directory]\nsource = "ldif"\nldif_file = "directory.ldif"\nnetbios_domain = "EXAMPLE"\n')
    return path


def test_the_line_is_the_users_msrtcsip_line(lookup_directory):
    directory = load_configured_directory(str(lookup_directory))
    found = find_line(directory, "sip:Alice@Example.com")  # SIP URIs compare case-insensitively
    assert (found.line, found.status, found.code) == ("tel:+1001", Status.OK, None)
    assert "tel:+1001" in found.summary and str(lookup_directory.parent / "directory.ldif") in found.summary


def test_a_user_not_in_the_directory_has_no_line(lookup_directory):
    found = find_line(load_configured_directory(str(lookup_directory)), "sip:carl@example.com")
    assert (found.line, found.status, found.code) == (None, Status.FAIL, "Cs_UserNotInDirectory")
    assert "sip:carl@example.com" in found.summary and "not" in found.summary
    assert found.hint == NOT_IN_DIRECTORY_HINT


def test_a_user_without_msrtcsip_line(lookup_directory):
    found = find_line(load_configured_directory(str(lookup_directory)), "sip:fred@example.com")
    assert (found.line, found.status, found.code) == (None, Status.FAIL, "Cs_LineNotAssigned")
    assert "msRTCSIP-Line" in found.summary and found.hint == NO_LINE_HINT


def test_a_disabled_user_is_probed_with_a_warning(lookup_directory):
    # The server will refuse the logon; the probe still asks it, so the refusal is the server's own.
    found = find_line(load_configured_directory(str(lookup_directory)), "sip:erin@example.com")
    assert (found.line, found.status, found.code) == ("tel:+1007", Status.WARN, None)
    assert "msRTCSIP-UserEnabled" in found.summary and "Cs_UserNotInDirectory" in found.summary


def test_without_config_the_bundled_demo_directory_is_read():
    # rccserver/data/directory.ldif, the demo's: bob's Line URI is tel:+1002
    assert find_line(load_configured_directory(None), "sip:bob@example.com").line == "tel:+1002"


def test_an_unreadable_configuration_or_directory_is_a_usage_error(tmp_path, capsys):
    missing = tmp_path / "missing.toml"
    assert probe.run(parse_args("--as", ALICE, "--config", str(missing))) == probe.EXIT_USAGE
    error = capsys.readouterr().err
    assert str(missing) in error and "--line" in error
    (tmp_path / "rccserver.toml").write_text('[directory]\nldif_file = "gone.ldif"\n')
    assert probe.run(parse_args("--as", ALICE, "--config", str(tmp_path / "rccserver.toml"))) == probe.EXIT_USAGE
    assert "gone.ldif" in capsys.readouterr().err


def test_an_ldap_directory_is_read_through_the_servers_loader(tmp_path, capsys):
    # Nothing listens on that port: the error is the LDAP loader's own, naming the URL.
    url = f"ldap://127.0.0.1:{free_port()}"
    (tmp_path / "rccserver.toml").write_text(f'[directory]\nsource = "ldap"\nurl = "{url}"\n'
                                             f'search_dn = "DC=example,DC=com"\ntimeout = 2\n')
    assert probe.run(parse_args("--as", ALICE, "--config", str(tmp_path / "rccserver.toml"))) == probe.EXIT_USAGE
    assert f"LDAP {url}: cannot connect" in capsys.readouterr().err


# -- against scripted loopback peers -------------------------------------------

class ScriptedPeer:
    """A one-connection SIP peer on loopback: `script(message, peer)` is called for every
    message the probe sends and may `peer.send(...)` anything back."""

    def __init__(self, script: Callable[[Request | Response, "ScriptedPeer"], None],
                 wrap: Callable[[socket.socket], socket.socket] | None = None) -> None:
        self.script = script
        self.wrap = wrap
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(WAIT)
        self.port = self.listener.getsockname()[1]
        self.received: list[Request | Response] = []
        self.conn: socket.socket | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "ScriptedPeer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join(WAIT)
        self.listener.close()

    def send(self, message: Request | Response | bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(message if isinstance(message, bytes) else message.to_bytes())

    def close(self) -> None:
        assert self.conn is not None
        self.conn.close()
        self.conn = None

    def _serve(self) -> None:
        try:
            raw, _ = self.listener.accept()
            self.listener.close()  # one connection only: later attempts are refused at once
            raw.settimeout(WAIT)
            self.conn = self.wrap(raw) if self.wrap else raw
            framer = StreamFramer()
            while self.conn is not None:
                data = self.conn.recv(65536)
                if not data:
                    return
                for item in framer.feed(data):
                    if isinstance(item, FramedMessage):
                        message = parse_message(item.data)
                        self.received.append(message)
                        self.script(message, self)
                        if self.conn is None:
                            return
        except (OSError, ssl.SSLError) as error:  # the probe hung up or refused the handshake
            self.error = error


def server_request(invite: Request, method: str, cseq: int, body: bytes = b"") -> Request:
    """A request from the peer inside the dialog the INVITE opened."""
    headers = [
        ("Via", f"SIP/2.0/TCP rcc.example.com;branch=z9hG4bKpeer{cseq}"),
        ("From", f"<{invite.uri}>;tag=peer"),
        ("To", invite.headers.get("From")),
        ("Call-ID", invite.call_id),
        ("CSeq", f"{cseq} {method}"),
    ]
    if body:
        headers += [("Content-Type", "application/csta+xml")]
    return Request(method, str(invite.from_.uri), headers, body)


def csta_ok(request: Request, message) -> Response:
    return make_response(request, 200, to_tag="peer", headers=[("Content-Type", "application/csta+xml")],
                         body=csta.encode(message))


def happy_script(events: tuple = ("Originated", "Delivered", "Established")):
    """Answers like a good server; sends a keep-alive after the 200 and call events after MakeCall."""
    state: dict = {"cseq": 0}

    def script(message, peer: ScriptedPeer) -> None:
        if isinstance(message, Response):
            return
        if message.method == "INVITE":
            state["invite"] = message
            peer.send(csta_ok(message, csta.RequestSystemStatusResponse(system_status="normal")))
            state["cseq"] += 1
            peer.send(server_request(message, "INFO", state["cseq"], csta.encode(csta.SystemStatus())))
            return
        if message.method in ("ACK",):
            return
        if message.method == "BYE":
            peer.send(make_response(message, 200))
            return
        request = csta.decode(message.body)
        if isinstance(request, csta.GetCSTAFeatures):
            peer.send(csta_ok(message, csta.features_response([csta.MakeCall, csta.MonitorStart])))
        elif isinstance(request, csta.MonitorStart):
            peer.send(csta_ok(message, csta.MonitorStartResponse(monitor_cross_ref_id="m7")))
        elif isinstance(request, csta.MakeCall):
            conn = csta.ConnectionID(call_id="c1", device_id=request.calling_device)
            peer.send(csta_ok(message, csta.MakeCallResponse(calling_device=conn)))
            for name in events:
                state["cseq"] += 1
                peer.send(server_request(state["invite"], "INFO", state["cseq"],
                                         csta.encode(_event(name, conn, request.called_directory_number))))
        elif isinstance(request, csta.ClearConnection):
            peer.send(csta_ok(message, csta.ClearConnectionResponse()))
        elif isinstance(request, csta.MonitorStop):
            peer.send(csta_ok(message, csta.MonitorStopResponse()))

    return script


def _event(name: str, conn: csta.ConnectionID, called: str):
    line = conn.device_id
    if name == "Originated":
        return csta.OriginatedEvent(monitor_cross_ref_id="m7", originated_connection=conn,
                                    calling_device=line, called_device=called)
    if name == "Delivered":
        return csta.DeliveredEvent(monitor_cross_ref_id="m7", connection=conn, alerting_device=called,
                                   calling_device=line, called_device=called)
    return csta.EstablishedEvent(monitor_cross_ref_id="m7", established_connection=conn,
                                 answering_device=called, calling_device=line, called_device=called)


def options(port: int, **extra) -> ProbeOptions:
    return ProbeOptions(**{"user": ALICE, "line": ALICE_LINE, "port": port, "timeout": WAIT, **extra})


def test_probe_walks_the_whole_chain_and_answers_the_server():
    with ScriptedPeer(happy_script()) as peer:
        report = run_probe(options(peer.port, call="tel:+1002"))
    assert report.ok, render_text(report)
    assert [s.status for s in report.steps] == [Status.OK] * 6
    methods = [m.method if isinstance(m, Request) else m.status for m in peer.received]
    # INVITE, keep-alive answered, ACK, both INFOs back to back, MakeCall, events answered, ...
    assert methods[0] == "INVITE" and methods.count("ACK") == 1 and methods[-1] == "BYE"
    answers = [m for m in peer.received if isinstance(m, Response)]
    assert len(answers) == 4 and all(a.status == 200 for a in answers)
    assert isinstance(csta.decode(answers[0].body), csta.SystemStatusResponse)
    infos = [csta.decode(m.body) for m in peer.received if isinstance(m, Request) and m.method == "INFO"]
    assert [type(i).__name__ for i in infos] == [
        "GetCSTAFeatures", "MonitorStart", "MakeCall", "ClearConnection", "MonitorStop"]  # hung up
    assert report.step("call").data["events"] == ["OriginatedEvent", "DeliveredEvent", "EstablishedEvent"]
    assert report.step("monitor").data["monitor_cross_ref_id"] == "m7"
    assert report.step("features").data["services"] == ["makeCall", "monitorStart"]


def test_a_ringing_test_call_is_cleared_after_delivery():
    with ScriptedPeer(happy_script(events=("Originated", "Delivered"))) as peer:
        report = run_probe(options(peer.port, call="tel:+15550100", answer_grace=0.2))
    assert report.ok, render_text(report)
    infos = [type(csta.decode(m.body)).__name__ for m in peer.received
             if isinstance(m, Request) and m.method == "INFO"]
    assert infos[-2:] == ["ClearConnection", "MonitorStop"]


def test_a_call_without_events_fails_the_probe():
    with ScriptedPeer(happy_script(events=())) as peer:
        report = run_probe(ProbeOptions(user=ALICE, line=ALICE_LINE, port=peer.port, timeout=WAIT,
                                        call="tel:+1002", call_wait=0.3))
    assert not report.ok and report.step("call").status is Status.FAIL
    assert "no Originated/Delivered event" in report.step("call").hint
    assert report.step("signout").status is Status.OK  # still signed out cleanly


def test_a_failure_inside_the_dialog_still_ends_it_with_bye():
    answer_all_but_makecall = happy_script()

    def script(message, peer):
        if isinstance(message, Request) and message.method == "INFO" and b"<MakeCall" in message.body:
            return  # the server never answers the MakeCall
        answer_all_but_makecall(message, peer)

    with ScriptedPeer(script) as peer:
        report = run_probe(ProbeOptions(user=ALICE, line=ALICE_LINE, port=peer.port, timeout=0.5,
                                        call="tel:+1002"))
    assert report.step("call").status is Status.FAIL and "no answer" in report.step("call").detail
    assert report.step("signout").status is Status.WARN
    assert "BYE after the failure answered 200" in report.step("signout").detail
    assert [m.method for m in peer.received if isinstance(m, Request)][-1] == "BYE"
    assert report.exit_code == 1


def test_refused_logon_reports_code_and_sends_no_info():
    def script(message, peer):
        if isinstance(message, Request) and message.method == "INVITE":
            peer.send(make_response(message, 486, to_tag="peer", headers=[
                ("Warning", '399 rcc.example.com "Cs_StationInUseByAnotherUser: station 1004 is used by Bob"')]))

    with ScriptedPeer(script) as peer:
        report = run_probe(options(peer.port))
    logon = report.step("logon")
    assert logon.status is Status.FAIL and logon.data["code"] == "Cs_StationInUseByAnotherUser"
    assert logon.hint == LOGON_HINTS["Cs_StationInUseByAnotherUser"] and "used by Bob" in logon.detail
    assert [m.method for m in peer.received] == ["INVITE"]
    assert report.exit_code == 1


def test_connection_closed_at_once_is_explained():
    with ScriptedPeer(lambda message, peer: peer.close()) as peer:
        report = run_probe(options(peer.port))
    assert report.step("logon").status is Status.FAIL and report.step("logon").hint == CLOSED_HINT


def test_tls_alert_on_a_plain_connection_says_use_tls():
    # What a TLS listener answers to plain-text SIP: a fatal alert record, then close.
    def script(message, peer):
        peer.send(b"\x15\x03\x03\x00\x02\x02\x46")
        peer.close()

    with ScriptedPeer(script) as peer:
        report = run_probe(options(peer.port))
    assert report.step("logon").hint == TLS_ALERT_ON_TCP_HINT


def test_silence_is_a_timeout_not_a_hang():
    with ScriptedPeer(lambda message, peer: None) as peer:
        report = run_probe(ProbeOptions(user=ALICE, line=ALICE_LINE, port=peer.port, timeout=0.3))
    assert report.step("logon").status is Status.FAIL and "no answer" in report.step("logon").detail


def test_nothing_listening_gives_the_not_running_hint():
    report = run_probe(options(free_port()))
    assert report.step("connect").status is Status.FAIL and report.step("connect").hint == NOT_RUNNING_HINT
    assert all(s.status is Status.SKIP for s in report.steps[1:]) and report.exit_code == 1


def test_without_line_the_directory_line_is_sent(lookup_directory):
    with ScriptedPeer(happy_script()) as peer:
        report = run_probe(options(peer.port, line=None, config=str(lookup_directory)))
    assert report.ok, render_text(report)
    assert [step.name for step in report.steps] == ["line", "connect", "logon", "features", "monitor", "signout"]
    assert report.step("line").status is Status.OK and report.line == "tel:+1001"
    invite = peer.received[0]
    assert invite.method == "INVITE" and csta.decode(invite.body).line == "tel:+1001"
    infos = [csta.decode(m.body) for m in peer.received if isinstance(m, Request) and m.method == "INFO"]
    assert infos[1].monitor_object == "tel:+1001"
    assert render_text(report).splitlines()[1].startswith("[ ok ] line (directory)")


@pytest.mark.parametrize("user, code, hint", [("sip:carl@example.com", "Cs_UserNotInDirectory", NOT_IN_DIRECTORY_HINT),
                                              ("sip:fred@example.com", "Cs_LineNotAssigned", NO_LINE_HINT)])
def test_without_a_line_in_the_directory_the_probe_does_not_connect(lookup_directory, user, code, hint):
    def opener(*args, **kwargs):
        raise AssertionError("the probe connected although it has no line")

    report = run_probe(ProbeOptions(user=user, line=None, config=str(lookup_directory)), opener=opener)
    assert report.exit_code == 1 and report.line is None
    line = report.step("line")
    assert (line.status, line.data["code"], line.hint) == (Status.FAIL, code, hint)
    assert all(step.status is Status.SKIP for step in report.steps[1:])
    assert report.verdict == f"FAILED: {user}: line (directory): {code}"
    document = json.loads(render_json(report))
    assert document["line"] is None and document["steps"][0]["data"]["code"] == code


def test_a_line_refused_by_the_server_points_at_a_stale_cache(lookup_directory):
    # The server's AD cache has another line for alice than the directory holds now.
    def script(message, peer):
        if isinstance(message, Request) and message.method == "INVITE":
            peer.send(make_response(message, 403, to_tag="peer", headers=[
                ("Warning", '399 rcc.example.com "Cs_LineNotAssigned: the line is tel:+1002"')]))

    with ScriptedPeer(script) as peer:
        report = run_probe(options(peer.port, line=None, config=str(lookup_directory)))
    logon = report.step("logon")
    assert logon.data["code"] == "Cs_LineNotAssigned" and logon.hint == STALE_LINE_HINT
    assert "rccserver -reload" in STALE_LINE_HINT


# -- TLS refusals against loopback TLS peers ------------------------------------

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("certs"), host="rcc.example.com")


def tls_wrapper(certs, *, require_client: bool) -> Callable[[socket.socket], socket.socket]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.server.certificate, certs.server.private_key)
    if require_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(certs.ca)
    return lambda raw: context.wrap_socket(raw, server_side=True)


def tls_options(port: int, certs, **extra) -> ProbeOptions:
    settings_ = dict(tls=True, ca_file=str(certs.ca), tls_name="rcc.example.com")
    settings_.update(extra)
    return options(port, **settings_)


def test_tls_chain_with_mutual_tls(certs):
    with ScriptedPeer(happy_script(), wrap=tls_wrapper(certs, require_client=True)) as peer:
        report = run_probe(tls_options(peer.port, certs, cert_file=str(certs.client.certificate),
                                       key_file=str(certs.client.private_key)))
    assert report.ok, render_text(report)
    assert "TLS" in report.step("connect").detail and "client certificate offered" in report.step("connect").detail


def test_tls_unknown_ca(certs):
    with ScriptedPeer(happy_script(), wrap=tls_wrapper(certs, require_client=False)) as peer:
        report = run_probe(tls_options(peer.port, certs, ca_file=str(certs.foreign_ca)))
    assert report.step("connect").hint == UNKNOWN_CA_HINT and "unknown CA" in report.step("connect").detail


def test_tls_hostname_mismatch(certs):
    with ScriptedPeer(happy_script(), wrap=tls_wrapper(certs, require_client=False)) as peer:
        report = run_probe(tls_options(peer.port, certs, tls_name="other.example.org"))
    assert report.step("connect").hint == HOSTNAME_HINT


def test_tls_client_certificate_required(certs):
    with ScriptedPeer(happy_script(), wrap=tls_wrapper(certs, require_client=True)) as peer:
        report = run_probe(tls_options(peer.port, certs))
    failed = next(s for s in report.steps if s.status is Status.FAIL)
    assert failed.name in ("connect", "logon")  # TLS 1.3 reports it after our side of the handshake
    assert CLIENT_CERT_REQUIRED_HINT in failed.hint


def test_tls_client_certificate_from_a_foreign_ca_is_refused(certs):
    foreign = certs.variant("client-foreign")
    with ScriptedPeer(happy_script(), wrap=tls_wrapper(certs, require_client=True)) as peer:
        report = run_probe(tls_options(peer.port, certs, cert_file=str(foreign.certificate),
                                       key_file=str(foreign.private_key)))
    failed = next(s for s in report.steps if s.status is Status.FAIL)
    assert CLIENT_CERT_REFUSED_HINT in failed.hint


def test_tls_to_a_plain_listener(certs):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_plainly():
        conn, _ = listener.accept()
        conn.settimeout(WAIT)
        conn.recv(4096)  # the ClientHello
        conn.sendall(b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer_plainly, daemon=True)
    thread.start()
    try:
        report = run_probe(tls_options(port, certs))
    finally:
        thread.join(WAIT)
        listener.close()
    assert report.step("connect").hint == NOT_TLS_HINT


# -- the command against the real server -----------------------------------------

def run_probe_command(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rccserver", "probe", *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_command_nothing_listening():
    result = run_probe_command("--as", ALICE, "--line", ALICE_LINE, "--target", f"127.0.0.1:{free_port()}",
                               "--timeout", "3")
    assert result.returncode == 1
    assert "connection refused" in result.stdout and "not running" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("verdict: FAILED")


# Users of the real-server testbed (domain EXAMPLE, Line URIs tel:+<station>):
#   alice 1001, bob 1002: licensed, own stations          -> Cs_Success
#   erin: disabled in AD                                  -> Cs_UserNotInDirectory
#   dave: line tel:+1099, no such station                 -> Cs_StationNotFound
#   hank: station 1004, which the tests give to Bob's CIC client -> Cs_StationInUseByAnotherUser
#   fred: no msRTCSIP-Line                                -> a probe without --line stops at Cs_LineNotAssigned
TESTBED_USERS = [("alice", "tel:+1001", True), ("bob", "tel:+1002", True), ("erin", "tel:+1007", False),
                 ("dave", "tel:+1099", True), ("hank", "tel:+1004", True), ("fred", None, True)]
TESTBED_CIC_USERS = [("Alice", "alice"), ("Bob", "bob"), ("Erin", "erin"), ("Dave", "dave"), ("Hank", "hank")]


def write_server(directory: Path, *, transport: str = "tcp", line_extra: str = "") -> ServerProcess:
    directory.mkdir(parents=True, exist_ok=True)
    sip_port, admin_port = free_port(), free_port()
    (directory / "directory.ldif").write_text("\n".join(
        f"dn: CN={sam},CN=Users,DC=example,DC=com\nobjectClass: user\nsAMAccountName: {sam}\n"
        f"displayName: {sam.title()}\nmsRTCSIP-PrimaryUserAddress: sip:{sam}@example.com\n"
        + (f"msRTCSIP-Line: {line}\n" if line else "")
        + f"msRTCSIP-LineServer: sip:rcc@rcc.example.com\nmsRTCSIP-UserEnabled: {'TRUE' if enabled else 'FALSE'}\n"
        for sam, line, enabled in TESTBED_USERS))
    cic = ['[licenses]\nfeatures = ["I3_FEATURE_LYNC"]\n']
    for number, (uid, sam) in enumerate(TESTBED_CIC_USERS):
        cic.append(f'[[users]]\nid = "{uid}"\nnt_domain_user = \'EXAMPLE\\{sam}\'\nextension = "80{number:02d}"\n'
                   f"client_license = true\nallow_remote_number = false\n")
    for extension in ("1001", "1002", "1004"):
        cic.append(f'[[stations]]\nname = "Desk{extension}"\nextension = "{extension}"\n'
                   f'identification_address = "tel:+{extension}"\n')
    (directory / "cic.toml").write_text("\n".join(cic))
    (directory / "rccserver.toml").write_text(f"""[server]
log_file = "rccserver.log"
pid_file = "rccserver.pid"

[line]
domain_name = "rcc.example.com"
transport = "{transport}"
address = "127.0.0.1"
receive_port = {sip_port}
session_timeout = 0
{line_extra}

[directory]
source = "ldif"
ldif_file = "directory.ldif"
netbios_domain = "EXAMPLE"

[cic]
data_file = "cic.toml"

[admin]
listen = "127.0.0.1:{admin_port}"
""")
    return ServerProcess(directory / "rccserver.toml", sip_port, admin_port)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = write_server(tmp_path_factory.mktemp("probe-server")).start()
    yield process
    assert process.stop() == 0


def probe_json(server: ServerProcess, user: str, line: str | None, *extra: str) -> tuple[int, dict]:
    """Without a line, the probe takes it from the server's own configuration (--config)."""
    line_options = ("--line", line) if line else ("--config", str(server.config_path))
    result = run_probe_command("--as", f"sip:{user}@example.com", *line_options,
                               "--target", f"127.0.0.1:{server.sip_port}", "--server-uri",
                               "sip:rcc@rcc.example.com", "--timeout", "10", "--json", *extra)
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["exit_code"] == result.returncode
    return result.returncode, {step["name"]: step for step in document["steps"]} | {"verdict": document["verdict"]}


def test_real_server_good_user_signs_in_and_out(server):
    code, steps = probe_json(server, "alice", "tel:+1001")
    assert code == 0, steps
    assert [steps[name]["status"] for name in ("connect", "logon", "features", "monitor", "signout")] == ["ok"] * 5
    assert steps["logon"]["data"]["sip_status"] == 200
    assert {"makeCall", "monitorStart", "answerCall"} <= set(steps["features"]["data"]["services"])
    assert steps["monitor"]["data"]["monitor_cross_ref_id"]
    assert "Cs_Success" in server.log_text and "sip:alice@example.com" in server.log_text
    status, sessions = server.admin("GET", "/api/sessions")
    assert status == 200 and "sip:alice@example.com" not in json.dumps(sessions)  # signed out


@pytest.mark.parametrize("user, line, code", [
    ("erin", "tel:+1007", "Cs_UserNotInDirectory"),
    ("dave", "tel:+1099", "Cs_StationNotFound"),
    ("alice", "tel:+1002", "Cs_LineNotAssigned"),
    ("carl", "tel:+1003", "Cs_UserNotInDirectory"),
])
def test_real_server_refusals_carry_code_and_hint(server, user, line, code):
    exit_code, steps = probe_json(server, user, line)
    assert exit_code == 1
    assert steps["logon"]["status"] == "fail" and steps["logon"]["data"]["code"] == code
    assert steps["logon"]["hint"] == LOGON_HINTS[code]
    assert steps["verdict"].endswith(code)
    assert all(steps[name]["status"] == "skip" for name in ("features", "monitor", "signout"))


def test_real_server_station_in_use(server):
    status, _ = server.admin("POST", "/api/stations/1004/login", {"user": "Bob"})
    assert status == 200
    try:
        exit_code, steps = probe_json(server, "hank", "tel:+1004")
    finally:
        server.admin("POST", "/api/stations/1004/logout")
    assert exit_code == 1 and steps["logon"]["data"]["code"] == "Cs_StationInUseByAnotherUser"
    assert steps["logon"]["hint"] == LOGON_HINTS["Cs_StationInUseByAnotherUser"]
    assert steps["logon"]["data"]["sip_status"] == 486


def test_real_server_test_call_reports_its_events(server):
    exit_code, steps = probe_json(server, "alice", "tel:+1001", "--call", "tel:+1002", "--call-wait", "5")
    assert exit_code == 0, steps
    events = steps["call"]["data"]["events"]
    assert {"OriginatedEvent", "DeliveredEvent"} <= set(events)
    assert events.index("OriginatedEvent") < events.index("DeliveredEvent")
    status, stations = server.admin("GET", "/api/stations")
    assert status == 200 and steps["call"]["data"]["call_id"] not in json.dumps(stations)  # hung up


def test_real_server_text_checklist(server):
    result = run_probe_command("--as", "sip:erin@example.com", "--line", "tel:+1007",
                               "--target", f"127.0.0.1:{server.sip_port}")
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[1].startswith("[ ok ] connect") and lines[2].startswith("[FAIL] logon (INVITE)")
    assert "Cs_UserNotInDirectory" in lines[2] and "rccserver -reload" in result.stdout
    assert lines[-1].startswith("verdict: FAILED") and lines[-1].endswith("Cs_UserNotInDirectory")


def test_real_server_denied_peer(tmp_path):
    server = write_server(tmp_path / "denied", line_extra='access = "denied"').start()
    try:
        exit_code, steps = probe_json(server, "alice", "tel:+1001", "--timeout", "5")
    finally:
        server.stop()
    assert exit_code == 1
    failed = next(step for step in steps.values() if isinstance(step, dict) and step["status"] == "fail")
    assert "access list" in failed["hint"]


def test_real_server_mutual_tls(tmp_path, certs):
    server = write_server(tmp_path / "mtls", transport="tls", line_extra=(
        f'mutual_tls = true\ncertificate = "{certs.server.certificate}"\n'
        f'private_key = "{certs.server.private_key}"\nauthority_certificates = ["{certs.ca}"]'))
    server.start()
    tls = ("--tls", "--ca", str(certs.ca), "--tls-name", "rcc.example.com")
    try:
        plain_code, plain = probe_json(server, "alice", "tel:+1001")
        no_cert_code, no_cert = probe_json(server, "alice", "tel:+1001", *tls)
        code, steps = probe_json(server, "alice", "tel:+1001", *tls, "--cert", str(certs.client.certificate),
                                 "--key", str(certs.client.private_key))
    finally:
        server.stop()
    assert plain_code == 1 and plain["logon"]["hint"] == TLS_ALERT_ON_TCP_HINT
    assert no_cert_code == 1
    failed = next(step for step in no_cert.values() if isinstance(step, dict) and step["status"] == "fail")
    assert CLIENT_CERT_REQUIRED_HINT in failed["hint"]
    assert code == 0, steps
    assert "TLS" in steps["connect"]["detail"]


# -- the line from the server's own configuration (no --line) -------------------------

def test_real_server_line_from_the_configured_directory(server):
    code, steps = probe_json(server, "alice", None)
    assert code == 0, steps
    assert steps["line"]["status"] == "ok" and "tel:+1001" in steps["line"]["detail"]
    assert [steps[name]["status"] for name in ("connect", "logon", "features", "monitor", "signout")] == ["ok"] * 5


@pytest.mark.parametrize("user, code", [("carl", "Cs_UserNotInDirectory"), ("fred", "Cs_LineNotAssigned")])
def test_real_server_user_without_a_directory_line(server, user, code):
    exit_code, steps = probe_json(server, user, None)
    assert exit_code == 1
    assert steps["line"]["status"] == "fail" and steps["line"]["data"]["code"] == code
    assert steps["verdict"].endswith(code)
    assert all(steps[name]["status"] == "skip" for name in ("connect", "logon", "features", "monitor", "signout"))


def test_real_server_disabled_user_from_the_directory_is_refused_by_the_server(server):
    exit_code, steps = probe_json(server, "erin", None)
    assert exit_code == 1
    assert steps["line"]["status"] == "warn" and "tel:+1007" in steps["line"]["detail"]
    assert steps["logon"]["data"]["code"] == "Cs_UserNotInDirectory" and steps["logon"]["data"]["sip_status"] == 404


def test_real_server_text_checklist_without_a_line(server):
    result = run_probe_command("--as", "sip:carl@example.com", "--config", str(server.config_path),
                               "--target", f"127.0.0.1:{server.sip_port}")
    assert result.returncode == 1 and result.stderr == ""
    lines = result.stdout.strip().splitlines()
    assert lines[1].startswith("[FAIL] line (directory)") and "sip:carl@example.com" in lines[1]
    assert "Cs_UserNotInDirectory" in result.stdout
    assert lines[-1] == "verdict: FAILED: sip:carl@example.com: line (directory): Cs_UserNotInDirectory"

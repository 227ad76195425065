"""`rccserver probe`: sign in like Lync and report each step of the logon chain.

    rccserver probe --as sip:alice@example.com [--line tel:+1001 | --config FILE] [--target host:port]
                    [--tls [--ca FILE] [--cert FILE --key FILE] [--tls-name NAME]]
                    [--server-uri sip:rcc@host] [--call tel:NUMBER] [--timeout S] [--json]

Without --line the user's msRTCSIP-Line comes from the directory of the
configuration (line_lookup.py); a user it does not hold, or one without a line,
fails there with the Cs_ code the server would answer, before any connection.

The chain (reference sections 6.1, 6.3, 6.8): TCP/TLS connect; INVITE with a CSTA
RequestSystemStatus carrying `lcs:line`, ACK; GetCSTAFeatures and MonitorStart sent
back to back; optionally MakeCall to --call with the events that follow; MonitorStop;
BYE. While waiting, every request the server sends in the dialog (events,
keep-alive SystemStatus, BYE) is answered 200. A refused logon is explained from
the `Cs_` code in the Warning header (rccserver/commands/probe/hints.py).

Exit codes: 0 logon works (and the test call, if asked, got at least an
Originated/Delivered event); 1 it does not; 2 the probe itself was called wrongly
(bad arguments, unreadable certificate files, or without --line a configuration
or directory it cannot read).
"""
from __future__ import annotations

import argparse
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any

import attrs

from rccserver import csta
from rccserver.commands.probe.dialog import ProbeDialog, host_port
from rccserver.commands.probe.hints import (
    STALE_LINE_HINT, Finding, closed_without_answer, connect_failure, logon_refusal,
)
from rccserver.commands.probe.line_lookup import DirectoryUnreadable, find_line, load_configured_directory
from rccserver.commands.probe.report import Report, Status, render_json, render_text
from rccserver.commands.probe.wire import (
    Clock, ConnectionClosed, PeerProtocolError, SipConnection, WaitTimeout, make_tls_context, speaks_tls,
)
from rccserver.directory.cache import DirectoryCache
from rccserver.sip import Request, Response, TelUri, parse_uri
from rccserver.sip.errors import SipParseError

DEFAULT_PORT = 11001
DEFAULT_TARGET = f"127.0.0.1:{DEFAULT_PORT}"
DEFAULT_TIMEOUT = 10.0
DEFAULT_CALL_WAIT = 5.0
# After the call is delivered, how long to wait for it to be answered before ending the test.
ANSWER_GRACE = 1.0
# How long a BYE sent after a failure may take: the probe is already reporting trouble.
ABANDON_TIMEOUT = 2.0

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# Events that show the switch placed the test call.
CALL_PROGRESS_EVENTS = frozenset({"OriginatedEvent", "DeliveredEvent"})
# Events after which the test call has nothing more to say.
CALL_FINAL_EVENTS = frozenset({"EstablishedEvent", "FailedEvent", "ConnectionClearedEvent"})


class ProbeUsageError(ValueError):
    """The probe was called wrongly (exit code 2)."""


@attrs.frozen(slots=True)
class ProbeOptions:
    user: str
    line: str | None  # None: the user's msRTCSIP-Line from the directory of `config`
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    tls_name: str | None = None
    verify: bool = True
    server_uri: str | None = None  # default: sip:rcc@<tls_name or host>
    call: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    call_wait: float = DEFAULT_CALL_WAIT
    answer_grace: float = ANSWER_GRACE
    config: str | None = None  # the configuration whose directory gives the line; None: the bundled demo

    @property
    def target(self) -> str:
        return host_port(self.host, self.port)

    @property
    def request_uri(self) -> str:
        if self.server_uri is not None:
            return self.server_uri
        name = self.tls_name or self.host
        return f"sip:rcc@{f'[{name}]' if ':' in name else name}"


@attrs.frozen(slots=True)
class ReceivedEvent:
    name: str  # root element, e.g. "DeliveredEvent"
    message: Any


def parse_target(text: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` -> (host, port); the port defaults to 11001."""
    text = text.strip()
    if not text:
        raise ProbeUsageError("--target is empty")
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not host:
            raise ProbeUsageError(f"--target {text!r}: unclosed '[' in an IPv6 address")
        if rest and not rest.startswith(":"):
            raise ProbeUsageError(f"--target {text!r}: expected ':port' after ']'")
        port_text = rest[1:] if rest else ""
    elif text.count(":") > 1:
        host, port_text = text, ""  # a bare IPv6 address
    else:
        host, _, port_text = text.partition(":")
        if not host:
            raise ProbeUsageError(f"--target {text!r}: no host")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ProbeUsageError(f"--target {text!r}: port must be a number in 1..65535")
    return host, int(port_text)


def _check_uri(option: str, text: str, schemes: tuple[str, ...]) -> str:
    try:
        uri = parse_uri(text)
    except SipParseError as error:
        raise ProbeUsageError(f"{option} {text!r}: {error}") from None
    scheme = text.split(":", 1)[0].lower()
    if scheme not in schemes:
        raise ProbeUsageError(f"{option} {text!r}: expected a {' or '.join(s + ':' for s in schemes)} URI")
    if isinstance(uri, TelUri) and not text[4:]:
        raise ProbeUsageError(f"{option} {text!r}: no number")
    return text


def options_from_args(args: argparse.Namespace) -> ProbeOptions:
    """Validate the command line; raises ProbeUsageError naming the bad option."""
    host, port = parse_target(args.target)
    if args.timeout <= 0 or args.call_wait <= 0:
        raise ProbeUsageError("--timeout and --call-wait must be positive")
    tls_only = [name for name, value in (("--ca", args.ca), ("--cert", args.cert), ("--key", args.key),
                                         ("--tls-name", args.tls_name)) if value]
    if tls_only and not args.tls:
        raise ProbeUsageError(f"{', '.join(tls_only)} only apply with --tls")
    if args.insecure and not args.tls:
        raise ProbeUsageError("--insecure only applies with --tls")
    if bool(args.cert) != bool(args.key):
        raise ProbeUsageError("--cert and --key go together (the client certificate and its key)")
    return ProbeOptions(
        user=_check_uri("--as", args.user, ("sip", "sips")),
        line=_check_uri("--line", args.line, ("tel", "sip")) if args.line else None,
        host=host, port=port, tls=args.tls, ca_file=args.ca, cert_file=args.cert,
        key_file=args.key, tls_name=args.tls_name, verify=not args.insecure,
        server_uri=_check_uri("--server-uri", args.server_uri, ("sip", "sips")) if args.server_uri else None,
        call=_check_uri("--call", args.call, ("tel", "sip")) if args.call else None,
        timeout=args.timeout, call_wait=args.call_wait, config=args.config,
    )


class _Session:
    """The probe's dialog over its connection: sends requests, waits for their answers and
    answers everything the server sends meanwhile."""

    def __init__(self, connection: SipConnection, dialog: ProbeDialog, clock: Clock) -> None:
        self.connection = connection
        self.dialog = dialog
        self.clock = clock
        self.events: list[ReceivedEvent] = []
        self.keepalives = 0
        self.ended_by_server = False
        self.bye_sent = False
        self.notes: list[str] = []

    def send(self, request: Request) -> tuple[int, str]:
        self.connection.send(request)
        return request.cseq

    def wait_final(self, keys: list[tuple[int, str]], timeout: float) -> dict[tuple[int, str], Response]:
        """The final responses to the requests with these CSeqs; raises WaitTimeout."""
        deadline = self.clock() + timeout
        got: dict[tuple[int, str], Response] = {}
        while len(got) < len(keys):
            message = self.connection.receive(deadline)
            if isinstance(message, Request):
                self._serve(message)
            elif message.status >= 200 and message.cseq in keys and message.cseq not in got:
                got[message.cseq] = message
        return got

    def transact(self, request: Request, timeout: float) -> Response:
        key = self.send(request)
        return self.wait_final([key], timeout)[key]

    def pump_once(self, deadline: float) -> bool:
        """Answer the next server request (or skip a stray response); False at the deadline."""
        try:
            message = self.connection.receive(deadline)
        except WaitTimeout:
            return False
        if isinstance(message, Request):
            self._serve(message)
        return True

    def _serve(self, request: Request) -> None:
        status, body = 200, b""
        if request.method == "BYE" and self.dialog.belongs(request):
            self.ended_by_server = True
        elif request.method == "INFO" and self.dialog.belongs(request):
            body = self._take_csta(request.body)
        response = self.dialog.answer(request, status, body)
        if response is not None:
            self.connection.send(response)

    def _take_csta(self, body: bytes) -> bytes:
        """Record an event or keep-alive; return the CSTA body to answer with (or b'')."""
        try:
            message, namespace = csta.decode_document(body)
        except csta.CstaDecodeError as error:
            self.notes.append(f"undecodable CSTA body from the server: {error}")
            return b""
        name = type(message).ELEMENT
        if isinstance(message, csta.SystemStatus):
            self.keepalives += 1
            return csta.encode(csta.SystemStatusResponse(), namespace)
        if name.endswith("Event"):
            self.events.append(ReceivedEvent(name, message))
        else:
            self.notes.append(f"unexpected CSTA {name} from the server")
        return b""


def run_probe(options: ProbeOptions, *, clock: Clock = time.monotonic,
              opener: Callable[..., SipConnection] = SipConnection.open,
              directory: Callable[[str | None], DirectoryCache] = load_configured_directory) -> Report:
    """Run the whole chain and return the checklist. Never raises for network trouble: every
    failure becomes a failed step with a hint. Raises ProbeUsageError for unreadable TLS files
    and, without a line, for a configuration or directory (`directory(options.config)`) it
    cannot read."""
    report = Report(user=options.user, line=options.line, target=options.target,
                    transport="TLS" if options.tls else "TCP", call_asked=options.call is not None)
    context = _tls_context(options) if options.tls else None
    if options.line is None:
        line = _line_from_directory(options, report, directory)
        if line is None:
            report.skip_rest("not run: no line to sign in with")
            return report
        options = attrs.evolve(options, line=line)
    connection = _connect(options, context, report, clock, opener)
    if connection is None:
        report.skip_rest("not run: no connection")
        return report
    try:
        _chain(options, connection, report, clock)
    finally:
        connection.close()
    report.skip_rest("not run: an earlier step failed")
    return report


def _line_from_directory(options: ProbeOptions, report: Report,
                         directory: Callable[[str | None], DirectoryCache]) -> str | None:
    """The `line` step: the user's line from the directory, or None when it has none."""
    try:
        cache = directory(options.config)
    except DirectoryUnreadable as error:
        raise ProbeUsageError(f"cannot read the user's line from the directory: {error} (name the "
                              f"configuration with --config FILE, or the line with --line TEL_URI)") from None
    found = find_line(cache, options.user)
    data = {"code": found.code} if found.code else {"line": found.line}
    report.add("line", found.status, found.summary, found.hint, **data)
    report.line = found.line
    return found.line


def _tls_context(options: ProbeOptions) -> ssl.SSLContext:
    try:
        return make_tls_context(ca_file=options.ca_file, cert_file=options.cert_file,
                                key_file=options.key_file, verify=options.verify)
    except (OSError, ssl.SSLError) as error:
        named = ", ".join(f"{flag} {path}" for flag, path in (
            ("--ca", options.ca_file), ("--cert", options.cert_file), ("--key", options.key_file)) if path)
        raise ProbeUsageError(f"cannot load the TLS files ({named}): {error}") from None


def _connect(options: ProbeOptions, context: ssl.SSLContext | None, report: Report, clock: Clock,
             opener: Callable[..., SipConnection]) -> SipConnection | None:
    started = clock()
    try:
        connection = opener(options.host, options.port, timeout=options.timeout, tls=context,
                            server_hostname=options.tls_name or options.host, clock=clock)
    except OSError as error:  # includes socket.timeout, gaierror and ssl.SSLError
        finding = connect_failure(error, tls=options.tls, client_cert=options.cert_file is not None)
        report.add("connect", Status.FAIL, f"{report.transport} to {options.target}: {finding.summary}",
                   finding.hint)
        return None
    elapsed = clock() - started
    detail = (f"{connection.transport} connected to {options.target} from {host_port(*connection.local)} "
              f"({elapsed * 1000:.0f} ms)")
    if connection.tls_version:
        detail += f", {connection.tls_version}"
        if options.cert_file:
            detail += ", client certificate offered"
    if not options.verify:
        report.add("connect", Status.WARN, detail + ", server certificate NOT verified (--insecure)",
                   "drop --insecure to check the certificate Lync will see")
    else:
        report.add("connect", Status.OK, detail, elapsed_ms=round(elapsed * 1000, 1))
    return connection


def _chain(options: ProbeOptions, connection: SipConnection, report: Report, clock: Clock) -> None:
    dialog = ProbeDialog(user=options.user, server_uri=options.request_uri,
                         transport=connection.transport, local=connection.local)
    session = _Session(connection, dialog, clock)
    client_cert = options.cert_file is not None
    try:
        if not _logon(options, session, report):
            return
        usable, xref = _features_and_monitor(options, session, report)
        if not usable:
            _sign_out(options, session, report, xref)
            return
        if options.call is not None:
            _test_call(options, session, report, xref)
        _sign_out(options, session, report, xref)
    except WaitTimeout:
        _fail_current(report, f"no answer from the server within {options.timeout:g} s",
                      "the server is overloaded or hung: see the RCCServer log")
    except ConnectionClosed as closed:
        if closed.answered or report.step("logon") is not None:
            _fail_current(report, "the server closed the connection", "see the RCCServer log")
        else:
            finding = _closed_before_answer(options, closed.received)
            _fail_current(report, finding.summary, finding.hint)
    except PeerProtocolError as error:
        _fail_current(report, str(error), "the peer is not an RCC line (wrong --target?)")
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as error:
        if not options.tls and report.step("logon") is None:
            finding = _closed_before_answer(options, b"")
        else:
            finding = connect_failure(error, tls=options.tls, client_cert=client_cert)
        _fail_current(report, finding.summary, finding.hint)
    except OSError as error:  # a TLS alert that TLS 1.3 delivers after the handshake, ...
        finding = connect_failure(error, tls=options.tls, client_cert=client_cert)
        _fail_current(report, finding.summary, finding.hint)
    if session.dialog.established and not session.bye_sent and not session.ended_by_server:
        _abandon(options, session, report)
    if session.notes:
        step = report.steps[-1]
        report.steps[-1] = attrs.evolve(step, detail=f"{step.detail} ({'; '.join(session.notes)})")


def _closed_before_answer(options: ProbeOptions, received: bytes) -> Finding:
    # A plain connection closed at once: an access-list denial, or a TLS line. Ask the port.
    sniffed = not options.tls and speaks_tls(options.host, options.port, timeout=options.timeout)
    return closed_without_answer(received, tls=options.tls, client_cert=options.cert_file is not None,
                                 port_speaks_tls=sniffed)


def _current_step(report: Report) -> str:
    order = ["logon", "features", "monitor", "call", "signout"]
    for name in order:
        if report.step(name) is None and (name != "call" or report.call_asked):
            return name
    return "signout"


def _fail_current(report: Report, detail: str, hint: str | None) -> None:
    name = _current_step(report)
    if report.step(name) is not None:
        return
    report.add(name, Status.FAIL if name != "signout" else Status.WARN, detail, hint)


def _logon(options: ProbeOptions, session: _Session, report: Report) -> bool:
    invite = session.dialog.invite(csta.encode(csta.RequestSystemStatus(line=options.line)))
    response = session.transact(invite, options.timeout)
    if response.status >= 300:
        finding: Finding = logon_refusal(response.status, response.reason, response.headers.get_all("Warning"))
        if finding.code == "Cs_LineNotAssigned" and report.step("line") is not None:
            finding = attrs.evolve(finding, hint=STALE_LINE_HINT)  # no --line to blame: the line is AD's
        report.add("logon", Status.FAIL, finding.summary, finding.hint,
                   sip_status=response.status, code=finding.code, server_detail=finding.detail)
        return False
    session.dialog.on_invite_response(response)
    session.connection.send(session.dialog.ack(invite.cseq[0]))
    try:
        answer = csta.decode(response.body)
    except csta.CstaDecodeError as error:
        report.add("logon", Status.FAIL, f"INVITE answered {response.status} but its body is not CSTA: {error}",
                   "the peer is not rccserver, or it is broken: see the RCCServer log", sip_status=response.status)
        return False
    if not isinstance(answer, csta.RequestSystemStatusResponse):
        report.add("logon", Status.FAIL, f"INVITE answered {response.status} with {type(answer).__name__}, "
                   "not RequestSystemStatusResponse", "see the RCCServer log", sip_status=response.status)
        return False
    if answer.system_status != "normal":
        report.add("logon", Status.FAIL, f"systemStatus is {answer.system_status!r}, not 'normal'",
                   "Lync starts RCC only on 'normal': see the RCCServer log", sip_status=response.status)
        return False
    expires = response.headers.get("Session-Expires")
    detail = f"INVITE answered {response.status} {response.reason}, systemStatus normal, Cs_Success"
    if expires:
        detail += f", Session-Expires {expires}"
    report.add("logon", Status.OK, detail, sip_status=response.status, code="Cs_Success",
               session_expires=expires)
    return True


def _features_and_monitor(options: ProbeOptions, session: _Session, report: Report) -> tuple[bool, str | None]:
    """(both worked, the monitorCrossRefID if the monitor started)."""
    # Lync sends both at once without waiting (reference section 2.2).
    features_key = session.send(session.dialog.info(csta.encode(csta.GetCSTAFeatures(line=options.line))))
    monitor_key = session.send(session.dialog.info(csta.encode(csta.MonitorStart(monitor_object=options.line))))
    answers = session.wait_final([features_key, monitor_key], options.timeout)
    features = _csta_answer(answers[features_key], csta.GetCSTAFeaturesResponse)
    if isinstance(features, str):
        report.add("features", Status.FAIL, features, "see the RCCServer log")
    else:
        services = sorted(features.supported_services)
        report.add("features", Status.OK if services else Status.WARN,
                   f"{len(services)} services: {', '.join(services)}" if services else "no services advertised",
                   None if services else "Lync enables no RCC feature without advertised services",
                   services=services)
    monitor = _csta_answer(answers[monitor_key], csta.MonitorStartResponse)
    if isinstance(monitor, str):
        report.add("monitor", Status.FAIL, monitor, "Lync gets no events without a monitor: see the RCCServer log")
        return False, None
    xref = monitor.monitor_cross_ref_id
    report.add("monitor", Status.OK, f"monitorCrossRefID {xref}", monitor_cross_ref_id=xref)
    return not isinstance(features, str), xref


def _csta_answer(response: Response, expected: type) -> Any:
    """The decoded CSTA answer of the right type, or a sentence saying what came instead."""
    if response.status != 200:
        return f"INFO answered {response.status} {response.reason}"
    try:
        answer = csta.decode(response.body)
    except csta.CstaDecodeError as error:
        return f"200 OK without a decodable CSTA answer: {error}"
    if isinstance(answer, csta.ErrorCode):
        return f"CSTAErrorCode {answer}"
    if not isinstance(answer, expected):
        return f"answered {type(answer).__name__}, expected {expected.__name__}"
    return answer


def _test_call(options: ProbeOptions, session: _Session, report: Report, xref: str) -> None:
    assert options.call is not None
    request = csta.MakeCall(calling_device=options.line, called_directory_number=options.call,
                            auto_originate="doNotPrompt")
    answer = _csta_answer(session.transact(session.dialog.info(csta.encode(request)), options.timeout),
                          csta.MakeCallResponse)
    if isinstance(answer, str):
        report.add("call", Status.FAIL, f"MakeCall to {options.call}: {answer}",
                   "check that the line's station may dial that number; see the RCCServer log")
        return
    call_id = answer.calling_device.call_id
    device_id = answer.calling_device.device_id

    def ours() -> list[ReceivedEvent]:
        return [event for event in session.events if _is_ours(event, xref, call_id)]

    # Collect events until the call settles: answered, failed or cleared; or, if it only
    # rings, a short grace after delivery; or at the latest after --call-wait.
    deadline = session.clock() + options.call_wait
    delivered = False
    while session.clock() < deadline:
        names = {event.name for event in ours()}
        if names & CALL_FINAL_EVENTS or session.ended_by_server:
            break
        if "DeliveredEvent" in names and not delivered:
            delivered = True
            deadline = min(deadline, session.clock() + options.answer_grace)
        session.pump_once(deadline)
    names = [event.name for event in ours()]
    shown = ", ".join(name.removesuffix("Event") for name in names) or "none"
    cleared = _clear_call(options, session, call_id)
    data = {"call_id": call_id, "events": names}
    progressed = bool(set(names) & CALL_PROGRESS_EVENTS)
    detail = f"call to {options.call} (callID {call_id}): events {shown}"
    if device_id is not None and device_id != options.line:
        detail += f"; MakeCallResponse deviceID {device_id!r} differs from the line (Lync ignores the call)"
    if cleared:
        detail += f"; {cleared}"
    if progressed:
        report.add("call", Status.OK, detail, **data)
    else:
        report.add("call", Status.FAIL, detail,
                   f"no Originated/Delivered event within {options.call_wait:g} s: the switch did not "
                   "place the call or events do not reach the monitor; see the RCCServer log", **data)


def _is_ours(event: ReceivedEvent, xref: str, call_id: str | None) -> bool:
    if getattr(event.message, "monitor_cross_ref_id", None) != xref:
        return False
    if call_id is None:
        return True
    for field in attrs.fields(type(event.message)):
        value = getattr(event.message, field.name)
        if isinstance(value, csta.ConnectionID) and value.call_id == call_id:
            return True
    return False


def _clear_call(options: ProbeOptions, session: _Session, call_id: str | None) -> str:
    """End the test call so the probe leaves nothing ringing; a sentence if that failed."""
    if call_id is None or session.ended_by_server:
        return ""
    ours = [e.name for e in session.events if e.name == "ConnectionClearedEvent"
            and getattr(e.message, "dropped_connection", None) is not None
            and e.message.dropped_connection.call_id == call_id]
    if ours:
        return ""
    request = csta.ClearConnection(connection_to_be_cleared=csta.ConnectionID(call_id=call_id, device_id=options.line))
    answer = _csta_answer(session.transact(session.dialog.info(csta.encode(request)), options.timeout),
                          csta.ClearConnectionResponse)
    return f"ClearConnection: {answer}" if isinstance(answer, str) else "cleared"


def _sign_out(options: ProbeOptions, session: _Session, report: Report, xref: str | None) -> None:
    if session.ended_by_server:
        report.add("signout", Status.WARN, "the server ended the dialog (BYE) before sign-out",
                   "see the RCCServer log for why the session ended")
        return
    parts: list[str] = []
    problems: list[str] = []
    if xref is not None:
        stopped = _csta_answer(session.transact(session.dialog.info(
            csta.encode(csta.MonitorStop(monitor_cross_ref_id=xref))), options.timeout), csta.MonitorStopResponse)
        if isinstance(stopped, str):
            problems.append(f"MonitorStop: {stopped}")
        else:
            parts.append("MonitorStop answered")
    session.bye_sent = True
    bye = session.transact(session.dialog.bye(), options.timeout)
    if bye.status == 200:
        parts.append("BYE answered 200 OK")
    else:
        problems.append(f"BYE answered {bye.status} {bye.reason}")
    if session.keepalives:
        parts.append(f"{session.keepalives} keep-alive(s) answered")
    if problems:
        report.add("signout", Status.WARN, "; ".join(problems + parts), "see the RCCServer log")
    else:
        report.add("signout", Status.OK, "; ".join(parts))


def _abandon(options: ProbeOptions, session: _Session, report: Report) -> None:
    """After a failure inside an established dialog, still send BYE: the server keeps a dialog
    beyond its connection (SPEC section 7), and the station would stay taken."""
    session.bye_sent = True
    try:
        bye = session.transact(session.dialog.bye(), min(options.timeout, ABANDON_TIMEOUT))
        outcome = f"BYE after the failure answered {bye.status} {bye.reason}"
    except (WaitTimeout, ConnectionClosed, PeerProtocolError, OSError) as error:
        outcome = f"BYE after the failure not answered ({type(error).__name__}): the server may keep " \
                  "the session until its keep-alive fails"
    if report.step("signout") is None:
        report.add("signout", Status.WARN, outcome)


# -- command line -------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="user", required=True, metavar="SIP_URI",
                        help="the Lync user to sign in as (msRTCSIP-PrimaryUserAddress), e.g. sip:alice@example.com")
    parser.add_argument("--line", metavar="TEL_URI",
                        help="the user's Line URI (msRTCSIP-Line) sent in lcs:line, e.g. tel:+14255550150; "
                        "default: the user's msRTCSIP-Line in the directory of --config")
    parser.add_argument("--config", metavar="FILE",
                        help="without --line: the configuration whose directory (LDIF or LDAP) gives the "
                        "user's line (default: the bundled demo configuration, as 'rccserver run'); a user "
                        "it does not hold, or without a line, fails with Cs_UserNotInDirectory or "
                        "Cs_LineNotAssigned")
    parser.add_argument("--target", default=DEFAULT_TARGET, metavar="HOST[:PORT]",
                        help=f"the RCC line to probe (default {DEFAULT_TARGET}; port default {DEFAULT_PORT}; "
                        "IPv6 as [::1]:11001)")
    parser.add_argument("--tls", action="store_true", help="connect with TLS ([line] transport = \"tls\")")
    parser.add_argument("--ca", metavar="FILE", help="CA certificate(s) (PEM) to verify the server with "
                        "(default: the system store)")
    parser.add_argument("--cert", metavar="FILE", help="client certificate (PEM) for mutual TLS")
    parser.add_argument("--key", metavar="FILE", help="its private key (PEM)")
    parser.add_argument("--tls-name", metavar="NAME",
                        help="the name the server certificate must hold (default: the --target host)")
    parser.add_argument("--insecure", action="store_true",
                        help="do not verify the server certificate (reported as a warning)")
    parser.add_argument("--server-uri", metavar="SIP_URI",
                        help="Request-URI of the INVITE, the Line Server URI (msRTCSIP-LineServer); "
                        "default sip:rcc@<target host>")
    parser.add_argument("--call", metavar="TEL_URI",
                        help="also place a test call from the line to this number and report its events")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"bound on the connect and on each answer awaited (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--call-wait", type=float, default=DEFAULT_CALL_WAIT, metavar="SECONDS",
                        help=f"how long to collect the test call's events (default {DEFAULT_CALL_WAIT:g})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    try:
        options = options_from_args(args)
        report = run_probe(options)
    except ProbeUsageError as error:
        print(f"rccserver probe: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(render_json(report) if args.json else render_text(report))
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rccserver probe", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

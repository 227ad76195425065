"""Write the RCC flow scenarios (reference section 6) for SIPp into this directory.

Every flow repeats the same sign-in and sign-out and the same body checks, so
the XML files are produced here from a few building blocks; the files are
committed and test_sipp_flows checks they match this generator.

    python tests/e2e/sipp/generate.py

Conventions of the scenarios:
- keys (sipp -key): lync_user (sip: URI), lync_line (the Line URI exactly as
  sent), monitor_start_length (Content-Length of the MonitorStart body, see
  monitor_start_length() below: SIPp's [len] cannot size two messages in one
  send, and GetCSTAFeatures + MonitorStart go out in one send so that both
  are in flight together as sipe sends them).
- After the sign-in every request uses CSeq [cseq+1], because the MonitorStart
  took the number after the GetCSTAFeatures one inside a single send.
- Values from the server are checked against what the scenario knows: the
  monitorCrossRefID of the MonitorStartResponse in each event, the callID of
  the call in each event about it, and the deviceID against lync_line exactly.
  A mismatch jumps to a label whose <error> aborts SIPp with a message.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
RCC_NS = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"
XML_DECL = '<?xml version="1.0"?>'
FEATURES_BODY = f'{XML_DECL}<GetCSTAFeatures xmlns="{ED3}"/>'
MONITOR_START_BODY = (f'{XML_DECL}<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>[lync_line]'
                      f'</deviceObject></monitorObject></MonitorStart>')
CONN = "<callID>[$call]</callID><deviceID>[lync_line]</deviceID>"
CONN2 = "<callID>[$call2]</callID><deviceID>[lync_line]</deviceID>"


def monitor_start_length(line: str) -> int:
    return len(MONITOR_START_BODY.replace("[lync_line]", line).encode())


def lt(text: str) -> str:
    """A regexp written with < and > as it must stand in an XML attribute."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def rss_body(line_key: str = "[lync_line]") -> str:
    return (f'{XML_DECL}<RequestSystemStatus xmlns="{ED3}"><extensions><privateData><private>'
            f'<lcs:line xmlns:lcs="{RCC_NS}">{line_key}</lcs:line></private></privateData></extensions>'
            f"</RequestSystemStatus>")


class Scenario:
    """Collects scenario elements; checks register their failure labels."""

    def __init__(self, name: str, comment: str) -> None:
        self.name = name
        self.comment = comment
        self.parts: list[str] = []
        self.failures: list[tuple[str, str]] = []
        self.unanswered: list[str] = []  # variable suffixes of received event INFOs not yet answered
        self.references: set[str] = set()

    # -- message text ---------------------------------------------------------
    @staticmethod
    def request(method: str, cseq: str, *, uri: str = "[next_url]", body: str = "",
                extra: tuple[str, ...] = (), in_dialog: bool = True, length: str = "[len]",
                branch: str = "[branch]") -> str:
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}",
        ]
        if in_dialog:
            lines.append("[routes]")
        lines += [
            "Max-Forwards: 70",
            "From: <[lync_user]>;tag=[pid]SIPpTag[call_number];epid=5eb1a0c0de",
            "To: <sip:rcc@rcc.example.com>" + ("[peer_tag_param]" if in_dialog else ""),
            "Call-ID: [call_id]",
            f"CSeq: {cseq} {method}",
            "Contact: <sip:lync@[local_ip]:[local_port];transport=tcp>",
            "User-Agent: UCCAPI/15.0 OC/15.0 (Microsoft Lync)",
            *extra,
        ]
        if body:
            lines += ["Content-Type: application/csta+xml", "Content-Disposition: signal;handling=required"]
        lines.append(f"Content-Length: {length if body else 0}")
        return "\n".join(lines) + "\n\n" + body

    def send(self, *messages: str) -> None:
        self.answer_events()
        text = "\n".join(messages)
        self.parts.append(f"  <send>\n    <![CDATA[\n{text}\n    ]]>\n  </send>")

    # -- checks -----------------------------------------------------------------
    def _check_group(self, regexp: str, names: list[str]) -> str:
        whole = f"m{len(self.failures)}_{len(self.parts)}"
        self.references.add(whole)
        return (f'      <ereg regexp="{lt(regexp)}" search_in="body" check_it="true" '
                f'assign_to="{",".join([whole, *names])}"/>')

    def recv(self, kind: str, value: str, *, present: tuple[str, ...] = (), captures=(),
             equal: tuple[tuple[str, str, str], ...] = (), assign: tuple[tuple[str, str], ...] = (),
             extra_attrs: str = "", header_checks: tuple[tuple[str, str], ...] = (),
             header_captures: tuple[tuple[str, str, str], ...] = ()) -> None:
        """kind is "response" or "request". present: regexps that must match the body.
        captures: (regexp, [var names]) to capture. equal: (got var, expected var, label)
        checked with strcmp. assign: (var, value) after capture."""
        actions = []
        for regexp in present:
            actions.append(self._check_group(regexp, []))
        for header, regexp in header_checks:
            var = f"h{len(self.parts)}_{len(actions)}"
            self.references.add(var)
            actions.append(f'      <ereg regexp="{lt(regexp)}" search_in="hdr" header="{header}" '
                           f'check_it="true" assign_to="{var}"/>')
        for header, regexp, var in header_captures:
            actions.append(f'      <ereg regexp="{lt(regexp)}" search_in="hdr" header="{header}" '
                           f'check_it="true" assign_to="{var}"/>')
        for regexp, names in captures:
            actions.append(self._check_group(regexp, list(names)))
        for var, value_ in assign:
            actions.append(f'      <assignstr assign_to="{var}" value="{value_}"/>')
        attrs = extra_attrs
        if equal:
            # SIPp aborts on a message that arrives while it sits on a <nop>, so the jump
            # rides on the <recv> itself: one flag, true if any pair differs (sum of squares).
            n = len(self.failures)
            actions.append(f'      <assign assign_to="diff{n}" value="0"/>')
            for index, (got, expected, _label) in enumerate(equal):
                actions.append(f'      <strcmp assign_to="cmp{n}_{index}" variable="{got}" variable2="{expected}"/>')
                actions.append(f'      <multiply assign_to="cmp{n}_{index}" variable="cmp{n}_{index}"/>')
                actions.append(f'      <add assign_to="diff{n}" variable="cmp{n}_{index}"/>')
            actions.append(f'      <test assign_to="bad{n}" variable="diff{n}" compare="not_equal" value="0"/>')
            message = "; ".join(f"{label}: got [${got}], expected [${expected}]" for got, expected, label in equal)
            self.failures.append((f"mismatch{n}", message))
            attrs += f' next="mismatch{n}" test="bad{n}"'
        body = ("\n    <action>\n" + "\n".join(actions) + "\n    </action>\n  ") if actions else ""
        self.parts.append(f'  <recv {kind}="{value}"{attrs}>{body}</recv>' if body
                          else f'  <recv {kind}="{value}"{attrs}/>')

    def answer_events(self) -> None:
        """A 200 OK for each event INFO received since the last send.

        The server sends an action's events back to back, and SIPp aborts a call
        when a message arrives while it stands on a <send>; so a burst of events
        is received first (Via and CSeq of each captured) and answered after."""
        if not self.unanswered:
            return
        # One <send> per answer: SIPp ends a multi-message send without the final
        # blank line, which would glue the next message onto the last answer.
        for k in self.unanswered:
            self.parts.append(
                f"  <send>\n    <![CDATA[\nSIP/2.0 200 OK\nVia: [$via{k}]\n[last_From:]\n[last_To:]\n"
                f"[last_Call-ID:]\nCSeq: [$cseq{k}]\nContent-Length: 0\n\n    ]]>\n  </send>"
            )
        self.unanswered = []

    def raw(self, text: str) -> None:
        self.parts.append(text)

    # -- building blocks ------------------------------------------------------------
    def sign_in(self) -> None:
        self.raw('  <nop><action><assignstr assign_to="line" value="[lync_line]"/></action></nop>')
        self.send(self.request("INVITE", "[cseq]", uri="sip:rcc@rcc.example.com", body=rss_body(),
                               extra=("Supported: timer",), in_dialog=False))
        self.raw('  <recv response="100" optional="true"/>')
        self.recv("response", "200", extra_attrs=' rrs="true"',
                  present=("<RequestSystemStatusResponse", "<systemStatus>normal</systemStatus>"),
                  header_checks=(("Session-Expires:", "^ *[0-9]+;refresher=uac"),))
        self.send(self.request("ACK", "[cseq]"))
        # GetCSTAFeatures and MonitorStart in one send: two INFO transactions in flight.
        self.send(self.request("INFO", "[cseq]", body=FEATURES_BODY, length=str(len(FEATURES_BODY))),
                  self.request("INFO", "[cseq+1]", body=MONITOR_START_BODY, length="[monitor_start_length]",
                               branch="[branch]m"))
        self.recv("response", "200", present=("<GetCSTAFeaturesResponse", "<makeCall/>", "<monitorStart/>"))
        self.recv("response", "200", present=("<MonitorStartResponse",),
                  captures=(("<monitorCrossRefID>([^<]+)</monitorCrossRefID>", ["xref"]),))

    def csta(self, body: str, response: str, *, captures=(), equal=(), assign=()) -> None:
        self.send(self.request("INFO", "[cseq+1]", body=f'{XML_DECL}{body}'))
        self.recv("response", "200", present=(f"<{response}",), captures=captures, equal=equal,
                  assign=assign)

    def event(self, name: str, *, present: tuple[str, ...] = (), captures=(), equal=(), assign=()) -> None:
        k = f"{len(self.parts)}"
        self.unanswered.append(k)
        captures = (("<monitorCrossRefID>([^<]+)</monitorCrossRefID>", ["ev_xref"]), *captures)
        equal = (("ev_xref", "xref", f"{name} monitorCrossRefID"), *equal)
        self.recv("request", "INFO", present=(f"<{name}", *present), captures=captures, equal=equal,
                  assign=assign, header_captures=(("Via:", "SIP/2\\.0/.*", f"via{k}"),
                                                  ("CSeq:", "[0-9]+ INFO", f"cseq{k}")))

    def sign_out(self) -> None:
        self.csta(f'<MonitorStop xmlns="{ED3}"><monitorCrossRefID>[$xref]</monitorCrossRefID></MonitorStop>',
                  "MonitorStopResponse")
        self.send(self.request("BYE", "[cseq+1]"))
        self.recv("response", "200")

    def text(self) -> str:
        self.answer_events()
        tail = ['  <nop next="end"/>']
        for label, message in self.failures:
            tail.append(f'  <label id="{label}"/>')
            tail.append(f'  <nop next="end"><action><error message="{lt(message)}"/></action></nop>')
        tail.append('  <label id="end"/>')
        refs = sorted(self.references | {"line"})
        return (
            '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
            f"<!-- Generated by generate.py; do not edit. {self.comment} -->\n"
            f'<scenario name="{self.name}">\n' + "\n".join(self.parts + tail)
            + f'\n  <Reference variables="{",".join(refs)}"/>\n</scenario>\n'
        )


# -- event checks that recur -----------------------------------------------------------
def conn_capture(element: str, call_var: str = "ev_call", dev_var: str = "ev_dev"):
    return (f"<{element}><callID>([^<]+)</callID><deviceID>([^<]+)</deviceID></{element}>", [call_var, dev_var])


def same_call(element: str, call: str = "call"):
    """(captures, equal) checking the connection element is {call, Line exactly}."""
    return ((conn_capture(element),),
            (("ev_call", call, f"{element} callID"), ("ev_dev", "line", f"{element} deviceID")))


def event_on(s: Scenario, name: str, element: str, call: str = "call", present=()) -> None:
    captures, equal = same_call(element, call)
    s.event(name, present=present, captures=captures, equal=equal)


def answer_inbound(s: Scenario) -> None:
    """The test places a call to the station (admin API); answer it from Lync."""
    s.event("DeliveredEvent", present=("<localConnectionInfo>alerting</localConnectionInfo>",),
            captures=(conn_capture("connection"), ("<alertingDevice><deviceIdentifier>([^<]+)</deviceIdentifier>",
                                                    ["ev_alerting"])),
            equal=(("ev_dev", "line", "DeliveredEvent deviceID"),
                   ("ev_alerting", "line", "DeliveredEvent alertingDevice")),
            assign=(("call", "[$ev_call]"),))
    s.csta(f'<AnswerCall xmlns="{ED3}"><callToBeAnswered>{CONN}</callToBeAnswered></AnswerCall>',
           "AnswerCallResponse")
    event_on(s, "EstablishedEvent", "establishedConnection",
             present=("<localConnectionInfo>connected</localConnectionInfo>",))


def make_call(s: Scenario, target: str) -> None:
    s.csta(f'<MakeCall xmlns="{ED3}"><callingDevice>[lync_line]</callingDevice>'
           f"<calledDirectoryNumber>{target}</calledDirectoryNumber><autoOriginate>doNotPrompt</autoOriginate>"
           f"</MakeCall>", "MakeCallResponse",
           captures=(conn_capture("callingDevice"),),
           equal=(("ev_dev", "line", "MakeCallResponse deviceID"),),
           assign=(("call", "[$ev_call]"),))
    event_on(s, "ServiceInitiatedEvent", "initiatedConnection")
    event_on(s, "OriginatedEvent", "originatedConnection")
    event_on(s, "DeliveredEvent", "connection", present=(f"<alertingDevice><deviceIdentifier>{re.escape(target)}",))


def clear(s: Scenario, call: str = "call") -> None:
    conn = CONN if call == "call" else CONN2
    s.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared>{conn}</connectionToBeCleared>'
           f"</ClearConnection>", "ClearConnectionResponse")
    event_on(s, "ConnectionClearedEvent", "droppedConnection", call)


def set_forwarding(s: Scenario, on: bool) -> None:
    target = "<forwardDN>tel:+13175553030</forwardDN>" if on else ""
    s.csta(f'<SetForwarding xmlns="{ED3}"><device>[lync_line]</device><forwardingType>forwardImmediate'
           f"</forwardingType><activateForward>{'true' if on else 'false'}</activateForward>{target}"
           f"</SetForwarding>", "SetForwardingResponse")
    s.event("ForwardingEvent", present=("<forwardingType>forwardImmediate</forwardingType>",
                                        f"<forwardStatus>{'true' if on else 'false'}</forwardStatus>"))


# -- the flows ------------------------------------------------------------------------------
def sign_in_out() -> Scenario:
    s = Scenario("rcc sign in and out", "Reference 6.1 and 6.8.")
    s.sign_in()
    s.sign_out()
    return s


def inbound_answer() -> Scenario:
    s = Scenario("rcc inbound call answered from lync",
                 "Reference 6.2; the test places the call through the admin API once the monitor is up.")
    s.sign_in()
    answer_inbound(s)
    clear(s)
    s.sign_out()
    return s


def make_call_hold() -> Scenario:
    s = Scenario("rcc make call, hold, retrieve",
                 "Reference 6.3 and 6.4; the test answers for the far end through the admin API.")
    s.sign_in()
    make_call(s, "tel:+13175552020")
    event_on(s, "EstablishedEvent", "establishedConnection")
    s.csta(f'<HoldCall xmlns="{ED3}"><callToBeHeld>{CONN}</callToBeHeld></HoldCall>', "HoldCallResponse")
    event_on(s, "HeldEvent", "heldConnection", present=("<localConnectionInfo>hold</localConnectionInfo>",))
    s.csta(f'<RetrieveCall xmlns="{ED3}"><callToBeRetrieved>{CONN}</callToBeRetrieved></RetrieveCall>',
           "RetrieveCallResponse")
    event_on(s, "RetrievedEvent", "retrievedConnection",
             present=("<localConnectionInfo>connected</localConnectionInfo>",))
    clear(s)
    s.sign_out()
    return s


def transfer_blind() -> Scenario:
    s = Scenario("rcc blind transfer", "Reference 6.5, SingleStepTransferCall of an answered inbound call.")
    s.sign_in()
    answer_inbound(s)
    s.csta(f'<SingleStepTransferCall xmlns="{ED3}"><activeCall>{CONN}</activeCall>'
           f"<transferredTo>tel:+13175553030</transferredTo></SingleStepTransferCall>",
           "SingleStepTransferCallResponse")
    event_on(s, "TransferedEvent", "primaryOldCall",
             present=("<transferredToDevice><deviceIdentifier>tel:\\+13175553030",))
    event_on(s, "ConnectionClearedEvent", "droppedConnection")
    s.sign_out()
    return s


def transfer_consult() -> Scenario:
    s = Scenario("rcc consultative transfer",
                 "Reference 6.5, ConsultationCall then TransferCall; the test answers the consulted party.")
    s.sign_in()
    answer_inbound(s)
    s.csta(f'<ConsultationCall xmlns="{ED3}"><existingCall>{CONN}</existingCall>'
           f"<consultedDevice>tel:+13175554040</consultedDevice></ConsultationCall>", "ConsultationCallResponse",
           captures=(conn_capture("initiatedCall"),),
           equal=(("ev_dev", "line", "ConsultationCallResponse deviceID"),),
           assign=(("call2", "[$ev_call]"),))
    event_on(s, "HeldEvent", "heldConnection")
    event_on(s, "OriginatedEvent", "originatedConnection", "call2")
    event_on(s, "DeliveredEvent", "connection", "call2")
    event_on(s, "EstablishedEvent", "establishedConnection", "call2")
    s.csta(f'<TransferCall xmlns="{ED3}"><heldCall>{CONN}</heldCall><activeCall>{CONN2}</activeCall>'
           f"</TransferCall>", "TransferCallResponse")
    captures, equal = same_call("primaryOldCall")
    s.event("TransferedEvent", captures=(*captures, conn_capture("secondaryOldCall", "ev_call2", "ev_dev2")),
            equal=(*equal, ("ev_call2", "call2", "secondaryOldCall callID"),
                   ("ev_dev2", "line", "secondaryOldCall deviceID")))
    s.event("ConnectionClearedEvent")
    s.event("ConnectionClearedEvent")
    s.sign_out()
    return s


def forwarding() -> Scenario:
    s = Scenario("rcc forwarding on and off", "Reference 6.6.")
    s.sign_in()
    set_forwarding(s, True)
    set_forwarding(s, False)
    s.sign_out()
    return s


def refresh() -> Scenario:
    s = Scenario("rcc session refresh",
                 "Reference 6.7: UPDATE, then re-INVITE with RequestSystemStatus; the monitor lives on.")
    s.sign_in()
    s.send(s.request("UPDATE", "[cseq+1]", extra=("Supported: timer", "Session-Expires: 1800;refresher=uac")))
    s.recv("response", "200", header_checks=(("Session-Expires:", "^ *[0-9]+;refresher=uac"),))
    s.send(s.request("INVITE", "[cseq+1]", body=rss_body(), extra=("Supported: timer",)))
    s.raw('  <recv response="100" optional="true"/>')
    s.recv("response", "200", present=("<RequestSystemStatusResponse", "<systemStatus>normal</systemStatus>"))
    s.send(s.request("ACK", "[cseq+1]"))
    set_forwarding(s, True)
    set_forwarding(s, False)
    s.sign_out()
    return s


FLOWS = {
    "sign_in_out.xml": sign_in_out,
    "inbound_answer.xml": inbound_answer,
    "make_call_hold.xml": make_call_hold,
    "transfer_blind.xml": transfer_blind,
    "transfer_consult.xml": transfer_consult,
    "forwarding.xml": forwarding,
    "refresh.xml": refresh,
}


def generated() -> dict[str, str]:
    return {name: build().text() for name, build in FLOWS.items()}


if __name__ == "__main__":
    for name, text in generated().items():
        (HERE / name).write_text(text)
        print(f"wrote {HERE / name}", file=sys.stderr)

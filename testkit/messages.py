"""SIP and CSTA messages as Lync and pidgin-sipe send them on the RCC line.

CSTA bodies are built as text here (not with rccserver.csta) so that what a
test sends does not depend on the codec it tests. `lync_info` and
`sipe_invite` are complete wire messages, copied in shape from what the front
end relays and what sipe writes.
"""
from __future__ import annotations

ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
ED5 = "http://www.ecma-international.org/standards/ecma-323/csta/ed5"
RCC_NS = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"
CSTA_CT = "application/csta+xml"
SERVER_URI = "sip:rcc@rcc.example.com"
LYNC_USER_AGENT = "UCCAPI/15.0 OC/15.0 (Microsoft Lync)"
SIPE_USER_AGENT = "Purple/2.14.12 Sipe/1.25.0 (linux-x86_64)"


def _line_extension(line: str) -> str:
    """The private data that names the Lync line (Lync puts it on RequestSystemStatus)."""
    return (f'<extensions><privateData><private><lcs:line xmlns:lcs="{RCC_NS}">{line}</lcs:line>'
            f"</private></privateData></extensions>")


def request_system_status(line: str, ns: str = ED3) -> bytes:
    """The body of Lync's dialog-creating INVITE."""
    return (f'<?xml version="1.0"?><RequestSystemStatus xmlns="{ns}">{_line_extension(line)}'
            f"</RequestSystemStatus>").encode()


def monitor_start(line: str) -> bytes:
    return (f'<?xml version="1.0"?><MonitorStart xmlns="{ED3}"><monitorObject>'
            f"<deviceObject>{line}</deviceObject></monitorObject></MonitorStart>").encode()


def snapshot_device(line: str) -> bytes:
    return (f'<?xml version="1.0"?><SnapshotDevice xmlns="{ED3}">'
            f"<snapshotObject>{line}</snapshotObject></SnapshotDevice>").encode()


def make_call(line: str, called: str) -> bytes:
    return (f'<?xml version="1.0"?><MakeCall xmlns="{ED3}"><callingDevice>{line}</callingDevice>'
            f"<calledDirectoryNumber>{called}</calledDirectoryNumber></MakeCall>").encode()


def clear_connection(line: str, call_id: str) -> bytes:
    return (f'<?xml version="1.0"?><ClearConnection xmlns="{ED3}"><connectionToBeCleared>'
            f"<callID>{call_id}</callID><deviceID>{line}</deviceID></connectionToBeCleared>"
            f"</ClearConnection>").encode()


def answer_call(line: str, call_id: str) -> bytes:
    return (f'<?xml version="1.0"?><AnswerCall xmlns="{ED3}"><callToBeAnswered><callID>{call_id}</callID>'
            f"<deviceID>{line}</deviceID></callToBeAnswered></AnswerCall>").encode()


def get_csta_features() -> bytes:
    return f'<?xml version="1.0"?><GetCSTAFeatures xmlns="{ED3}"/>'.encode()


def _conn(line: str, call: str = "c1") -> str:
    return f"<callID>{call}</callID><deviceID>{line}</deviceID>"


def csta_requests(line: str, ns: str = ED3) -> dict[str, str]:
    """One request body per CSTA service of SPEC section 7, on `line` (the fuzzer's seeds)."""
    other = "tel:+15550199"
    c = _conn(line)
    bodies = {
        "RequestSystemStatus": _line_extension(line),
        "GetCSTAFeatures": "",
        "MonitorStart": f"<monitorObject><deviceObject>{line}</deviceObject></monitorObject>",
        "MonitorStop": "<monitorCrossRefID>1</monitorCrossRefID>",
        "SnapshotDevice": f"<snapshotObject>{line}</snapshotObject>",
        "MakeCall": f"<callingDevice>{line}</callingDevice><calledDirectoryNumber>{other}</calledDirectoryNumber>"
                    f"<autoOriginate>doNotPrompt</autoOriginate>",
        "AnswerCall": f"<callToBeAnswered>{c}</callToBeAnswered>",
        "ClearConnection": f"<connectionToBeCleared>{c}</connectionToBeCleared>",
        "HoldCall": f"<callToBeHeld>{c}</callToBeHeld>",
        "RetrieveCall": f"<callToBeRetrieved>{c}</callToBeRetrieved>",
        "AlternateCall": f"<heldCall>{c}</heldCall><activeCall>{_conn(line, 'c2')}</activeCall>",
        "DeflectCall": f"<callToBeDiverted>{c}</callToBeDiverted><newDestination>{other}</newDestination>",
        "SingleStepTransferCall": f"<activeCall>{c}</activeCall><transferredTo>{other}</transferredTo>",
        "ConsultationCall": f"<existingCall>{c}</existingCall><consultedDevice>{other}</consultedDevice>",
        "TransferCall": f"<heldCall>{c}</heldCall><activeCall>{_conn(line, 'c2')}</activeCall>",
        "ConferenceCall": f"<heldCall>{c}</heldCall><activeCall>{_conn(line, 'c2')}</activeCall>",
        "GenerateDigits": f"<connectionToSendDigits>{c}</connectionToSendDigits><charactersToSend>12#</charactersToSend>",
        "SetForwarding": f"<device>{line}</device><forwardingType>forwardImmediate</forwardingType>"
                         f"<activateForward>true</activateForward><forwardDN>{other}</forwardDN>",
        "GetForwarding": f"<device>{line}</device>",
        "SetDoNotDisturb": f"<device>{line}</device><doNotDisturbOn>true</doNotDisturbOn>",
        "GetDoNotDisturb": f"<device>{line}</device>",
    }
    return {name: f'<?xml version="1.0" encoding="UTF-8"?><{name} xmlns="{ns}">{inner}</{name}>'
            for name, inner in bodies.items()}


def build_message(start: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """Start line, headers in the order given, Content-Length of `body`, blank line, body."""
    head = [start] + [f"{name}: {value}" for name, value in headers] + [f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


# -- complete messages, as captured in shape ----------------------------------------------------
CSTA_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<monitorObject><deviceObject>tel:+13175551010</deviceObject></monitorObject>"
    b"<extensions><privateData><private>"
    b'<lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:+13175551010</lcs:line>'
    b"</private></privateData></extensions></MonitorStart>"
)


def lync_info(body: bytes = CSTA_BODY, cseq: int = 3) -> bytes:
    """An in-dialog INFO as the Front End relays it to us: its own Via above the client's
    (~600 bytes of headers, ~400 of CSTA with the default body)."""
    head = (
        "INFO sip:rcc@rcc.example.com:11001;transport=tcp SIP/2.0\r\n"
        "Via: SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bK7a1c0f2e9d;ms-internal-info=\"ck1xWmZ9\"\r\n"
        "Via: SIP/2.0/TLS 172.24.32.119:51063;ms-received-port=51063;ms-received-cid=1C00\r\n"
        "Max-Forwards: 69\r\n"
        "From: <sip:alice@example.com>;tag=9708e2df90;epid=bd23d94254\r\n"
        "To: <sip:rcc@rcc.example.com>;tag=1fa3a090-e86b1dac-13c4-40030-647a3-edaf1a3-647a3\r\n"
        "Call-ID: a3f0077597a645ed91dfed3bf7e88d93\r\n"
        f"CSeq: {cseq} INFO\r\n"
        "User-Agent: UCCP/2.0.6362.0 OC/2.0.6362.0 (Microsoft Office Communicator)\r\n"
        "Content-Disposition: signal;handling=required\r\n"
        "Content-Type: application/csta+xml\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


def sipe_invite(line: str = "tel:73124;phone-context=dialstring;partition=BE_BRS_INT") -> bytes:
    """The dialog-creating INVITE as pidgin-sipe sends it (through a record-routing Front End)."""
    body = request_system_status(line)
    head = (
        "INVITE sip:rcc@127.0.0.1:11001;transport=tcp SIP/2.0\r\n"
        "Via: SIP/2.0/tcp 127.0.0.1:40123\r\n"
        "Record-Route: <sip:fe01.contoso.com:5061;transport=tls;ms-role-rs-from;lr;"
        "ms-route-sig=fsw3ylQ4X4vWNp2izAEQzWGw7NpJnQ1WDx_Z8P0wAA>\r\n"
        "From: <sip:alice@example.test>;tag=0f7f7f0a7a;epid=8a2b6c9d1e\r\n"
        "To: <sip:rcc@127.0.0.1:11001;transport=tcp>\r\n"
        "Call-ID: 7d8ca2a6b2c6d1b7a8e9f0c1d2e3f4a5\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:alice@example.test:40123;maddr=127.0.0.1;transport=tcp>;proxy=replace\r\n"
        "Supported: timer\r\n"
        "Content-Disposition: signal;handling=required\r\n"
        "Content-Type: application/csta+xml\r\n"
        f"User-Agent: {SIPE_USER_AGENT}\r\n"
        "Max-Forwards: 70\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body

"""Representative Lync / sipe RCC messages (built from the shapes in the protocol notes)."""

CSTA_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<monitorObject><deviceObject>tel:+13175551010</deviceObject></monitorObject>"
    b"<extensions><privateData><private>"
    b'<lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:+13175551010</lcs:line>'
    b"</private></privateData></extensions></MonitorStart>"
)


def lync_info(body: bytes = CSTA_BODY, cseq: int = 3) -> bytes:
    """An in-dialog INFO as the Front End relays it to us."""
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
    body = (
        '<?xml version="1.0"?><RequestSystemStatus '
        'xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><extensions>'
        '<privateData><private><lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">'
        f"{line}</lcs:line></private></privateData></extensions></RequestSystemStatus>"
    ).encode()
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
        "User-Agent: Purple/2.14.12 Sipe/1.25.0 (linux-x86_64)\r\n"
        "Max-Forwards: 70\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body

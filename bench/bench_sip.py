"""SIP syntax layer figures: framer throughput, parse rate, parse+serialize rate (typical Lync INFO)."""
from bench.common import rate, scale
from rccserver.sip.framer import StreamFramer
from rccserver.sip.parser import parse_message

CSTA_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<monitorObject><deviceObject>tel:+13175551010</deviceObject></monitorObject>"
    b"<extensions><privateData><private>"
    b'<lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:+13175551010</lcs:line>'
    b"</private></privateData></extensions></MonitorStart>"
)


def lync_info(cseq: int = 3) -> bytes:
    """A typical in-dialog INFO from the Lync Front End (~520 bytes of headers, ~400 of CSTA)."""
    return (
        "INFO sip:rcc@rcc.example.com:11001;transport=tcp SIP/2.0\r\n"
        "Via: SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bK7a1c0f2e9d;ms-internal-info=\"ck1xWmZ9\"\r\n"
        "Max-Forwards: 69\r\n"
        "From: <sip:alice@example.com>;tag=9708e2df90;epid=bd23d94254\r\n"
        "To: <sip:rcc@rcc.example.com>;tag=1fa3a090-e86b1dac-13c4-40030-647a3-edaf1a3-647a3\r\n"
        "Call-ID: a3f0077597a645ed91dfed3bf7e88d93\r\n"
        f"CSeq: {cseq} INFO\r\n"
        "User-Agent: UCCP/2.0.6362.0 OC/2.0.6362.0 (Microsoft Office Communicator)\r\n"
        "Content-Disposition: signal;handling=required\r\n"
        "Content-Type: application/csta+xml\r\n"
        f"Content-Length: {len(CSTA_BODY)}\r\n"
        "\r\n"
    ).encode() + CSTA_BODY


def main() -> None:
    message = lync_info()
    burst = b"".join(lync_info(n) for n in range(1, 101))  # 100 messages in one read
    chunked = [burst[i:i + 1400] for i in range(0, len(burst), 1400)]  # TCP-segment sized reads

    def frame_burst() -> None:
        StreamFramer().feed(burst)

    def frame_chunked() -> None:
        framer = StreamFramer()
        for chunk in chunked:
            framer.feed(chunk)

    per_second = rate("framer: 100 INFOs in one read (bursts)", frame_burst, scale(2000))
    print(f"{'  = messages framed':<48} {per_second * 100:>12,.0f} /s  ({len(burst) * per_second / 1e6:,.1f} MB/s)")
    per_second = rate("framer: 100 INFOs in 1400-byte reads (bursts)", frame_chunked, scale(2000))
    print(f"{'  = messages framed':<48} {per_second * 100:>12,.0f} /s")
    rate("parse_message: Lync INFO", lambda: parse_message(message), scale(50000))
    rate("parse_message + to_bytes: Lync INFO", lambda: parse_message(message).to_bytes(), scale(50000))

    def parse_and_read() -> None:
        m = parse_message(message)
        m.from_, m.to, m.top_via, m.cseq  # what the endpoint reads for dialog matching
        m.to_bytes()

    rate("parse + From/To/Via/CSeq + to_bytes: Lync INFO", parse_and_read, scale(30000))


if __name__ == "__main__":
    main()

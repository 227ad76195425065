"""SIP syntax layer figures: framer throughput, parse rate, parse+serialize rate (typical Lync INFO,
testkit.messages.lync_info: the front end's Via above the client's, ~600 bytes of headers, ~400 of CSTA)."""
from bench.common import rate, scale
from rccserver.sip.framer import StreamFramer
from rccserver.sip.parser import parse_message
from testkit.messages import lync_info

def main() -> None:
    message = lync_info()
    burst = b"".join(lync_info(cseq=n) for n in range(1, 101))  # 100 messages in one read
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

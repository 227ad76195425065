"""The SIP benchmark runs (smoke scale) and prints every figure it promises."""
from bench import bench_sip
from rccserver.sip.parser import parse_message


def test_bench_sip_smoke(monkeypatch, capsys):
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    bench_sip.main()
    out = capsys.readouterr().out
    for label in ("framer: 100 INFOs in one read", "parse_message: Lync INFO", "parse_message + to_bytes: Lync INFO"):
        assert label in out


def test_bench_message_is_a_valid_lync_info():
    message = parse_message(bench_sip.lync_info())
    assert message.method == "INFO" and message.content_type == "application/csta+xml"
    assert 200 <= len(bench_sip.lync_info()) - len(message.body) <= 700 and len(message.body) >= 350

"""The switch benchmark runs (smoke scale) and prints every figure it promises."""
from bench import bench_switch


def test_bench_switch_smoke(monkeypatch, capsys):
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    bench_switch.main()
    out = capsys.readouterr().out
    for label in ("inbound call: ring, answer, hang up", "consultation + transfer", "other calls live", "auto-answer timers"):
        assert label in out

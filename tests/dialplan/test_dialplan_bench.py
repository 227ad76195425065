"""The dial plan benchmark runs (smoke scale) and prints every figure it promises; nothing is timed."""
from bench import bench_dialplan


def test_bench_dialplan_smoke(monkeypatch, capsys):
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    bench_dialplan.main()
    out = capsys.readouterr().out
    for label in ("dialled: rules + station match", "inbound: DID to station", "E.164 presentation (cached)",
                  "MakeCall outside + hang-up, with dial plan", "MakeCall outside + hang-up, without dial plan"):
        assert label in out
    assert out.count("µs/number") == 7

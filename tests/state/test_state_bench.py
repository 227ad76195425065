"""The state benchmark runs (smoke scale) and prints every figure it promises."""
from bench import bench_state
from testkit.redisproc import redis_server_path


def test_bench_state_smoke(monkeypatch, capsys):
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    bench_state.main()
    out = capsys.readouterr().out
    for label in ("in memory", "SQLite, 1 in flight", "SQLite, 64 in flight"):
        assert label in out
    if redis_server_path() is not None:
        assert "Redis, 1 in flight" in out and "Redis, 64 in flight" in out

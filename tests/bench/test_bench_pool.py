"""The pair benchmark (bench/bench_pool.py) at smoke scale: it still signs in through one
server and through a pair on Redis, and prints both figures. No timing is asserted."""
from bench import bench_pool
from testkit.redisproc import redis_server_path


def test_bench_pool_smoke(monkeypatch, capsys):
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    bench_pool.main()
    out = capsys.readouterr().out
    assert "one server, SQLite" in out
    assert ("pair on Redis" in out) if redis_server_path() is not None else ("skipped" in out)

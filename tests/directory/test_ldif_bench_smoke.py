"""bench/bench_directory.py runs (smoke scale) and prints every figure it promises."""
from bench import bench_directory


def test_bench_directory_smoke(monkeypatch, capsys):
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    bench_directory.main()
    out = capsys.readouterr().out
    for label in ("LDIF load, 200 users", "LDIF load of the next version", "diff of the two caches",
                  "changed users", "CIC data load, 100 users", "directory lookup (hit", "directory lookup (miss)",
                  "logon decision (Cs_Success", "logon decision (Cs_UserNotInDirectory)"):
        assert label in out

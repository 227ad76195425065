"""bench/fuzz_wire.py runs end to end on a tiny count (so the long profile cannot rot)."""
from __future__ import annotations

import pytest

from bench import fuzz_wire


@pytest.mark.timeout(120)
def test_fuzz_wire_bench_runs_a_tiny_profile_and_prints_the_results_table(tmp_path, capsys):
    assert fuzz_wire.main(["--count", "300", "--batch", "150", "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| inputs tried | crashes | hangs | leaks |" in out
    assert "| 300 | 0 | 0 | 0 | 1 |" in out


def test_fuzz_wire_bench_rejects_nonsense_counts(capsys):
    with pytest.raises(SystemExit) as exit_info:
        fuzz_wire.parse_args(["--count", "0"])
    assert exit_info.value.code == 2
    assert "must be positive" in capsys.readouterr().err

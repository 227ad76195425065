"""bench/soak.py runs end to end for a few seconds, reload included (so the 1-hour soak cannot rot)."""
from __future__ import annotations

import pytest

from bench import soak


@pytest.mark.timeout(120)
def test_soak_runs_briefly_with_a_reload_and_reports_no_errors(tmp_path, capsys):
    assert soak.main(["--duration", "4", "--rate", "4", "--sample-every", "2", "--reload-at", "1",
                      "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "-reload exit 0" in out
    assert "0 errors" in out and "exit 0" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) >= 2 and all(row.split(" | ")[5] == "2" for row in rows)  # both sessions lived throughout

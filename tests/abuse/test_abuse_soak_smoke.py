"""bench/soak.py runs end to end for a few seconds, load and reload included (so the 1-hour soak cannot rot)."""
from __future__ import annotations

import pytest

from bench import soak


@pytest.mark.timeout(180)
def test_soak_runs_briefly_under_load_with_a_reload_and_reports_no_failures(tmp_path, capsys):
    assert soak.main(["--duration", "12", "--rate", "4", "--load-rate", "100", "--users", "200",
                      "--sample-every", "3", "--reload-at", "4", "--refresh-every", "5",
                      "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "-reload exit 0" in out
    assert "UPDATE refreshes 200" in out
    rows = [line.strip("| ").split(" | ") for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) >= 3
    column = {name: i for i, name in enumerate(soak.COLUMNS)}
    # the two monitored sessions and the load's 50 dialogs lived throughout; nothing failed
    assert all(int(row[column["sessions"]]) >= 52 for row in rows)
    assert all(row[column["load failed"]] == "0" and row[column["cycle errors"]] == "0" for row in rows)
    assert int(rows[-1][column["load tx"]]) > 0
    summary = [line for line in out.splitlines() if line.startswith("summary:")]
    assert summary and "0 failed" in summary[0] and "0 errors" in summary[0] and "exit 0" in summary[0]

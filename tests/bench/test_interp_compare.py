"""`python -m bench.interp_compare` (docs/pypy.md) on tiny counts, so the harness cannot rot."""
from __future__ import annotations

import re

from bench import interp_compare

ROW = re.compile(r"^(\S+ \S+)\t(.+)\t([0-9.]+) us\t\(best of 1 x (\d+)\)$")


def test_every_group_prints_a_positive_cpu_time_per_operation(capsys):
    assert interp_compare.main(["--warmup", "0", "--rounds", "1", "--round-cpu", "0.01"]) == 0
    rows = [ROW.match(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(rows), rows
    labels = [row.group(2) for row in rows]
    assert {label.split(":")[0] for label in labels} == {"sip", "csta", "endpoint", "rcc"}
    assert all(float(row.group(3)) > 0 and int(row.group(4)) > 0 for row in rows)

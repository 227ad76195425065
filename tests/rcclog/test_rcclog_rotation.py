"""Size-based rotation of the RCCServer log: rccserver.log, .1, .2 ... never past max_bytes, no line lost
except those pushed out beyond the configured number of backups."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rccserver.server.rcclog import RotatingFile


def files(path: Path, backups: int) -> list[Path]:
    return [path] + [path.with_name(f"{path.name}.{i}") for i in range(1, backups + 1)]


def test_rotates_before_a_line_would_pass_the_limit(tmp_path):
    path = tmp_path / "rcc.log"
    log = RotatingFile(path, max_bytes=30, backups=2)
    for index in range(7):
        log.write(f"line {index} ........\n")  # 16 bytes: one line per file after the first
    log.close()
    assert path.read_text() == "line 6 ........\n"
    assert path.with_name("rcc.log.1").read_text() == "line 5 ........\n"
    assert path.with_name("rcc.log.2").read_text() == "line 4 ........\n"
    assert not path.with_name("rcc.log.3").exists()


def test_no_backups_keeps_only_the_current_file(tmp_path):
    path = tmp_path / "rcc.log"
    log = RotatingFile(path, max_bytes=20, backups=0)
    for index in range(5):
        log.write(f"{index}.............\n")
    log.close()
    assert path.read_text() == "4.............\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rcc.log"]


def test_appends_to_an_existing_file_and_counts_its_size(tmp_path):
    path = tmp_path / "rcc.log"
    path.write_text("x" * 25 + "\n")
    log = RotatingFile(path, max_bytes=40, backups=1)
    log.write("0123456789abcdef\n")  # 26 + 17 > 40: rotate first
    log.close()
    assert path.with_name("rcc.log.1").read_text() == "x" * 25 + "\n"
    assert path.read_text() == "0123456789abcdef\n"


def test_a_line_longer_than_the_limit_is_still_written_whole(tmp_path):
    path = tmp_path / "rcc.log"
    log = RotatingFile(path, max_bytes=10, backups=1)
    log.write("a" * 50 + "\n")
    log.write("b\n")
    log.close()
    assert path.with_name("rcc.log.1").read_text() == "a" * 50 + "\n"
    assert path.read_text() == "b\n"


def test_bad_limits_are_refused(tmp_path):
    with pytest.raises(ValueError):
        RotatingFile(tmp_path / "x.log", max_bytes=0, backups=1)
    with pytest.raises(ValueError):
        RotatingFile(tmp_path / "x.log", max_bytes=10, backups=-1)


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 40), min_size=1, max_size=60), max_bytes=st.integers(8, 120),
       backups=st.integers(0, 4))
def test_kept_lines_are_the_newest_in_order_and_files_stay_within_the_limit(tmp_path_factory, lengths, max_bytes,
                                                                            backups):
    directory = tmp_path_factory.mktemp("rot")
    path = directory / "rcc.log"
    log = RotatingFile(path, max_bytes=max_bytes, backups=backups)
    written = [f"{index:03d}" + "x" * length + "\n" for index, length in enumerate(lengths)]
    for line in written:
        log.write(line)
    log.close()
    kept: list[str] = []
    for file in reversed(files(path, backups)):
        if file.exists():
            text = file.read_text()
            lines = text.splitlines(keepends=True)
            assert len(text.encode()) <= max_bytes or len(lines) == 1, (file.name, len(text))
            kept.extend(lines)
    assert kept == written[len(written) - len(kept):]  # a suffix: the newest lines, in order
    assert kept[-1] == written[-1]
    assert not path.with_name(f"rcc.log.{backups + 1}").exists()

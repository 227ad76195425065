"""docs/admin-guide.md "Quick start", run literally in a clean temp dir.

The fenced `sh` blocks under the "Quick start" heading are joined into one
script and run by bash with `set -e`, with `rccserver` on PATH (a stand-in that
runs this checkout's `python -m rccserver`). The only change is the one the
guide itself allows: the values of `RCC_PORT=` and `ADMIN_PORT=` become free
ports, so the test never collides with another server on 11001/8011.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit.serverproc import free_port

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "admin-guide.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def section(markdown: str, heading: str) -> str:
    """The text under a `## heading` up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## )", markdown, re.M | re.S)
    assert match, f"no '## {heading}' section in {GUIDE}"
    return match.group(1)


def shell_blocks(text: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == "sh"]


def quickstart_script(rcc_port: int, admin_port: int) -> str:
    blocks = shell_blocks(section(GUIDE.read_text(encoding="utf-8"), "Quick start"))
    script = "\n".join(blocks)
    # The guide's own rule: change RCC_PORT / ADMIN_PORT if the ports are taken.
    script, n_rcc = re.subn(r"^RCC_PORT=11001$", f"RCC_PORT={rcc_port}", script, flags=re.M)
    script, n_admin = re.subn(r"^ADMIN_PORT=8011$", f"ADMIN_PORT={admin_port}", script, flags=re.M)
    assert (n_rcc, n_admin) == (1, 1), "the quick start must set RCC_PORT=11001 and ADMIN_PORT=8011 once"
    return script


def test_quickstart_has_the_promised_shape():
    script = quickstart_script(11001, 8011)
    commands = [line for line in script.splitlines() if line.startswith("rccserver")]
    assert [c.split()[1] for c in commands] == ["check-config", "run", "-reload", "probe"]
    assert "kill $(cat rccserver.pid)" in script.splitlines()[-1]


@pytest.fixture
def stand_in_path(tmp_path) -> dict[str, str]:
    """PATH with `rccserver` running this checkout, as an installed console script would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "rccserver"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m rccserver "$@"\n')
    program.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _wait_stopped(pid_file: Path, done: subprocess.CompletedProcess | None) -> None:
    """Wait for the server to remove its pid file after the guide's `kill`; if the
    script failed before that, stop the server it started."""
    if done is None or done.returncode != 0:
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and pid_file.exists():
        time.sleep(0.1)


def test_quickstart_runs_literally_and_the_probe_succeeds(tmp_path, stand_in_path):
    rcc_port, admin_port = free_port(), free_port()
    work = tmp_path / "clean"
    work.mkdir()
    script = quickstart_script(rcc_port, admin_port)
    # Mark the probe's exit status so the test can check that step by itself.
    script = re.sub(r"^(rccserver probe .*)$", r"\1\necho PROBE-EXIT=$?", script, flags=re.M)
    trial = work / "rcc-trial"
    done = None
    try:
        done = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=stand_in_path,
                              capture_output=True, text=True, timeout=120)
    finally:
        _wait_stopped(trial / "rccserver.pid", done)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # What the guide says each step prints.
    assert "configuration valid (0 warning(s))" in done.stdout, output
    assert "reloaded: 1 directory users, 0 added, 0 removed, 0 changed" in done.stdout, output
    assert "PROBE-EXIT=0" in done.stdout, output
    assert "verdict: OK: sip:alice@example.com signs in on tel:+1001" in done.stdout, output
    # The files it wrote, and the log lines it mentions.
    assert sorted(p.name for p in trial.iterdir() if p.suffix in (".toml", ".ldif")) == \
        ["cic.toml", "directory.ldif", "rccserver.toml"]
    log = (trial / "rccserver.log").read_text(encoding="utf-8")
    for expected in ("logon code=Cs_Success", "session-start", "session-end", f"port={rcc_port}", "server-stop"):
        assert expected in log, expected
    assert not (trial / "rccserver.pid").exists()  # stopped by the guide's own `kill`


def test_quickstart_break_something_step(tmp_path, stand_in_path):
    """The paragraph after the quick start: client_license = false, -reload, probe says Cs_NoClientLicense."""
    rcc_port, admin_port = free_port(), free_port()
    work = tmp_path / "clean"
    work.mkdir()
    blocks = quickstart_script(rcc_port, admin_port).splitlines()
    stop = blocks.pop()  # the final `kill`
    assert stop.startswith("kill")
    prose = section(GUIDE.read_text(encoding="utf-8"), "Quick start")
    assert "`client_license = false`" in prose and "Cs_NoClientLicense" in prose
    script = "\n".join(blocks) + "\n" + "\n".join([
        "sed -i 's/client_license = true/client_license = false/' cic.toml",
        "rccserver -reload --config rccserver.toml",
        "rccserver probe --as sip:alice@example.com --line tel:+1001 --target 127.0.0.1:$RCC_PORT"
        " && echo PROBE-EXIT=0 || echo PROBE-EXIT=$?",
        stop,
    ])
    trial = work / "rcc-trial"
    done = None
    try:
        done = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=stand_in_path,
                              capture_output=True, text=True, timeout=120)
    finally:
        _wait_stopped(trial / "rccserver.pid", done)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "reloaded: 1 directory users, 0 added, 0 removed, 0 changed" in done.stdout
    assert "PROBE-EXIT=1" in done.stdout, output
    assert "Cs_NoClientLicense" in done.stdout, output

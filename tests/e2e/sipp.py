"""Run SIPp (Debian's `sipp`, from sip-tester) against a server on loopback.

Debian builds SIPp without TLS, so TLS scenarios run SIPp over TCP into a local
stunnel client that speaks TLS (optionally with a client certificate) to us.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from testkit.serverproc import free_port, wait_for_port

SCENARIOS = Path(__file__).parent / "sipp"


def sipp_binary() -> str:
    path = shutil.which("sipp")
    assert path, "sipp (Debian package sip-tester) is required; scripts/install-system-deps installs it"
    return path


def run_scenario(scenario: str, port: int, workdir: Path, *, host: str = "127.0.0.1", calls: int = 1,
                 variables: dict[str, str] | None = None, timeout: int = 30,
                 inf: Path | None = None) -> subprocess.CompletedProcess:
    """Run one scenario to completion; returns the finished process (exit 0 = every call passed)."""
    command = [
        sipp_binary(), f"{host}:{port}", "-sf", str(SCENARIOS / scenario), "-t", "t1",
        "-i", "127.0.0.1", "-p", str(free_port()), "-m", str(calls), "-nostdin", "-timeout", f"{timeout}s",
        "-timeout_error", "-trace_err", "-trace_msg", "-max_recv_loops", "1000",
    ]
    for name, value in (variables or {}).items():
        command += ["-key", name, value]
    if inf is not None:
        command += ["-inf", str(inf)]
    return subprocess.run(command, cwd=workdir, capture_output=True, timeout=timeout + 15, text=True)


def failure_report(result: subprocess.CompletedProcess, workdir: Path) -> str:
    logs = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(workdir.glob("*.log"))
    )
    return f"sipp exit {result.returncode}\nstdout:{result.stdout[-2000:]}\nstderr:{result.stderr[-2000:]}\n{logs}"


class StunnelClient:
    """A local TCP port that stunnel forwards to the server over TLS."""

    def __init__(self, workdir: Path, server_port: int, *, ca: Path, cert: Path | None = None,
                 key: Path | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        lines = [
            "foreground = yes", f"pid =", "debug = 4", f"output = {workdir / 'stunnel.log'}",
            "[sip]", "client = yes", f"accept = 127.0.0.1:{self.port}", f"connect = 127.0.0.1:{server_port}",
            f"CAfile = {ca}", "verifyChain = yes", "checkHost = rcc.example.com",
        ]
        if cert is not None:
            lines += [f"cert = {cert}", f"key = {key}"]
        self.config = workdir / "stunnel.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "StunnelClient":
        self.process = subprocess.Popen(["stunnel4", str(self.config)], cwd=self.workdir,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process)
        return self

    def __exit__(self, *exc) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        time.sleep(0)

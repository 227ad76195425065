"""The real server as a subprocess (`python -m rccserver run --config ...`) on loopback.

Tests and benchmarks start it from a configuration that `testkit.testbed` or
`testkit.deployment` wrote; `ServerProcess` waits until the SIP port accepts,
talks to the admin API, signals the process (SIGHUP reloads, SIGTERM stops)
and reads its memory and CPU use from /proc (Linux).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_udp_and_tcp_port() -> int:
    """A loopback port free for UDP and for TCP right now (a stations line binds both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no loopback port free for both UDP and TCP")


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Until something accepts on 127.0.0.1:port; RuntimeError if `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {port} within {timeout} s")


def repo_env() -> dict[str, str]:
    """This environment with the checkout first on PYTHONPATH, for `python -m rccserver ...`."""
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # after the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5))
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """`users`: how many directory users the generated data holds, when a generator says."""

    def __init__(self, config_path: Path, sip_port: int, admin_port: int | None, users: int | None = None) -> None:
        self.config_path = config_path
        self.sip_port = sip_port
        self.admin_port = admin_port
        self.users = users
        self.workdir = config_path.parent
        self.stderr_path = self.workdir / "server.stderr"
        self.process: subprocess.Popen | None = None
        self.started_in: float | None = None

    def start(self, *, profile_to: Path | None = None, timeout: float = 120.0) -> "ServerProcess":
        """Start and wait for the SIP port (a 100,000-user directory takes a while to load).
        `profile_to`: run under cProfile, which writes its stats there when the server exits
        cleanly (SIGTERM)."""
        python = [sys.executable]
        if profile_to is not None:
            python += ["-m", "cProfile", "-o", str(profile_to)]
        command = python + ["-m", "rccserver", "run", "--config", str(self.config_path)]
        self._stderr = open(self.stderr_path, "wb")
        began = time.monotonic()
        self.process = subprocess.Popen(command, cwd=self.workdir, env=repo_env(),
                                        stdout=subprocess.DEVNULL, stderr=self._stderr)
        try:
            wait_for_port(self.sip_port, self.process, timeout)
            if self.admin_port is not None:
                # The admin port opens after the lines' listeners (a loaded machine can
                # leave a gap): a test's first admin request must not race it.
                wait_for_port(self.admin_port, self.process, timeout)
        except (RuntimeError, TimeoutError) as error:
            self.stop()
            raise RuntimeError(f"server failed to start ({error}):\n"
                               f"{self.stderr_path.read_text(errors='replace')[-3000:]}") from None
        self.started_in = time.monotonic() - began
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Signal the server and wait for it (killed after `timeout`); its exit status."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()
        return self.process.returncode

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the server was not started")
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def reload(self) -> None:
        """SIGHUP: the same as `rccserver -reload` (SPEC section 2)."""
        os.kill(self.pid, signal.SIGHUP)

    @property
    def log_text(self) -> str:
        path = self.workdir / "rccserver.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def admin(self, method: str, path: str, body: dict | None = None, timeout: float = 30.0) -> tuple[int, object]:
        """One admin API request: (status, the decoded JSON, or the text when it is not JSON)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.admin_port}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                status = response.status
                ctype = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raw, status, ctype = error.read(), error.code, error.headers.get("Content-Type", "")
        return status, (json.loads(raw) if "json" in ctype else raw.decode("utf-8", "replace"))

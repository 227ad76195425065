"""Start the real server as a subprocess (`python -m rccserver run --config ...`) on loopback."""
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

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {port} within {timeout} s")


class ServerProcess:
    def __init__(self, config_path: Path, sip_port: int, admin_port: int | None) -> None:
        self.config_path = config_path
        self.sip_port = sip_port
        self.admin_port = admin_port
        self.workdir = config_path.parent
        self.stderr_path = self.workdir / "server.stderr"
        self.process: subprocess.Popen | None = None

    def start(self) -> "ServerProcess":
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rccserver", "run", "--config", str(self.config_path)],
            cwd=self.workdir, env=env, stdout=subprocess.DEVNULL, stderr=self.stderr,
        )
        try:
            wait_for_port(self.sip_port, self.process)
        except (RuntimeError, TimeoutError):
            self.stop()
            raise RuntimeError(f"server failed to start:\n{self.stderr_path.read_text(errors='replace')}")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr.close()
        return self.process.returncode

    @property
    def log_text(self) -> str:
        path = self.workdir / "rccserver.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    # -- admin API ------------------------------------------------------------
    def admin(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.admin_port}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                status = response.status
                ctype = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raw, status, ctype = error.read(), error.code, error.headers.get("Content-Type", "")
        return status, (json.loads(raw) if "json" in ctype else raw.decode("utf-8", "replace"))

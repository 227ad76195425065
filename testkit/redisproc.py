"""A real redis-server for the pool tests: on a free loopback port, its files in a
directory of the test's, stopped and started again on the same port and files.

`appendonly=True` keeps an AOF with `appendfsync always` in that directory (what a
restart of Redis must not lose); otherwise nothing is persisted (`--save ""`).
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from testkit.serverproc import free_port


def redis_server_path() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


class RedisProcess:
    def __init__(self, directory: Path, *, appendonly: bool = False) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.appendonly = appendonly
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> "RedisProcess":
        binary = redis_server_path()
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/install-system-deps)")
        arguments = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                     "--save", "", "--daemonize", "no", "--protected-mode", "yes",
                     "--logfile", str(self.directory / "redis.log")]
        if self.appendonly:
            arguments += ["--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: "
                                   f"{(self.directory / 'redis.log').read_text(errors='replace')[-2000:]}")
            if self.ping():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout} s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM: Redis finishes its AOF and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> "RedisProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

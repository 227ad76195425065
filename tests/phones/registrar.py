"""Debian's Kamailio as a digest-authenticating SIP registrar on UDP loopback (one
password for every user), for the baresip driver's registration tests."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from tests.e2e.kamailio.proxy import kamailio_binary, module_dir

TEMPLATE = Path(__file__).with_name("registrar.cfg")
PASSWORD = "s3cret"  # what the tests configure as every user's password


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Registrar:
    def __init__(self, workdir: Path, password: str) -> None:
        self.workdir = workdir
        self.password = password
        self.port = free_udp_port()
        self.config = workdir / "registrar.cfg"
        self.log_path = workdir / "kamailio.log"
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self, timeout: float = 20.0) -> "Registrar":
        self.workdir.mkdir(parents=True, exist_ok=True)
        text = TEMPLATE.read_text()
        for name, value in (("PORT", self.port), ("MODULES", module_dir()), ("PASSWORD", self.password)):
            text = text.replace(f"@{name}@", str(value))
        self.config.write_text(text)
        (self.workdir / "run").mkdir(exist_ok=True)
        with open(self.log_path, "wb") as log:
            # -DD: foreground; -E: log to stderr (our file); -P/-Y: pid file and runtime dir of our own.
            self.process = subprocess.Popen(
                [kamailio_binary(), "-f", str(self.config), "-DD", "-E", "-P", str(self.workdir / "kamailio.pid"),
                 "-Y", str(self.workdir / "run"), "-m", "32", "-M", "8"],
                cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Until Kamailio answers an OPTIONS (405 from our route) on its UDP port."""
        probe = (f"OPTIONS sip:127.0.0.1:{self.port} SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-probe{n}\r\n"
                 "From: <sip:probe@127.0.0.1>;tag=probe\r\nTo: <sip:127.0.0.1>\r\n"
                 "Call-ID: probe-{n}\r\nCSeq: {n} OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(0.2)
            n = 0
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"kamailio exited with {self.process.returncode}:\n{self.log_text[-3000:]}")
                n += 1
                sock.sendto(probe.format(port=sock.getsockname()[1], n=n).encode(), self.address)
                try:
                    if sock.recv(4096).startswith(b"SIP/2.0 "):
                        return
                except OSError:
                    pass
        raise TimeoutError(f"kamailio did not answer on {self.address} within {timeout} s:\n{self.log_text[-3000:]}")

    @property
    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "Registrar":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

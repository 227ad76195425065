"""Kamailio (Debian `kamailio`) as a stateless SIP responder on loopback, for comparison.

bench/kamailio-responder.cfg answers every request but ACK with 200 (sl_send_reply);
it keeps no dialog, transaction or CSTA state, so it is the ceiling for "a SIP
server answering INFO over TCP" on this machine, not a like-for-like RCC server.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from testkit.serverproc import free_port, wait_for_port

CONFIG = Path(__file__).with_name("kamailio-responder.cfg")


def kamailio_binary() -> str | None:
    return shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None)


class Kamailio:
    def __init__(self, workdir: Path, *, tcp_workers: int = 2) -> None:
        binary = kamailio_binary()
        if binary is None:
            raise RuntimeError("kamailio not found: apt-get install kamailio")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.tcp_workers = tcp_workers
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Kamailio":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.workdir / "kamailio.log", "wb")
        # -DD: stay in the foreground (children still fork); -E: log to stderr;
        # -n: TCP worker count; -P: pid file in our own directory, not /run.
        self.process = subprocess.Popen(
            [self.binary, "-f", str(CONFIG), "-DD", "-E", "-l", f"tcp:127.0.0.1:{self.port}",
             "-n", str(self.tcp_workers), "-P", str(self.workdir / "kamailio.pid"),
             "-Y", str(self.workdir), "-m", "64", "-M", "16"],
            cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=self._log,
        )
        try:
            wait_for_port(self.port, self.process, 20.0)
        except (RuntimeError, TimeoutError) as error:
            self.__exit__()
            raise RuntimeError(f"kamailio did not start ({error}):\n"
                               f"{(self.workdir / 'kamailio.log').read_text(errors='replace')[-2000:]}")
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

"""Kamailio (Debian `kamailio`) as a stateless SIP responder on loopback, for comparison.

bench/kamailio-responder.cfg answers every request but ACK with 200 (sl_send_reply);
it keeps no dialog, transaction or CSTA state, so it is the ceiling for "a SIP
server answering INFO over TCP" on this machine, not a like-for-like RCC server.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from testkit.serverproc import cpu_seconds, free_port, wait_for_port

CONFIG = Path(__file__).with_name("kamailio-responder.cfg")


def tree_cpu(root: int) -> float:
    """User + system CPU of `root` and every live descendant (Kamailio forks its workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid and child not in tree]
        tree.update(children)
        frontier.extend(children)
    total = 0.0
    for pid in tree:
        try:
            total += cpu_seconds(pid)
        except (OSError, ValueError, IndexError):
            continue
    return total


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

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("kamailio was not started")
        return self.process.pid

    def cpu(self) -> float:
        """CPU seconds of the main process and its forked workers so far."""
        return tree_cpu(self.pid)

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

"""A generated rccserver deployment for benchmarks, and the server as a subprocess.

`write_deployment(dir, users=N)` writes a config, an AD LDIF with N enabled Lync
users and CIC data with one licensed user and one station per AD user:

    user i: sip:u<i>@example.com, line tel:+2<i:06d>, EXAMPLE\\u<i>, station 2<i:06d>

so every generated user logs on with Cs_Success on a station of its own.
`BenchServer` starts `python -m rccserver run --config ...` on loopback and
reads its resident memory from /proc. (bench/ does not import tests/.)
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

import attrs

REPO = Path(__file__).resolve().parents[1]
DOMAIN = "example.com"


@attrs.frozen(slots=True)
class BenchUser:
    index: int

    @property
    def sam(self) -> str:
        return f"u{self.index}"

    @property
    def uri(self) -> str:
        return f"sip:u{self.index}@{DOMAIN}"

    @property
    def extension(self) -> str:
        return f"2{self.index:06d}"

    @property
    def line(self) -> str:
        return f"tel:+{self.extension}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ldif_text(count: int, *, renamed: bool = False) -> str:
    """`renamed` changes every displayName: a reload then reports every user as changed."""
    suffix = " (reloaded)" if renamed else ""
    return "\n".join(
        f"dn: CN=u{i},CN=Users,DC=example,DC=com\n"
        f"objectClass: user\n"
        f"sAMAccountName: u{i}\n"
        f"displayName: User {i}{suffix}\n"
        f"msRTCSIP-PrimaryUserAddress: sip:u{i}@{DOMAIN}\n"
        f"msRTCSIP-Line: tel:+2{i:06d}\n"
        f"msRTCSIP-LineServer: sip:rcc@rcc.example.com\n"
        f"msRTCSIP-UserEnabled: TRUE\n"
        for i in range(count)
    )


def cic_text(count: int) -> str:
    parts = ['[licenses]\nfeatures = ["I3_FEATURE_LYNC"]\n']
    parts.extend(
        f"[[users]]\nid = \"U{i}\"\nnt_domain_user = 'EXAMPLE\\u{i}'\nextension = \"8{i:06d}\"\n"
        f"client_license = true\nallow_remote_number = false\n"
        for i in range(count)
    )
    parts.extend(
        f"[[stations]]\nname = \"Desk{i}\"\nextension = \"2{i:06d}\"\nidentification_address = \"tel:+2{i:06d}\"\n"
        for i in range(count)
    )
    return "\n".join(parts)


def config_text(*, sip_port: int, admin_port: int, session_timeout: int,
                max_connections_per_source: int = 256) -> str:
    return f"""[server]
log_file = "rccserver.log"
pid_file = "rccserver.pid"
log_level = "info"

[line]
domain_name = "rcc.example.com"
transport = "tcp"
address = "127.0.0.1"
receive_port = {sip_port}
session_timeout = {session_timeout}
max_connections_per_source = {max_connections_per_source}

[directory]
source = "ldif"
ldif_file = "directory.ldif"
netbios_domain = "EXAMPLE"

[cic]
data_file = "cic.toml"

[admin]
listen = "127.0.0.1:{admin_port}"
"""


def write_deployment(directory: Path, *, users: int, session_timeout: int = 0) -> "BenchServer":
    directory.mkdir(parents=True, exist_ok=True)
    sip_port, admin_port = free_port(), free_port()
    (directory / "directory.ldif").write_text(ldif_text(users))
    (directory / "cic.toml").write_text(cic_text(users))
    (directory / "rccserver.toml").write_text(
        config_text(sip_port=sip_port, admin_port=admin_port, session_timeout=session_timeout)
    )
    return BenchServer(directory / "rccserver.toml", sip_port, admin_port, users)


def wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> None:
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


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc/<pid>/stat (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # after the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5))
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BenchServer:
    def __init__(self, config_path: Path, sip_port: int, admin_port: int, users: int) -> None:
        self.config_path = config_path
        self.sip_port = sip_port
        self.admin_port = admin_port
        self.users = users
        self.workdir = config_path.parent
        self.process: subprocess.Popen | None = None
        self.started_in: float | None = None

    def start(self, *, profile_to: Path | None = None, timeout: float = 120.0) -> "BenchServer":
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        python = [sys.executable]
        if profile_to is not None:  # cProfile writes its stats when the server exits cleanly (SIGTERM)
            python += ["-m", "cProfile", "-o", str(profile_to)]
        command = python + ["-m", "rccserver", "run", "--config", str(self.config_path)]
        self._stderr = open(self.workdir / "server.stderr", "wb")
        began = time.monotonic()
        self.process = subprocess.Popen(command, cwd=self.workdir, env=env,
                                        stdout=subprocess.DEVNULL, stderr=self._stderr)
        try:
            wait_for_port(self.sip_port, self.process, timeout)
        except (RuntimeError, TimeoutError) as error:
            self.stop()
            raise RuntimeError(f"rccserver did not start ({error}):\n"
                               f"{(self.workdir / 'server.stderr').read_text(errors='replace')[-3000:]}")
        self.started_in = time.monotonic() - began
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def admin(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        """One admin API request: (status, decoded JSON, or the text of an error)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def reload(self) -> None:
        """SIGHUP: the same as `rccserver -reload` (SPEC section 2)."""
        os.kill(self.pid, signal.SIGHUP)

    def log_text(self) -> str:
        path = self.workdir / "rccserver.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def stop(self, timeout: float = 60.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()
        return self.process.returncode

"""Run Debian's Kamailio as a loopback record-routing proxy in front of rccserver.

Everything lives in a temp dir: the filled-in config, the pid file, the
runtime dir; Kamailio runs in the foreground (-DD -E) and logs to a file we
read back to see what it relayed.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from testkit.serverproc import free_port, wait_for_port

TEMPLATE = Path(__file__).with_name("kamailio.cfg")
MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules",
               "/usr/local/lib64/kamailio/modules", "/usr/local/lib/kamailio/modules")


def kamailio_binary() -> str:
    path = shutil.which("kamailio") or (Path("/usr/sbin/kamailio").exists() and "/usr/sbin/kamailio")
    assert path, "kamailio (Debian package kamailio) is required; scripts/install-system-deps installs it"
    return str(path)


def module_dir() -> str:
    for candidate in MODULE_DIRS:
        if (Path(candidate) / "tm.so").exists():
            return candidate
    raise AssertionError(f"no Kamailio module directory with tm.so among {MODULE_DIRS}")


class KamailioProxy:
    def __init__(self, workdir: Path, rcc_port: int, *, rcc_domain: str = "rcc.example.com",
                 fr_timer_ms: int = 30000, sipe_provisioning: tuple[str, str] | None = None) -> None:
        """sipe_provisioning = (line URI, gateway URI): also act as the minimal registrar
        pidgin-sipe needs before it opens the RCC dialog."""
        self.workdir = workdir
        self.port = free_port()
        self.config = workdir / "kamailio.cfg"
        self.log_path = workdir / "kamailio.log"
        self.pid_file = workdir / "kamailio.pid"
        self.runtime_dir = workdir / "run"
        text = TEMPLATE.read_text()
        for name, value in (("PROXY_PORT", self.port), ("RCC_PORT", rcc_port), ("RCC_DOMAIN", rcc_domain),
                            ("MODULES", module_dir()), ("FR_TIMER_MS", fr_timer_ms),
                            ("SIPE_LINE", sipe_provisioning[0] if sipe_provisioning else ""),
                            ("SIPE_GATEWAY", sipe_provisioning[1] if sipe_provisioning else "")):
            text = text.replace(f"@{name}@", str(value))
        if sipe_provisioning:
            text = text.replace("#!KAMAILIO\n", "#!KAMAILIO\n#!define SIPE_PROVISIONING\n", 1)
        self.config.write_text(text)
        self.process: subprocess.Popen | None = None

    def check_config(self) -> subprocess.CompletedProcess:
        return subprocess.run([kamailio_binary(), "-c", "-f", str(self.config)], capture_output=True, text=True,
                              timeout=30)

    def start(self) -> "KamailioProxy":
        self.runtime_dir.mkdir(exist_ok=True)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [kamailio_binary(), "-f", str(self.config), "-DD", "-E", "-P", str(self.pid_file),
             "-Y", str(self.runtime_dir), "-m", "64", "-M", "8"],
            cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port, self.process)
        except (RuntimeError, TimeoutError):
            self.stop()
            raise RuntimeError(f"kamailio failed to start:\n{self.log_text}")
        return self

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    @property
    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log_text
            if text in log:
                return log
            time.sleep(0.05)
        raise TimeoutError(f"{text!r} not in the Kamailio log within {timeout} s")

    def __enter__(self) -> "KamailioProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

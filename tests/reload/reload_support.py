"""Helpers for reload tests: a testbed server, edits of its data files, and the `rccserver -reload` CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from testkit import testbed
from testkit.lyncclient import LyncClient

REPO = Path(__file__).resolve().parents[2]


def lync_entry(sam: str, line: str, enabled: bool = True, display: str | None = None) -> str:
    return (f"dn: CN={sam},CN=Users,DC=example,DC=com\nobjectClass: user\nsAMAccountName: {sam}\n"
            f"displayName: {display or sam.title() + ' Example'}\nmsRTCSIP-PrimaryUserAddress: sip:{sam}@example.com\n"
            f"msRTCSIP-Line: {line}\nmsRTCSIP-LineServer: sip:rcc@rcc.example.com\n"
            f"msRTCSIP-UserEnabled: {'TRUE' if enabled else 'FALSE'}\n")


def ldif_with(*, drop: tuple[str, ...] = (), add: tuple[str, ...] = (), replace: dict[str, str] | None = None) -> str:
    """The testbed LDIF without the users in `drop`, with extra entries, and with text replacements."""
    text = "\n".join(lync_entry(sam, line, enabled) for sam, line, enabled in testbed.USERS if sam not in drop)
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return "\n".join([text, *add])


def cic_with_zoe() -> str:
    return (testbed.cic_text() + "\n[[users]]\nid = \"Zoe\"\nnt_domain_user = 'EXAMPLE\\zoe'\nextension = \"8008\"\n"
            "client_license = true\n\n[[stations]]\nname = \"Desk1008\"\nextension = \"1008\"\n")


def run_cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "rccserver", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def reload_cli(server) -> subprocess.CompletedProcess:
    return run_cli("-reload", "--config", str(server.config_path), "--timeout", "30", cwd=server.workdir)


def outcome(server) -> dict | None:
    path = server.workdir / "rccserver.pid.reload"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def wait_outcome(server, after_seq: int, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = outcome(server)
        if current and current.get("seq", 0) > after_seq:
            return current
        time.sleep(0.05)
    raise AssertionError(f"no reload outcome after seq {after_seq} within {timeout} s")


def sign_in(server, user: str, line: str) -> tuple[int, str | None, LyncClient]:
    client = LyncClient("127.0.0.1", server.sip_port, user=user, line=line)
    response = client.sign_in()
    return response.status, response.headers.get("Warning"), client


def logon_status(server, user: str, line: str) -> tuple[int, str | None]:
    """Sign in and out; (status, Warning header)."""
    status, warning, client = sign_in(server, user, line)
    try:
        if status == 200:
            assert client.sign_out().status == 200
    finally:
        client.close()
    return status, warning


def wait_log(server, *fragments: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log_text.splitlines():
            if all(fragment in line for fragment in fragments):
                return line
        time.sleep(0.05)
    raise AssertionError(f"no log line with {fragments}:\n{server.log_text[-3000:]}")

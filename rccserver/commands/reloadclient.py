"""`rccserver -reload`: ask the running server to reload, wait, print what changed.

The server is found through its pid file and poked with SIGHUP. It writes the
outcome of every reload, numbered, to `<pid_file>.reload` (JSON); we wait for
an outcome numbered above the one present before we signalled.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from rccserver.server.config import ConfigError
from rccserver.server.effective_config import load_effective_config

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG_ERROR = 2


def outcome_path(pid_file: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(pid_file)}.reload")


def read_outcome(pid_file: str | os.PathLike[str]) -> dict | None:
    try:
        return json.loads(outcome_path(pid_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_outcome(pid_file: str | os.PathLike[str], outcome: dict) -> None:
    """Server side: publish a reload outcome atomically."""
    target = outcome_path(pid_file)
    temporary = target.with_name(target.name + ".tmp")
    # Compact: json's C encoder (indent= falls back to the Python one, twice as slow). The
    # server writes this on its reactor, 100,000 names after a full reload.
    temporary.write_text(json.dumps(outcome, sort_keys=True), encoding="utf-8")
    os.replace(temporary, target)


def read_pid(pid_file: str | os.PathLike[str]) -> int | None:
    try:
        pid = int(Path(pid_file).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by someone else: signalling will tell
    return pid


def looks_like_rccserver(pid: int) -> bool:
    """False when /proc shows that `pid` runs something else (a stale pid file whose
    number was reused): SIGHUP would hang up that process. True when we cannot tell."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no procfs (or no access): trust the pid file
    return b"rccserver" in command


def format_outcome(outcome: dict) -> str:
    if not outcome.get("ok"):
        return f"reload failed: {outcome.get('error', 'unknown error')} (the previous data stays in force)"
    lines = [
        f"reloaded: {outcome.get('users', 0)} directory users, "
        f"{len(outcome.get('added', []))} added, {len(outcome.get('removed', []))} removed, "
        f"{len(outcome.get('changed', []))} changed"
    ]
    for label in ("added", "removed", "changed"):
        for uri in outcome.get(label, []):
            lines.append(f"  {label}: {uri}")
    for line in outcome.get("would_refuse", []):
        lines.append(f"  live session now refused: {line}")
    return "\n".join(lines)


def request_reload(config_path: str | None, *, timeout: float = 120.0) -> int:
    try:
        config = load_effective_config(config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    pid_file = config.server.pid_file
    pid = read_pid(pid_file)
    if pid is None:
        print(f"no rccserver running (pid file {pid_file} missing, stale or unreadable)", file=sys.stderr)
        return EXIT_FAILED
    if not looks_like_rccserver(pid):
        print(f"no rccserver running: pid file {pid_file} names process {pid}, which is not rccserver "
              f"(stale pid file?); not signalling it", file=sys.stderr)
        return EXIT_FAILED
    before = (read_outcome(pid_file) or {}).get("seq", 0)
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError as error:
        print(f"cannot signal rccserver (pid {pid}): {error}", file=sys.stderr)
        return EXIT_FAILED
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcome = read_outcome(pid_file)
        if outcome and outcome.get("seq", 0) > before:
            print(format_outcome(outcome))
            return EXIT_OK if outcome.get("ok") else EXIT_FAILED
        time.sleep(0.1)
    print(f"no reload outcome from rccserver (pid {pid}) within {timeout:g} s", file=sys.stderr)
    return EXIT_FAILED

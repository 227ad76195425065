"""The RCCServer log (SPEC section 6): one line per event, ISO-8601 UTC time first, then the level.

Everything goes through twisted.logger: modules emit events with an
`rcc_text` field through `log`; `RccLogObserver` writes them (and any warning
or error from elsewhere in the process) to the configured file, rotated by
size. `--log-format json` writes one JSON object per line instead.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from twisted.logger import (
    FilteringLogObserver, ILogObserver, LogLevel, LogLevelFilterPredicate, Logger, PredicateResult,
    formatEvent, globalLogPublisher,
)
from twisted.python.logfile import LogFile
from zope.interface import implementer

log = Logger(namespace="rccserver")

_LEVELS = {"debug": LogLevel.debug, "info": LogLevel.info, "warn": LogLevel.warn, "error": LogLevel.error}
_LEVEL_NAMES = {LogLevel.debug: "DEBUG", LogLevel.info: "INFO", LogLevel.warn: "WARN",
                LogLevel.error: "ERROR", LogLevel.critical: "CRITICAL"}


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _value(value: Any) -> str:
    text = "-" if value is None or value == "" else str(value)
    return f'"{text}"' if (" " in text or '"' in text) else text


def fields_text(kind: str, fields: dict[str, Any]) -> str:
    return kind + "".join(f" {name}={_value(value)}" for name, value in fields.items())


@implementer(ILogObserver)
class RccLogObserver:
    def __init__(self, path: str, *, max_bytes: int, backups: int, json_format: bool = False) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.file = LogFile(target.name, str(target.parent), rotateLength=max_bytes, maxRotatedFiles=backups or None)
        self.json_format = json_format

    def __call__(self, event: dict) -> None:
        level = event.get("log_level", LogLevel.info)
        stamp = _timestamp(event.get("log_time") or 0.0)
        kind = event.get("rcc_kind")
        if self.json_format:
            record = {"time": stamp, "level": _LEVEL_NAMES.get(level, "INFO"), "event": kind or "message",
                      **event.get("rcc_fields", {})}
            if kind is None:
                record["text"] = _message(event)
            line = json.dumps(record, default=str, sort_keys=False)
        else:
            text = fields_text(kind, event.get("rcc_fields", {})) if kind else _message(event)
            line = f"{stamp} {_LEVEL_NAMES.get(level, 'INFO'):<5} {text}"
        self.file.write(line.replace("\n", "\\n") + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _message(event: dict) -> str:
    text = formatEvent(event) or ""
    failure = event.get("log_failure")
    if failure is not None:
        text += " " + failure.getTraceback()
    return f"[{event.get('log_namespace', '?')}] {text}"


def _ours_or_serious(threshold: LogLevel):
    def predicate(event: dict) -> PredicateResult:
        level = event.get("log_level", LogLevel.info)
        if str(event.get("log_namespace", "")).startswith("rccserver"):
            return PredicateResult.maybe if level >= threshold else PredicateResult.no
        return PredicateResult.maybe if level >= LogLevel.warn else PredicateResult.no
    return predicate


def start_rcc_log(config) -> FilteringLogObserver:
    server = config.server
    observer = RccLogObserver(server.log_file, max_bytes=server.log_max_bytes, backups=server.log_backups,
                              json_format=server.log_format == "json")
    threshold = _LEVELS[server.log_level]
    filtered = FilteringLogObserver(observer, [_ours_or_serious(threshold)])
    filtered.rcc_observer = observer
    globalLogPublisher.addObserver(filtered)
    return filtered


def stop_rcc_log(filtered) -> None:
    globalLogPublisher.removeObserver(filtered)
    filtered.rcc_observer.close()


def emit(kind: str, level: LogLevel = LogLevel.info, **fields: Any) -> None:
    log.emit(level, "{rcc_kind}", rcc_kind=kind, rcc_fields=fields)


# -- the events ------------------------------------------------------------------------
def _peer(peer) -> str | None:
    return f"{peer[0]}:{peer[1]}" if peer else None


def log_logon(decision, peer=None) -> None:
    emit("logon", LogLevel.info if decision.ok else LogLevel.warn,
         code=decision.code, lync_uri=decision.lync_uri, domain_account=decision.domain_account,
         cic_user=decision.cic_user, line=decision.line, station=decision.station,
         remote_number=decision.remote_number, peer=_peer(peer), detail=decision.detail)


def _session_fields(session) -> dict[str, Any]:
    return dict(lync_uri=session.lync_uri, cic_user=session.cic_user, line=session.line,
                station=session.station or session.device, call_id=session.dialog.call_id)


def log_session_start(session) -> None:
    emit("session-start", **_session_fields(session), peer=_peer(session.peer))


def log_session_end(session, reason: str) -> None:
    emit("session-end", **_session_fields(session), reason=reason)


def log_keepalive_failure(session, outcome: str, ends_session: bool) -> None:
    emit("keepalive-failure", LogLevel.warn, **_session_fields(session), outcome=outcome,
         action="session ended" if ends_session else "tolerated")


def log_reload(result: dict) -> None:
    if result.get("ok"):
        emit("reload", users=result.get("users"), added=len(result.get("added", [])),
             removed=len(result.get("removed", [])), changed=len(result.get("changed", [])),
             seconds=result.get("elapsed"))
        for line in result.get("would_refuse", []):
            emit("reload-would-refuse", LogLevel.warn, session=line)
    else:
        emit("reload-failed", LogLevel.error, error=result.get("error"))


def log_rejected_connection(peer, reason: str) -> None:
    emit("connection-rejected", LogLevel.warn, peer=_peer(peer), reason=reason)


def log_started(config, sip_port) -> None:
    emit("server-start", transport=config.line.transport, address=config.line.address, port=sip_port,
         pid=os.getpid())


def log_shutdown() -> None:
    emit("server-stop")

"""The RCCServer log (SPEC section 6): one line per event, ISO-8601 UTC time first, then the level.

Everything goes through twisted.logger. Modules report through the helpers
below (log_logon, log_session_start, ...), which emit events on `log` (the
"rccserver" namespace) carrying `rcc_kind` and `rcc_fields`. The observer from
start_rcc_log writes our events at or above the configured level, plus
warnings and errors from anywhere else in the process, to the configured file,
rotated by size. A text line reads

    2024-05-01T12:00:00.123Z INFO  logon code=Cs_Success lync_uri=sip:alice@example.com ...

Values with spaces, quotes or '=' are double-quoted (a quote inside becomes \\");
an absent value is '-'. `log_format = "json"` writes one JSON object per line
with the same fields instead.
"""
from __future__ import annotations

import json
import math
import os
import re
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from threading import get_ident
from time import time
from typing import Any, Mapping

from twisted.logger import ILogObserver, LogLevel, LogPublisher, Logger, formatEvent, globalLogPublisher
from zope.interface import implementer

NAMESPACE = "rccserver"
log = Logger(namespace=NAMESPACE)

LEVELS = {"debug": LogLevel.debug, "info": LogLevel.info, "warn": LogLevel.warn, "error": LogLevel.error}
_LEVEL_NAMES = {LogLevel.debug: "DEBUG", LogLevel.info: "INFO", LogLevel.warn: "WARN",
                LogLevel.error: "ERROR", LogLevel.critical: "CRIT"}
_LEVEL_COLUMNS = {level: f"{name:<5}" for level, name in _LEVEL_NAMES.items()}  # the text line's level column
_NEEDS_QUOTES = re.compile(r'[\s"=]')
_needs_quotes = _NEEDS_QUOTES.search


# -- formatting (pure) -------------------------------------------------------------------
def timestamp(epoch: float) -> str:
    """ISO-8601 UTC with milliseconds: 2024-05-01T12:00:00.123Z.

    The same text as datetime.fromtimestamp(epoch, utc).strftime(...) with the microseconds
    cut to milliseconds (tests/rcclog/test_rcclog_fast_paths.py compares the two); the date
    and time of day are formatted once per second, since every line of that second shares them."""
    global _stamp
    # datetime.fromtimestamp's own split: microseconds rounded half to even, carried into the second
    fraction, whole = math.modf(epoch)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        micros -= 1_000_000
        whole += 1.0
    elif micros < 0:
        micros += 1_000_000
        whole -= 1.0
    second, text = _stamp  # one tuple, read and replaced whole: safe if another thread logs too
    if whole != second:
        text = datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _stamp = (whole, text)
    return f"{text}.{micros // 1000:03d}Z"


_stamp: tuple[float | None, str] = (None, "")  # the last second formatted, and its text


def fields_text(kind: str, fields: Mapping[str, Any]) -> str:
    """`kind name=value name=value ...` in the fields' order.

    An absent value (None or "") is '-'; a value with spaces, quotes or '=' is quoted."""
    texts = ["-" if value is None or value == "" else value if type(value) is str else str(value)
             for value in fields.values()]
    # One look at all the values tells whether any needs quoting (many lines: none). The
    # same test as _needs_quotes ([\s"=]), without a regex scan: str.split's whitespace is
    # re's \s (tests/rcclog/test_rcclog_fast_paths.py checks every code point).
    joined = "".join(texts)
    if '"' in joined or "=" in joined or joined.split(None, 1) != [joined]:
        texts = ['"' + text.replace('"', '\\"') + '"' if _needs_quotes(text) else text for text in texts]
    # Each kind of line has the same names every time: its "kind name=%s ..." template is
    # built once, and one %-formatting fills it (a third of the cost of joining the pieces).
    key = (kind, *fields)
    template = _line_templates.get(key)
    if template is None:
        if len(_line_templates) >= 1024:  # kinds and names are the code's own; a bound all the same
            _line_templates.clear()
        template = _line_templates[key] = kind.replace("%", "%%") + "".join(
            [f" {name.replace('%', '%%')}=%s" for name in fields])
    return template % tuple(texts)


_line_templates: dict[tuple[str, ...], str] = {}  # (kind, field names...) -> "kind name=%s name=%s ..."


def logon_fields(decision) -> dict[str, Any]:
    """What every logon line carries (SPEC 6): code, Lync URI, domain account, CIC user, line, station."""
    return {
        "code": decision.code, "status": decision.sip_status, "lync_uri": decision.lync_uri,
        "domain_account": decision.domain_account, "cic_user": decision.cic_user, "line": decision.line,
        "station": decision.station, "remote_number": decision.remote_number, "detail": decision.detail,
    }


def logon_line(decision) -> str:
    """The text of a logon event (what follows timestamp and level in the file)."""
    return fields_text("logon", logon_fields(decision))


def _message(event: Mapping[str, Any]) -> str:
    text = formatEvent(event) or ""
    failure = event.get("log_failure")
    if failure is not None:
        text += " " + failure.getTraceback()
    return f"[{event.get('log_namespace', '?')}] {text}"


def format_event(event: Mapping[str, Any], json_format: bool = False) -> str:
    """One log line (without the newline) for a twisted.logger event."""
    stamp = timestamp(event.get("log_time") or 0.0)
    kind = event.get("rcc_kind")
    fields = event.get("rcc_fields") or {}
    if json_format:
        level = _LEVEL_NAMES.get(event.get("log_level", LogLevel.info), "INFO")
        record: dict[str, Any] = {"time": stamp, "level": level, "event": kind or "message"}
        if kind:
            record.update(fields)
        else:
            record["text"] = _message(event)
        return json.dumps(record, default=str)
    level = _LEVEL_COLUMNS.get(event.get("log_level", LogLevel.info), "INFO ")
    text = fields_text(kind, fields) if kind else _message(event)
    return f"{stamp} {level} {text}".replace("\r", "\\r").replace("\n", "\\n")


# -- the file ----------------------------------------------------------------------------
class RotatingFile:
    """Appends lines; before a write would take the file past max_bytes it becomes
    path.1 (path.1 -> path.2 ..., keeping `backups` old files; 0 keeps none)."""

    def __init__(self, path: str | os.PathLike[str], max_bytes: int, backups: int) -> None:
        if max_bytes < 1 or backups < 0:
            raise ValueError(f"need max_bytes >= 1 and backups >= 0 (got {max_bytes}, {backups})")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")
        self.size = self._file.tell()

    def write(self, line: str) -> None:
        """Append the line and flush it to the file at once."""
        self.append(line)
        self._file.flush()

    def append(self, line: str) -> None:
        """Append the line to the buffer; on disk at the next flush (or rotation, or close)."""
        data = line.encode("utf-8")
        if self.size and self.size + len(data) > self.max_bytes:
            self.rotate()
        self._file.write(data)
        self.size += len(data)

    def flush(self) -> None:
        self._file.flush()

    def rotate(self) -> None:
        self._file.close()
        if self.backups == 0:
            os.remove(self.path)
        else:
            for index in range(self.backups - 1, 0, -1):
                older = self._rotated(index)
                if older.exists():
                    os.replace(older, self._rotated(index + 1))
            os.replace(self.path, self._rotated(1))
        self._file = open(self.path, "ab")
        self.size = 0

    def _rotated(self, index: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{index}")

    def close(self) -> None:
        self._file.close()


@implementer(ILogObserver)
class RccLogObserver:
    """Writes every event it is given as one line of the RCCServer log.

    With a reactor, the lines of one reactor turn reach the file in one write (a write
    system call per line was a tenth of a logon's CPU): the runtime calls `flush` in
    every flush of the core (after each received chunk and each timer tick), after the
    switch events and before the lines' drivers carry out the answers, which may leave
    at once (transport/write_now.py), so what a client has been answered is in the log
    when it looks. A `callLater(0)` armed by the turn's first line catches lines logged
    outside a flush of the core. Lines from another thread than the reactor's are
    written at once, as without a reactor."""

    def __init__(self, path: str, *, max_bytes: int, backups: int, json_format: bool = False,
                 reactor=None) -> None:
        self.file = RotatingFile(path, max_bytes, backups)
        self.json_format = json_format
        self.reactor = reactor
        self._reactor_thread = get_ident()  # start_rcc_log runs on the reactor's thread
        self._flush_due = False

    def __call__(self, event: dict) -> None:
        line = format_event(event, self.json_format) + "\n"
        if self.reactor is None or get_ident() != self._reactor_thread:
            self.file.write(line)
            return
        self.file.append(line)
        if not self._flush_due:
            self._flush_due = True
            self.reactor.callLater(0, self.flush)

    def flush(self) -> None:
        if self._flush_due:  # else nothing waits (or the file is closed already)
            self._flush_due = False
            self.file.flush()

    def close(self) -> None:
        self._flush_due = False
        self.file.close()


def _ours(namespace: Any) -> bool:
    namespace = str(namespace)
    return namespace == NAMESPACE or namespace.startswith(NAMESPACE + ".")


@implementer(ILogObserver)
class OursOrSerious:
    """Passes on our namespace's events from `threshold` up and anyone else's warnings
    and errors (what twisted's FilteringLogObserver with a level predicate did, in one
    call: the level test is a look-up in a table built once)."""

    def __init__(self, observer: RccLogObserver, threshold: LogLevel) -> None:
        self.rcc_observer = observer
        self.threshold = threshold
        self._ours_from = frozenset(level for level in LogLevel.iterconstants() if level >= threshold)
        self._others_from = frozenset(level for level in LogLevel.iterconstants() if level >= LogLevel.warn)

    def __call__(self, event: dict) -> None:
        level = event.get("log_level", LogLevel.info)
        namespace = event.get("log_namespace", "")
        if level in (self._ours_from if namespace == NAMESPACE or _ours(namespace) else self._others_from):
            self.rcc_observer(event)


def start_rcc_log(config, publisher: LogPublisher = globalLogPublisher, reactor=None) -> OursOrSerious:
    """Open the configured log file and attach its observer to `publisher`; returns the observer.

    With `reactor` (called on its thread), a reactor turn's lines are written together."""
    server = config.server
    observer = RccLogObserver(server.log_file, max_bytes=server.log_max_bytes, backups=server.log_backups,
                              json_format=server.log_format == "json", reactor=reactor)
    filtered = OursOrSerious(observer, LEVELS[server.log_level])
    publisher.addObserver(filtered)
    return filtered


def stop_rcc_log(filtered: OursOrSerious, publisher: LogPublisher = globalLogPublisher) -> None:
    publisher.removeObserver(filtered)
    filtered.rcc_observer.flush()  # the last lines (shutdown) need no further reactor turn
    filtered.rcc_observer.close()


_TEXT_FORMAT = "{rcc_text()}"  # twisted.logger calls rcc_text: only an observer that shows the text builds it


def emit(kind: str, level: LogLevel = LogLevel.info, **fields: Any) -> None:
    """One RCCServer log event; other observers see `kind name=value ...` as its text."""
    _emit(kind, level, fields)


def _emit(kind: str, level: LogLevel, fields: dict[str, Any]) -> None:
    # The event Logger.emit would build, handed to the logger's observer directly: Logger.emit
    # first checks the level against LogLevel.iterconstants(), which sorts the levels on every
    # call (a tenth of a logon line's cost); ours are always LogLevel constants.
    log.observer({
        "rcc_kind": kind, "rcc_fields": fields, "rcc_text": partial(fields_text, kind, fields),
        "log_logger": log, "log_level": level, "log_namespace": NAMESPACE, "log_source": None,
        "log_format": _TEXT_FORMAT, "log_time": time(),
    })


# -- the events other modules report -------------------------------------------------------
def _peer(peer) -> str | None:
    if not peer:
        return None
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def log_logon(decision, peer=None) -> None:
    fields = logon_fields(decision)
    fields["peer"] = _peer(peer)
    _emit("logon", LogLevel.info if decision.ok else LogLevel.warn, fields)


def _session_fields(session) -> dict[str, Any]:
    dialog = getattr(session, "dialog", None)
    return dict(lync_uri=session.lync_uri, cic_user=session.cic_user, line=session.line,
                station=session.station or getattr(session, "device", None),
                call_id=getattr(dialog, "call_id", None))


def log_session_start(session) -> None:
    fields = _session_fields(session)
    fields["peer"] = _peer(getattr(session, "peer", None))
    _emit("session-start", LogLevel.info, fields)


def log_session_end(session, reason: str) -> None:
    fields = _session_fields(session)
    fields["reason"] = reason
    _emit("session-end", LogLevel.info, fields)


def log_keepalive_failure(session, outcome: str, ends_session: bool) -> None:
    emit("keepalive-failure", LogLevel.warn, **_session_fields(session), outcome=outcome,
         action="session ended" if ends_session else "tolerated")


def log_reload(result) -> None:
    """A reload's outcome: a directory ReloadOutcome, or the runtime's dict
    (ok, users, added, removed, changed, elapsed, would_refuse | error)."""
    if not isinstance(result, Mapping):
        diff = result.diff
        result = {"ok": result.ok, "error": result.error, "users": result.users, "elapsed": result.elapsed,
                  "added": diff.added if diff else (), "removed": diff.removed if diff else (),
                  "changed": diff.changed if diff else ()}
    if result.get("ok"):
        elapsed = result.get("elapsed")
        emit("reload", users=result.get("users"), added=len(result.get("added", ())),
             removed=len(result.get("removed", ())), changed=len(result.get("changed", ())),
             seconds=None if elapsed is None else round(elapsed, 3))
        for line in result.get("would_refuse", ()):
            emit("reload-would-refuse", LogLevel.warn, session=line)
    else:
        emit("reload-failed", LogLevel.error, error=result.get("error"))


def log_connection_closed(peer, reason: str) -> None:
    emit("connection-closed", LogLevel.warn, peer=_peer(peer), reason=reason)


def log_rejected_connection(peer, reason: str) -> None:
    emit("connection-rejected", LogLevel.warn, peer=_peer(peer), reason=reason)


def log_started(config, sip_port) -> None:
    emit("server-start", transport=config.line.transport, address=config.line.address, port=sip_port,
         pid=os.getpid())


def log_shutdown() -> None:
    emit("server-stop")


# -- SIP stations (SPEC section 9): registrations and refused authentication ---------------
def log_station_registered(event) -> None:
    emit("station-registered", station=event.extension, sip_user=event.sip_user, contact=event.contact,
         transport=event.transport, peer=_peer(event.source), user_agent=event.user_agent, expires=event.expires)


def log_station_refreshed(event) -> None:
    # Phones refresh every few minutes: not a change, so not at info.
    emit("station-refreshed", LogLevel.debug, station=event.extension, sip_user=event.sip_user,
         contact=event.contact, transport=event.transport, peer=_peer(event.source), expires=event.expires)


def log_station_unregistered(event) -> None:
    emit("station-unregistered", station=event.extension, sip_user=event.sip_user, contact=event.contact,
         peer=_peer(event.source), reason=event.reason)


def log_station_expired(event) -> None:
    emit("station-expired", station=event.extension, sip_user=event.sip_user, contact=event.contact,
         peer=_peer(event.source))


def log_station_auth_failed(event, method: str = "REGISTER") -> None:
    """Credentials that did not authenticate: the user name sent, the AOR (or From) user, the source."""
    aor = event.aor_user if hasattr(event, "aor_user") else event.from_user
    emit("station-auth-failed", LogLevel.warn, method=method, user=event.user, aor_user=aor,
         peer=_peer(event.source), reason=event.reason)


def log_station_source_blocked(event, until_text: str, method: str = "REGISTER") -> None:
    emit("station-source-blocked", LogLevel.warn, method=method, host=event.host, failures=event.failures,
         until=until_text)


def log_station_refused_in_cooldown(event, until_text: str, method: str = "REGISTER") -> None:
    """The first request refused in a source's cool-down (the rest of the window is not logged)."""
    aor = event.aor_user if hasattr(event, "aor_user") else event.from_user
    emit("station-refused", LogLevel.warn, method=method, peer=_peer(event.source), aor_user=aor, until=until_text,
         reason="cool-down after repeated authentication failures; further refusals until then are not logged")


def log_station_leg_started(event) -> None:
    emit("station-leg-start", LogLevel.debug, station=event.station, leg=event.leg_id, role=event.role.name.lower(),
         call_id=event.call_id, peer=_peer(event.peer))


def log_station_leg_finished(event) -> None:
    emit("station-leg-end", LogLevel.debug, station=event.station, leg=event.leg_id, reason=event.reason)


def log_station_message_dropped(event) -> None:
    # Anyone can send garbage to a SIP port: debug only, or the log becomes theirs.
    emit("station-message-dropped", LogLevel.debug, peer=_peer(event.source), reason=event.reason)


def log_station_call(station: str, what: str, detail: str) -> None:
    """What the call layer could not do with a phone (not registered, a refused call, a failed leg)."""
    emit("station-call", station=station, what=what, detail=detail)


def log_stations_line_started(address: str, ports: Mapping[str, int]) -> None:
    emit("stations-line-start", address=address,
         **{f"{transport}_port": port for transport, port in ports.items()})

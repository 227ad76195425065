"""RCC sessions (one per SIP dialog) and the registry that indexes them.

A session is created when a logon succeeds and lives until its dialog ends.
The registry answers the questions the hot paths ask: which sessions monitor a
station (event fan-out), which monitor has a cross-reference id.  (Keep-alives are
the application's `TimerWheel`.)
"""
from __future__ import annotations

import itertools
from typing import Any, Iterator

import attrs


@attrs.define(eq=False, slots=True)
class Monitor:
    cross_ref_id: str
    device: str  # the monitored device exactly as the client named it
    session: "RccSession"


@attrs.define(eq=False, slots=True)
class RccSession:
    session_id: str
    dialog: Any  # rccserver.sip.dialog.Dialog
    lync_uri: str
    domain_account: str | None
    cic_user: str | None
    line: str  # the Line URI exactly as sent in lcs:line
    station: str | None  # station extension, None for a remote-number logon
    remote_number: str | None
    device: str  # the switch device this session controls: its station, or for a
    # remote-number logon the CIC user's extension, which rings the remote number
    namespace: str  # CSTA namespace the client speaks
    peer: tuple[str, int] | None
    started_at: float  # wall-clock (epoch) seconds, for display
    monitors: dict[str, Monitor] = attrs.field(factory=dict)
    keepalives_missed: int = 0  # keep-alives in a row that got no 200
    ended: bool = False


class SessionRegistry:
    def __init__(self) -> None:
        self._sessions: dict[str, RccSession] = {}
        # device -> its sessions, oldest first: a tuple, as a device rarely has more than
        # one or two (a 1-tuple is 64 bytes, a 1-entry dict 208: 7 MB at 50,000 sessions)
        self._by_device: dict[str, tuple[RccSession, ...]] = {}
        self._monitors: dict[str, Monitor] = {}
        # device -> how many monitors its registered sessions hold, only while more than 0:
        # the switch asks `is_monitored` for each call event it might build, and most
        # sessions (Lync without MonitorStart) monitor nothing.
        self._monitoring: dict[str, int] = {}
        self._xref_counter = itertools.count(1)

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[RccSession]:
        return iter(list(self._sessions.values()))

    def add(self, session: RccSession) -> None:
        self._sessions[session.session_id] = session
        if session.device is not None:
            self._by_device[session.device] = self._by_device.get(session.device, ()) + (session,)
            self._count_monitors(session.device, len(session.monitors))

    def remove(self, session: RccSession) -> list[Monitor]:
        """Forget the session and its monitors; returns the monitors dropped."""
        session.ended = True
        registered = self._sessions.get(session.session_id) is session
        if registered:
            del self._sessions[session.session_id]
        if session.device is not None:
            if registered:
                self._count_monitors(session.device, -len(session.monitors))
            holders = self._by_device.get(session.device, ())
            kept = tuple(s for s in holders if s is not session)
            if kept:
                self._by_device[session.device] = kept
            elif holders:
                del self._by_device[session.device]
        dropped = list(session.monitors.values())
        for monitor in dropped:
            self._monitors.pop(monitor.cross_ref_id, None)
        session.monitors.clear()
        return dropped

    def sessions_on(self, device: str) -> list[RccSession]:
        return list(self._by_device.get(device, ()))

    def is_monitored(self, device: str) -> bool:
        """Whether a registered session on `device` holds a monitor (what the event fan-out
        asks of every session in sessions_on(device), answered from a count)."""
        return device in self._monitoring

    def _count_monitors(self, device: str, change: int) -> None:
        if not change:
            return
        count = self._monitoring.get(device, 0) + change
        if count > 0:
            self._monitoring[device] = count
        else:
            self._monitoring.pop(device, None)

    def _counted(self, session: RccSession) -> bool:
        """Whether the session's monitors are in `_monitoring` (registered, with a device)."""
        return session.device is not None and self._sessions.get(session.session_id) is session

    def user_sessions_on(self, device: str, cic_user: str | None) -> list[RccSession]:
        return [s for s in self.sessions_on(device) if s.cic_user == cic_user]

    # -- monitors --------------------------------------------------------
    def start_monitor(self, session: RccSession, device: str) -> Monitor:
        # Unique for the server's life, never reused: a stale id can only miss.
        cross_ref_id = f"{next(self._xref_counter):x}"
        monitor = Monitor(cross_ref_id, device, session)
        session.monitors[cross_ref_id] = monitor
        self._monitors[cross_ref_id] = monitor
        if self._counted(session):
            self._count_monitors(session.device, 1)
        return monitor

    def stop_monitor(self, cross_ref_id: str) -> Monitor | None:
        monitor = self._monitors.pop(cross_ref_id, None)
        if monitor is not None:
            session = monitor.session
            if session.monitors.pop(cross_ref_id, None) is not None and self._counted(session):
                self._count_monitors(session.device, -1)
        return monitor

    def monitor(self, cross_ref_id: str) -> Monitor | None:
        return self._monitors.get(cross_ref_id)

    @property
    def monitor_count(self) -> int:
        return len(self._monitors)

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
        self._xref_counter = itertools.count(1)

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[RccSession]:
        return iter(list(self._sessions.values()))

    def add(self, session: RccSession) -> None:
        self._sessions[session.session_id] = session
        if session.device is not None:
            self._by_device[session.device] = self._by_device.get(session.device, ()) + (session,)

    def remove(self, session: RccSession) -> list[Monitor]:
        """Forget the session and its monitors; returns the monitors dropped."""
        session.ended = True
        self._sessions.pop(session.session_id, None)
        if session.device is not None:
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

    def user_sessions_on(self, device: str, cic_user: str | None) -> list[RccSession]:
        return [s for s in self.sessions_on(device) if s.cic_user == cic_user]

    # -- monitors --------------------------------------------------------
    def start_monitor(self, session: RccSession, device: str) -> Monitor:
        # Unique for the server's life, never reused: a stale id can only miss.
        cross_ref_id = f"{next(self._xref_counter):x}"
        monitor = Monitor(cross_ref_id, device, session)
        session.monitors[cross_ref_id] = monitor
        self._monitors[cross_ref_id] = monitor
        return monitor

    def stop_monitor(self, cross_ref_id: str) -> Monitor | None:
        monitor = self._monitors.pop(cross_ref_id, None)
        if monitor is not None:
            monitor.session.monitors.pop(cross_ref_id, None)
        return monitor

    def monitor(self, cross_ref_id: str) -> Monitor | None:
        return self._monitors.get(cross_ref_id)

    @property
    def monitor_count(self) -> int:
        return len(self._monitors)

"""The admin API's backend for a running server: the outside world it drives
(calls from and to external parties, CIC client logons) and the state it shows
(sessions, stations, calls, metrics), read from the Runtime's objects.

Every switch operation is followed by delivering the events it produced and
flushing the endpoint's output, as a SIP request would be.
"""
from __future__ import annotations

from datetime import datetime, timezone

from twisted.internet import defer

from rccserver.admin.api import AdminError
from rccserver.common.numbers import line_number
from rccserver.switch import SwitchError


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


class RuntimeAdminBackend:
    """`AdminBackend` (rccserver.admin.api) over a Runtime (rccserver.server.runtime)."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime

    def reload(self) -> defer.Deferred:
        return self.runtime.reload()

    def health(self) -> dict:
        problem = self.runtime.state_problem()
        health = {"status": "ok"} if problem is None else {"status": "degraded", "state": problem}
        trunk = self.trunk_snapshot()
        if trunk is not None:
            health["trunk"] = trunk
            if trunk["state"] == "down":
                health["status"] = "degraded"
        return health

    def trunk_snapshot(self) -> dict | None:
        """The [trunk] peer and its OPTIONS monitor (SPEC 9), or None without a trunk."""
        route = getattr(self.runtime, "trunk", None)
        if route is None:
            return None
        monitor = route.monitor
        state = monitor.as_json() if monitor is not None else {"state": "unknown"}
        return {"peer": self.runtime.config.trunk.peer, **state}

    def _after_switch_change(self) -> None:
        self.runtime.app.events.flush()
        self.runtime.driver.flush()

    def _switch_call(self, operation, *args):
        try:
            result = operation(*args)
        except SwitchError as error:
            status = 404 if error.value in ("invalidCallIdentifier", "invalidDeviceIdentifier") else 409
            raise AdminError(status, f"{error.category}/{error.value}: {error}") from None
        finally:
            self._after_switch_change()
        return result

    def _party(self, text: str) -> str:
        station = self.runtime.data.cic.station_for_line(text if ":" in text else f"tel:{text}")
        if station is not None:
            return station.extension
        if not line_number(text):
            raise AdminError(400, f"{text!r} is not a number or tel URI")
        return text if text.startswith("tel:") else f"tel:{text}"

    def place_call(self, from_: str, to: str) -> str:
        return self._switch_call(self.runtime.switch.place_call, self._party(from_), self._party(to)).call_id

    def external_answer(self, call_id: str) -> None:
        self._switch_call(self.runtime.switch.external_answer, call_id)

    def external_hangup(self, call_id: str) -> None:
        self._switch_call(self.runtime.switch.external_hangup, call_id)

    def _station(self, extension: str):
        station = self.runtime.data.cic.station_by_extension(extension)
        if station is None:
            raise AdminError(404, f"no station with extension {extension!r}")
        return station

    def client_login(self, extension: str, user_id: str) -> defer.Deferred:
        station = self._station(extension)
        if self.runtime.data.cic.user_by_id(user_id) is None:
            raise AdminError(404, f"no CIC user {user_id!r}")
        # Through the RCC application: in a pool the station's lease is taken too (answered later).
        answered: defer.Deferred = defer.Deferred()

        def replied(result) -> None:
            if result is None:
                answered.callback({"ok": True})
            elif hasattr(result, "other_user"):
                answered.errback(AdminError(409, f"station {extension} is in use by {result.other_user}"))
            else:
                answered.errback(AdminError(503, f"station {extension}: {result.reason}"))

        self.runtime.app.hold_station(station.extension, user_id, f"client:{station.extension}", "client", replied)
        return answered

    def client_logout(self, extension: str) -> None:
        station = self._station(extension)
        if not self.runtime.app.release_holder(f"client:{station.extension}"):
            raise AdminError(409, f"no CIC client is logged on to station {extension}")

    def sessions_snapshot(self) -> list[dict]:
        return [
            {
                "lync_uri": s.lync_uri,
                "cic_user": s.cic_user,
                "domain_account": s.domain_account,
                "station": s.station,
                "line": s.line,
                "remote_number": s.remote_number,
                "monitors": sorted(s.monitors),
                "remote": f"{s.peer[0]}:{s.peer[1]}" if s.peer else None,
                "started": _iso(s.started_at),
                "call_id": s.dialog.call_id,
            }
            for s in self.runtime.app.sessions
        ]

    def stations_snapshot(self) -> list[dict]:
        rows = []
        stations_line = getattr(self.runtime, "stations", None)  # None: no [stations_line]
        for station in self.runtime.data.cic.stations:
            occupant = self.runtime.occupancy.occupant(station.extension)
            holders = self.runtime.occupancy.holders(station.extension)
            row = {
                "extension": station.extension,
                "name": station.name,
                "type": station.type,
                "user": occupant,
                "how": sorted({h.kind for h in holders}) if holders else [],
                "calls": [
                    {"call_id": item.call_id, "state": item.state.value}
                    for item in self.runtime.switch.snapshot(station.extension)
                ],
            }
            if station.is_sip:
                # SPEC 9: {contact, transport, expires_in, user_agent}, or None when no phone is registered.
                row["registration"] = stations_line.registration(station.extension) if stations_line else None
            rows.append(row)
        return rows

    def calls_snapshot(self) -> list[dict]:
        return [
            {
                "call_id": call.call_id,
                "calling": call.calling_device,
                "called": call.called_device,
                "parties": [
                    {"device": p.device, "state": p.state.value, "station": p.is_station,
                     **({"remote_number": p.remote_number} if p.remote_number else {})}
                    for p in call.parties
                ],
            }
            for call in self.runtime.switch.calls()
        ]

    def metrics_exposition(self) -> bytes:
        return self.runtime.metrics.exposition()

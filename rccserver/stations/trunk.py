"""The SIP trunk peer (SPEC section 9): what the call layer needs to reach it, and whether it is up.

* `TrunkRoute`: how an outside number becomes an INVITE to the peer (its Request-URI,
  the calling number and identity a station shows outside, the digest credentials
  for the peer's 401/407), and where a trunk call's DID goes (`station_for_did`).
* `TrunkMonitor`: OPTIONS pings to the peer on the shared scheduler, every
  `interval` seconds; any answer but 408/503 (or our own stand-ins for no answer
  and a transport failure) means the peer is up.  A trunk that is down takes no
  new calls: the call layer fails them at once, saying why.

Sans-IO: the ping itself is the phone line's (`StationsEndpoint.ping_trunk`).
"""
from __future__ import annotations

from typing import Any, Callable

import attrs

from rccserver.common.clock import Scheduler, Timer
from rccserver.common.numbers import canonical_number
from rccserver.sip.digest import DigestClient

DOWN_STATUSES = frozenset({408, 503})


def calling_number(cic_data: Callable[[], Any], e164: Callable[[str], str | None]) -> Callable[[str], str]:
    """SPEC 10: towards the trunk, a station calls from its identification_address number
    when that is E.164, else from its extension."""
    def number(extension: str) -> str:
        station = next((s for s in cic_data().stations if s.extension == extension), None)
        address = canonical_number(station.identification_address) if station is not None else None
        international = e164(address) if address is not None else None
        return international or extension

    return number


@attrs.define(eq=False)
class TrunkRoute:
    peer_host: str  # host[:port] of the peer, for the Request-URI
    transport: str = "udp"
    calling_number: Callable[[str], str] = lambda station: station  # station -> its number outside
    station_for_did: Callable[[str], str | None] = lambda did: None  # after the `inbound` rules
    auth: DigestClient | None = None
    monitor: TrunkMonitor | None = None

    def uri_for(self, number: str) -> str:
        params = "" if self.transport == "udp" else f";transport={self.transport}"
        return f"sip:{number}@{self.peer_host}{params}"

    @property
    def down_reason(self) -> str | None:
        """Why the trunk takes no calls now, or None."""
        monitor = self.monitor
        if monitor is None or monitor.state != "down":
            return None
        return f"the trunk peer {self.peer_host} is down (OPTIONS: {monitor.last_status} {monitor.last_reason})"


class TrunkMonitor:
    """OPTIONS pings: `ping(answered)` sends one; `answered(status, reason)` comes back once."""

    def __init__(self, scheduler: Scheduler, ping: Callable[[Callable[[int, str], None]], None], *,
                 interval: float = 30.0, observer: Callable[[str, str], None] | None = None) -> None:
        self.scheduler = scheduler
        self._ping = ping
        self.interval = interval
        self._observer = observer or (lambda what, detail: None)
        self.state = "unknown"  # "up", "down" or "unknown" (no answer yet)
        self.last_status: int | None = None
        self.last_reason = ""
        self.last_answer_at: float | None = None  # scheduler time of the last answer (or failure)
        self.pings = 0
        self.failures = 0
        self._timer: Timer | None = None
        self._outstanding = False

    def start(self) -> None:
        if self._timer is None and self.interval > 0:
            self._timer = self.scheduler.call_at(self.scheduler.now(), self._due)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _due(self) -> None:
        self._timer = self.scheduler.call_at(self.scheduler.now() + self.interval, self._due)
        if self._outstanding:
            return  # the previous ping's transaction has not ended yet (Timer F is 32 s)
        self._outstanding = True
        self.pings += 1
        self._ping(self._answered)

    def _answered(self, status: int, reason: str) -> None:
        self._outstanding = False
        self.last_status, self.last_reason = status, reason
        self.last_answer_at = self.scheduler.now()
        state = "down" if status in DOWN_STATUSES else "up"
        if state == "down":
            self.failures += 1
        if state != self.state:
            self._observer(state, f"OPTIONS answered {status} {reason}")
        self.state = state

    def as_json(self) -> dict:
        return {
            "state": self.state,
            "last_status": self.last_status,
            "last_reason": self.last_reason or None,
            "pings": self.pings,
            "failures": self.failures,
        }

"""What the server does when the stations line reports something (SPEC section 9):
the RCCServer log line and the Prometheus counters, as two observers behind one
fan-out, like the RCC line's (observers.py).

The stations line (sans-IO) hands every event to one callable; the events are
the registrar's (`rccserver.stations.registrar_events`) and the phone line's own
(`rccserver.stations.line_events`: INVITE authentication, legs, dropped
messages). Events neither observer knows are ignored: a new kind of event must
not stop the line.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

from rccserver.admin.metrics import Metrics
from rccserver.server import rcclog
from rccserver.stations.line_events import (
    InviteAuthenticationFailed,
    InviteRefusedDuringCooldown,
    InviteSourceBlocked,
    LegFinished,
    LegStarted,
    MessageDropped,
)
from rccserver.stations.registrar_events import (
    AuthenticationFailed,
    BindingAdded,
    BindingExpired,
    BindingRefreshed,
    BindingRemoved,
    RegistrationRateLimited,
    SourceBlocked,
)

# Hosts whose cool-down refusal was logged, at most this many remembered.
_COOLDOWNS_REMEMBERED = 10_000


class StationsLogObserver:
    """A line per registration change and per refused authentication. A source in a
    cool-down (auth_limiter) is logged when the cool-down starts and at its first
    refused request, not at every packet of a guesser that keeps sending."""

    def __init__(self) -> None:
        self._cooldowns: OrderedDict[str, float] = OrderedDict()  # host -> end of the cool-down logged
        self._handlers: dict[type, Callable[[Any], None]] = {
            BindingAdded: rcclog.log_station_registered,
            BindingRefreshed: rcclog.log_station_refreshed,
            BindingRemoved: rcclog.log_station_unregistered,
            BindingExpired: rcclog.log_station_expired,
            AuthenticationFailed: rcclog.log_station_auth_failed,
            SourceBlocked: lambda event: rcclog.log_station_source_blocked(event, rcclog.timestamp(event.until)),
            RegistrationRateLimited: self._refused_in_cooldown,
            InviteAuthenticationFailed: lambda event: rcclog.log_station_auth_failed(event, method="INVITE"),
            InviteSourceBlocked: lambda event: rcclog.log_station_source_blocked(
                event, rcclog.timestamp(event.until), method="INVITE"),
            InviteRefusedDuringCooldown: self._refused_in_cooldown,
            LegStarted: rcclog.log_station_leg_started,
            LegFinished: rcclog.log_station_leg_finished,
            MessageDropped: rcclog.log_station_message_dropped,
        }

    def __call__(self, event: Any) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _refused_in_cooldown(self, event: Any) -> None:
        method = "REGISTER" if isinstance(event, RegistrationRateLimited) else "INVITE"
        key = f"{method} {event.source[0]}"  # the two cool-downs are kept apart
        if self._cooldowns.get(key) == event.until:
            return
        self._cooldowns.pop(key, None)
        self._cooldowns[key] = event.until
        while len(self._cooldowns) > _COOLDOWNS_REMEMBERED:
            self._cooldowns.popitem(last=False)
        rcclog.log_station_refused_in_cooldown(event, rcclog.timestamp(event.until), method=method)


class StationsMetricsObserver:
    """Counts what only the events tell (the registrar's own counters are scraped directly)."""

    _CHANGES = {BindingAdded: "added", BindingRefreshed: "refreshed", BindingRemoved: "removed",
                BindingExpired: "expired"}

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def __call__(self, event: Any) -> None:
        change = self._CHANGES.get(type(event))
        if change is not None:
            self.metrics.station_binding_changes.labels(change=change).inc()
        elif isinstance(event, AuthenticationFailed):
            self.metrics.station_auth_failures.labels(method="REGISTER").inc()
        elif isinstance(event, InviteAuthenticationFailed):
            self.metrics.station_auth_failures.labels(method="INVITE").inc()


class StationsObservers:
    """Hands every event to each observer in turn."""

    def __init__(self, *observers: Callable[[Any], None]) -> None:
        self.observers = observers

    def __call__(self, event: Any) -> None:
        for observer in self.observers:
            observer(event)

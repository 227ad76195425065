"""What the server does when the RCC application reports something: the RCCServer
log line and the Prometheus counters, as two observers behind one fan-out.

The application (sans-IO) only knows the `RccObserver` interface; these are
the edge's two implementations of it, kept apart so each reads alone.
"""
from __future__ import annotations

from rccserver.admin.metrics import Metrics
from rccserver.rcc.logon import LogonDecision
from rccserver.rcc.session import RccSession, SessionRegistry
from rccserver.server import rcclog


class LogObserver:
    """Writes the RCCServer log (SPEC section 6)."""

    silent = frozenset({"csta_request", "event_sent"})  # hooks that do nothing here: Observers skips them

    def logon(self, decision: LogonDecision, peer) -> None:
        rcclog.log_logon(decision, peer=peer)

    def session_started(self, session: RccSession) -> None:
        rcclog.log_session_start(session)

    def session_ended(self, session: RccSession, reason: str) -> None:
        rcclog.log_session_end(session, reason)

    def keepalive_failed(self, session: RccSession, outcome: str, ends_session: bool) -> None:
        rcclog.log_keepalive_failure(session, outcome, ends_session)

    def csta_request(self, session, service_name: str, result: str) -> None:
        pass  # one log line per CSTA request would drown the decisions that matter

    def event_sent(self, session, event: str) -> None:
        pass

    def connection_rejected(self, peer, reason: str) -> None:
        rcclog.log_rejected_connection(peer, reason)


class MetricsObserver:
    """Keeps the Prometheus counters and gauges of `/metrics`."""

    silent = frozenset({"session_started", "session_ended"})  # the gauges read the registry when scraped

    def __init__(self, metrics: Metrics, sessions: SessionRegistry) -> None:
        self.metrics = metrics
        self.sessions = sessions  # the runtime may put the application's registry here later
        # Read when scraped, not set on every CSTA request (a locked set per request before).
        metrics.sessions.set_function(lambda: len(self.sessions))
        metrics.monitors.set_function(lambda: self.sessions.monitor_count)

    def logon(self, decision: LogonDecision, peer) -> None:
        self.metrics.count_logon(decision.code)

    def session_started(self, session: RccSession) -> None:
        pass  # the sessions gauge reads the registry

    def session_ended(self, session: RccSession, reason: str) -> None:
        pass  # the sessions and monitors gauges read the registry

    def keepalive_failed(self, session: RccSession, outcome: str, ends_session: bool) -> None:
        self.metrics.keepalive_failures.labels(outcome="ended" if ends_session else "tolerated").inc()

    def csta_request(self, session, service_name: str, result: str) -> None:
        self.metrics.count_csta_request(service_name, result)

    def event_sent(self, session, event: str) -> None:
        self.metrics.count_event(event)

    def connection_rejected(self, peer, reason: str) -> None:
        self.metrics.rejected_connections.labels(reason=reason.split(" ")[0]).inc()


HOOKS = ("logon", "session_started", "session_ended", "keepalive_failed", "csta_request", "event_sent",
         "connection_rejected")


def _nothing(*args) -> None:
    pass


class Observers:
    """Hands every report to each observer in turn.

    Each hook is set up once: an observer's `silent` hooks are left out, and a hook only
    one observer acts on is that observer's own method (a CSTA request reaches the
    metrics without a loop and a call of the log's `pass`)."""

    def __init__(self, *observers) -> None:
        self.observers = observers
        for hook in HOOKS:
            calls = tuple(getattr(observer, hook) for observer in observers
                          if hook not in getattr(observer, "silent", ()))
            setattr(self, hook, _fan_out(calls) if len(calls) > 1 else calls[0] if calls else _nothing)


def _fan_out(calls):
    def each(*args) -> None:
        for call in calls:
            call(*args)
    return each

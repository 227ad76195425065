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

    def __init__(self, metrics: Metrics, sessions: SessionRegistry) -> None:
        self.metrics = metrics
        self.sessions = sessions  # the runtime may put the application's registry here later
        # Read when scraped, not set on every CSTA request (a locked set per request before).
        metrics.sessions.set_function(lambda: len(self.sessions))
        metrics.monitors.set_function(lambda: self.sessions.monitor_count)

    def logon(self, decision: LogonDecision, peer) -> None:
        self.metrics.logons.labels(code=decision.code).inc()

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


class Observers:
    """Hands every report to each observer in turn."""

    def __init__(self, *observers) -> None:
        self.observers = observers

    def logon(self, decision: LogonDecision, peer) -> None:
        for observer in self.observers:
            observer.logon(decision, peer)

    def session_started(self, session: RccSession) -> None:
        for observer in self.observers:
            observer.session_started(session)

    def session_ended(self, session: RccSession, reason: str) -> None:
        for observer in self.observers:
            observer.session_ended(session, reason)

    def keepalive_failed(self, session: RccSession, outcome: str, ends_session: bool) -> None:
        for observer in self.observers:
            observer.keepalive_failed(session, outcome, ends_session)

    def csta_request(self, session, service_name: str, result: str) -> None:
        for observer in self.observers:
            observer.csta_request(session, service_name, result)

    def event_sent(self, session, event: str) -> None:
        for observer in self.observers:
            observer.event_sent(session, event)

    def connection_rejected(self, peer, reason: str) -> None:
        for observer in self.observers:
            observer.connection_rejected(peer, reason)

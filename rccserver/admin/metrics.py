"""Prometheus metrics of one server instance.

Each Runtime owns its own CollectorRegistry, so several servers in one test
process never share counters.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["Metrics", "CONTENT_TYPE_LATEST"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sessions = Gauge("rcc_sessions", "Live RCC sessions (dialogs)", registry=self.registry)
        self.monitors = Gauge("rcc_monitors", "Live CSTA monitors", registry=self.registry)
        self.logons = Counter(
            "rcc_logons", "RCC logon decisions by Cs_ code", ["code"], registry=self.registry
        )
        self.csta_requests = Counter(
            "rcc_csta_requests", "CSTA requests by service and result", ["service", "result"],
            registry=self.registry,
        )
        self.events_sent = Counter(
            "rcc_events_sent", "CSTA events sent to Lync", ["event"], registry=self.registry
        )
        self.keepalive_failures = Counter(
            "rcc_keepalive_failures", "Keep-alive INFOs that failed or went unanswered", ["outcome"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "rcc_reloads", "Directory/CIC data reloads by result", ["result"], registry=self.registry
        )
        self.rejected_connections = Counter(
            "rcc_rejected_connections", "Connections refused by the access list or limits", ["reason"],
            registry=self.registry,
        )

        # labels() looks its child up under a lock on every call; the hot paths keep their own.
        self._csta_children: dict[tuple[str, str], object] = {}
        self._event_children: dict[str, object] = {}

    def count_csta_request(self, service: str, result: str) -> None:
        child = self._csta_children.get((service, result))
        if child is None:
            child = self._csta_children[(service, result)] = self.csta_requests.labels(service=service, result=result)
        child.inc()

    def count_event(self, event: str) -> None:
        child = self._event_children.get(event)
        if child is None:
            child = self._event_children[event] = self.events_sent.labels(event=event)
        child.inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

"""Prometheus metrics of one server instance.

Each Runtime owns its own CollectorRegistry, so several servers in one test
process never share counters.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
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

        # SIP stations (SPEC section 9): the registrar's own numbers are read at each scrape
        # (RegistrarCollector); what only the events tell is counted here.
        self.station_auth_failures = Counter(
            "rcc_station_auth_failures", "Phone credentials that did not authenticate, by request method",
            ["method"], registry=self.registry,
        )
        self.station_binding_changes = Counter(
            "rcc_station_binding_changes", "Registration bindings added, refreshed, removed or expired",
            ["change"], registry=self.registry,
        )
        self.station_datagrams_refused = Counter(
            "rcc_station_datagrams_refused", "UDP datagrams dropped by the stations line's access list",
            registry=self.registry,
        )

        # The hot paths count in plain dicts: labels() looks its child up under a lock and a
        # child's inc() takes one too, about 0.4 us of every CSTA request. The counts reach
        # the Prometheus children when /metrics is read (exposition), always on the reactor's
        # thread like the counting. A child is made at its first count, so its _created time
        # is still the first occurrence.
        self._csta_counts: dict[tuple[str, str], int] = {}
        self._event_counts: dict[str, int] = {}
        self._logon_counts: dict[str, int] = {}
        self._csta_children: dict[tuple[str, str], object] = {}
        self._event_children: dict[str, object] = {}
        self._logon_children: dict[str, object] = {}

    def count_logon(self, code: str) -> None:
        counts = self._logon_counts
        if code in counts:
            counts[code] += 1
            return
        self._logon_children[code] = self.logons.labels(code=code)
        counts[code] = 1

    def count_csta_request(self, service: str, result: str) -> None:
        key = (service, result)
        counts = self._csta_counts
        if key in counts:
            counts[key] += 1
            return
        self._csta_children[key] = self.csta_requests.labels(service=service, result=result)
        counts[key] = 1

    def count_event(self, event: str) -> None:
        counts = self._event_counts
        if event in counts:
            counts[event] += 1
            return
        self._event_children[event] = self.events_sent.labels(event=event)
        counts[event] = 1

    def _settle(self) -> None:
        """Add the counts kept since the last reading to their Prometheus children."""
        for counts, children in ((self._csta_counts, self._csta_children),
                                 (self._event_counts, self._event_children),
                                 (self._logon_counts, self._logon_children)):
            for key, count in counts.items():
                if count:
                    children[key].inc(count)
                    counts[key] = 0

    def watch_registrar(self, registrar) -> None:
        """Expose the stations registrar's bindings and REGISTER outcomes from now on."""
        self.registry.register(RegistrarCollector(registrar))

    def watch_trunk(self, route) -> None:
        """Expose the [trunk] peer's OPTIONS monitor from now on."""
        self.registry.register(TrunkCollector(route))

    def exposition(self) -> bytes:
        self._settle()
        return generate_latest(self.registry)


class TrunkCollector:
    """The trunk peer's state from its OPTIONS pings (rccserver.stations.trunk.TrunkMonitor)."""

    def __init__(self, route) -> None:
        self.route = route

    def collect(self):
        monitor = self.route.monitor
        up = GaugeMetricFamily("rcc_trunk_up", "1 when the trunk peer answered its last OPTIONS, 0 when it "
                                               "did not (408/503), -1 before the first answer")
        up.add_metric([], -1 if monitor is None or monitor.state == "unknown" else int(monitor.state == "up"))
        yield up
        pings = CounterMetricFamily("rcc_trunk_options", "OPTIONS pings sent to the trunk peer")
        pings.add_metric([], monitor.pings if monitor is not None else 0)
        yield pings
        failures = CounterMetricFamily("rcc_trunk_options_failures", "OPTIONS pings the trunk peer did not answer")
        failures.add_metric([], monitor.failures if monitor is not None else 0)
        yield failures


class RegistrarCollector:
    """The registrar's current bindings and its REGISTER counters, read when scraped
    (rccserver.stations.registrar.Registrar: `binding_count`, `counters`)."""

    # RegistrarCounters field -> outcome label: every REGISTER answer but the 403 that starts
    # a cool-down falls in exactly one of them.
    OUTCOMES = (("registrations", "ok"), ("challenges", "challenged"), ("refused", "refused"),
                ("rate_limited", "rate_limited"))

    def __init__(self, registrar) -> None:
        self.registrar = registrar

    def collect(self):
        bindings = GaugeMetricFamily("rcc_station_bindings", "Registered phone contacts (bindings) now")
        bindings.add_metric([], self.registrar.binding_count)
        yield bindings
        counters = self.registrar.counters
        requests = CounterMetricFamily("rcc_station_registers", "REGISTER requests from phones")
        requests.add_metric([], counters.requests)
        yield requests
        outcomes = CounterMetricFamily("rcc_station_register_outcomes", "REGISTER answers by outcome "
                                       "(ok: 200; challenged: 401; refused: 400/403/420/423; rate_limited: "
                                       "403 in a source's cool-down)", labels=["outcome"])
        for field, label in self.OUTCOMES:
            outcomes.add_metric([label], getattr(counters, field))
        yield outcomes
